// Package sink is the starsink worker: it consumes Debezium topics with a
// franz-go consumer group, decodes each record into a row of its StarRocks
// table, batches rows per table, loads batches with Stream Load, and marks
// and commits a record's offset only after the batch holding it is loaded.
//
// docs/architecture.md is the design: the path of a record and the
// invariants this package keeps.
package sink

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/starsink/starsink/schema"
	"github.com/starsink/starsink/status"
	"github.com/starsink/starsink/streamload"
)

// Batch is one Stream Load worth of rows of one table.
type Batch struct {
	DB, Table string
	Label     string
	body      body     // a JSON array of row objects (see Body)
	Columns   []string // the columns header, with __op when the table takes it
	Rows      int
	Deletes   int
	// Partial is set for rows that lack unchanged-TOAST columns: the load
	// updates only Columns of existing rows.
	Partial bool
	Options TableOptions
	Ranges  []streamload.OffsetRange // every record the batch answers for, loaded or skipped
	// Filtered is set by the Loader: rows StarRocks filtered out (only
	// possible with max_filter_ratio > 0); they are not stored.
	Filtered int64

	gens []uint64 // the assignment generation of each range's partition (owner)
	seq  uint64   // its number in its table's queue (tableState.seq)
	// deleted holds the hashes of the Kafka keys of the batch's deletes
	// (Primary Key tables): an upsert of one of them starts a new batch.
	deleted map[uint64]struct{}
	// streamed: the batch holds a streamed (not snapshot) row; with the
	// version guard on source positions a snapshot row starts a new batch
	// after one (tableState.addRow).
	streamed bool
	// snap: the batch holds rows of a full snapshot of a table with
	// snapshot_deletes_missing (snapshot.go).
	snap *snapMeta

	// kept holds what the dead-letter topic needs of each record (only when
	// one is configured), its keys and values copied into arena so the
	// fetch buffers the records came in are not held until the load ends.
	kept   []keptRecord
	arena  []byte
	opened time.Time
	reason string // why it was flushed
	bytes  int64  // memory charged to the budget (see tableState.charge)
	held   int64  // bytes of kept headers (outside the arena)
	// src summarises the rows' source commit times (freshness); status
	// and message are StarRocks' answer, set by the StreamLoader.
	src             status.SourceTimes
	status, message string
}

// Body returns the batch's JSON array of row objects as consecutive parts,
// to be sent one after the other, never joined. It is owned by the worker
// and reused after Load returns: a Loader must not keep it.
func (b *Batch) Body() [][]byte { return b.body.Parts() }

// BodyLen is the length of the body in bytes.
func (b *Batch) BodyLen() int { return b.body.Len() }

// keptRecord is a record of a batch as the dead-letter topic needs it; its
// key and value are spans of the batch's arena.
type keptRecord struct {
	topic      string
	partition  int32
	offset     int64
	timestamp  time.Time
	headers    []kgo.RecordHeader
	key, value [2]int // arena[k[0]:k[1]]; k[0] < 0: nil
	row        [2]int // the record's row: body bytes [row[0], row[1])
}

// keep copies what the dead-letter topic needs of r into the batch: key and
// value into the arena, headers into b.held's count; its row is the body's
// bytes [start, end).
func (b *Batch) keep(r *kgo.Record, start, end int) {
	span := func(v []byte) [2]int {
		if v == nil {
			return [2]int{-1, -1}
		}
		start := len(b.arena)
		b.arena = append(b.arena, v...)
		return [2]int{start, len(b.arena)}
	}
	k := keptRecord{topic: r.Topic, partition: r.Partition, offset: r.Offset, timestamp: r.Timestamp, key: span(r.Key), value: span(r.Value), row: [2]int{start, end}}
	for _, h := range r.Headers {
		k.headers = append(k.headers, kgo.RecordHeader{Key: h.Key, Value: append([]byte(nil), h.Value...)})
		b.held += int64(len(h.Key) + len(h.Value))
	}
	b.kept = append(b.kept, k)
}

// record rebuilds the i-th kept record (its key and value point into the
// arena, valid until the batch is reused).
func (b *Batch) record(i int) *kgo.Record {
	k := &b.kept[i]
	r := &kgo.Record{Topic: k.topic, Partition: k.partition, Offset: k.offset, Timestamp: k.timestamp, Headers: k.headers}
	if k.key[0] >= 0 {
		r.Key = b.arena[k.key[0]:k.key[1]]
	}
	if k.value[0] >= 0 {
		r.Value = b.arena[k.value[0]:k.value[1]]
	}
	return r
}

// TableOptions are the per-table Stream Load options a Loader applies.
type TableOptions struct {
	Format            string
	Headers           map[string]string
	MergeCondition    string
	PartialUpdateMode string
}

// Loader loads batches into StarRocks.
//
// Contract: Load is called for one batch of a table at a time (the next
// batch of the same table waits), and for different tables concurrently.
// Load retries transient failures itself, with the batch's label, so a retry
// after a lost answer never loads twice. A nil error means every row of the
// batch is in StarRocks (Success, Publish Timeout, or the label was already
// loaded): the worker then marks the batch's offsets, for the partitions it
// still owns. An error means the rows are not loaded: a *streamload.LoadError
// that is not retryable and names an ErrorURL is StarRocks refusing rows as
// data (with errors.tolerance=all the worker bisects the batch and
// dead-letters the refused records); anything else stops the worker without
// committing. Load must honour ctx: the worker cancels it to fence a load
// (revoke, lost assignment, shutdown past its grace period) and then asks
// the label's state (LoadStater) to learn whether StarRocks committed it
// anyway; a Loader that cannot answer that makes a fenced load stop the
// worker. Load may set Batch.Filtered.
type Loader interface {
	Load(ctx context.Context, b *Batch) error
}

// SchemaSource returns the schema of a StarRocks table (the MySQL-protocol
// catalog in production).
type SchemaSource interface {
	Table(ctx context.Context, db, table string) (*schema.Table, error)
}

// Pinger is an optional capability of a SchemaSource or Loader: /readyz
// calls it to check that StarRocks is reachable.
type Pinger interface {
	Ping(ctx context.Context) error
}

// StreamLoader is the production Loader over a streamload.Client.
type StreamLoader struct {
	Client      *streamload.Client
	Compression string
	Properties  map[string]string // starrocks.properties: headers for every table
	Timeout     time.Duration
}

// LoadStater is an optional capability of a Loader: the state of a label
// (get_load_state), to settle a load that was cancelled.
type LoadStater interface {
	LoadState(ctx context.Context, db, label string) (string, error)
}

// LoadState implements LoadStater.
func (l *StreamLoader) LoadState(ctx context.Context, db, label string) (string, error) {
	return l.Client.LoadState(ctx, db, label)
}

// Load implements Loader.
func (l *StreamLoader) Load(ctx context.Context, b *Batch) error {
	req := &streamload.Request{
		DB: b.DB, Table: b.Table, Label: b.Label, Format: streamload.FormatJSON,
		Columns: b.Columns, BodyParts: b.Body(), Compression: l.Compression,
		PartialUpdate: b.Partial, PartialUpdateMode: b.Options.PartialUpdateMode,
		MergeCondition: b.Options.MergeCondition, Timeout: l.Timeout,
	}
	if len(l.Properties) > 0 || len(b.Options.Headers) > 0 {
		req.Headers = make(map[string]string, len(l.Properties)+len(b.Options.Headers))
		for k, v := range l.Properties {
			req.Headers[k] = v
		}
		for k, v := range b.Options.Headers {
			req.Headers[k] = v
		}
	}
	resp, err := l.Client.Load(ctx, req)
	if resp != nil {
		b.Filtered = resp.NumberFilteredRows
		b.status, b.message = resp.Status, resp.Message
	}
	return err
}
