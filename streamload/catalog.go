package streamload

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
	"go.uber.org/zap"

	"github.com/starsink/starsink/schema"
)

// The queries the catalog sends; the emulator answers the same ones.
const (
	columnsQuery = "SELECT COLUMN_NAME, ORDINAL_POSITION, COLUMN_TYPE, IS_NULLABLE, COLUMN_KEY " +
		"FROM information_schema.columns WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION"
	tablesConfigQuery = "SELECT TABLE_MODEL, PRIMARY_KEY FROM information_schema.tables_config " +
		"WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?"
)

// CatalogConfig configures a Catalog.
type CatalogConfig struct {
	// Addr is the FE MySQL address, "host:9030".
	Addr string
	// User and Password log in; Password is a secret, never logged.
	User, Password string
	// Timeout bounds dialing, reads and writes (default 10s).
	Timeout time.Duration
	// TTL is how long a table's schema is cached (default 5m).
	TTL time.Duration
	// MaxOpenConns bounds the connection pool (default 4).
	MaxOpenConns int
}

// Catalog reads StarRocks table schemas over the MySQL protocol and caches
// them. It is safe for concurrent use.
type Catalog struct {
	db  *sql.DB
	ttl time.Duration
	log *zap.Logger
	now func() time.Time

	mu    sync.Mutex
	cache map[string]cacheEntry
}

type cacheEntry struct {
	t       *schema.Table
	expires time.Time
}

// NewCatalog opens a connection pool (lazily: no connection is made until
// the first query; call Ping to check). log may be nil.
func NewCatalog(cfg CatalogConfig, log *zap.Logger) (*Catalog, error) {
	if cfg.Addr == "" {
		return nil, errors.New("streamload: catalog: Addr is required")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.TTL <= 0 {
		cfg.TTL = 5 * time.Minute
	}
	if cfg.MaxOpenConns <= 0 {
		cfg.MaxOpenConns = 4
	}
	if log == nil {
		log = zap.NewNop()
	}
	mc := mysql.NewConfig()
	mc.User = cfg.User
	mc.Passwd = cfg.Password
	mc.Net = "tcp"
	mc.Addr = cfg.Addr
	mc.Timeout = cfg.Timeout
	mc.ReadTimeout = cfg.Timeout
	mc.WriteTimeout = cfg.Timeout
	// StarRocks has no server-side prepared statements worth a round trip.
	mc.InterpolateParams = true
	mc.AllowNativePasswords = true
	conn, err := mysql.NewConnector(mc)
	if err != nil {
		// The driver's error never holds the DSN; keep it that way.
		return nil, fmt.Errorf("streamload: catalog: %w", err)
	}
	db := sql.OpenDB(conn)
	db.SetMaxOpenConns(cfg.MaxOpenConns)
	db.SetMaxIdleConns(cfg.MaxOpenConns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	return newCatalog(db, cfg.TTL, log), nil
}

func newCatalog(db *sql.DB, ttl time.Duration, log *zap.Logger) *Catalog {
	return &Catalog{db: db, ttl: ttl, log: log, now: time.Now, cache: make(map[string]cacheEntry)}
}

// Close closes the connection pool.
func (c *Catalog) Close() error { return c.db.Close() }

// Ping checks that the FE answers on the MySQL port.
func (c *Catalog) Ping(ctx context.Context) error {
	if err := c.db.PingContext(ctx); err != nil {
		return fmt.Errorf("streamload: catalog ping: %w", err)
	}
	return nil
}

func cacheKey(db, table string) string { return strings.ToLower(db) + "\x00" + strings.ToLower(table) }

// Refresh drops the cached schema of db.table, so the next Table reads it
// again (after a schema change).
func (c *Catalog) Refresh(db, table string) {
	c.mu.Lock()
	delete(c.cache, cacheKey(db, table))
	c.mu.Unlock()
}

// Table returns the schema of db.table, from the cache when it is younger
// than the TTL. A missing table gives an error wrapping ErrTableNotFound.
// The returned Table is shared: callers must not modify it.
func (c *Catalog) Table(ctx context.Context, db, table string) (*schema.Table, error) {
	key := cacheKey(db, table)
	now := c.now()
	c.mu.Lock()
	e, ok := c.cache[key]
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.t, nil
	}
	t, err := c.read(ctx, db, table)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.cache[key] = cacheEntry{t: t, expires: now.Add(c.ttl)}
	c.mu.Unlock()
	c.log.Debug("streamload: catalog read", zap.String("table", t.QualifiedName()),
		zap.String("model", t.Model.String()), zap.Int("columns", len(t.Columns)))
	return t, nil
}

func (c *Catalog) read(ctx context.Context, db, table string) (*schema.Table, error) {
	rows, err := c.db.QueryContext(ctx, columnsQuery, db, table)
	if err != nil {
		return nil, fmt.Errorf("streamload: catalog: columns of %s.%s: %w", db, table, err)
	}
	defer rows.Close()
	t := &schema.Table{Database: db, Name: table}
	for rows.Next() {
		var (
			name, typ string
			pos       int64
			nullable  sql.NullString
			key       sql.NullString
		)
		if err := rows.Scan(&name, &pos, &typ, &nullable, &key); err != nil {
			return nil, fmt.Errorf("streamload: catalog: columns of %s.%s: %w", db, table, err)
		}
		isKey := key.Valid && strings.TrimSpace(key.String) != ""
		t.Columns = append(t.Columns, schema.NewColumn(name, typ, strings.EqualFold(nullable.String, "YES"), isKey))
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("streamload: catalog: columns of %s.%s: %w", db, table, err)
	}
	if len(t.Columns) == 0 {
		return nil, fmt.Errorf("%w: %s.%s", ErrTableNotFound, db, table)
	}
	rows.Close()

	var model, pk sql.NullString
	err = c.db.QueryRowContext(ctx, tablesConfigQuery, db, table).Scan(&model, &pk)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		c.log.Warn("streamload: no tables_config row; table model unknown", zap.String("table", db+"."+table))
	case err != nil:
		return nil, fmt.Errorf("streamload: catalog: tables_config of %s.%s: %w", db, table, err)
	default:
		m, err := schema.ParseModel(model.String)
		if err != nil {
			return nil, fmt.Errorf("streamload: catalog: %s.%s: %w", db, table, err)
		}
		t.Model = m
		for _, k := range parseKeyList(pk.String) {
			i := t.Index(k)
			if i < 0 {
				return nil, fmt.Errorf("streamload: catalog: %s.%s: key column %q not among the columns", db, table, k)
			}
			t.Columns[i].Key = true
		}
	}

	// information_schema.columns comes in two spellings (see the package
	// doc, Catalog): where it cannot say a column's nullability, its type
	// (an ARRAY, MAP or STRUCT column), or, for an Aggregate Key table, the
	// value columns' functions, SHOW FULL COLUMNS, answered by the FE from
	// the table's own schema, can.
	agg := t.Model == schema.ModelAggKeys
	if agg || !anyNullable(t) || anyUnknownType(t) {
		err := c.showColumns(ctx, t)
		switch {
		case err != nil && agg:
			return nil, fmt.Errorf("streamload: catalog: aggregate functions of %s.%s: %w", db, table, err)
		case err != nil:
			// Nullability stays as information_schema said: NOT NULL, the
			// assumption that is safe to act on (see Column.Nullable).
			c.log.Warn("streamload: SHOW FULL COLUMNS failed; nullability and types as information_schema.columns has them",
				zap.String("table", db+"."+table), zap.Error(err))
		}
	}
	return t, nil
}

func anyNullable(t *schema.Table) bool {
	for _, c := range t.Columns {
		if c.Nullable {
			return true
		}
	}
	return false
}

func anyUnknownType(t *schema.Table) bool {
	for _, c := range t.Columns {
		if c.Kind == schema.KindUnknown {
			return true
		}
	}
	return false
}

// showColumns reads SHOW FULL COLUMNS of t and takes from it what
// information_schema.columns may lack. StarRocks' FE answers it from the
// table's schema (ShowExecutor, SHOW COLUMNS): Field, Type
// (Type.canonicalName, lower case), Collation, Null (YES/NO from
// Column.isAllowNull), Key, Default, Extra (AggregateType.toSql of a
// column whose aggregation is explicit, that is a value column of an
// Aggregate Key table: SUM, MIN, MAX, REPLACE, REPLACE_IF_NOT_NULL,
// HLL_UNION, BITMAP_UNION, PERCENTILE_UNION, …; "" otherwise), Privileges,
// Comment. Columns are found by name, so the six-column SHOW COLUMNS
// answer reads the same.
func (c *Catalog) showColumns(ctx context.Context, t *schema.Table) error {
	rows, err := c.db.QueryContext(ctx, "SHOW FULL COLUMNS FROM "+quoteIdent(t.Database)+"."+quoteIdent(t.Name))
	if err != nil {
		return err
	}
	defer rows.Close()
	names, err := rows.Columns()
	if err != nil {
		return err
	}
	field, typ, null, extra := -1, -1, -1, -1
	for i, n := range names {
		switch strings.ToLower(n) {
		case "field":
			field = i
		case "type":
			typ = i
		case "null":
			null = i
		case "extra":
			extra = i
		}
	}
	if field < 0 || null < 0 || extra < 0 {
		return fmt.Errorf("SHOW FULL COLUMNS answered columns %v, want Field, Null and Extra", names)
	}
	vals := make([]sql.NullString, len(names))
	ptrs := make([]any, len(names))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	seen := 0
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		i := t.Index(vals[field].String)
		if i < 0 {
			return fmt.Errorf("SHOW FULL COLUMNS names column %q that information_schema.columns does not", vals[field].String)
		}
		seen++
		col := &t.Columns[i]
		col.Nullable = strings.EqualFold(strings.TrimSpace(vals[null].String), "YES")
		if col.Kind == schema.KindUnknown && typ >= 0 && vals[typ].String != "" {
			if nc := schema.NewColumn(col.Name, vals[typ].String, col.Nullable, col.Key); nc.Kind != schema.KindUnknown {
				nc.Agg = col.Agg
				*col = nc
			}
		}
		if t.Model == schema.ModelAggKeys && !col.Key {
			col.Agg = normalizeAgg(vals[extra].String)
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if seen != len(t.Columns) {
		return fmt.Errorf("SHOW FULL COLUMNS listed %d columns, information_schema.columns %d", seen, len(t.Columns))
	}
	return nil
}

// normalizeAgg reads an Extra value as an aggregate function name: upper
// case, NONE as none.
func normalizeAgg(s string) string {
	s = strings.ToUpper(strings.TrimSpace(s))
	if s == "NONE" {
		return ""
	}
	return s
}

// quoteIdent quotes a MySQL identifier with backquotes.
func quoteIdent(s string) string { return "`" + strings.ReplaceAll(s, "`", "``") + "`" }

// parseKeyList reads PRIMARY_KEY: "`a`, `b`", "a,b" or "a, b"; a backquoted
// name may hold a comma, and a doubled backquote is one backquote.
func parseKeyList(s string) []string {
	var (
		out  []string
		cur  strings.Builder
		inBQ bool
	)
	flush := func() {
		if n := strings.TrimSpace(cur.String()); n != "" {
			out = append(out, n)
		}
		cur.Reset()
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '`' && inBQ && i+1 < len(s) && s[i+1] == '`':
			cur.WriteByte('`')
			i++
		case c == '`':
			inBQ = !inBQ
		case c == ',' && !inBQ:
			flush()
		default:
			cur.WriteByte(c)
		}
	}
	flush()
	return out
}

// MaxValue returns the largest value of an integer column of db.table
// (SELECT MAX), and false when the table has no row. The names are quoted
// as identifiers.
func (c *Catalog) MaxValue(ctx context.Context, db, table, column string) (int64, bool, error) {
	q := "SELECT MAX(" + quoteIdent(column) + ") FROM " + quoteIdent(db) + "." + quoteIdent(table)
	var v sql.NullInt64
	if err := c.db.QueryRowContext(ctx, q).Scan(&v); err != nil {
		return 0, false, fmt.Errorf("streamload: catalog: largest %s of %s.%s: %w", column, db, table, err)
	}
	return v.Int64, v.Valid, nil
}

// NewestBelow calls each, in no particular order, with the values of cols
// (MySQL text; nil for NULL) in the newest row of every key of db.table
// (the columns keys) whose newest row's integer column is below below:
//
//	SELECT cols FROM (SELECT cols, column, ROW_NUMBER() OVER (PARTITION BY keys
//	    ORDER BY column DESC) AS rn FROM db.table) newest WHERE rn = 1 AND column < below
//
// values is reused between calls. An error from each stops the scan and is
// returned.
func (c *Catalog) NewestBelow(ctx context.Context, db, table string, keys, cols []string, column string, below int64, each func(values []*string) error) error {
	quote := func(names []string) string {
		q := make([]string, len(names))
		for i, n := range names {
			q[i] = quoteIdent(n)
		}
		return strings.Join(q, ", ")
	}
	ver := quoteIdent(column)
	q := "SELECT " + quote(cols) + " FROM (SELECT " + quote(cols) + ", " + ver + ", ROW_NUMBER() OVER (PARTITION BY " + quote(keys) +
		" ORDER BY " + ver + " DESC) AS `starsink_rn` FROM " + quoteIdent(db) + "." + quoteIdent(table) + ") `newest` WHERE `starsink_rn` = 1 AND " +
		ver + " < " + strconv.FormatInt(below, 10)
	rows, err := c.db.QueryContext(ctx, q)
	if err != nil {
		return fmt.Errorf("streamload: catalog: newest rows of %s.%s below %s %d: %w", db, table, column, below, err)
	}
	defer rows.Close()
	raw := make([]sql.RawBytes, len(cols))
	dest := make([]any, len(cols))
	for i := range raw {
		dest[i] = &raw[i]
	}
	values := make([]*string, len(cols))
	strs := make([]string, len(cols))
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return fmt.Errorf("streamload: catalog: newest rows of %s.%s: %w", db, table, err)
		}
		for i, b := range raw {
			values[i] = nil
			if b != nil {
				strs[i] = string(b)
				values[i] = &strs[i]
			}
		}
		if err := each(values); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("streamload: catalog: newest rows of %s.%s: %w", db, table, err)
	}
	return nil
}

// MaxFlagged returns the largest value below below of the integer column
// among the rows of db.table whose flag (BOOLEAN) column is true, and false
// when there is none:
//
//	SELECT MAX(column) FROM db.table WHERE flag = TRUE AND column < below
func (c *Catalog) MaxFlagged(ctx context.Context, db, table, column, flag string, below int64) (int64, bool, error) {
	q := "SELECT MAX(" + quoteIdent(column) + ") FROM " + quoteIdent(db) + "." + quoteIdent(table) +
		" WHERE " + quoteIdent(flag) + " = TRUE AND " + quoteIdent(column) + " < " + strconv.FormatInt(below, 10)
	var v sql.NullInt64
	if err := c.db.QueryRowContext(ctx, q).Scan(&v); err != nil {
		return 0, false, fmt.Errorf("streamload: catalog: largest %s of %s.%s where %s: %w", column, db, table, flag, err)
	}
	return v.Int64, v.Valid, nil
}
