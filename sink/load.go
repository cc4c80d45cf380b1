package sink

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/starsink/starsink/streamload"
)

// run loads the table's batches one after another, for the worker's life.
func (t *tableState) run() {
	for {
		t.qmu.Lock()
		var b *Batch
		if len(t.queue) > 0 {
			b = t.queue[0]
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
		t.load(b)
		t.qmu.Lock()
		t.queue = t.queue[1:]
		t.qmu.Unlock()
		t.w.buffered.Add(-b.bytes)
		putBatch(b)
		t.last.Store(time.Now().UnixNano())
		t.w.outstanding.Done()
	}
}

// load loads one batch and marks its offsets when it is in StarRocks.
func (t *tableState) load(b *Batch) {
	w := t.w
	if t.failed.Load() {
		return // an earlier batch failed for good: nothing after it may be marked
	}
	var err error
	start := time.Now()
	if b.Rows > 0 {
		w.sem <- struct{}{}
		err = w.loader.Load(w.loadCtx, b)
		<-w.sem
		w.m.loadDuration.WithLabelValues(t.name).Observe(time.Since(start).Seconds())
	}
	fields := []zap.Field{zap.String("table", t.name), zap.String("label", b.Label), zap.Int("rows", b.Rows),
		zap.Int("deletes", b.Deletes), zap.Int("bytes", b.body.Len()), zap.Duration("duration", time.Since(start)),
		zap.String("flush", b.reason), zap.Bool("partial", b.Partial), zap.Any("partitions", b.Ranges)}
	if err != nil {
		if w.loadCtx.Err() != nil {
			return // hard stop: the records stay uncommitted
		}
		w.m.batches.WithLabelValues(t.name, "failed").Inc()
		if w.dlq == nil {
			t.failed.Store(true)
			w.log.Error("batch failed", append(fields, zap.Error(err))...)
			w.fail(fmt.Errorf("load %s (label %s, %s): %w", t.name, b.Label, describeRanges(b.Ranges), err))
			return
		}
		for i := range b.kept {
			r := b.record(i)
			if derr := w.dlq.send(r, "load", err); derr != nil {
				t.failed.Store(true)
				w.fail(fmt.Errorf("load %s (label %s): %w; dead-letter topic failed too: %v", t.name, b.Label, err, derr))
				return
			}
			w.deadLettered.Add(1)
			w.m.deadLettered.WithLabelValues(r.Topic, "load").Inc()
		}
		w.m.batches.WithLabelValues(t.name, "dead_lettered").Inc()
		w.log.Warn("batch dead-lettered", append(fields, zap.Error(err))...)
	} else if b.Rows > 0 {
		w.m.batches.WithLabelValues(t.name, "loaded").Inc()
		w.m.rowsLoaded.WithLabelValues(t.name).Add(float64(b.Rows - b.Deletes))
		w.m.rowsDeleted.WithLabelValues(t.name).Add(float64(b.Deletes))
		w.m.loadBytes.WithLabelValues(t.name).Add(float64(b.body.Len()))
		w.rowsLoaded.Add(int64(b.Rows - b.Deletes))
		w.rowsDeleted.Add(int64(b.Deletes))
		w.batches.Add(1)
		w.log.Info("batch loaded", fields...)
	}
	offsets := make(map[string]map[int32]kgo.EpochOffset, 1)
	for _, rg := range b.Ranges {
		if offsets[rg.Topic] == nil {
			offsets[rg.Topic] = map[int32]kgo.EpochOffset{}
		}
		offsets[rg.Topic][rg.Partition] = kgo.EpochOffset{Epoch: -1, Offset: rg.Last + 1}
	}
	w.cl.MarkCommitOffsets(offsets)
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
	*b = Batch{body: b.body, Columns: b.Columns[:0], Ranges: b.Ranges[:0], kept: b.kept[:0], arena: arena}
	batchPool.Put(b)
}
