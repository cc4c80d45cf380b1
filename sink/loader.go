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
	"github.com/starsink/starsink/streamload"
)

// Batch is one Stream Load worth of rows of one table.
type Batch struct {
	DB, Table string
	Label     string
	// Body is a JSON array of row objects. It is owned by the worker and
	// reused after Load returns: a Loader must not keep it.
	Body    []byte
	Columns []string // the columns header, with __op when the table takes it
	Rows    int
	Deletes int
	// Partial is set for rows that lack unchanged-TOAST columns: the load
	// updates only Columns of existing rows.
	Partial bool
	Options TableOptions
	Ranges  []streamload.OffsetRange // every record the batch answers for, loaded or skipped

	records []*kgo.Record // for the dead-letter topic when the load fails for good
	opened  time.Time
	reason  string // why it was flushed
	bytes   int64  // memory charged to the budget
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
// loaded): the worker then marks the batch's offsets. An error means the rows
// are not loaded: the worker dead-letters the batch's records when
// errors.tolerance=all and goes on, or stops without committing them. Load
// must honour ctx.
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

// Load implements Loader.
func (l *StreamLoader) Load(ctx context.Context, b *Batch) error {
	req := &streamload.Request{
		DB: b.DB, Table: b.Table, Label: b.Label, Format: streamload.FormatJSON,
		Columns: b.Columns, Body: b.Body, Compression: l.Compression,
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
	_, err := l.Client.Load(ctx, req)
	return err
}
