package ddl

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/starsink/starsink/config"
	"github.com/starsink/starsink/mapping"
	"github.com/starsink/starsink/schema"
	"github.com/starsink/starsink/streamload"
)

// Executor runs statements on a StarRocks FE over the MySQL protocol.
type Executor interface {
	// Exec runs one DDL statement.
	Exec(ctx context.Context, stmt string) error
	// Query runs a statement that answers rows (SHOW ALTER TABLE), each
	// row a map from column name to its text (NULL as "").
	Query(ctx context.Context, stmt string) ([]map[string]string, error)
}

// Catalog is what the Manager needs of streamload.Catalog: read a table,
// and forget it after a DDL so the next read sees the new schema.
type Catalog interface {
	TableReader
	Refresh(db, table string)
}

// ManagerConfig configures a Manager.
type ManagerConfig struct {
	Exec    Executor
	Catalog Catalog
	// Mapping holds mapping.create_tables, mapping.evolve and
	// mapping.table_properties.
	Mapping config.Mapping
	// Source says how records are read (decoder.envelope,
	// decoder.fields_prefix: SourceOptionsFor).
	Source SourceOptions
	// Poll is how often a schema change is polled (default 1s); Timeout
	// bounds the wait for one (default 10m).
	Poll, Timeout time.Duration
	Log           *zap.Logger
	// Registerer receives starsink_ddl_total{kind}; nil: not registered.
	Registerer prometheus.Registerer
}

// Manager creates and evolves tables for the worker. It is safe for
// concurrent use; DDL on one table runs one statement at a time.
type Manager struct {
	cfg ManagerConfig
	log *zap.Logger
	ddl *prometheus.CounterVec

	mu       sync.Mutex
	tables   map[string]*sync.Mutex // one DDL at a time per table
	reported map[string]bool        // dropped source columns already logged
}

// Error is a DDL that failed: the table, the statement and why. A
// schema change StarRocks cancelled wraps ErrCancelled; one that outlived
// ManagerConfig.Timeout wraps context.DeadlineExceeded.
type Error struct {
	Table string // db.table
	Kind  string // create_table, add_column, …
	SQL   string
	Err   error
}

func (e *Error) Error() string {
	return fmt.Sprintf("ddl: %s on %s: %v", e.Kind, e.Table, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// ErrCancelled: StarRocks cancelled a schema change (SHOW ALTER TABLE
// COLUMN State CANCELLED); the error holds its Msg.
var ErrCancelled = errors.New("schema change cancelled")

// ErrNoSchema: the table cannot be created or evolved from records that
// carry no schema (schemas.enable=false).
var ErrNoSchema = errors.New("the records carry no schema (schemas.enable=false): the table's columns are unknown")

// NewManager returns a Manager; it registers starsink_ddl_total with
// cfg.Registerer (reusing a counter already registered there).
func NewManager(cfg ManagerConfig) (*Manager, error) {
	if cfg.Exec == nil || cfg.Catalog == nil {
		return nil, errors.New("ddl: manager: Exec and Catalog are required")
	}
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Minute
	}
	m := &Manager{cfg: cfg, log: cfg.Log, tables: map[string]*sync.Mutex{}, reported: map[string]bool{}}
	if m.log == nil {
		m.log = zap.NewNop()
	}
	m.ddl = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "starsink_ddl_total",
		Help: "DDL statements starsink ran, by kind (create_table, create_view, add_column, modify_column)."}, []string{"kind"})
	if cfg.Registerer != nil {
		if err := cfg.Registerer.Register(m.ddl); err != nil {
			var are prometheus.AlreadyRegisteredError
			if !errors.As(err, &are) {
				return nil, fmt.Errorf("ddl: register metrics: %w", err)
			}
			m.ddl = are.ExistingCollector.(*prometheus.CounterVec)
		}
	}
	return m, nil
}

func (m *Manager) lock(db, table string) func() {
	key := strings.ToLower(db + "." + table)
	m.mu.Lock()
	l, ok := m.tables[key]
	if !ok {
		l = &sync.Mutex{}
		m.tables[key] = l
	}
	m.mu.Unlock()
	l.Lock()
	return l.Unlock
}

// EnsureTable creates target's table when it does not exist and
// mapping.create_tables is on, from a record's key and value (their
// bytes as Kafka holds them, JsonConverter schemas included). It returns
// created false when the table exists or creating is off. The statements
// are CREATE … IF NOT EXISTS, so replicas racing on a new topic agree.
func (m *Manager) EnsureTable(ctx context.Context, target mapping.Target, key, value []byte) (created bool, err error) {
	if !m.cfg.Mapping.CreateTables {
		return false, nil
	}
	defer m.lock(target.Database, target.Table)()
	name := target.Database + "." + target.Table
	m.cfg.Catalog.Refresh(target.Database, target.Table)
	_, err = m.cfg.Catalog.Table(ctx, target.Database, target.Table)
	if err == nil {
		return false, nil
	}
	if !errors.Is(err, streamload.ErrTableNotFound) {
		return false, fmt.Errorf("ddl: %s: %w", name, err)
	}
	src, err := ReadSource(Record{Key: key, Value: value}, m.cfg.Source)
	if err != nil {
		return false, &Error{Table: name, Kind: KindCreateTable, Err: err}
	}
	if !src.Typed {
		return false, &Error{Table: name, Kind: KindCreateTable, Err: ErrNoSchema}
	}
	p := Plan(target.Database, target.Table, src, nil, OptionsFor(target.Options, m.cfg.Mapping))
	if len(p.DDL) == 0 {
		var why []string
		for _, d := range p.Differences {
			if d.Class == ClassError {
				why = append(why, d.Message)
			}
		}
		why = append(why, p.Unknown...)
		return false, &Error{Table: name, Kind: KindCreateTable, Err: errors.New(strings.Join(why, "; "))}
	}
	for _, d := range p.Differences {
		if d.Class == ClassError && d.Column != "" {
			return false, &Error{Table: name, Kind: KindCreateTable, Err: fmt.Errorf("column %s: %s", d.Column, d.Message)}
		}
	}
	for _, c := range p.DDL {
		if err := m.run(ctx, name, c); err != nil {
			m.failed(name, c, err)
			return false, err
		}
	}
	m.cfg.Catalog.Refresh(target.Database, target.Table)
	return true, nil
}

// Evolve brings an existing table up to a record's schema when
// mapping.evolve is add_columns: a source field the table lacks is added
// (ADD COLUMN, mapped type, nullable), a source type wider than its column
// widens the column (MODIFY COLUMN) where StarRocks allows it, each change
// waited for until StarRocks finishes it. Columns the source no longer has
// are never dropped: they are logged once. Differences evolve cannot mend
// (a key column too narrow, a narrowing) are left to `starsink plan`. It
// returns the statements run, and refreshes the catalog when there were any.
// Replicas evolving one table at once agree: a statement refused while
// another schema change of the table runs, or made unneeded by one, waits
// for it and plans again (raced).
func (m *Manager) Evolve(ctx context.Context, target mapping.Target, table *schema.Table, key, value []byte) ([]Change, error) {
	if m.cfg.Mapping.Evolve != "add_columns" || table == nil {
		return nil, nil
	}
	name := target.Database + "." + target.Table
	src, err := ReadSource(Record{Key: key, Value: value}, m.cfg.Source)
	if err != nil {
		return nil, &Error{Table: name, Kind: KindAddColumn, Err: err}
	}
	if !src.Typed {
		return nil, &Error{Table: name, Kind: KindAddColumn, Err: ErrNoSchema}
	}
	opts := OptionsFor(target.Options, m.cfg.Mapping)
	defer m.lock(target.Database, target.Table)()
	p := Plan(target.Database, target.Table, src, table, opts)
	for _, d := range p.Differences {
		if d.Class == ClassWarning && d.Column != "" && strings.HasPrefix(d.Message, "no source column") {
			m.reportDropped(name, d.Column)
		}
	}
	var done []Change
	for races := 0; ; races++ {
		again := false
		for _, c := range p.DDL {
			if isExtra(c.Column, opts) {
				continue // the worker names the version columns it lacks
			}
			err := m.run(ctx, name, c)
			if err == nil {
				done = append(done, c)
				continue
			}
			if races < maxRaces {
				if now, ok := m.raced(ctx, target, src, opts, c, err); ok {
					p, again = Plan(target.Database, target.Table, src, now, opts), true
					break
				}
			}
			m.failed(name, c, err)
			if len(done) > 0 {
				m.cfg.Catalog.Refresh(target.Database, target.Table)
			}
			return done, err
		}
		if !again {
			break
		}
	}
	if len(done) > 0 {
		m.cfg.Catalog.Refresh(target.Database, target.Table)
	}
	return done, nil
}

// failed logs a statement that failed.
func (m *Manager) failed(table string, c Change, err error) {
	m.log.Error("ddl failed", zap.String("table", table), zap.String("kind", c.Kind), zap.String("column", c.Column),
		zap.String("sql", c.SQL), zap.Error(err))
}

// maxRaces bounds how often Evolve plans again after losing a race.
const maxRaces = 3

// raced reports whether an ALTER that failed lost a race with another
// schema change of the same table (another replica evolving it for the
// same record schema): StarRocks refuses an ALTER while a job runs on the
// table ("is not NORMAL"), and an ADD COLUMN of a column that another job
// just added. It waits for the table's running job, reads the table again
// and returns it when the failed change is no longer needed, or was
// refused while another job ran (it is then planned and tried again).
func (m *Manager) raced(ctx context.Context, target mapping.Target, src *Source, opts Options, failed Change, refused error) (*schema.Table, bool) {
	job, err := m.lastJob(ctx, target.Database, target.Table)
	if err != nil {
		return nil, false
	}
	state := strings.ToUpper(job["State"])
	running := job["JobId"] != "" && state != "FINISHED" && state != "CANCELLED"
	if err := m.wait(ctx, target.Database, target.Table, ""); err != nil {
		return nil, false
	}
	m.cfg.Catalog.Refresh(target.Database, target.Table)
	now, err := m.cfg.Catalog.Table(ctx, target.Database, target.Table)
	if err != nil {
		return nil, false
	}
	needed := false
	for _, c := range Plan(target.Database, target.Table, src, now, opts).DDL {
		needed = needed || c.SQL == failed.SQL
	}
	if needed && !running {
		return nil, false // not a race: the statement itself fails
	}
	m.log.Info("ddl: another schema change of the table ran at the same time; planning again", zap.String("table", target.Database+"."+target.Table),
		zap.String("kind", failed.Kind), zap.String("column", failed.Column), zap.Bool("still_needed", needed), zap.NamedError("refused", refused))
	return now, true
}

func (m *Manager) reportDropped(table, col string) {
	key := strings.ToLower(table + "." + col)
	m.mu.Lock()
	seen := m.reported[key]
	m.reported[key] = true
	m.mu.Unlock()
	if !seen {
		m.log.Warn("ddl: a table column has no source field; starsink never drops columns", zap.String("table", table), zap.String("column", col))
	}
}

// run executes one statement and, for an ALTER, waits for its schema
// change; it logs and counts it when it succeeds (the caller logs a
// failure, which may be a race it recovers from).
func (m *Manager) run(ctx context.Context, table string, c Change) error {
	start := time.Now()
	db, tbl, _ := strings.Cut(table, ".")
	alter := c.Kind == KindAddColumn || c.Kind == KindModifyColumn
	var before string
	if alter {
		job, err := m.lastJob(ctx, db, tbl)
		if err != nil {
			return &Error{Table: table, Kind: c.Kind, SQL: c.SQL, Err: err}
		}
		before = job["JobId"]
	}
	if err := m.cfg.Exec.Exec(ctx, c.SQL); err != nil {
		return &Error{Table: table, Kind: c.Kind, SQL: c.SQL, Err: err}
	}
	if alter {
		if err := m.wait(ctx, db, tbl, before); err != nil {
			return &Error{Table: table, Kind: c.Kind, SQL: c.SQL, Err: err}
		}
	}
	m.ddl.WithLabelValues(c.Kind).Inc()
	m.log.Info("ddl", zap.String("table", table), zap.String("kind", c.Kind), zap.String("column", c.Column),
		zap.String("sql", c.SQL), zap.Duration("duration", time.Since(start)))
	return nil
}

// AlterQuery is the statement that lists db.table's column schema
// changes. It has no ORDER BY CreateTime DESC LIMIT 1: CreateTime counts
// seconds, so two ALTERs in one second tie and LIMIT 1 could answer the
// older job; the newest is the one with the greatest JobId (the FE's ids
// only grow).
func AlterQuery(db, table string) string {
	return "SHOW ALTER TABLE COLUMN FROM " + Quote(db) + " WHERE TableName = '" + strings.ReplaceAll(table, "'", "''") + "'"
}

// lastJob returns the table's newest schema change job (no JobId when it
// has none).
func (m *Manager) lastJob(ctx context.Context, db, table string) (map[string]string, error) {
	rows, err := m.cfg.Exec.Query(ctx, AlterQuery(db, table))
	if err != nil {
		return nil, fmt.Errorf("read schema changes: %w", err)
	}
	newest, best := map[string]string{}, int64(-1)
	for _, r := range rows {
		id, err := strconv.ParseInt(strings.TrimSpace(r["JobId"]), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("read schema changes: JobId %q: %w", r["JobId"], err)
		}
		if id > best {
			newest, best = r, id
		}
	}
	return newest, nil
}

// wait polls the table's newest schema change until it is FINISHED. A job
// no newer than before (or none) means the change needed no job: StarRocks
// applied it at once (fast schema evolution).
func (m *Manager) wait(ctx context.Context, db, table, before string) error {
	ctx, cancel := context.WithTimeout(ctx, m.cfg.Timeout)
	defer cancel()
	t := time.NewTicker(m.cfg.Poll)
	defer t.Stop()
	for {
		job, err := m.lastJob(ctx, db, table)
		if err != nil {
			return err
		}
		id := job["JobId"]
		if id == "" || id == before {
			return nil
		}
		switch state := strings.ToUpper(job["State"]); state {
		case "FINISHED":
			return nil
		case "CANCELLED":
			return fmt.Errorf("%w: job %s: %s", ErrCancelled, id, job["Msg"])
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for schema change job %s (state %s): %w", id, job["State"], ctx.Err())
		case <-t.C:
		}
	}
}

// SQLExecutor is an Executor over database/sql.
type SQLExecutor struct{ DB *sql.DB }

// OpenExecutor connects to an FE's MySQL port (lazily: no connection is
// made before the first statement). The password is never logged.
func OpenExecutor(addr, user, password string, timeout time.Duration) (*SQLExecutor, error) {
	mc := mysql.NewConfig()
	mc.User, mc.Passwd, mc.Net, mc.Addr = user, password, "tcp", addr
	mc.Timeout, mc.ReadTimeout, mc.WriteTimeout = timeout, timeout, timeout
	mc.AllowNativePasswords = true
	conn, err := mysql.NewConnector(mc)
	if err != nil {
		return nil, fmt.Errorf("ddl: executor: %w", err)
	}
	db := sql.OpenDB(conn)
	db.SetMaxOpenConns(2)
	return &SQLExecutor{DB: db}, nil
}

// Close closes the connections.
func (e *SQLExecutor) Close() error { return e.DB.Close() }

// Exec runs one statement.
func (e *SQLExecutor) Exec(ctx context.Context, stmt string) error {
	_, err := e.DB.ExecContext(ctx, stmt)
	return err
}

// Query runs a statement and returns its rows by column name.
func (e *SQLExecutor) Query(ctx context.Context, stmt string) ([]map[string]string, error) {
	rows, err := e.DB.QueryContext(ctx, stmt)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var out []map[string]string
	vals := make([]sql.NullString, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		row := make(map[string]string, len(cols))
		for i, c := range cols {
			row[c] = vals[i].String
		}
		out = append(out, row)
	}
	return out, rows.Err()
}
