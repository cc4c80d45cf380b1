package status

import (
	"testing"
	"time"
)

// BenchmarkSourceTimesAdd is the per-row cost the worker pays for
// freshness.
func BenchmarkSourceTimesAdd(b *testing.B) {
	var s SourceTimes
	ts := int64(1_700_000_000_000)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		s.Add(ts + int64(i&1023))
	}
}

// BenchmarkTrackerLoaded is the per-load cost: freshness, histogram, rate
// and last load.
func BenchmarkTrackerLoaded(b *testing.B) {
	tr := NewTracker(noRegistry{}, nil)
	l := Load{Label: "l", Rows: 5000, Status: "Success", At: time.Now()}
	src := SourceTimes{Oldest: l.At.Add(-time.Second).UnixMilli(), Newest: l.At.UnixMilli()}
	b.ReportAllocs()
	for b.Loop() {
		tr.Loaded("shop.orders", l, src)
	}
}
