package status

import (
	"sync"
	"time"
)

// window is how far back Rates looks.
const window = 60

// Rates keeps, per table, the rows loaded in each of the last 60 seconds,
// to report rows per second over the last minute. The worker calls Add
// after each load (not per row); it is safe for concurrent use.
type Rates struct {
	now func() time.Time

	mu     sync.Mutex
	tables map[string]*ring
}

// ring holds one count per second; sec[i] is the unix second counts[i]
// belongs to.
type ring struct {
	counts [window + 1]int64 // the window and the current second
	sec    [window + 1]int64
}

// NewRates returns a Rates on clock now (nil: time.Now).
func NewRates(now func() time.Time) *Rates {
	if now == nil {
		now = time.Now
	}
	return &Rates{now: now, tables: map[string]*ring{}}
}

// Add counts rows loaded into table now.
func (r *Rates) Add(table string, rows int64) {
	s := r.now().Unix()
	r.mu.Lock()
	defer r.mu.Unlock()
	g := r.tables[table]
	if g == nil {
		g = &ring{}
		r.tables[table] = g
	}
	i := s % (window + 1)
	if g.sec[i] != s {
		g.sec[i], g.counts[i] = s, 0
	}
	g.counts[i] += rows
}

// PerSecond returns table's rows per second over the last minute: the
// rows of the 60 whole seconds before the current one, over 60.
func (r *Rates) PerSecond(table string) float64 {
	s := r.now().Unix()
	r.mu.Lock()
	defer r.mu.Unlock()
	g := r.tables[table]
	if g == nil {
		return 0
	}
	var sum int64
	for i := range g.counts {
		if age := s - g.sec[i]; age >= 1 && age <= window {
			sum += g.counts[i]
		}
	}
	return float64(sum) / window
}

// Forget drops table, when this member no longer loads it.
func (r *Rates) Forget(table string) {
	r.mu.Lock()
	delete(r.tables, table)
	r.mu.Unlock()
}
