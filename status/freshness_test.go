package status

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// clock is a settable time source for tests.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

func TestSourceTimesKeepsOldestAndNewestAndIgnoresAbsentTimes(t *testing.T) {
	tests := []struct {
		name string
		in   []int64
		want SourceTimes
	}{
		{"none", nil, SourceTimes{}},
		{"absent only", []int64{0, 0}, SourceTimes{}},
		{"one", []int64{5000}, SourceTimes{5000, 5000}},
		{"unordered with absent", []int64{7000, 0, 3000, 9000, 4000}, SourceTimes{3000, 9000}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s SourceTimes
			for _, ms := range tt.in {
				s.Add(ms)
			}
			if s != tt.want {
				t.Fatalf("got %+v, want %+v", s, tt.want)
			}
			var m SourceTimes
			m.Merge(s)
			if m != tt.want {
				t.Fatalf("merged %+v, want %+v", m, tt.want)
			}
		})
	}
}

func TestFreshnessGrowsWhileNothingLoads(t *testing.T) {
	c := &clock{t: time.UnixMilli(1_700_000_100_000)}
	reg := prometheus.NewPedanticRegistry()
	f := NewFreshness(reg, c.now)

	if n := testutil.CollectAndCount(f, MetricFreshness); n != 0 {
		t.Fatalf("%d series before any load, want none", n)
	}
	// Loaded 2 s after the newest change's commit, 5 s after the oldest's.
	f.Loaded("db.orders", c.t, SourceTimes{Oldest: 1_700_000_095_000, Newest: 1_700_000_098_000})
	check := func(want string) {
		t.Helper()
		exp := "# HELP starsink_freshness_seconds Seconds since the source commit of the newest change loaded into the table; it grows while nothing loads (and while the source table has no changes).\n" +
			"# TYPE starsink_freshness_seconds gauge\n" + want
		if err := testutil.CollectAndCompare(f, strings.NewReader(exp), MetricFreshness); err != nil {
			t.Fatal(err)
		}
	}
	check("starsink_freshness_seconds{table=\"db.orders\"} 2\n")
	c.advance(58 * time.Second)
	check("starsink_freshness_seconds{table=\"db.orders\"} 60\n")

	// An older batch loaded later (another partition) does not make the
	// table look older than its newest change.
	f.Loaded("db.orders", c.t, SourceTimes{Oldest: 1_700_000_090_000, Newest: 1_700_000_091_000})
	check("starsink_freshness_seconds{table=\"db.orders\"} 60\n")

	// A load with no source time changes nothing.
	f.Loaded("db.items", c.t, SourceTimes{})
	check("starsink_freshness_seconds{table=\"db.orders\"} 60\n")

	if got, ok := f.Seconds("db.orders"); !ok || got != 60 {
		t.Fatalf("Seconds = %v, %v; want 60, true", got, ok)
	}
	f.Forget("db.orders")
	if n := testutil.CollectAndCount(f, MetricFreshness); n != 0 {
		t.Fatalf("%d series after Forget, want none", n)
	}
}

func TestEndToEndObservesEachLoadsOldestChange(t *testing.T) {
	c := &clock{t: time.UnixMilli(1_700_000_100_000)}
	reg := prometheus.NewPedanticRegistry()
	f := NewFreshness(reg, c.now)
	f.Loaded("db.orders", c.t, SourceTimes{Oldest: 1_700_000_097_000, Newest: 1_700_000_099_000})
	f.Loaded("db.orders", c.t, SourceTimes{Oldest: 1_700_000_100_500, Newest: 1_700_000_100_500}) // source clock ahead: 0
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != MetricEndToEnd {
			continue
		}
		h := mf.GetMetric()[0].GetHistogram()
		if h.GetSampleCount() != 2 || h.GetSampleSum() != 3 {
			t.Fatalf("count %d sum %v, want 2 observations summing to 3 s", h.GetSampleCount(), h.GetSampleSum())
		}
		return
	}
	t.Fatalf("%s not gathered", MetricEndToEnd)
}
