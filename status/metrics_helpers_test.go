package status

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// registerAll registers every metric of the package with reg and gives
// each a series for table.
func registerAll(reg prometheus.Registerer, table string) {
	f := NewFreshness(reg, nil)
	f.Loaded(table, time.Now(), SourceTimes{Oldest: 1, Newest: 1})
	a := NewAdmin(nil, true, "", nil)
	reg.MustRegister(a)
	a.paused.WithLabelValues(table).Set(1)
}

// noRegistry accepts every collector and keeps none.
type noRegistry struct{}

func (noRegistry) Register(prometheus.Collector) error  { return nil }
func (noRegistry) MustRegister(...prometheus.Collector) {}
func (noRegistry) Unregister(prometheus.Collector) bool { return false }
