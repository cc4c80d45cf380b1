package sink

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/starsink/starsink/config"
	"github.com/starsink/starsink/debezium"
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
	if err := d.cl.ProduceSync(ctx, out).FirstErr(); err != nil {
		return fmt.Errorf("dead-letter topic %s: %w", d.topic, err)
	}
	return nil
}
