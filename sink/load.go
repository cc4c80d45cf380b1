package sink

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/starsink/starsink/status"
	"github.com/starsink/starsink/streamload"
)

// run loads the table's batches one after another, for the worker's life.
// The batch at the head of the queue is the one loading (t.running); it
// leaves the queue when its load is over (advance).
func (t *tableState) run() {
	for {
		t.qmu.Lock()
		var b *Batch
		var ctx context.Context
		if len(t.queue) > 0 {
			b = t.queue[0]
			ctx, t.cancelRun = context.WithCancel(t.w.loadCtx)
			t.running = b
		}
		t.qmu.Unlock()
		if b == nil {
			select {
			case <-t.notify:
				continue
			case <-t.w.loadCtx.Done():
				return
			}
		}
		t.load(ctx, b)
		t.qmu.Lock()
		t.cancelRun()
		t.running, t.cancelRun = nil, nil
		t.queue[0] = nil
		t.queue = t.queue[1:]
		t.advance()
		t.qmu.Unlock()
		t.release(b)
		t.last.Store(time.Now().UnixNano())
	}
}

// load loads one batch and marks its offsets when it is in StarRocks. ctx
// is cancelled when the batch is fenced (revoke, lost assignment, shutdown
// past its grace period): the load is then settled (see settle) before
// anything else happens on the table.
func (t *tableState) load(ctx context.Context, b *Batch) {
	w := t.w
	if t.failed.Load() {
		return // an earlier batch did not load: nothing after it may be marked
	}
	// Checked right before the load: a batch of a partition given up (or
	// owned again under a new assignment, whose records are fetched anew)
	// is never loaded.
	if all, _ := w.own.holds(b); !all {
		t.discard(b, "partition no longer owned", false)
		return
	}
	var err error
	start := time.Now()
	if b.Rows > 0 {
		select {
		case w.sem <- struct{}{}:
			err = w.loader.Load(ctx, b)
			<-w.sem
		case <-ctx.Done():
			err = ctx.Err()
		}
		w.m.loadDuration.WithLabelValues(t.name).Observe(time.Since(start).Seconds())
	}
	fields := []zap.Field{zap.String("table", t.name), zap.String("label", b.Label), zap.Int("rows", b.Rows),
		zap.Int("deletes", b.Deletes), zap.Int("bytes", b.body.Len()), zap.Duration("duration", time.Since(start)),
		zap.String("flush", b.reason), zap.Bool("partial", b.Partial), zap.Any("partitions", b.Ranges)}
	if err != nil && w.loadCtx.Err() != nil {
		// The worker has stopped (after its shutdown fenced and settled
		// what it could): nothing more is marked or reported.
		t.failed.Store(true)
		return
	}
	if err != nil && ctx.Err() != nil {
		// Fenced: the request was cancelled, but StarRocks may have
		// received it whole and may still commit it. Nothing else happens
		// on this table until the label's fate is known.
		t.qmu.Lock()
		by := t.settleBy
		t.qmu.Unlock()
		if by.IsZero() {
			by = time.Now().Add(w.cfg.Kafka.RebalanceTimeout)
		}
		landed, serr := t.settle(b, by)
		switch {
		case serr != nil:
			t.failed.Store(true)
			w.log.Error("cancelled load not settled", append(fields, zap.Error(serr))...)
			w.fail(fmt.Errorf("sink: cancelled load of %s (label %s, %s) not settled: %w: stopping, so that it cannot land after another member loaded newer rows",
				t.name, b.Label, describeRanges(b.Ranges), serr))
			return
		case !landed:
			w.log.Warn("cancelled load did not land", fields...)
			if _, any := w.own.holds(b); any {
				// It holds partitions still ours (a batch mixing kept and
				// revoked partitions, or a shutdown): read them again.
				t.rewind(b, "cancelled without landing", false)
			}
			w.m.batches.WithLabelValues(t.name, "cancelled").Inc()
			return
		}
		w.log.Info("cancelled load had landed", fields...)
		err = nil
	}
	if err != nil {
		if w.dlq == nil || !dataRefusal(err) {
			t.trackFailed(b, start, err)
		}
		t.refused(ctx, b, err, fields)
		return
	}
	if !t.snapshotDeletes(ctx, b, true, fields) {
		return
	}
	t.loaded(b, fields)
	t.trackLoaded(b, start)
	w.markBatch(b)
}

// snapshotDeletes runs deleteMissing for a loaded batch that needs it
// and reports whether its offsets may be marked; whole says b was loaded
// as one load, under its own label. When the markers fail,
// nothing is marked: the worker stops (StarRocks failing), or, fenced or
// stopping, the batch is read again by whoever owns its partitions next,
// whose load of it (the same label) runs deleteMissing again.
func (t *tableState) snapshotDeletes(ctx context.Context, b *Batch, whole bool, fields []zap.Field) bool {
	if b.snap == nil { // set only with snapshot_deletes_missing (snapshotRow)
		return true
	}
	err := t.deleteMissing(ctx, b, whole)
	if err == nil {
		return true
	}
	w := t.w
	switch {
	case w.loadCtx.Err() != nil:
		t.failed.Store(true) // stopped: nothing more is marked
	case ctx.Err() != nil:
		w.log.Warn("batch loaded, its snapshot's delete markers cancelled: not marked, read again", append(fields, zap.Error(err))...)
		if _, any := w.own.holds(b); any {
			t.rewind(b, "snapshot delete markers cancelled", false)
		}
	default:
		t.failed.Store(true)
		w.log.Error("batch loaded, its snapshot's delete markers failed", append(fields, zap.Error(err))...)
		w.fail(fmt.Errorf("load %s (label %s, %s): loaded, but %w: stopping without committing it", t.name, b.Label, describeRanges(b.Ranges), err))
	}
	return false
}

// dataRefusal reports whether err is StarRocks refusing rows as data: a
// *streamload.LoadError that is not retryable and whose job wrote the
// refused rows to an error log (ErrorURL: "too many filtered rows", a NULL
// in a NOT NULL column, a value that does not convert under strict_mode).
// A refusal without one (an unknown column in the header, a privilege, a
// merge_condition on a missing column) is about the load, not its rows:
// bisecting it would dead-letter every good row.
func dataRefusal(err error) bool {
	var le *streamload.LoadError
	return errors.As(err, &le) && !le.Retryable && le.ErrorURL != ""
}

// loaded counts a batch that is in StarRocks.
func (t *tableState) loaded(b *Batch, fields []zap.Field) {
	w := t.w
	if b.Rows == 0 {
		return
	}
	w.m.batches.WithLabelValues(t.name, "loaded").Inc()
	w.m.rowsLoaded.WithLabelValues(t.name).Add(float64(b.Rows - b.Deletes))
	w.m.rowsDeleted.WithLabelValues(t.name).Add(float64(b.Deletes))
	w.m.loadBytes.WithLabelValues(t.name).Add(float64(b.body.Len()))
	w.rowsLoaded.Add(int64(b.Rows - b.Deletes))
	w.rowsDeleted.Add(int64(b.Deletes))
	w.batches.Add(1)
	if b.Filtered > 0 {
		// max_filter_ratio > 0 let StarRocks drop rows it refused: never
		// silently.
		w.m.rowsFiltered.WithLabelValues(t.name).Add(float64(b.Filtered))
		w.log.Warn("batch loaded with rows filtered out by StarRocks (max_filter_ratio > 0): those rows are not stored", append(fields, zap.Int64("filtered", b.Filtered))...)
		return
	}
	w.log.Info("batch loaded", fields...)
}

// refused handles a load that failed for good. Only StarRocks refusing
// the rows as data (dataRefusal) may dead-letter records, and only with
// errors.tolerance=all; StarRocks unavailable (retryable errors that
// outlasted the retries) or refusing the load itself (a column, a
// privilege, a setting) stops the worker without committing, as Kafka
// Connect does.
func (t *tableState) refused(ctx context.Context, b *Batch, err error, fields []zap.Field) {
	w := t.w
	w.m.batches.WithLabelValues(t.name, "failed").Inc()
	if w.dlq == nil || !dataRefusal(err) {
		t.failed.Store(true)
		w.log.Error("batch failed", append(fields, zap.Error(err))...)
		w.fail(fmt.Errorf("load %s (label %s, %s): %w", t.name, b.Label, describeRanges(b.Ranges), err))
		return
	}
	if derr := t.isolate(ctx, b, err); derr != nil {
		w.track().Failed(t.name, status.Error{Message: derr.Error(), Offset: -1, At: time.Now()})
		t.failed.Store(true)
		w.log.Error("batch failed", append(fields, zap.Error(derr))...)
		w.fail(derr)
		return
	}
	if !t.snapshotDeletes(ctx, b, false, fields) { // its parts were each seen visible (bisect)
		return
	}
	w.m.batches.WithLabelValues(t.name, "dead_lettered").Inc()
	w.track().Freshness.Loaded(t.name, time.Now(), b.src) // the rows not dead-lettered are in
	w.log.Warn("batch refused as data: refused records dead-lettered, the others loaded", append(fields, zap.Error(err))...)
	w.markBatch(b)
}

func describeRanges(rs []streamload.OffsetRange) string {
	parts := make([]string, 0, len(rs))
	for _, r := range rs {
		parts = append(parts, fmt.Sprintf("%s[%d]@%d-%d", r.Topic, r.Partition, r.First, r.Last))
	}
	return strings.Join(parts, ", ")
}

var batchPool = sync.Pool{New: func() any { return &Batch{} }}

func getBatch() *Batch { return batchPool.Get().(*Batch) }

// putBatch returns a loaded batch to the pool, its body's chunks to theirs,
// and drops a large arena: a pooled buffer is memory the budget no longer
// counts (with 10 tables, one idle 16 MiB body per table was 160 MiB beyond
// batch.buffer_memory when each batch kept its own body). Chunks in their
// pools are taken by the next batches, and what stays idle there the
// garbage collector frees.
func putBatch(b *Batch) {
	b.body.release()
	arena := b.arena[:0]
	if cap(arena) > 1<<20 {
		arena = nil
	}
	clear(b.kept)
	deleted := b.deleted
	if len(deleted) > 4096 {
		deleted = nil // a large set is not kept idle in the pool
	}
	clear(deleted)
	*b = Batch{body: b.body, Columns: b.Columns[:0], Ranges: b.Ranges[:0], gens: b.gens[:0], kept: b.kept[:0], arena: arena, deleted: deleted}
	batchPool.Put(b)
}
