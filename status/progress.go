package status

import (
	"math"
	"sync"
	"time"

	"go.uber.org/zap"
)

// Progress defaults: a catch-up is logged while more than
// DefaultProgressLag records wait, one line per DefaultProgressEvery.
const (
	DefaultProgressLag   = 100_000
	DefaultProgressEvery = 10 * time.Second
)

// Progress logs a long catch-up (a snapshot, a backlog after an outage) so
// that a person reading the log sees it move: rows loaded, rows/s, records
// left and an estimated time, at info, at most once per Every. Nothing is
// logged while the lag stays at or below Lag. The worker calls Poll once
// per poll; it is cheap when there is nothing to say. Safe for concurrent
// use.
type Progress struct {
	log   *zap.Logger
	now   func() time.Time
	lag   int64
	every time.Duration

	mu        sync.Mutex
	catching  bool
	startAt   time.Time
	startRows int64
	lastAt    time.Time
	lastRows  int64
	lastLag   int64
}

// NewProgress returns a Progress logging to log when more than lag records
// wait, at most once per every (0: the defaults), on clock now (nil:
// time.Now).
func NewProgress(log *zap.Logger, lag int64, every time.Duration, now func() time.Time) *Progress {
	if lag <= 0 {
		lag = DefaultProgressLag
	}
	if every <= 0 {
		every = DefaultProgressEvery
	}
	if now == nil {
		now = time.Now
	}
	return &Progress{log: log, now: now, lag: lag, every: every}
}

// Poll reports the worker's state after a poll: rows is the count of rows
// loaded since the worker started (the value behind
// starsink_rows_loaded_total, all tables), lag the records left over its
// assigned partitions.
//
// A catch-up starts when lag exceeds the threshold ("catching up" with the
// records left) and ends when lag falls to half of it ("caught up", with
// the rows, time taken and mean rate): the margin keeps a lag hovering
// around the threshold from logging a start and an end at every poll. In
// between, one "catching up" line per Every gives the rows loaded since
// the previous line, rows/s, the lag and an estimate of the time left
// from how fast the lag shrank since the previous line.
func (p *Progress) Poll(rows, lag int64) {
	now := p.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case !p.catching && lag > p.lag:
		p.catching = true
		p.startAt, p.startRows = now, rows
		p.lastAt, p.lastRows, p.lastLag = now, rows, lag
		p.log.Info("catching up", zap.Int64("lag", lag))
	case p.catching && lag <= p.lag/2:
		p.catching = false
		elapsed := now.Sub(p.startAt)
		loaded := rows - p.startRows
		p.log.Info("caught up", zap.Int64("rows", loaded), zap.Duration("elapsed", elapsed.Round(time.Second)),
			zap.Float64("rows_per_second", perSecond(loaded, elapsed)), zap.Int64("lag", lag))
	case p.catching && now.Sub(p.lastAt) >= p.every:
		dt := now.Sub(p.lastAt)
		loaded := rows - p.lastRows
		fields := []zap.Field{zap.Int64("rows", loaded), zap.Float64("rows_per_second", perSecond(loaded, dt)), zap.Int64("lag", lag)}
		if drained := p.lastLag - lag; drained > 0 {
			eta := time.Duration(float64(lag) / float64(drained) * float64(dt))
			fields = append(fields, zap.Duration("eta", eta.Round(time.Second)))
		} else {
			fields = append(fields, zap.String("eta", "unknown: the lag is not shrinking"))
		}
		p.lastAt, p.lastRows, p.lastLag = now, rows, lag
		p.log.Info("catching up", fields...)
	}
}

// perSecond is n over d, rounded to a tenth.
func perSecond(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return math.Round(float64(n)/d.Seconds()*10) / 10
}
