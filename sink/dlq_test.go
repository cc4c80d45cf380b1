package sink

import (
	"testing"

	"github.com/starsink/starsink/config"
)

// TestDLQWindow checks the dead-letter bound: more than max of the last
// window records stops the worker; failures spread wider do not.
func TestDLQWindow(t *testing.T) {
	tests := []struct {
		name        string
		max, window int
		positions   []int64 // record positions of successive dead letters
		overAt      int     // index of the first position over the bound; -1 for none
	}{
		{"spread out", 2, 10, []int64{1, 20, 40, 60, 80}, -1},
		{"burst", 2, 10, []int64{1, 2, 3}, 2},
		{"at the bound", 2, 10, []int64{1, 5, 30, 31}, -1},
		{"window edge", 2, 10, []int64{1, 5, 10}, 2},
		{"just past the edge", 2, 10, []int64{1, 5, 11}, -1},
		{"no tolerance for any", 0, 100, []int64{7}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newDLQ(nil, config.Errors{DLQMaxFailures: tt.max, DLQWindow: tt.window}, "g", nil)
			got := -1
			for i, p := range tt.positions {
				if d.admit(p) && got < 0 {
					got = i
				}
			}
			if got != tt.overAt {
				t.Errorf("first over the bound at %d, want %d", got, tt.overAt)
			}
		})
	}
}
