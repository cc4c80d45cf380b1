package sink

import (
	"context"
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

	mu     sync.Mutex
	window []bool // ring of the last records' outcomes (true = dead-lettered)
	next   int
	count  int
}

func newDLQ(cl *kgo.Client, c config.Errors, group string) *dlq {
	return &dlq{cl: cl, topic: c.DLQTopic, group: group, max: c.DLQMaxFailures, window: make([]bool, max(1, c.DLQWindow))}
}

func (d *dlq) send(r *kgo.Record, stage string, cause error) error {
	d.mu.Lock()
	if d.window[d.next] {
		d.count--
	}
	d.window[d.next] = true
	d.count++
	d.next = (d.next + 1) % len(d.window)
	over := d.count > d.max
	d.mu.Unlock()
	if over {
		return fmt.Errorf("more than %d of the last %d records were dead-lettered (errors.dlq_max_failures)", d.max, len(d.window))
	}
	field := ""
	if de, ok := cause.(*debezium.DecodeError); ok {
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
