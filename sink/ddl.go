package sink

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/starsink/starsink/ddl"
	"github.com/starsink/starsink/mapping"
	"github.com/starsink/starsink/schema"
	"github.com/starsink/starsink/streamload"
)

// The worker's side of mapping.create_tables and mapping.evolve: it calls
// the ddl package's Manager where the ddl package documentation says.
//
// Both calls run in the poll loop, which holds the group's rebalance
// (kgo.BlockRebalanceOnPoll) until the poll is processed: a member that
// rejoins later than kafka.rebalance_timeout is dropped from the group. The
// DDL of one poll (creating tables, adding and widening columns, waiting
// for StarRocks' schema changes) is therefore bounded by ddlTimeout; a DDL
// that does not finish in time stops the worker without committing the
// records that needed it, and a restart takes them again.

// ddlTimeout bounds the DDL one poll runs: half of kafka.rebalance_timeout,
// leaving the other half to flush, fence and rejoin.
func (w *Worker) ddlTimeout() time.Duration {
	return max(w.cfg.Kafka.RebalanceTimeout/2, time.Second)
}

// refresher lets a SchemaSource without a cache (tests) serve as the
// ddl.Catalog: Refresh forgets a cached schema when there is one.
type refresher struct{ SchemaSource }

func (r refresher) Refresh(db, table string) {
	if rf, ok := r.SchemaSource.(interface{ Refresh(db, table string) }); ok {
		rf.Refresh(db, table)
	}
}

// newDDL builds the worker's ddl.Manager when mapping.create_tables or
// mapping.evolve=add_columns is on; w.schemas must be set.
func (w *Worker) newDDL(exec ddl.Executor, reg prometheus.Registerer) error {
	cfg := w.cfg
	if !cfg.Mapping.CreateTables && cfg.Mapping.Evolve != "add_columns" {
		return nil
	}
	if exec == nil {
		e, err := ddl.OpenExecutor(cfg.StarRocks.MySQLAddress(), cfg.StarRocks.User, cfg.StarRocks.Password.Value(),
			max(cfg.StarRocks.ConnectTimeout, w.ddlTimeout()))
		if err != nil {
			return fmt.Errorf("sink: %w", err)
		}
		w.closers = append(w.closers, func() { e.Close() })
		exec = e
	}
	m, err := ddl.NewManager(ddl.ManagerConfig{Exec: exec, Catalog: refresher{w.schemas}, Mapping: cfg.Mapping,
		Source: ddl.SourceOptionsFor(cfg.Decoder), Timeout: w.ddlTimeout(), Log: w.log.Named("ddl"), Registerer: reg})
	if err != nil {
		return fmt.Errorf("sink: %w", err)
	}
	w.ddl = m
	return nil
}

// ddlContext returns the context of one DDL call: the poll's context with
// the poll's DDL deadline, set at the first DDL of the poll.
func (w *Worker) ddlContext() (context.Context, context.CancelFunc) {
	if w.ddlBy.IsZero() {
		w.ddlBy = time.Now().Add(w.ddlTimeout())
	}
	parent := w.pollCtx
	if parent == nil {
		parent = w.loadCtx
	}
	return context.WithDeadline(parent, w.ddlBy)
}

// createTable creates the missing table target from the first record of
// topic in this poll that has a value (mapping.create_tables), and reads
// its schema. notFound is the catalog's answer, returned when creating is
// off.
func (w *Worker) createTable(topic string, target mapping.Target, notFound error) (*schema.Table, error) {
	if w.ddl == nil || !w.cfg.Mapping.CreateTables {
		return nil, notFound
	}
	var first *kgo.Record
	w.fetched.EachRecord(func(r *kgo.Record) {
		if first == nil && r.Topic == topic && r.Value != nil {
			first = r
		}
	})
	if first == nil {
		return nil, fmt.Errorf("%w (mapping.create_tables: no record of topic %s with a value in this poll to create it from)", notFound, topic)
	}
	ctx, cancel := w.ddlContext()
	defer cancel()
	created, err := w.ddl.EnsureTable(ctx, target, first.Key, first.Value)
	if err != nil {
		return nil, fmt.Errorf("mapping.create_tables: from topic %s partition %d offset %d: %w%s", first.Topic, first.Partition, first.Offset, err, w.boundHint(err))
	}
	refresher{w.schemas}.Refresh(target.Database, target.Table)
	def, err := w.schemas.Table(ctx, target.Database, target.Table)
	if err != nil {
		return nil, fmt.Errorf("mapping.create_tables: reading the schema of the table created: %w", err)
	}
	w.log.Info("table ready", zap.String("table", def.QualifiedName()), zap.Bool("created", created),
		zap.String("topic", first.Topic), zap.Int32("partition", first.Partition), zap.Int64("offset", first.Offset))
	return def, nil
}

// boundHint explains a DDL cut short by the poll's DDL bound.
func (w *Worker) boundHint(err error) string {
	if !errors.Is(err, context.DeadlineExceeded) {
		return ""
	}
	return fmt.Sprintf(" (the DDL of one poll is bounded by %s, half of kafka.rebalance_timeout: raise it, or run the DDL by hand; `starsink plan` prints it)", w.ddlTimeout())
}

// evolving reports whether mapping.evolve=add_columns is on.
func (w *Worker) evolving() bool {
	return w.ddl != nil && w.cfg.Mapping.Evolve == "add_columns"
}

// target is the mapping target of the table, for the ddl Manager.
func (t *tableState) target() mapping.Target {
	return mapping.Target{Database: t.def.Database, Table: t.def.Name, Options: t.o}
}

// evolve brings the table up to r's schema (mapping.evolve=add_columns)
// from def, its schema just read. When it changed the table, the open batch
// is flushed (its rows keep the old columns header) and the new schema is
// taken: the records of this poll decoded under the old one are decoded
// again (see add). It reports whether the schema changed. A DDL that fails
// or outlives the poll's DDL time stops the worker: the record needs it.
func (t *tableState) evolve(r *kgo.Record, def *schema.Table) (bool, error) {
	w := t.w
	ctx, cancel := w.ddlContext()
	defer cancel()
	// The statements are logged and counted by the Manager, the new schema
	// by take.
	if _, err := w.ddl.Evolve(ctx, t.target(), def, r.Key, r.Value); err != nil {
		return false, &stopError{fmt.Errorf("topic %s partition %d offset %d: mapping.evolve: %w%s", r.Topic, r.Partition, r.Offset, err, w.boundHint(err))}
	}
	// Read the schema again even when this replica ran nothing: another
	// one may have evolved the table meanwhile (Evolve waits for its job).
	refresher{w.schemas}.Refresh(def.Database, def.Name)
	now, err := w.schemas.Table(ctx, def.Database, def.Name)
	if err != nil {
		return false, &stopError{fmt.Errorf("topic %s partition %d offset %d: mapping.evolve: reading the schema of %s again: %w", r.Topic, r.Partition, r.Offset, t.name, err)}
	}
	gen := t.gen
	if err := t.take(r, now, "evolved"); err != nil {
		return false, err
	}
	return gen != t.gen, nil
}

// take makes def, read again, the table's schema when it differs from the
// current one (names, types or nullability), flushing the open batch. It
// refuses a change of model or key, which a restart must pick up.
func (t *tableState) take(r *kgo.Record, def *schema.Table, why string) error {
	if sameColumns(t.def, def) {
		return nil
	}
	if def.Model != t.def.Model || !slices.Equal(keyColumns(def), keyColumns(t.def)) {
		return fmt.Errorf("topic %s partition %d offset %d: table %s changed its model or key (%s %v → %s %v): restart starsink to load into the new table",
			r.Topic, r.Partition, r.Offset, t.name, t.def.Model, keyColumns(t.def), def.Model, keyColumns(def))
	}
	if t.cur != nil {
		t.flush("schema")
	}
	added, removed := columnChanges(t.def, def)
	if err := t.useSchema(def); err != nil {
		return fmt.Errorf("topic %s partition %d offset %d: %w", r.Topic, r.Partition, r.Offset, err)
	}
	t.schemaRead = time.Now()
	clear(t.unknown)
	t.w.log.Info("table schema changed", zap.String("table", t.name), zap.String("by", why), zap.Strings("added", added), zap.Strings("removed", removed),
		zap.String("topic", r.Topic), zap.Int32("partition", r.Partition), zap.Int64("offset", r.Offset))
	return nil
}

// evolveRange handles a record the decoder refused with debezium.ErrRange
// under schema generation gen when mapping.evolve=add_columns: the source
// type may have been widened (a longer VARCHAR, a larger precision). It
// reads the schema again and evolves the table, and reports whether the
// record must be decoded again (the schema changed since gen). Evolve runs
// once per table schema and record schema: a run of records out of range
// under the same schemas does not read the catalog for each.
func (t *tableState) evolveRange(r *kgo.Record, gen int) (bool, error) {
	if gen != t.gen {
		return true, nil // the schema changed since: decode again first
	}
	h := maphash.Bytes(keySeed, recordSchema(r.Value))
	if t.rangeGen == t.gen && t.rangeSchema == h {
		return false, nil
	}
	w := t.w
	ctx, cancel := w.ddlContext()
	refresher{w.schemas}.Refresh(t.def.Database, t.def.Name)
	def, err := w.schemas.Table(ctx, t.def.Database, t.def.Name)
	cancel()
	if err != nil {
		return false, &stopError{fmt.Errorf("topic %s partition %d offset %d: mapping.evolve: reading the schema of %s again: %w", r.Topic, r.Partition, r.Offset, t.name, err)}
	}
	if err := t.take(r, def, "read again"); err != nil {
		return false, err
	}
	if _, err := t.evolve(r, def); err != nil {
		return false, err
	}
	t.rangeGen, t.rangeSchema = t.gen, h
	return gen != t.gen, nil
}

// recordSchema is the part of a JsonConverter value before its payload:
// its schema (the whole value when there is none).
func recordSchema(v []byte) []byte {
	if i := bytes.Index(v, []byte(`"payload"`)); i >= 0 {
		return v[:i]
	}
	return v
}

// evolveUnknown handles a record with a field its table lacks when
// mapping.evolve=add_columns and the field was not tried yet under this
// schema: it reads the schema again (another replica may have added the
// column) and, when the field is still missing, evolves the table. It
// reports whether the schema changed.
func (t *tableState) evolveUnknown(ctx context.Context, r *kgo.Record) (bool, error) {
	w := t.w
	t.schemaRead = time.Now()
	refresher{w.schemas}.Refresh(t.def.Database, t.def.Name)
	def, err := w.schemas.Table(ctx, t.def.Database, t.def.Name)
	if err != nil {
		return false, &stopError{fmt.Errorf("topic %s partition %d offset %d: mapping.evolve: reading the schema of %s again: %w", r.Topic, r.Partition, r.Offset, t.name, err)}
	}
	gen := t.gen
	if err := t.take(r, def, "read again"); err != nil {
		return false, err
	}
	if _, err := t.evolve(r, def); err != nil {
		return false, err
	}
	return gen != t.gen, nil
}

func sameColumns(a, b *schema.Table) bool {
	if len(a.Columns) != len(b.Columns) {
		return false
	}
	for i := range a.Columns {
		x, y := &a.Columns[i], &b.Columns[i]
		if x.Name != y.Name || x.Type != y.Type || x.Nullable != y.Nullable || x.Key != y.Key {
			return false
		}
	}
	return true
}

// isTableNotFound reports whether the catalog answered that the table does
// not exist.
func isTableNotFound(err error) bool { return errors.Is(err, streamload.ErrTableNotFound) }

// evolveError is a failure of mapping.evolve met while decoding a record
// again: it stops the worker, it is not the record's fault.
type evolveError struct{ err error }

func (e *evolveError) Error() string { return e.err.Error() }
func (e *evolveError) Unwrap() error { return e.err }

// rejectDecode rejects a record that could not be decoded again, unless
// evolving the table failed, which stops the worker.
func (w *Worker) rejectDecode(r *kgo.Record, t *tableState, err error) error {
	var ee *evolveError
	if errors.As(err, &ee) {
		return ee.err
	}
	return w.reject(r, t, "decode", err)
}
