package status

import (
	"math"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// SourceTimes summarises the source commit times (debezium.Event.SourceTS,
// unix milliseconds) of the changes of one batch without keeping them: the
// worker calls Add per row while it fills the batch, two comparisons and
// no allocation. A zero time (Debezium sent none) is not counted.
type SourceTimes struct {
	Oldest, Newest int64 // unix ms; 0 when no row had one
}

// Add counts one change's source commit time.
func (s *SourceTimes) Add(ms int64) {
	if ms <= 0 {
		return
	}
	if s.Oldest == 0 || ms < s.Oldest {
		s.Oldest = ms
	}
	if ms > s.Newest {
		s.Newest = ms
	}
}

// Merge folds o into s (a batch built from per-lane summaries).
func (s *SourceTimes) Merge(o SourceTimes) {
	s.Add(o.Oldest)
	s.Add(o.Newest)
}

// Freshness keeps, per table, the source commit time of the newest change
// loaded, and exports starsink_freshness_seconds (computed at scrape time
// from it) and starsink_end_to_end_seconds. It is safe for concurrent use.
type Freshness struct {
	now  func() time.Time
	desc *prometheus.Desc
	e2e  *prometheus.HistogramVec

	mu     sync.Mutex
	newest map[string]int64 // table → unix ms
}

// NewFreshness registers the two metrics with reg. now is the clock (nil:
// time.Now).
func NewFreshness(reg prometheus.Registerer, now func() time.Time) *Freshness {
	if now == nil {
		now = time.Now
	}
	f := &Freshness{
		now: now,
		desc: prometheus.NewDesc(MetricFreshness,
			"Seconds since the source commit of the newest change loaded into the table; it grows while nothing loads (and while the source table has no changes).",
			[]string{"table"}, nil),
		// 0.1 s to about 27 h: a streaming table sits in the first
		// buckets, a snapshot or a long outage in the last ones.
		e2e: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: MetricEndToEnd,
			Help:    "Seconds from the source commit to the load into StarRocks, one observation per load: the load's oldest change.",
			Buckets: prometheus.ExponentialBuckets(0.1, 2, 20)}, []string{"table"}),
		newest: map[string]int64{},
	}
	reg.MustRegister(f, f.e2e)
	return f
}

// Loaded records a successful load into table at loadedAt of changes
// whose source commit times are src. A load with no source time (a
// snapshot with ts_ms absent, an older Debezium) changes nothing.
func (f *Freshness) Loaded(table string, loadedAt time.Time, src SourceTimes) {
	if src.Newest <= 0 {
		return
	}
	f.e2e.WithLabelValues(table).Observe(seconds(loadedAt, src.Oldest))
	f.mu.Lock()
	if src.Newest > f.newest[table] {
		f.newest[table] = src.Newest
	}
	f.mu.Unlock()
}

// Forget drops table's series, when this member no longer loads it (its
// partitions were revoked): another member's series then tells.
func (f *Freshness) Forget(table string) {
	f.mu.Lock()
	delete(f.newest, table)
	f.mu.Unlock()
	f.e2e.DeleteLabelValues(table)
}

// Seconds returns table's freshness now, and false before its first load
// with a source time.
func (f *Freshness) Seconds(table string) (float64, bool) {
	f.mu.Lock()
	ms, ok := f.newest[table]
	f.mu.Unlock()
	if !ok {
		return 0, false
	}
	return seconds(f.now(), ms), true
}

// Describe implements prometheus.Collector for the freshness gauge.
func (f *Freshness) Describe(ch chan<- *prometheus.Desc) { ch <- f.desc }

// Collect implements prometheus.Collector: one gauge per table, computed
// now.
func (f *Freshness) Collect(ch chan<- prometheus.Metric) {
	now := f.now()
	f.mu.Lock()
	tables := make([]string, 0, len(f.newest))
	for t := range f.newest {
		tables = append(tables, t)
	}
	sort.Strings(tables)
	vals := make([]float64, len(tables))
	for i, t := range tables {
		vals[i] = seconds(now, f.newest[t])
	}
	f.mu.Unlock()
	for i, t := range tables {
		ch <- prometheus.MustNewConstMetric(f.desc, prometheus.GaugeValue, vals[i], t)
	}
}

// seconds is at minus the unix-ms time ms, never negative: a source clock
// ahead of ours reads as fresh, not as a negative age.
func seconds(at time.Time, ms int64) float64 {
	d := float64(at.UnixMilli()-ms) / 1000
	return math.Max(d, 0)
}
