package status

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Tracker keeps what /status shows of each table's history, so that the
// worker's Status only adds the live part (state, partitions): the last
// load, retries, dead-lettered records, the last error, rows/s over the
// last minute (Rates) and freshness (Freshness, which it also exports as
// metrics). The worker calls it from its load goroutines, once per load
// outcome, never per record; it is safe for concurrent use.
type Tracker struct {
	Freshness *Freshness
	Rates     *Rates

	mu     sync.Mutex
	tables map[string]*history
}

type history struct {
	last         *Load
	retries      int64
	deadLettered int64
	err          *Error
}

// NewTracker registers the freshness metrics with reg; now is the clock
// (nil: time.Now).
func NewTracker(reg prometheus.Registerer, now func() time.Time) *Tracker {
	return &Tracker{Freshness: NewFreshness(reg, now), Rates: NewRates(now), tables: map[string]*history{}}
}

func (t *Tracker) table(name string) *history {
	h := t.tables[name]
	if h == nil {
		h = &history{}
		t.tables[name] = h
	}
	return h
}

// Loaded records a successful load: l as the table's last load (l.At is
// when it finished), its rows for rows/s and src for freshness.
func (t *Tracker) Loaded(table string, l Load, src SourceTimes) {
	t.Freshness.Loaded(table, l.At, src)
	t.Rates.Add(table, l.Rows)
	t.mu.Lock()
	t.table(table).last = &l
	t.mu.Unlock()
}

// LoadFailed records a load that failed for good (no retry left): l holds
// StarRocks' answer, e the error and, when it is about one record, its
// coordinates.
func (t *Tracker) LoadFailed(table string, l Load, e Error) {
	t.mu.Lock()
	h := t.table(table)
	h.last, h.err = &l, &e
	t.mu.Unlock()
}

// Retried counts one Stream Load retry.
func (t *Tracker) Retried(table string) {
	t.mu.Lock()
	t.table(table).retries++
	t.mu.Unlock()
}

// DeadLettered counts n records of table sent to the dead-letter topic,
// and keeps e (the last one's error and coordinates) as its last error.
func (t *Tracker) DeadLettered(table string, n int64, e Error) {
	t.mu.Lock()
	h := t.table(table)
	h.deadLettered += n
	h.err = &e
	t.mu.Unlock()
}

// Failed keeps e as the table's last error (a decode error that stopped
// the worker, a schema read that failed…).
func (t *Tracker) Failed(table string, e Error) {
	t.mu.Lock()
	t.table(table).err = &e
	t.mu.Unlock()
}

// Forget drops table (its partitions were revoked): its history, rate
// and freshness series.
func (t *Tracker) Forget(table string) {
	t.mu.Lock()
	delete(t.tables, table)
	t.mu.Unlock()
	t.Rates.Forget(table)
	t.Freshness.Forget(table)
}

// Fill sets tb's RowsPerSecond, LastLoad, Retries, DeadLettered and
// LastError from what was recorded for tb.Name. The values are copies.
func (t *Tracker) Fill(tb *Table) {
	tb.RowsPerSecond = t.Rates.PerSecond(tb.Name)
	t.mu.Lock()
	defer t.mu.Unlock()
	h := t.tables[tb.Name]
	if h == nil {
		return
	}
	tb.Retries, tb.DeadLettered = h.retries, h.deadLettered
	if h.last != nil {
		l := *h.last
		tb.LastLoad = &l
	}
	if h.err != nil {
		e := *h.err
		tb.LastError = &e
	}
}
