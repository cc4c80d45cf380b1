package emulator

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	sqle "github.com/dolthub/go-mysql-server"
	"github.com/dolthub/go-mysql-server/server"
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/information_schema"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/mysql"
	"github.com/dolthub/vitess/go/sqltypes"
	querypb "github.com/dolthub/vitess/go/vt/proto/query"
	"github.com/shopspring/decimal"
	"github.com/sirupsen/logrus"

	"github.com/starsink/starsink/schema"
)

// sqlServer serves the MySQL protocol with go-mysql-server as the SQL
// engine over the emulator's own storage. StarRocks-only statements (its
// DDL, information_schema.tables_config) are answered before the engine
// sees them.
type sqlServer struct {
	srv *server.Server
	ln  net.Addr
}

func startSQL(s *Server, addr string) (*sqlServer, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	logrus.SetOutput(io.Discard) // go-mysql-server logs through logrus
	engine := sqle.NewDefault(&provider{s: s})
	cfg := server.Config{Protocol: "tcp", Address: addr}
	// The configured user and password are the only credentials accepted,
	// as on the FE's HTTP port: StarRocks refuses unknown users and wrong
	// passwords at the handshake.
	users, err := json.Marshal(map[string][]*mysql.AuthServerStaticEntry{s.cfg.User: {{Password: s.cfg.Password}}})
	if err != nil {
		return nil, err
	}
	auth := mysql.NewAuthServerStatic("", string(users), 0)
	cfg.ProtocolListenerFactory = func(c server.Config, lc mysql.ListenerConfig, sel server.ServerEventListener) (server.ProtocolListener, error) {
		lc.AuthServer = auth
		return server.MySQLProtocolListenerFactory(c, lc, sel)
	}
	sb := func(ctx context.Context, c *mysql.Conn, addr string) (sql.Session, error) {
		return sql.NewBaseSessionWithClientServer(addr, sql.Client{Address: c.RemoteAddr().String(), User: c.User, Capabilities: c.Capabilities}, c.ConnectionID), nil
	}
	srv, err := server.NewServerWithHandler(cfg, engine, sql.NewContext, sb, nil, func(h mysql.Handler) (mysql.Handler, error) {
		return &handler{Handler: h, s: s, dbs: map[uint32]string{}}, nil
	})
	if err != nil {
		return nil, err
	}
	go srv.Start()
	return &sqlServer{srv: srv, ln: srv.Listener.Addr()}, nil
}

func (q *sqlServer) addr() string { return q.ln.String() }
func (q *sqlServer) close()       { q.srv.Close() }

// handler answers StarRocks' own statements and passes the rest on.
type handler struct {
	mysql.Handler
	s   *Server
	mu  sync.Mutex
	dbs map[uint32]string // current database per connection
}

var (
	reDDL          = regexp.MustCompile(`(?is)^\s*(create\s+(database|table|view|or\s+replace\s+view)|drop\s+(database|table|view)|alter\s+table|truncate\s+table)\b`)
	reDesc         = regexp.MustCompile("(?is)^\\s*(?:desc|describe)\\s+(?:`?([^`.\\s;]+)`?\\.)?`?([^`.\\s;]+)`?\\s*;?\\s*$")
	reShowColumns  = regexp.MustCompile("(?is)^\\s*show\\s+(full\\s+)?(?:columns|fields)\\s+(?:from|in)\\s+(?:`?([^`.\\s;]+)`?\\.)?`?([^`.\\s;]+)`?(?:\\s+(?:from|in)\\s+`?([^`\\s;]+)`?)?\\s*;?\\s*$")
	reShowAlter    = regexp.MustCompile("(?is)^\\s*show\\s+alter\\s+table\\s+column(?:\\s+(?:from|in)\\s+`?([^`\\s;]+)`?)?(?:\\s+where\\s+`?tablename`?\\s*=\\s*['\"]([^'\"]*)['\"])?\\s*;?\\s*$")
	reUse          = regexp.MustCompile("(?is)^\\s*use\\s+`?([^`;\\s]+)`?")
	reTablesConfig = regexp.MustCompile(`(?is)^\s*select\s+(.+?)\s+from\s+information_schema\.tables_config\b(.*)$`)
)

func (h *handler) ComInitDB(c *mysql.Conn, db string) error {
	h.mu.Lock()
	h.dbs[c.ConnectionID] = db
	h.mu.Unlock()
	return h.Handler.ComInitDB(c, db)
}

func (h *handler) ComQuery(ctx context.Context, c *mysql.Conn, query string, cb mysql.ResultSpoolFn) error {
	if m := reUse.FindStringSubmatch(query); m != nil {
		h.mu.Lock()
		h.dbs[c.ConnectionID] = m[1]
		h.mu.Unlock()
	}
	if reDDL.MatchString(query) {
		h.mu.Lock()
		db := h.dbs[c.ConnectionID]
		h.mu.Unlock()
		if err := h.s.exec(query, db); err != nil {
			return mysql.NewSQLError(mysql.ERUnknownError, mysql.SSUnknownSQLState, "%s", err.Error())
		}
		return cb(&sqltypes.Result{}, false)
	}
	if m := reDesc.FindStringSubmatch(query); m != nil {
		return h.describe(c, m[1], m[2], false, false, cb)
	}
	if m := reShowColumns.FindStringSubmatch(query); m != nil {
		db := m[2]
		if m[4] != "" {
			db = m[4]
		}
		return h.describe(c, db, m[3], true, m[1] != "", cb)
	}
	if m := reShowAlter.FindStringSubmatch(query); m != nil {
		db := m[1]
		if db == "" {
			h.mu.Lock()
			db = h.dbs[c.ConnectionID]
			h.mu.Unlock()
		}
		res, err := h.showAlter(db, m[2])
		if err != nil {
			return mysql.NewSQLError(mysql.ERBadDb, "42000", "%s", err.Error())
		}
		return cb(res, false)
	}
	if m := reColumns.FindStringSubmatch(query); m != nil {
		res, ok, err := h.columns(m[1], m[2])
		if err != nil {
			return mysql.NewSQLError(mysql.ERBadFieldError, "42S22", "%s", err.Error())
		}
		if ok {
			return cb(res, false)
		}
	}
	if m := reTablesConfig.FindStringSubmatch(query); m != nil {
		res, err := h.tablesConfig(m[1], m[2])
		if err != nil {
			return mysql.NewSQLError(mysql.ERUnknownError, mysql.SSUnknownSQLState, "%s", err.Error())
		}
		return cb(res, false)
	}
	return h.Handler.ComQuery(ctx, c, query, cb)
}

var tablesConfigColumns = []infoColumn{{"TABLE_SCHEMA", false}, {"TABLE_NAME", false}, {"TABLE_ENGINE", false},
	{"TABLE_MODEL", false}, {"PRIMARY_KEY", false}, {"PARTITION_KEY", false}, {"DISTRIBUTE_KEY", false},
	{"DISTRIBUTE_TYPE", false}, {"DISTRIBUTE_BUCKET", true}, {"SORT_KEY", false}, {"PROPERTIES", false},
	{"TABLE_ID", true}}

// tablesConfig answers information_schema.tables_config, which StarRocks
// has and MySQL does not: one row per table with its model and keys, as
// the FE fills it (InformationSchemaDataSource.genNormalTableConfigInfo):
// TABLE_MODEL is the KeysType's name (PRIMARY_KEYS, DUP_KEYS, UNIQUE_KEYS,
// AGG_KEYS) and PRIMARY_KEY lists the key columns of Primary and Unique
// Key tables only, empty for the others.
func (h *handler) tablesConfig(selectList, rest string) (*sqltypes.Result, error) {
	var cols []infoColumn
	if strings.TrimSpace(selectList) == "*" {
		cols = tablesConfigColumns
	} else {
		for _, c := range strings.Split(selectList, ",") {
			c = strings.ToUpper(strings.Trim(strings.TrimSpace(c), "`"))
			i := slices.IndexFunc(tablesConfigColumns, func(k infoColumn) bool { return k.name == c })
			if i < 0 {
				return nil, fmt.Errorf("Unknown column '%s' in 'field list'", c)
			}
			cols = append(cols, tablesConfigColumns[i])
		}
	}
	w, ok := parseTail(rest)
	if !ok {
		return nil, fmt.Errorf("emulator: tables_config answers only WHERE col = 'value' [AND …]: %q", rest)
	}
	res := &sqltypes.Result{}
	for _, c := range cols {
		f := &querypb.Field{Name: c.name, Type: querypb.Type_VARCHAR, Charset: 33}
		if c.num {
			f.Type, f.Charset = querypb.Type_INT64, 63
		}
		res.Fields = append(res.Fields, f)
	}
	h.s.mu.Lock()
	defer h.s.mu.Unlock()
	for dbName, d := range h.s.dbs {
		for name, t := range d.tables {
			t.mu.RLock()
			var keys []string
			for _, c := range t.def.Columns {
				if c.Key {
					keys = append(keys, "`"+c.Name+"`")
				}
			}
			model := t.def.Model
			t.mu.RUnlock()
			keyList := strings.Join(keys, ", ")
			pk := ""
			if model == schema.ModelPrimaryKeys || model == schema.ModelUniqueKeys {
				pk = keyList
			}
			vals := map[string]sqltypes.Value{"TABLE_SCHEMA": sqltypes.NewVarChar(dbName),
				"TABLE_NAME": sqltypes.NewVarChar(name), "TABLE_ENGINE": sqltypes.NewVarChar("OLAP"),
				"TABLE_MODEL": sqltypes.NewVarChar(model.String()), "PRIMARY_KEY": sqltypes.NewVarChar(pk),
				"PARTITION_KEY": sqltypes.NewVarChar(""), "DISTRIBUTE_KEY": sqltypes.NewVarChar(keyList),
				"DISTRIBUTE_TYPE": sqltypes.NewVarChar("HASH"), "DISTRIBUTE_BUCKET": sqltypes.NewInt64(1),
				"SORT_KEY": sqltypes.NewVarChar(keyList), "PROPERTIES": sqltypes.NewVarChar("{}"),
				"TABLE_ID": sqltypes.NewInt64(0)}
			if !matches(vals, w.eq) {
				continue
			}
			row := make([]sqltypes.Value, len(cols))
			for i, c := range cols {
				row[i] = vals[c.name]
			}
			res.Rows = append(res.Rows, row)
		}
	}
	res.RowsAffected = uint64(len(res.Rows))
	return res, nil
}

// describe answers DESC t (IndexSchemaProcNode: Field, Type, Null, Key
// true/false, Default, Extra, the aggregate function hidden for OLAP
// tables) and SHOW [FULL] COLUMNS FROM t (ShowExecutor
// visitShowColumnStmt: Key YES/NO, Extra the column's explicit aggregate
// function, so a client reads an Aggregate Key table's SUM/MAX/… there).
func (h *handler) describe(c *mysql.Conn, db, name string, show, full bool, cb mysql.ResultSpoolFn) error {
	if db == "" {
		h.mu.Lock()
		db = h.dbs[c.ConnectionID]
		h.mu.Unlock()
	}
	t := h.s.lookup(db, name)
	if t == nil {
		return mysql.NewSQLError(mysql.ERNoSuchTable, "42S02", "Unknown table '%s.%s'", db, name)
	}
	names := []string{"Field", "Type", "Null", "Key", "Default", "Extra"}
	if full {
		names = []string{"Field", "Type", "Collation", "Null", "Key", "Default", "Extra", "Privileges", "Comment"}
	}
	res := &sqltypes.Result{}
	for _, n := range names {
		res.Fields = append(res.Fields, &querypb.Field{Name: n, Type: querypb.Type_VARCHAR, Charset: 33})
	}
	t.mu.RLock()
	for i, col := range t.def.Columns {
		x := t.extra[i]
		str := sqltypes.NewVarChar
		null, key := "NO", "false"
		if col.Nullable {
			null = "YES"
		}
		if show {
			key = "NO"
			if col.Key {
				key = "YES"
			}
		} else if col.Key {
			key = "true"
		}
		def := sqltypes.NULL
		if x.def != nil {
			def = str(*x.def)
		}
		extra := ""
		if show {
			extra = x.agg
		}
		row := []sqltypes.Value{str(col.Name), str(strings.ToLower(col.Type)), str(null), str(key), def, str(extra)}
		if full {
			row = []sqltypes.Value{str(col.Name), str(strings.ToLower(col.Type)), str(""), str(null), str(key), def, str(extra), str(""), str("")}
		}
		res.Rows = append(res.Rows, row)
	}
	t.mu.RUnlock()
	res.RowsAffected = uint64(len(res.Rows))
	return cb(res, false)
}

// showAlter answers SHOW ALTER TABLE COLUMN with SchemaChangeProcDir's
// columns.
func (h *handler) showAlter(db, table string) (*sqltypes.Result, error) {
	jobs, err := h.s.AlterJobs(db, table)
	if err != nil {
		return nil, err
	}
	res := &sqltypes.Result{}
	names := []string{"JobId", "TableName", "CreateTime", "FinishTime", "IndexName", "IndexId", "OriginIndexId",
		"SchemaVersion", "TransactionId", "State", "Msg", "Progress", "Timeout"}
	shared := h.s.Settings().SharedData
	if shared {
		names = append(names, "Warehouse") // RunMode.SHARED_DATA
	}
	for _, n := range names {
		res.Fields = append(res.Fields, &querypb.Field{Name: n, Type: querypb.Type_VARCHAR, Charset: 33})
	}
	str := sqltypes.NewVarChar
	num := func(n int64) sqltypes.Value { return str(strconv.FormatInt(n, 10)) }
	for _, j := range jobs {
		res.Rows = append(res.Rows, []sqltypes.Value{num(j.JobID), str(j.TableName), str(j.CreateTime), str(j.FinishTime),
			str(j.IndexName), num(j.IndexID), num(j.OriginIndexID), str(j.SchemaVersion), num(j.TransactionID),
			str(j.State), str(j.Msg), str(j.Progress), num(j.Timeout)})
		if shared {
			res.Rows[len(res.Rows)-1] = append(res.Rows[len(res.Rows)-1], str("default_warehouse"))
		}
	}
	res.RowsAffected = uint64(len(res.Rows))
	return res, nil
}

// provider exposes the emulator's databases to go-mysql-server.
type provider struct{ s *Server }

func (p *provider) Database(ctx *sql.Context, name string) (sql.Database, error) {
	if strings.EqualFold(name, "information_schema") {
		return information_schema.NewInformationSchemaDatabase(), nil
	}
	p.s.mu.Lock()
	defer p.s.mu.Unlock()
	for n := range p.s.dbs {
		if strings.EqualFold(n, name) {
			return &sqlDB{s: p.s, name: n}, nil
		}
	}
	return nil, sql.ErrDatabaseNotFound.New(name)
}

func (p *provider) HasDatabase(ctx *sql.Context, name string) bool {
	_, err := p.Database(ctx, name)
	return err == nil
}

func (p *provider) AllDatabases(ctx *sql.Context) []sql.Database {
	p.s.mu.Lock()
	names := make([]string, 0, len(p.s.dbs))
	for n := range p.s.dbs {
		names = append(names, n)
	}
	p.s.mu.Unlock()
	out := []sql.Database{information_schema.NewInformationSchemaDatabase()}
	for _, n := range names {
		out = append(out, &sqlDB{s: p.s, name: n})
	}
	return out
}

type sqlDB struct {
	s    *Server
	name string
}

func (d *sqlDB) Name() string { return d.name }

func (d *sqlDB) GetTableInsensitive(ctx *sql.Context, name string) (sql.Table, bool, error) {
	d.s.mu.Lock()
	defer d.s.mu.Unlock()
	db := d.s.dbs[d.name]
	if db == nil {
		return nil, false, nil
	}
	for n, t := range db.tables {
		if strings.EqualFold(n, name) {
			return newSQLTable(d.name, t), true, nil
		}
	}
	return nil, false, nil
}

// CreateView and DropView are reached only if a statement passes the
// DDL interception; views are created by Server.exec.
func (d *sqlDB) CreateView(ctx *sql.Context, name string, selectStatement, createViewStmt string) error {
	return d.s.exec(createViewStmt, d.name)
}

func (d *sqlDB) DropView(ctx *sql.Context, name string) error {
	return d.s.exec("DROP VIEW `"+name+"`", d.name)
}

func (d *sqlDB) GetViewDefinition(ctx *sql.Context, name string) (sql.ViewDefinition, bool, error) {
	d.s.mu.Lock()
	defer d.s.mu.Unlock()
	if db := d.s.dbs[d.name]; db != nil {
		v, ok := db.views[strings.ToLower(name)]
		return v, ok, nil
	}
	return sql.ViewDefinition{}, false, nil
}

func (d *sqlDB) AllViews(ctx *sql.Context) ([]sql.ViewDefinition, error) {
	d.s.mu.Lock()
	defer d.s.mu.Unlock()
	var out []sql.ViewDefinition
	if db := d.s.dbs[d.name]; db != nil {
		for _, v := range db.views {
			out = append(out, v)
		}
	}
	return out, nil
}

func (d *sqlDB) GetTableNames(ctx *sql.Context) ([]string, error) {
	d.s.mu.Lock()
	defer d.s.mu.Unlock()
	var out []string
	if db := d.s.dbs[d.name]; db != nil {
		for n := range db.tables {
			out = append(out, n)
		}
	}
	return out, nil
}

// sqlTable is a read-only view of an emulated table.
type sqlTable struct {
	t   *table
	db  string
	sch sql.Schema
}

func newSQLTable(db string, t *table) *sqlTable {
	t.mu.RLock()
	defer t.mu.RUnlock()
	st := &sqlTable{t: t, db: db}
	for _, c := range t.def.Columns {
		st.sch = append(st.sch, &sql.Column{Name: c.Name, Type: sqlType(&c), Nullable: c.Nullable, Source: t.def.Name,
			DatabaseSource: db, PrimaryKey: c.Key})
	}
	return st
}

func sqlType(c *schema.Column) sql.Type {
	switch c.Kind {
	case schema.KindBoolean:
		return types.Boolean
	case schema.KindTinyInt:
		return types.Int8
	case schema.KindSmallInt:
		return types.Int16
	case schema.KindInt:
		return types.Int32
	case schema.KindBigInt:
		return types.Int64
	case schema.KindFloat:
		return types.Float32
	case schema.KindDouble:
		return types.Float64
	case schema.KindDecimal:
		return types.MustCreateDecimalType(uint8(min(c.Precision, 65)), uint8(min(c.Scale, 30)))
	case schema.KindDate:
		return types.Date
	case schema.KindDatetime:
		return types.DatetimeMaxPrecision
	case schema.KindChar, schema.KindVarchar:
		n := int64(c.Length)
		if n <= 0 || n > 65535 {
			return types.LongText
		}
		return types.MustCreateStringWithDefaults(sqltypes.VarChar, n)
	}
	return types.LongText
}

func (t *sqlTable) Name() string               { return t.t.def.Name }
func (t *sqlTable) String() string             { return t.t.def.Name }
func (t *sqlTable) Schema() sql.Schema         { return t.sch }
func (t *sqlTable) Collation() sql.CollationID { return sql.Collation_Default }
func (t *sqlTable) Partitions(*sql.Context) (sql.PartitionIter, error) {
	return sql.PartitionsToPartitionIter(onePartition{}), nil
}

func (t *sqlTable) PartitionRows(ctx *sql.Context, _ sql.Partition) (sql.RowIter, error) {
	rows := t.t.snapshot()
	return &rowIter{rows: rows, cols: t.t.def.Columns}, nil
}

type onePartition struct{}

func (onePartition) Key() []byte { return []byte("all") }

type rowIter struct {
	rows [][]any
	cols []schema.Column
	i    int
}

func (it *rowIter) Next(*sql.Context) (sql.Row, error) {
	if it.i >= len(it.rows) {
		return nil, io.EOF
	}
	r := it.rows[it.i]
	it.i++
	out := make(sql.Row, len(r))
	for k, v := range r {
		out[k] = sqlValue(&it.cols[k], v)
	}
	return out, nil
}

func (it *rowIter) Close(*sql.Context) error { return nil }

// sqlValue converts a stored value to go-mysql-server's representation of
// the column's type.
func sqlValue(c *schema.Column, v any) any {
	if v == nil {
		return nil
	}
	switch c.Kind {
	case schema.KindBoolean:
		if b, _ := v.(bool); b {
			return int8(1)
		}
		return int8(0)
	case schema.KindTinyInt:
		return int8(v.(int64))
	case schema.KindSmallInt:
		return int16(v.(int64))
	case schema.KindInt:
		return int32(v.(int64))
	case schema.KindFloat:
		return float32(v.(float64))
	case schema.KindDecimal:
		if d, err := decimal.NewFromString(v.(string)); err == nil {
			return d
		}
	case schema.KindDate:
		if t, err := time.Parse("2006-01-02", v.(string)); err == nil {
			return t
		}
	case schema.KindDatetime:
		if t, err := parseDatetime(v.(string)); err == nil {
			return t
		}
	case schema.KindBigInt, schema.KindDouble:
		return v
	}
	switch x := v.(type) {
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	}
	return fmt.Sprint(v)
}
