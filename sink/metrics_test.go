package sink

import (
	"context"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/starsink/starsink/ddl"
)

// noExec is a ddl.Executor that runs nothing.
type noExec struct{}

func (noExec) Exec(context.Context, string) error                         { return nil }
func (noExec) Query(context.Context, string) ([]map[string]string, error) { return nil, nil }

// recorder is a Registerer that keeps the fully qualified names of what is
// registered.
type recorder struct{ names map[string]bool }

var fqName = regexp.MustCompile(`fqName: "([^"]+)"`)

func (r *recorder) Register(c prometheus.Collector) error {
	ch := make(chan *prometheus.Desc, 4)
	go func() { c.Describe(ch); close(ch) }()
	for d := range ch {
		if m := fqName.FindStringSubmatch(d.String()); m != nil {
			r.names[m[1]] = true
		}
	}
	return nil
}

func (r *recorder) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		_ = r.Register(c)
	}
}

func (r *recorder) Unregister(prometheus.Collector) bool { return false }

// TestMetricNames pins the exported metric names: a rename must update the
// docs and dashboards that read them, and this list.
func TestMetricNames(t *testing.T) {
	want := []string{
		"starsink_batches_total",
		"starsink_buffered_bytes",
		"starsink_commits_total",
		"starsink_consumer_lag",
		"starsink_ddl_total",
		"starsink_dead_lettered_total",
		"starsink_flushes_total",
		"starsink_load_bytes_total",
		"starsink_load_duration_seconds",
		"starsink_load_retries_total",
		"starsink_paused_partitions",
		"starsink_records_skipped_total",
		"starsink_records_total",
		"starsink_rows_deleted_total",
		"starsink_rows_filtered_total",
		"starsink_rows_loaded_total",
		"starsink_snapshot_deletes_total",
		"starsink_topic_id_errors_total",
	}
	got := MetricNames()
	sort.Strings(got)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("MetricNames() =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	rec := &recorder{names: map[string]bool{}}
	newMetrics(rec)
	// The ddl Manager registers its counter with the worker's registry
	// (mapping.create_tables, mapping.evolve).
	if _, err := ddl.NewManager(ddl.ManagerConfig{Exec: noExec{}, Catalog: refresher{emuSchemas{}}, Registerer: rec}); err != nil {
		t.Fatal(err)
	}
	for _, n := range want {
		if !rec.names[n] {
			t.Errorf("%s is listed but not registered", n)
		}
		delete(rec.names, n)
	}
	for n := range rec.names {
		t.Errorf("%s is registered but not listed in MetricNames", n)
	}
	// The collectors are consistent under a pedantic registry.
	reg := prometheus.NewPedanticRegistry()
	newMetrics(reg)
	if _, err := reg.Gather(); err != nil {
		t.Fatalf("gather: %v", err)
	}
}
