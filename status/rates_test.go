package status

import (
	"testing"
	"time"
)

func TestRatesAverageTheLastMinuteOfWholeSeconds(t *testing.T) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	r := NewRates(c.now)
	if got := r.PerSecond("db.t"); got != 0 {
		t.Fatalf("unknown table: %v, want 0", got)
	}
	r.Add("db.t", 600)
	if got := r.PerSecond("db.t"); got != 0 {
		t.Fatalf("the current second counts once it is whole: %v, want 0", got)
	}
	c.advance(time.Second)
	if got := r.PerSecond("db.t"); got != 10 {
		t.Fatalf("600 rows over the minute: %v, want 10", got)
	}
	r.Add("db.t", 1200)
	r.Add("db.other", 60)
	c.advance(30 * time.Second)
	if got := r.PerSecond("db.t"); got != 30 {
		t.Fatalf("1800 rows: %v, want 30", got)
	}
	c.advance(30 * time.Second) // the first 600 are 61 s old
	if got := r.PerSecond("db.t"); got != 20 {
		t.Fatalf("after the first second left the window: %v, want 20", got)
	}
	c.advance(time.Hour) // a slot reused an hour later starts again
	r.Add("db.t", 60)
	c.advance(time.Second)
	if got := r.PerSecond("db.t"); got != 1 {
		t.Fatalf("an hour later: %v, want 1", got)
	}
	r.Forget("db.t")
	if got := r.PerSecond("db.t"); got != 0 {
		t.Fatalf("after Forget: %v, want 0", got)
	}
}
