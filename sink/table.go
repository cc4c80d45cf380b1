package sink

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/starsink/starsink/config"
	"github.com/starsink/starsink/debezium"
	"github.com/starsink/starsink/schema"
	"github.com/starsink/starsink/streamload"
)

// tableState is one StarRocks table's batching and loading.
type tableState struct {
	w       *Worker
	def     *schema.Table
	opts    TableOptions
	deletes string // apply, skip, fail
	// skipTruncates counts and skips truncate events instead of rejecting them.
	skipTruncates bool
	pk            bool
	// versioned: changes are appended with a version and a deleted flag;
	// verSuffix is `"<version column>":` and delSuffix `,"<deleted column>":`.
	// guard (Primary Key tables) is the version guard's column: rows carry
	// the version (verSuffix, no delSuffix) and loads merge_condition on it.
	guard     string
	versioned bool
	// byOffset: versions come from the records' Kafka offsets
	// (mapping.version_from kafka_offset), 2^62 + epoch<<44 + offset, with
	// epochBase = 2^62 + epoch<<44.
	byOffset  bool
	epochBase int64
	// deletesMissing: a full snapshot's end marks deleted the keys it did
	// not read (snapshot_deletes_missing, snapshot.go); keyCols are the
	// key's columns, learned from the first full-snapshot record's key.
	deletesMissing bool
	keyCols        []int
	verCol         string // the version column (guard or versioned mode)
	// labelPrefix is starrocks.label_prefix, with "-e<epoch>" for a
	// version_epoch above 0: a batch's body holds its rows' versions, so
	// the same offsets loaded under another epoch are other content and
	// get another label.
	labelPrefix          string
	verSuffix, delSuffix []byte
	decs                 []*debezium.Decoder // one per decode lane
	// raw is set once a decoder of the table decoded a raw Debezium
	// envelope (decoder.envelope=auto): its tombstones are then skipped,
	// whichever lane or schema generation decoded them (see rawTombstone).
	// Poll loop only.
	raw  bool
	cols []string // full columns header
	name string
	o    config.TableOptions
	// gen counts the table's schemas: a record decoded under an older one
	// is decoded again (see checkSchema). schemaRead is when checkSchema
	// last read the schema (zero at first: the schema the table started
	// with may have come from the catalog's cache, read before an ALTER
	// TABLE), unknown the fields already reported as having no column.
	gen        int
	schemaRead time.Time
	unknown    map[string]bool
	// rangeGen and rangeSchema: evolveRange last ran under this schema
	// generation for a record of this schema (hash).
	rangeGen    int
	rangeSchema uint64

	cur     *Batch // being filled; poll loop only (under w.mu)
	curKey  string // column set of cur ("" = full rows)
	scratch []byte

	qmu   sync.Mutex
	queue []*Batch // queue[0] is loading when running is set
	// seq numbers the batches flushed; done is the highest number below
	// every batch still queued (all batches up to it have left the queue:
	// loaded, failed or dropped). progress is closed and made anew each
	// time done moves (waitFor).
	seq, done uint64
	progress  chan struct{}
	running   *Batch
	cancelRun context.CancelFunc // cancels running's load (fence)
	settleBy  time.Time          // a fenced load is settled by then
	idleAt    time.Time          // when a batch of this table was last flushed by flushIdle
	notify    chan struct{}
	failed    atomic.Bool  // a batch failed for good: later batches must not mark
	last      atomic.Int64 // unix nanos of the last finished batch
}

func newTableState(w *Worker, def *schema.Table, o config.TableOptions) (*tableState, error) {
	t := &tableState{w: w, name: def.QualifiedName(), pk: def.Model == schema.ModelPrimaryKeys, o: o,
		notify: make(chan struct{}, 1), progress: make(chan struct{}), deletes: o.Deletes, versioned: o.Versioned(), skipTruncates: o.Truncates == "skip",
		opts: TableOptions{Format: o.Format, Headers: o.Headers, MergeCondition: o.MergeCondition, PartialUpdateMode: o.PartialUpdateMode}}
	if t.versioned && t.pk {
		return nil, fmt.Errorf("table %s: mapping.tables.%s.mode=versioned is for tables that cannot update in place; %s is a Primary Key table: use the default upsert mode", t.name, def.Name, t.name)
	}
	if def.Model == schema.ModelAggKeys && !def.AllReplace() && !strings.EqualFold(o.Aggregate, "allow") {
		// A change stream loaded into SUM, MAX or MIN columns adds or
		// compares images instead of replacing them: the table would not
		// equal the source, and nothing would say so. With every value
		// column REPLACE, an upsert keeps the last image, as on a Primary
		// Key table (deletes are refused or skipped: deletes=skip).
		return nil, fmt.Errorf("table %s is an Aggregate Key table whose value columns are not all REPLACE (%s): they aggregate every change instead of keeping the last image, so the table cannot equal the source; load into a Primary Key table, or set mapping.tables.%s.aggregate=allow to load anyway",
			t.name, strings.Join(aggregates(def), ", "), def.Name)
	}
	if t.pk {
		t.guard = o.VersionColumn
		if t.guard == "" {
			t.guard = w.cfg.Mapping.VersionColumn
		}
		if t.guard != "" {
			t.opts.MergeCondition = t.guard
		}
	}
	t.labelPrefix = w.cfg.StarRocks.LabelPrefix
	if from, epoch := o.VersionOrigin(w.cfg.Mapping); from == config.VersionFromOffset {
		t.byOffset, t.epochBase = true, offsetVersionBase+epoch<<offsetBits
		if epoch > 0 && (t.guard != "" || t.versioned) {
			t.labelPrefix += "-e" + strconv.FormatInt(epoch, 10)
		}
	}
	if err := t.useSchema(def); err != nil {
		return nil, err
	}
	if o.SnapshotDeletesMissing {
		if from, _ := o.VersionOrigin(w.cfg.Mapping); !t.versioned || from != config.VersionFromSource {
			return nil, fmt.Errorf("table %s: mapping.tables.%s.snapshot_deletes_missing needs mode versioned with version_from source_position", t.name, def.Name)
		}
		if _, ok := w.schemas.(SnapshotQuerier); !ok {
			return nil, fmt.Errorf("table %s: mapping.tables.%s.snapshot_deletes_missing: the schema source cannot read the table's keys", t.name, def.Name)
		}
		t.deletesMissing = true
	}
	if t.deletes == "" {
		t.deletes = "apply" // versioned: a delete is a row with the deleted flag
		if !t.pk && !t.versioned {
			t.deletes = "fail"
		}
	}
	t.last.Store(time.Now().UnixNano())
	return t, nil
}

// useSchema makes def the table's schema: its decoders (one per lane) and
// its columns header.
func (t *tableState) useSchema(def *schema.Table) error {
	dopts := t.w.decOpts
	dopts.OpColumn = t.pk
	if t.guard != "" {
		if err := guardColumn(def, t.guard); err != nil {
			return fmt.Errorf("table %s: version guard: %w", t.name, err)
		}
		dopts.Omit = []string{t.guard}
		t.verCol = t.guard
		verName, _ := json.Marshal(t.guard)
		t.verSuffix, t.delSuffix = append(verName, ':'), nil
	}
	if t.versioned {
		ver, del := t.o.VersionColumns()
		if t.o.VersionColumn == "" && t.w.cfg.Mapping.VersionColumn != "" {
			ver = t.w.cfg.Mapping.VersionColumn
		}
		if err := versionColumns(def, ver, del); err != nil {
			return fmt.Errorf("table %s: mode versioned: %w", t.name, err)
		}
		dopts.Omit = []string{ver, del}
		t.verCol = ver
		verName, _ := json.Marshal(ver)
		delName, _ := json.Marshal(del)
		t.verSuffix = append(verName, ':')
		t.delSuffix = append(append([]byte{','}, delName...), ':')
	}
	decs := make([]*debezium.Decoder, len(t.w.lanes))
	for i := range decs {
		decs[i] = debezium.NewDecoder(def, dopts)
	}
	cols := make([]string, 0, len(def.Columns)+1)
	for _, c := range def.Columns {
		cols = append(cols, c.Name)
	}
	if t.pk {
		cols = append(cols, "__op")
	}
	t.def, t.decs, t.cols = def, decs, cols
	t.keyCols = nil // learned again under this schema (snapshotRow)
	t.gen++
	return nil
}

// checkSchema is called for a record whose row has a field the table has no
// column for (unknown): a column may have been added with ALTER TABLE since
// the schema was read. At most once per starrocks.schema_refresh_interval
// per table it reads the schema again; when the columns changed, it closes
// the open batch (its rows keep the old columns header) and takes the new
// schema, and the records of this poll decoded under the old one are
// decoded again as the worker reaches them (see add). A field that still
// has no column is logged once per table and not loaded, as StarRocks
// ignores unknown keys. A change of the table's model or key stops the
// worker: a restart reads it from scratch.
func (t *tableState) checkSchema(ctx context.Context, r *kgo.Record, unknown string) error {
	w := t.w
	if w.evolving() && !t.unknown[unknown] {
		// mapping.evolve: the field is added now, before any of its values
		// is dropped; one that cannot be added is logged below and not
		// tried again until the schema changes.
		changed, err := t.evolveUnknown(ctx, r)
		if err != nil || changed {
			return err
		}
	} else if every := w.cfg.StarRocks.SchemaRefreshInterval; every > 0 && time.Since(t.schemaRead) >= every {
		t.schemaRead = time.Now()
		if rf, ok := w.schemas.(interface{ Refresh(db, table string) }); ok {
			rf.Refresh(t.def.Database, t.def.Name)
		}
		def, err := w.schemas.Table(ctx, t.def.Database, t.def.Name)
		if err != nil {
			w.log.Warn("table schema not read again", zap.String("table", t.name), zap.Error(err))
		} else if added, removed := columnChanges(t.def, def); len(added) > 0 || len(removed) > 0 {
			if def.Model != t.def.Model || !slices.Equal(keyColumns(def), keyColumns(t.def)) {
				return fmt.Errorf("topic %s partition %d offset %d: table %s changed its model or key (%s %v → %s %v): restart starsink to load into the new table",
					r.Topic, r.Partition, r.Offset, t.name, t.def.Model, keyColumns(t.def), def.Model, keyColumns(def))
			}
			if t.cur != nil {
				t.flush("schema")
			}
			if err := t.useSchema(def); err != nil {
				return fmt.Errorf("topic %s partition %d offset %d: %w", r.Topic, r.Partition, r.Offset, err)
			}
			clear(t.unknown)
			w.log.Info("table schema changed", zap.String("table", t.name), zap.Strings("added", added), zap.Strings("removed", removed),
				zap.String("topic", r.Topic), zap.Int32("partition", r.Partition), zap.Int64("offset", r.Offset))
			return nil
		}
	}
	if !t.unknown[unknown] && len(t.unknown) < 100 {
		if t.unknown == nil {
			t.unknown = map[string]bool{}
		}
		t.unknown[unknown] = true
		w.log.Warn("field has no column in the table: not loaded", zap.String("table", t.name),
			zap.String("field", unknown), zap.String("topic", r.Topic), zap.Int32("partition", r.Partition), zap.Int64("offset", r.Offset))
	}
	return nil
}

// columnChanges lists the column names of b not in a, and of a not in b.
func columnChanges(a, b *schema.Table) (added, removed []string) {
	for _, c := range b.Columns {
		if a.Index(c.Name) < 0 {
			added = append(added, c.Name)
		}
	}
	for _, c := range a.Columns {
		if b.Index(c.Name) < 0 {
			removed = append(removed, c.Name)
		}
	}
	return added, removed
}

func keyColumns(t *schema.Table) []string {
	var ks []string
	for _, c := range t.Columns {
		if c.Key {
			ks = append(ks, c.Name)
		}
	}
	return ks
}

// aggregates lists the value columns of an Aggregate Key table that are
// not REPLACE, with their functions.
func aggregates(def *schema.Table) []string {
	var out []string
	for _, c := range def.Columns {
		if !c.Key && c.Agg != schema.AggReplace {
			out = append(out, c.Name+" "+c.Agg)
		}
	}
	return out
}

// advance moves done after the queue changed and wakes the waiters.
// Called under qmu.
func (t *tableState) advance() {
	done := t.seq
	if len(t.queue) > 0 {
		done = t.queue[0].seq - 1
	}
	if done != t.done {
		t.done = done
		close(t.progress)
		t.progress = make(chan struct{})
	}
}

// keySeed hashes Kafka keys for the delete-then-upsert split.
var keySeed = maphash.MakeSeed()

// guardColumn checks that a Primary Key table has the version guard's
// column, an integer wide enough for a PostgreSQL LSN, not in the key.
func guardColumn(def *schema.Table, name string) error {
	i := def.Index(name)
	if i < 0 {
		return fmt.Errorf("no column %s: add `%s BIGINT NOT NULL DEFAULT \"0\"` (the change's version: its source position; below every streamed change for a snapshot row), or turn the guard off (mapping.version_column, mapping.tables.%s.version_column)", name, name, def.Name)
	}
	c := def.Columns[i]
	switch {
	case c.Key:
		return fmt.Errorf("column %s is in the key: the guard's column must be a value column", name)
	case c.Kind != schema.KindBigInt && c.Kind != schema.KindLargeInt:
		return fmt.Errorf("column %s is %s: want BIGINT or LARGEINT", name, c.Type)
	}
	return nil
}

// versionColumns checks that a versioned table has its version column (an
// integer wide enough for a PostgreSQL LSN) and its deleted flag.
func versionColumns(def *schema.Table, ver, del string) error {
	var errs []error
	if i := def.Index(ver); i < 0 {
		errs = append(errs, fmt.Errorf("no column %s: add `%s BIGINT NOT NULL` (the change's version)", ver, ver))
	} else if k := def.Columns[i].Kind; k != schema.KindBigInt && k != schema.KindLargeInt {
		errs = append(errs, fmt.Errorf("column %s is %s: want BIGINT or LARGEINT", ver, def.Columns[i].Type))
	}
	if i := def.Index(del); i < 0 {
		errs = append(errs, fmt.Errorf("no column %s: add `%s BOOLEAN NOT NULL`", del, del))
	} else if k := def.Columns[i].Kind; k != schema.KindBoolean && k != schema.KindTinyInt && k != schema.KindSmallInt && k != schema.KindInt && k != schema.KindBigInt {
		errs = append(errs, fmt.Errorf("column %s is %s: want BOOLEAN or an integer", del, def.Columns[i].Type))
	}
	return errors.Join(errs...)
}

// Versions from Kafka offsets (mapping.version_from kafka_offset):
// 2^62 + epoch·2^44 + offset. 2^62 puts them above every source-position
// version (below 2^62, docs/architecture.md), so a table that switches to
// offsets keeps no stored version that outranks the new ones; 2^44
// offsets (17.6 trillion records) fit one partition, 2^18 epochs the rest
// of a positive BIGINT.
const (
	offsetVersionBase = int64(1) << 62
	offsetBits        = 44
	maxVersionOffset  = int64(1)<<offsetBits - 1
)

// version returns the version a change is stored with in the versioned
// mode and by the version guard. With version_from kafka_offset it is the
// record's position in its partition within the table's epoch: Debezium
// writes every change of a key to one partition in the order that makes
// it right (commit order for streamed changes; an incremental snapshot's
// chunk after the changes it read and before those it did not), so the
// offset orders them where no source position can (docs/architecture.md).
// Otherwise it is the decoder's Event.Version when it has one; 0 for
// snapshot reads, which rank below every streamed change of their key, and
// the source LSN for streamed changes (per key it grows, since row locks
// serialise writers). docs/architecture.md has the argument and its limits.
func (t *tableState) version(r *kgo.Record, ev *debezium.Event) (int64, error) {
	if t.byOffset {
		if r.Offset < 0 || r.Offset > maxVersionOffset {
			return 0, fmt.Errorf("topic %s partition %d offset %d: mapping.version_from kafka_offset of %s: the offset is beyond the %d a version can hold", r.Topic, r.Partition, r.Offset, t.name, maxVersionOffset)
		}
		return t.epochBase + r.Offset, nil
	}
	switch {
	case ev.VersionErr != nil:
		what := "the versioned mode"
		if t.guard != "" {
			what = "the version guard (" + t.guard + ")"
		}
		return 0, fmt.Errorf("topic %s partition %d offset %d: %s of %s: %w", r.Topic, r.Partition, r.Offset, what, t.name, ev.VersionErr)
	case ev.Version != 0:
		return ev.Version, nil // the decoder's version of the change
	case ev.Snapshot:
		return 0, nil
	case ev.LSN > 0:
		return ev.LSN, nil
	}
	what := "the versioned mode"
	if t.guard != "" {
		what = "the version guard (" + t.guard + ")"
	}
	return 0, fmt.Errorf("topic %s partition %d offset %d: field source.lsn: %s of %s needs the change's LSN (raw Debezium envelopes carry it; with ExtractNewRecordState add it with add.fields=op,lsn)",
		r.Topic, r.Partition, r.Offset, what, t.name)
}

// addRow appends the row decoded from r (if its event has one) to the
// current batch. row is not kept.
func (t *tableState) addRow(r *kgo.Record, row []byte, ev debezium.Event) error {
	switch ev.Op {
	case debezium.OpSkip:
		t.skip(r, strings.ReplaceAll(ev.Reason, " ", "_"))
		return nil
	case debezium.OpTruncate:
		if t.skipTruncates {
			t.skip(r, "truncate")
			return nil
		}
		return t.w.reject(r, t, "transform", fmt.Errorf("topic %s partition %d offset %d: the source table was truncated; starsink does not truncate %s (truncate it by hand, then set mapping.tables.%s.truncates=skip to count and skip truncates, or add 't' to the connector's skipped.operations, its default, so that none are emitted)",
			r.Topic, r.Partition, r.Offset, t.name, t.def.Name))
	case debezium.OpDelete:
		if !t.pk && (!t.versioned || t.deletes != "apply") {
			if t.deletes == "skip" {
				t.skip(r, "delete_on_non_primary_key_table")
				return nil
			}
			return t.w.reject(r, t, "transform", fmt.Errorf("topic %s partition %d offset %d: delete on %s, a %s table: set mapping.tables.%s.deletes=skip to count and skip deletes, or mode=versioned to store changes as versioned rows",
				r.Topic, r.Partition, r.Offset, t.name, t.def.Model, t.def.Name))
		}
	}
	key := ""
	if len(ev.Unavailable) > 0 {
		if !t.pk {
			return t.w.reject(r, t, "transform", fmt.Errorf("topic %s partition %d offset %d: unchanged TOAST columns on %s, a %s table, cannot be loaded as a partial update: set REPLICA IDENTITY FULL on the source table",
				r.Topic, r.Partition, r.Offset, t.name, t.def.Model))
		}
		key = fmt.Sprint(ev.Unavailable)
	}
	var v int64
	if t.versioned || t.guard != "" {
		var err error
		if v, err = t.version(r, &ev); err != nil {
			return t.w.reject(r, t, "transform", err)
		}
		t.scratch = t.appendVersion(append(t.scratch[:0], row...), v, ev.Op == debezium.OpDelete)
		row = t.scratch
	}
	if t.cur != nil && t.curKey != key {
		t.flush("columns")
	}
	var kh uint64
	if t.pk {
		// No load holds an upsert of a key after a delete of the same key:
		// on shared-data Primary Key tables StarRocks loses the upsert when
		// a memtable flush falls between them (StarRocks #75014). The batch
		// keeps the hashes of its deletes' Kafka keys (Debezium keys by the
		// primary key) and closes before such an upsert.
		kh = maphash.Bytes(keySeed, r.Key)
		if b := t.cur; b != nil && ev.Op != debezium.OpDelete && b.Deletes > 0 {
			if _, ok := b.deleted[kh]; ok || r.Key == nil {
				t.flush("delete_then_upsert")
			}
		}
	}
	if t.guard != "" && !t.byOffset && ev.Snapshot && t.cur != nil && t.cur.streamed {
		// Under source positions a snapshot row ranks below every streamed
		// change. StarRocks keeps the last row of a key within one load
		// before merge_condition compares it with the stored row, so a
		// snapshot row after a streamed change of its key in one load
		// would hide that change: it would be refused with the snapshot
		// row, and lost (an incremental snapshot's chunk follows streamed
		// changes in the topic). The batch closes before a snapshot row
		// that follows a streamed one; in the next load merge_condition
		// refuses the snapshot row against the stored change.
		t.flush("snapshot_after_stream")
	}
	b := t.batch(r)
	if t.deletesMissing && ev.Snapshot {
		if ev.Span == debezium.SpanUnknown {
			return t.w.reject(r, t, "transform", fmt.Errorf("topic %s partition %d offset %d: field source.snapshot: snapshot_deletes_missing of %s needs to tell a full snapshot's rows from an incremental one's, and this snapshot row does not say (with ExtractNewRecordState add source.snapshot to add.fields)",
				r.Topic, r.Partition, r.Offset, t.name))
		}
		if ev.Span != debezium.SpanIncremental {
			if err := t.snapshotRow(r, b, row, &ev, v); err != nil {
				return t.w.reject(r, t, "transform", err)
			}
		}
	}
	if key != "" && b.Rows == 0 {
		b.Partial = true
		b.Columns = b.Columns[:0]
		for i, c := range t.def.Columns {
			if !contains(ev.Unavailable, i) {
				b.Columns = append(b.Columns, c.Name)
			}
		}
		b.Columns = append(b.Columns, "__op")
	}
	t.curKey = key
	if b.Rows > 0 {
		b.body.writeByte(',')
	}
	start := b.body.Len()
	b.body.write(row)
	b.Rows++
	b.streamed = b.streamed || !ev.Snapshot
	// Freshness: two comparisons per row, no allocation.
	b.src.Add(ev.SourceTS)
	if ev.Op == debezium.OpDelete && !t.versioned { // a versioned delete is an appended row
		b.Deletes++
		if t.pk {
			if b.deleted == nil {
				b.deleted = map[uint64]struct{}{}
			}
			b.deleted[kh] = struct{}{}
		}
	}
	if t.w.dlq != nil {
		b.keep(r, start, b.body.Len())
	}
	t.charge(b)
	switch {
	case b.Rows >= t.w.cfg.Batch.MaxRows:
		t.flush("rows")
	case int64(b.body.Len()) >= t.w.cfg.Batch.MaxBytes:
		t.flush("bytes")
	}
	return nil
}

// appendVersion replaces the closing brace of row with the version and
// deleted columns.
func (t *tableState) appendVersion(row []byte, v int64, deleted bool) []byte {
	row = row[:len(row)-1]
	if row[len(row)-1] != '{' {
		row = append(row, ',')
	}
	row = append(row, t.verSuffix...)
	row = strconv.AppendInt(row, v, 10)
	if t.delSuffix == nil { // the version guard: no deleted flag
		return append(row, '}')
	}
	row = append(row, t.delSuffix...)
	if deleted {
		row = append(row, "true}"...)
	} else {
		row = append(row, "false}"...)
	}
	return row
}

func contains(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// charge brings what b is charged to the budget up to the memory it holds:
// the capacity of its body's chunks and of its record copies, not their
// length. Charging only the rows let a 256 MiB budget hold 300 MiB of
// bodies.
func (t *tableState) charge(b *Batch) {
	n := int64(b.body.cap+cap(b.arena)) + b.held
	if d := n - b.bytes; d != 0 {
		t.w.buffered.Add(d)
		b.bytes = n
	}
}

// skip records r in the current batch without a row, so its offset is
// marked only after every earlier record of its partition is loaded.
func (t *tableState) skip(r *kgo.Record, reason string) {
	t.batch(r)
	t.w.skipped.Add(1)
	t.w.m.skipped.WithLabelValues(t.name, reason).Inc()
}

// batch returns the current batch with r's offset added to its ranges.
func (t *tableState) batch(r *kgo.Record) *Batch {
	b := t.cur
	if b == nil {
		b = getBatch()
		b.DB, b.Table, b.Options, b.opened = t.def.Database, t.def.Name, t.opts, time.Now()
		b.Columns = append(b.Columns[:0], t.cols...)
		b.body.writeByte('[')
		t.cur, t.curKey = b, ""
		t.charge(b)
	}
	for i := range b.Ranges {
		rg := &b.Ranges[i]
		if rg.Partition == r.Partition && rg.Topic == r.Topic {
			rg.Last = r.Offset
			return b
		}
	}
	b.Ranges = append(b.Ranges, streamload.OffsetRange{Topic: r.Topic, TopicID: t.w.topicIDs[r.Topic], Partition: r.Partition, First: r.Offset, Last: r.Offset})
	b.gens = append(b.gens, t.w.own.gen(r.Topic, r.Partition))
	return b
}

// flush closes the current batch and queues it for loading.
func (t *tableState) flush(reason string) {
	b := t.cur
	t.cur = nil
	b.body.writeByte(']')
	t.charge(b)
	b.reason = reason
	b.Label = streamload.Label(t.labelPrefix, b.Table, b.Ranges)
	t.w.m.flushes.WithLabelValues(t.name, reason).Inc()
	t.qmu.Lock()
	t.seq++
	b.seq = t.seq
	t.queue = append(t.queue, b)
	t.qmu.Unlock()
	select {
	case t.notify <- struct{}{}:
	default:
	}
}

// rawTombstone reports whether r, a tombstone a decoder took for a delete
// (decoder.envelope=auto, before that decoder saw a change event), belongs
// to a topic of raw envelopes after all: another lane's decoder, or one
// replaced by a schema change, has decoded a raw envelope of the table (in
// this poll or before). Debezium writes such a tombstone after the delete
// event of its key, which is loaded already; the tombstone has no source
// position, so taking it for a delete stopped a guarded or versioned table
// (a member resuming at a tombstone meets it before any change event).
func (t *tableState) rawTombstone(r *kgo.Record, ev *debezium.Event) bool {
	if r.Value != nil || ev.Op != debezium.OpDelete || t.w.decOpts.Envelope != debezium.EnvelopeAuto {
		return false
	}
	if !t.raw {
		for _, d := range t.decs {
			if d.SawRaw() {
				t.raw = true
				break
			}
		}
	}
	return t.raw
}
