package sink

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/starsink/starsink/config"
	"github.com/starsink/starsink/debezium"
	"github.com/starsink/starsink/streamload"
)

// dlq writes records that cannot be loaded to the dead-letter topic, with
// Kafka Connect's error headers, and stops the worker when more than
// errors.dlq_max_failures of the last errors.dlq_window records went there.
type dlq struct {
	cl    *kgo.Client
	topic string
	group string
	max   int

	window int64
	seq    func() int64 // records consumed so far: the position of the record at hand

	produce func(context.Context, *kgo.Record) error // default: the client's ProduceSync

	mu   sync.Mutex
	hits []int64 // positions of the last max+1 dead-lettered records, oldest first
}

func newDLQ(cl *kgo.Client, c config.Errors, group string, seq func() int64) *dlq {
	return &dlq{cl: cl, topic: c.DLQTopic, group: group, max: c.DLQMaxFailures, window: int64(max(1, c.DLQWindow)),
		seq: seq, hits: make([]int64, 0, c.DLQMaxFailures+2)}
}

// admit records one more dead-lettered record at position pos and reports
// whether more than max of the last window records were dead-lettered.
func (d *dlq) admit(pos int64) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.hits = append(d.hits, pos)
	if len(d.hits) > d.max+1 {
		n := copy(d.hits, d.hits[1:])
		d.hits = d.hits[:n]
	}
	return len(d.hits) > d.max && d.hits[0] > pos-d.window
}

func (d *dlq) send(r *kgo.Record, stage string, cause error) error {
	if d.admit(d.seq()) {
		return fmt.Errorf("more than %d of the last %d records were dead-lettered (errors.dlq_max_failures)", d.max, d.window)
	}
	field := ""
	var de *debezium.DecodeError
	if errors.As(cause, &de) {
		field = de.Field
	}
	headers := append([]kgo.RecordHeader(nil), r.Headers...)
	headers = append(headers,
		kgo.RecordHeader{Key: "__connect.errors.topic", Value: []byte(r.Topic)},
		kgo.RecordHeader{Key: "__connect.errors.partition", Value: []byte(strconv.Itoa(int(r.Partition)))},
		kgo.RecordHeader{Key: "__connect.errors.offset", Value: []byte(strconv.FormatInt(r.Offset, 10))},
		kgo.RecordHeader{Key: "__connect.errors.connector.name", Value: []byte(d.group)},
		kgo.RecordHeader{Key: "__connect.errors.stage", Value: []byte(stage)},
		kgo.RecordHeader{Key: "__connect.errors.exception.class.name", Value: []byte(fmt.Sprintf("%T", cause))},
		kgo.RecordHeader{Key: "__connect.errors.exception.message", Value: []byte(cause.Error())},
	)
	if field != "" {
		headers = append(headers, kgo.RecordHeader{Key: "__starsink.errors.field", Value: []byte(field)})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out := &kgo.Record{Topic: d.topic, Key: r.Key, Value: r.Value, Headers: headers, Timestamp: r.Timestamp}
	produce := d.produce
	if produce == nil {
		produce = func(ctx context.Context, r *kgo.Record) error { return d.cl.ProduceSync(ctx, r).FirstErr() }
	}
	if err := produce(ctx, out); err != nil {
		return fmt.Errorf("dead-letter topic %s: %w", d.topic, err)
	}
	return nil
}

// isolate finds the records StarRocks refuses in a batch it refused as
// data (cause), dead-letters them, and loads the others: the batch is cut
// in halves, each loaded with the label of its own ranges, and a half
// refused again is cut again, down to single records. Halves load in
// order, so rows of a key still apply in partition order. A batch with k
// bad records of n costs about 2k·log2(n) loads. Replayed after a crash,
// the same halves have the same labels, so none loads twice. Anything but
// a data refusal on the way (StarRocks unavailable, the load fenced, the
// dead-letter topic failing or over errors.dlq_max_failures) is returned
// and stops the worker.
func (t *tableState) isolate(ctx context.Context, b *Batch, cause error) error {
	return t.bisect(ctx, b, 0, len(b.kept), cause)
}

func (t *tableState) bisect(ctx context.Context, b *Batch, lo, hi int, cause error) error {
	w := t.w
	if hi <= lo {
		return nil
	}
	if hi-lo == 1 {
		r := b.record(lo)
		if err := w.dlq.send(r, "load", cause); err != nil {
			return fmt.Errorf("load %s (label %s): %w; dead-letter topic: %v", t.name, b.Label, cause, err)
		}
		w.deadLettered.Add(1)
		w.m.deadLettered.WithLabelValues(r.Topic, "load").Inc()
		w.track().DeadLettered(t.name, 1, recordError(r, cause))
		w.log.Warn("record refused by StarRocks: dead-lettered", zap.String("table", t.name), zap.String("topic", r.Topic),
			zap.Int32("partition", r.Partition), zap.Int64("offset", r.Offset), zap.Error(cause))
		return nil
	}
	mid := (lo + hi) / 2
	for _, h := range [2][2]int{{lo, mid}, {mid, hi}} {
		sub := t.part(b, h[0], h[1])
		err := w.loader.Load(ctx, sub)
		if err == nil && b.snap != nil {
			// The delete markers read the table after the batch: every
			// part must be visible (snapshot.go).
			err = t.visible(ctx, sub.DB, sub.Label, sub.status)
		}
		rows := sub.Rows
		putBatch(sub)
		switch {
		case err == nil:
			w.rowsLoaded.Add(int64(rows))
			w.m.rowsLoaded.WithLabelValues(t.name).Add(float64(rows))
		case dataRefusal(err) && ctx.Err() == nil:
			if err := t.bisect(ctx, b, h[0], h[1], err); err != nil {
				return err
			}
		default:
			return fmt.Errorf("load %s (part of label %s): %w", t.name, b.Label, err)
		}
	}
	return nil
}

// part is a batch of b's kept records [lo, hi): their rows, the ranges of
// their offsets and the label of those ranges.
func (t *tableState) part(b *Batch, lo, hi int) *Batch {
	p := getBatch()
	p.DB, p.Table, p.Options, p.Partial = b.DB, b.Table, b.Options, b.Partial
	p.Columns = append(p.Columns[:0], b.Columns...)
	p.body.writeByte('[')
	for i := lo; i < hi; i++ {
		k := &b.kept[i]
		if p.Rows > 0 {
			p.body.writeByte(',')
		}
		b.body.copyTo(&p.body, k.row[0], k.row[1])
		p.Rows++
		found := false
		for j := range p.Ranges {
			if rg := &p.Ranges[j]; rg.Topic == k.topic && rg.Partition == k.partition {
				rg.Last, found = k.offset, true
			}
		}
		if !found {
			var id [16]byte
			for _, rg := range b.Ranges {
				if rg.Topic == k.topic && rg.Partition == k.partition {
					id = rg.TopicID
				}
			}
			p.Ranges = append(p.Ranges, streamload.OffsetRange{Topic: k.topic, TopicID: id, Partition: k.partition, First: k.offset, Last: k.offset})
		}
	}
	p.body.writeByte(']')
	p.Label = streamload.Label(t.labelPrefix, p.Table, p.Ranges)
	return p
}
