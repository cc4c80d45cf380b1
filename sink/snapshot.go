package sink

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/gjson"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/starsink/starsink/debezium"
	"github.com/starsink/starsink/schema"
	"github.com/starsink/starsink/streamload"
)

// A restarted full snapshot deletes the keys it does not read
// (mapping.tables.<t>.snapshot_deletes_missing, versioned mode with
// source-position versions). docs/architecture.md, "A restarted
// snapshot", has the argument; in short:
//
// Debezium takes an interrupted initial snapshot again from its first row,
// at a new position, and streams from there: a row the first attempt read
// and that was deleted in between reaches Kafka neither as a row nor as a
// delete. A full snapshot is the whole table at its position V (every
// row of it has version V, below every streamed change), so once it has
// been read, every key whose newest stored version is below V was not in
// the table at V: it gets a delete marker, a row with the deleted flag at
// version V-1. The marker ranks above every older snapshot row and below
// the new snapshot's rows and every streamed change, so a key the new
// snapshot read, or a stream changed, keeps its row whatever the order in
// which the loads land.
//
// When: after the batch holding the snapshot's last row of the table
// (source.snapshot last or last_in_data_collection) is loaded, and before
// its offsets are marked, so that a worker that stops in between runs it
// again from the replay. The batch's member first appends one marker (the
// "announce", for the last row's own key, which the snapshot's row
// outranks), then reads the keys below V-1 and marks them. Rows of an older
// snapshot can still be on their way from another partition, loaded by
// another member: every batch holding full-snapshot rows, once loaded,
// reads the newest marker M and, when its rows are not above it, marks the
// keys below M again. The announce precedes the read of keys, and a
// batch's load precedes its read of M, so of two such members at least one
// sees the other's write: either the keys read include the late rows, or
// the late batch sees the marker (the store-then-load order of Dekker's
// algorithm). It needs each write visible before the read that follows it:
// a load answered Success is; after any other answer the worker waits for
// get_load_state to say VISIBLE (visible).

// SnapshotQuerier is an optional capability of a SchemaSource: the two
// reads a restarted snapshot's delete markers need. streamload.Catalog has
// it (SQL over the MySQL protocol).
type SnapshotQuerier interface {
	// NewestBelow calls each with the values (MySQL text, nil for NULL)
	// of cols in the newest row (by column) of every key (the columns
	// keys) of db.table whose newest row's column is below below.
	NewestBelow(ctx context.Context, db, table string, keys, cols []string, column string, below int64, each func(values []*string) error) error
	// MaxFlagged returns the largest value below below of column among
	// the rows whose flag column is true (false: none).
	MaxFlagged(ctx context.Context, db, table, column, flag string, below int64) (int64, bool, error)
}

// snapMeta is what a batch holding full-snapshot rows of a table with
// snapshot_deletes_missing carries for deleteMissing: its smallest
// snapshot version, the snapshot's end and announce marker when it holds
// the last row, and the table's shape as of its rows (the loader reads
// these; the poll loop may change the table's while the batch loads).
type snapMeta struct {
	min      int64  // the smallest version of its full-snapshot rows
	end      int64  // the version of the snapshot whose last row it holds; 0: none
	announce []byte // the marker for that row's key, at end-1
	annCols  []int  // the columns announce holds
	def      *schema.Table
	// cols are the columns a marker holds (indexes into def.Columns): the
	// key's first (nkeys of them), then every other NOT NULL column but
	// the version and the deleted flag, which StarRocks would otherwise
	// refuse to leave out ("Column has no default value"). The others are
	// left NULL: a deleted row's values are never read.
	cols   []int
	nkeys  int
	verCol string
	delCol string
}

// snapshotRow notes a full-snapshot row of a table with
// snapshot_deletes_missing in the batch b it was added to. row is the
// row as loaded (its version columns are not among a marker's). Poll
// loop.
func (t *tableState) snapshotRow(r *kgo.Record, b *Batch, row []byte, ev *debezium.Event, v int64) error {
	if t.keyCols == nil {
		keys, err := recordKeyColumns(t.def, r.Key)
		if err != nil {
			return fmt.Errorf("topic %s partition %d offset %d: field key: snapshot_deletes_missing of %s: %w", r.Topic, r.Partition, r.Offset, t.name, err)
		}
		t.keyCols = keys
	}
	s := b.snap
	if s == nil {
		_, del := t.o.VersionColumns()
		s = &snapMeta{min: v, def: t.def, cols: slices.Clone(t.keyCols), nkeys: len(t.keyCols), verCol: t.verCol, delCol: del}
		for i, c := range t.def.Columns {
			if !c.Nullable && !slices.Contains(s.cols, i) && !strings.EqualFold(c.Name, s.verCol) && !strings.EqualFold(c.Name, del) {
				s.cols = append(s.cols, i)
			}
		}
		b.snap = s
	}
	s.min = min(s.min, v)
	if ev.Span != debezium.SpanFullLast {
		return nil
	}
	announce, cols, err := s.markerFromRow(row, v-1)
	if err != nil {
		return fmt.Errorf("topic %s partition %d offset %d: snapshot_deletes_missing of %s: %w", r.Topic, r.Partition, r.Offset, t.name, err)
	}
	s.end, s.announce, s.annCols = v, announce, cols
	return nil
}

// recordKeyColumns returns the table's columns named by a Debezium record key's
// fields (the source's primary key, or message.key.columns): the key a
// versioned table's latest-row view groups by.
func recordKeyColumns(def *schema.Table, key []byte) ([]int, error) {
	k := gjson.ParseBytes(key)
	if p := k.Get("payload"); k.Get("schema").Exists() && p.IsObject() {
		k = p // JsonConverter's schema envelope
	}
	if !k.IsObject() {
		return nil, fmt.Errorf("the record key is not a JSON object of the key's fields (%.40q): the delete markers of keys a new snapshot does not read need the source's key", key)
	}
	var cols []int
	var err error
	k.ForEach(func(name, _ gjson.Result) bool {
		i := def.Index(name.Str)
		if i < 0 {
			err = fmt.Errorf("key field %s has no column in %s", name.Str, def.QualifiedName())
			return false
		}
		cols = append(cols, i)
		return true
	})
	if err == nil && len(cols) == 0 {
		err = fmt.Errorf("the record key has no field")
	}
	return cols, err
}

// markerFromRow returns the delete marker at version v for the key of
// row, a decoded row object, and the columns it holds: the marker's
// columns the row has (every key column, or an error). A NOT NULL column
// the row lacks the row itself was loaded without, so the table has a
// default for it.
func (s *snapMeta) markerFromRow(row []byte, v int64) ([]byte, []int, error) {
	vals := make([]string, len(s.cols))
	gjson.ParseBytes(row).ForEach(func(name, val gjson.Result) bool {
		for j, c := range s.cols {
			if vals[j] == "" && strings.EqualFold(s.def.Columns[c].Name, name.Str) {
				vals[j] = val.Raw
			}
		}
		return true
	})
	var dst []byte
	var cols []int
	dst = append(dst, '{')
	for j, c := range s.cols {
		if vals[j] == "" {
			if j < s.nkeys {
				return nil, nil, fmt.Errorf("the row lacks the key column %s", s.def.Columns[c].Name)
			}
			continue
		}
		cols = append(cols, c)
		dst = appendName(dst, s.def.Columns[c].Name)
		dst = append(dst, vals[j]...)
		dst = append(dst, ',')
	}
	return s.closeMarker(dst, v), cols, nil
}

// markerFromText appends to dst a delete marker at version v for a row
// read over SQL (MySQL text): numbers as JSON numbers, JSON, arrays, maps
// and structs as the JSON text StarRocks prints, the rest as strings.
func (s *snapMeta) markerFromText(dst []byte, vals []*string, v int64) []byte {
	dst = append(dst, '{')
	for j, c := range s.cols {
		col := &s.def.Columns[c]
		dst = appendName(dst, col.Name)
		switch {
		case vals[j] == nil:
			dst = append(dst, "null"...)
		case col.Kind >= schema.KindBoolean && col.Kind <= schema.KindDecimal && col.Kind != schema.KindLargeInt,
			col.Kind >= schema.KindJSON && col.Kind != schema.KindBinary && json.Valid([]byte(*vals[j])):
			dst = append(dst, *vals[j]...)
		default:
			q, _ := json.Marshal(*vals[j])
			dst = append(dst, q...)
		}
		dst = append(dst, ',')
	}
	return s.closeMarker(dst, v)
}

func appendName(dst []byte, name string) []byte {
	q, _ := json.Marshal(name)
	return append(append(dst, q...), ':')
}

// closeMarker appends the version and the deleted flag and closes the row.
func (s *snapMeta) closeMarker(dst []byte, v int64) []byte {
	dst = appendName(dst, s.verCol)
	dst = strconv.AppendInt(dst, v, 10)
	dst = append(dst, ',')
	dst = appendName(dst, s.delCol)
	return append(dst, "true}"...)
}

// names returns the names of the columns cols.
func (s *snapMeta) names(cols []int) []string {
	names := make([]string, len(cols))
	for j, c := range cols {
		names[j] = s.def.Columns[c].Name
	}
	return names
}

// deleteMissing runs after a batch holding full-snapshot rows is loaded
// and before its offsets are marked (see the top of this file); whole
// says it was loaded as one load under its label, whose visibility it
// waits for (the parts of a bisected batch were each waited for). A nil
// error means every marker it owes is loaded.
func (t *tableState) deleteMissing(ctx context.Context, b *Batch, whole bool) error {
	s := b.snap
	q, ok := t.w.schemas.(SnapshotQuerier)
	if !ok {
		return fmt.Errorf("table %s: snapshot_deletes_missing: the schema source cannot read the table's keys", t.name)
	}
	// The reads below must see the batch's rows.
	if whole {
		if err := t.visible(ctx, b.DB, b.Label, b.status); err != nil {
			return fmt.Errorf("table %s: snapshot_deletes_missing: %w", t.name, err)
		}
	}
	done := int64(math.MinInt64)
	if s.end != 0 {
		// The announce, then the keys the snapshot did not read.
		if err := t.loadMarkers(ctx, s, s.annCols, s.announce, 1, s.end-1, 0); err != nil {
			return fmt.Errorf("table %s: snapshot_deletes_missing: %w", t.name, err)
		}
		if err := t.markBelow(ctx, q, s, s.end-1, "snapshot_end"); err != nil {
			return err
		}
		done = s.end - 1
	}
	m, has, err := q.MaxFlagged(ctx, s.def.Database, s.def.Name, s.verCol, s.delCol, 0)
	if err != nil {
		return fmt.Errorf("table %s: snapshot_deletes_missing: %w", t.name, err)
	}
	if has && m >= s.min && m > done {
		// Rows of an older snapshot than one already marked: mark again.
		return t.markBelow(ctx, q, s, m, "late_snapshot_rows")
	}
	return nil
}

// markBelow appends a delete marker at version v for every key whose
// newest version is below v (its newest row's values of the marker's
// columns), in loads of at most batch.max_rows rows and
// half of batch.max_bytes.
func (t *tableState) markBelow(ctx context.Context, q SnapshotQuerier, s *snapMeta, v int64, why string) error {
	w := t.w
	start := time.Now()
	var body []byte
	n, total, part := 0, 0, 0
	flush := func() error {
		if n == 0 {
			return nil
		}
		part++
		err := t.loadMarkers(ctx, s, s.cols, body, n, v, part)
		total += n
		body, n = body[:0], 0
		return err
	}
	err := q.NewestBelow(ctx, s.def.Database, s.def.Name, s.names(s.cols[:s.nkeys]), s.names(s.cols), s.verCol, v, func(vals []*string) error {
		if n > 0 {
			body = append(body, ',')
		}
		body = s.markerFromText(body, vals, v)
		n++
		if n >= w.cfg.Batch.MaxRows || int64(len(body)) >= w.cfg.Batch.MaxBytes/2 {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return fmt.Errorf("table %s: snapshot_deletes_missing: delete markers at version %d: %w", t.name, v, err)
	}
	w.m.snapshotDeletes.WithLabelValues(t.name).Add(float64(total))
	w.log.Info("keys a full snapshot did not read marked deleted", zap.String("table", t.name), zap.Int64("version", v),
		zap.Int("keys", total), zap.String("why", why), zap.Duration("duration", time.Since(start)))
	return nil
}

// loadMarkers loads n marker rows (comma-separated objects of the columns
// cols in rows) at
// version v with a label of their own: markers are idempotent, so a retry
// or a second member loading the same ones changes no key's latest state.
func (t *tableState) loadMarkers(ctx context.Context, s *snapMeta, cols []int, rows []byte, n int, v int64, part int) error {
	b := &Batch{DB: s.def.Database, Table: s.def.Name, Columns: append(s.names(cols), s.verCol, s.delCol), Rows: n, Options: t.opts, reason: "snapshot_deletes_missing"}
	suffix := fmt.Sprintf("-missing-%x-%d-%x", uint64(-v), part, time.Now().UnixNano())
	b.Label = t.labelPrefix + "-" + s.def.Name + suffix
	if !streamload.ValidLabel(b.Label) {
		b.Label = t.labelPrefix + suffix
	}
	b.body.writeByte('[')
	b.body.write(rows)
	b.body.writeByte(']')
	defer b.body.release()
	select {
	case t.w.sem <- struct{}{}:
		defer func() { <-t.w.sem }()
	case <-ctx.Done():
		return ctx.Err()
	}
	if err := t.w.loader.Load(ctx, b); err != nil {
		return fmt.Errorf("load of %d delete markers (label %s): %w", n, b.Label, err)
	}
	return t.visible(ctx, b.DB, b.Label, b.status)
}

// visible returns once the load of label is visible to reads. StarRocks
// answers Success only when it is (the BE waits for the publish until the
// load's deadline, stream_load_executor.cpp commit_txn_internal);
// Publish Timeout, or a label found already loaded, may still be
// COMMITTED and not readable: get_load_state is asked until it says
// VISIBLE, for at most starrocks.retry_for.
func (t *tableState) visible(ctx context.Context, db, label, status string) error {
	if status == "Success" {
		return nil
	}
	ls, ok := t.w.loader.(LoadStater)
	if !ok {
		return fmt.Errorf("load %s answered %q and the loader cannot tell when it becomes visible", label, status)
	}
	deadline := time.Now().Add(t.w.cfg.StarRocks.RetryFor)
	for {
		st, err := ls.LoadState(ctx, db, label)
		if err == nil && st == "VISIBLE" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("load %s (%q) not visible after %s: state %s, %v", label, status, t.w.cfg.StarRocks.RetryFor, st, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}
