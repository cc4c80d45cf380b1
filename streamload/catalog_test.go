package streamload

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/starsink/starsink/schema"
)

// fakeInfoSchema is a database/sql driver that answers the catalog's two
// queries from canned rows, the way StarRocks' information_schema does.
type fakeInfoSchema struct {
	mu      sync.Mutex
	tables  map[string]fakeTable // "db.table"
	queries atomic.Int32
}

type fakeTable struct {
	cols     [][]driver.Value // COLUMN_NAME, ORDINAL_POSITION, COLUMN_TYPE, IS_NULLABLE, COLUMN_KEY
	model    string
	pk       string
	noConfig bool
	// show answers SHOW FULL COLUMNS (Field, Type, Null, Extra; the other
	// columns are filled in); nil makes that query fail.
	show [][]driver.Value
}

// showCol is one row of a SHOW FULL COLUMNS answer.
func showCol(field, typ, null, extra string) []driver.Value {
	return []driver.Value{field, typ, null, extra}
}

func (d *fakeInfoSchema) Connect(context.Context) (driver.Conn, error) { return fakeConn{d}, nil }
func (d *fakeInfoSchema) Driver() driver.Driver                        { return nil }

type fakeConn struct{ d *fakeInfoSchema }

func (fakeConn) Prepare(string) (driver.Stmt, error) { return nil, errors.New("no prepare") }
func (fakeConn) Close() error                        { return nil }
func (fakeConn) Begin() (driver.Tx, error)           { return nil, errors.New("no tx") }

func (c fakeConn) QueryContext(_ context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	c.d.queries.Add(1)
	if rest, ok := strings.CutPrefix(q, "SHOW FULL COLUMNS FROM "); ok {
		key := strings.ReplaceAll(rest, "`", "")
		c.d.mu.Lock()
		t, ok := c.d.tables[key]
		c.d.mu.Unlock()
		if !ok || t.show == nil {
			return nil, errors.New("Error 1064: unsupported statement")
		}
		// StarRocks' column order (ShowExecutor, SHOW FULL COLUMNS).
		r := &fakeRows{cols: []string{"Field", "Type", "Collation", "Null", "Key", "Default", "Extra", "Privileges", "Comment"}}
		for _, v := range t.show {
			r.rows = append(r.rows, []driver.Value{v[0], v[1], "", v[2], "NO", nil, v[3], "", ""})
		}
		return r, nil
	}
	if len(args) != 2 {
		return nil, errors.New("want 2 args")
	}
	key := args[0].Value.(string) + "." + args[1].Value.(string)
	c.d.mu.Lock()
	t, ok := c.d.tables[key]
	c.d.mu.Unlock()
	switch q {
	case columnsQuery:
		r := &fakeRows{cols: []string{"COLUMN_NAME", "ORDINAL_POSITION", "COLUMN_TYPE", "IS_NULLABLE", "COLUMN_KEY"}}
		if ok {
			r.rows = t.cols
		}
		return r, nil
	case tablesConfigQuery:
		r := &fakeRows{cols: []string{"TABLE_MODEL", "PRIMARY_KEY"}}
		if ok && !t.noConfig {
			r.rows = [][]driver.Value{{t.model, t.pk}}
		}
		return r, nil
	}
	return nil, errors.New("unexpected query: " + q)
}

type fakeRows struct {
	cols []string
	rows [][]driver.Value
	i    int
}

func (r *fakeRows) Columns() []string { return r.cols }
func (r *fakeRows) Close() error      { return nil }
func (r *fakeRows) Next(dst []driver.Value) error {
	if r.i >= len(r.rows) {
		return io.EOF
	}
	copy(dst, r.rows[r.i])
	r.i++
	return nil
}

func newFakeCatalog(t *testing.T, tables map[string]fakeTable) (*Catalog, *fakeInfoSchema) {
	d := &fakeInfoSchema{tables: tables}
	db := sql.OpenDB(d)
	t.Cleanup(func() { db.Close() })
	return newCatalog(db, time.Minute, zaptest.NewLogger(t)), d
}

func col(name string, pos int64, typ, nullable, key string) []driver.Value {
	return []driver.Value{name, pos, typ, nullable, key}
}

func TestCatalogTable(t *testing.T) {
	tables := map[string]fakeTable{
		"shop.orders": {cols: [][]driver.Value{
			col("id", 1, "bigint(20)", "NO", "PRI"),
			col("region", 2, "varchar(16)", "NO", ""),
			col("amount", 3, "decimal(13,2)", "YES", ""),
			col("note", 4, "varchar(65533)", "YES", ""),
		}, model: "PRIMARY_KEYS", pk: "`id`, `region`"},
		"shop.events": {cols: [][]driver.Value{
			col("ts", 1, "datetime", "NO", "DUP"),
			col("payload", 2, "json", "YES", ""),
		}, model: "DUP_KEYS", pk: ""},
		"shop.legacy": {cols: [][]driver.Value{col("k", 1, "int(11)", "NO", "UNI")}, model: "UNQ_KEYS", pk: "k"},
		"shop.noconf": {cols: [][]driver.Value{col("k", 1, "int(11)", "NO", "")}, noConfig: true},
		"shop.badkey": {cols: [][]driver.Value{col("k", 1, "int(11)", "NO", "")}, model: "PRI_KEYS", pk: "`nope`"},
		"shop.badmdl": {cols: [][]driver.Value{col("k", 1, "int(11)", "NO", "")}, model: "COLUMNAR"},
	}
	c, _ := newFakeCatalog(t, tables)
	ctx := context.Background()

	o, err := c.Table(ctx, "shop", "orders")
	if err != nil {
		t.Fatal(err)
	}
	if o.Model != schema.ModelPrimaryKeys || o.QualifiedName() != "shop.orders" || len(o.Columns) != 4 {
		t.Fatalf("orders %+v", o)
	}
	if keys := o.KeyColumns(); len(keys) != 2 || keys[0] != "id" || keys[1] != "region" {
		t.Errorf("keys %v", keys)
	}
	if a := o.Columns[2]; a.Kind != schema.KindDecimal || a.Precision != 13 || a.Scale != 2 || !a.Nullable {
		t.Errorf("amount %+v", a)
	}
	if n := o.Columns[3]; n.Kind != schema.KindVarchar || n.Length != 65533 {
		t.Errorf("note %+v", n)
	}

	e, err := c.Table(ctx, "shop", "events")
	if err != nil || e.Model != schema.ModelDupKeys || !e.Columns[0].Key || e.Columns[1].Key || e.Columns[1].Kind != schema.KindJSON {
		t.Errorf("events %+v %v", e, err)
	}
	l, err := c.Table(ctx, "shop", "legacy")
	if err != nil || l.Model != schema.ModelUniqueKeys || !l.Columns[0].Key {
		t.Errorf("legacy %+v %v", l, err)
	}
	n, err := c.Table(ctx, "shop", "noconf")
	if err != nil || n.Model != schema.ModelUnknown {
		t.Errorf("noconf %+v %v", n, err)
	}
	if _, err := c.Table(ctx, "shop", "badkey"); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("badkey: %v", err)
	}
	if _, err := c.Table(ctx, "shop", "badmdl"); err == nil {
		t.Error("unknown model accepted")
	}
	if _, err := c.Table(ctx, "shop", "missing"); !errors.Is(err, ErrTableNotFound) {
		t.Errorf("missing: %v", err)
	}
}

func TestCatalogCacheAndRefresh(t *testing.T) {
	c, d := newFakeCatalog(t, map[string]fakeTable{
		"db.t": {cols: [][]driver.Value{col("k", 1, "int", "NO", "PRI")}, model: "PRIMARY_KEYS", pk: "k"},
	})
	now := time.Unix(1000, 0)
	c.now = func() time.Time { return now }
	ctx := context.Background()
	for range 3 {
		if _, err := c.Table(ctx, "db", "t"); err != nil {
			t.Fatal(err)
		}
	}
	// information_schema.columns, tables_config, and SHOW FULL COLUMNS
	// (every column NOT NULL: the BE scanner's answer looks so).
	if q := d.queries.Load(); q != 3 {
		t.Fatalf("%d queries for 3 cached reads, want 3", q)
	}
	d.mu.Lock()
	d.tables["db.t"] = fakeTable{cols: [][]driver.Value{col("k", 1, "int", "NO", "PRI"), col("v", 2, "int", "YES", "")},
		model: "PRIMARY_KEYS", pk: "k"}
	d.mu.Unlock()
	c.Refresh("DB", "T")
	tb, err := c.Table(ctx, "db", "t")
	if err != nil || len(tb.Columns) != 2 {
		t.Fatalf("after Refresh: %+v %v", tb, err)
	}
	now = now.Add(2 * time.Minute) // past the TTL
	if _, err := c.Table(ctx, "db", "t"); err != nil || d.queries.Load() != 7 {
		t.Errorf("expired entry not re-read: %d queries, %v", d.queries.Load(), err)
	}
}

// information_schema.columns in StarRocks' two spellings: the BE scanner's
// (decimal(p,s), "unknown" for ARRAY/MAP/STRUCT, IS_NULLABLE always NO),
// completed by SHOW FULL COLUMNS, and the FE's (decimal(p, s), array<…>,
// real YES/NO), read as is.
func TestCatalogSpellings(t *testing.T) {
	be := [][]driver.Value{
		col("id", 1, "bigint(20)", "NO", "PRI"),
		col("amount", 2, "decimal(13,2)", "NO", ""),
		col("tags", 3, "unknown", "NO", ""),
		col("note", 4, "varchar(65533)", "NO", ""),
	}
	tables := map[string]fakeTable{
		"be.orders": {cols: be, model: "PRIMARY_KEYS", pk: "`id`", show: [][]driver.Value{
			showCol("id", "bigint(20)", "NO", ""), showCol("amount", "decimal64(13,2)", "YES", ""),
			showCol("tags", "array<varchar(65533)>", "YES", ""), showCol("note", "varchar(65533)", "YES", ""),
		}},
		"be.noshow": {cols: be, model: "PRIMARY_KEYS", pk: "`id`"},
		"fe.orders": {cols: [][]driver.Value{
			col("id", 1, "bigint(20)", "NO", "PRI"),
			col("amount", 2, "decimal(13, 2)", "YES", ""),
			col("tags", 3, "array<varchar(65533)>", "YES", ""),
			col("note", 4, "varchar(65533)", "NO", ""),
		}, model: "PRIMARY_KEYS", pk: "`id`"},
	}
	type want struct {
		kind     schema.Kind
		nullable bool
	}
	tests := []struct {
		name, db string
		want     []want // id, amount, tags, note
		queries  int32
	}{
		{"BE spelling completed by SHOW FULL COLUMNS", "be",
			[]want{{schema.KindBigInt, false}, {schema.KindDecimal, true}, {schema.KindArray, true}, {schema.KindVarchar, true}}, 3},
		{"BE spelling without SHOW FULL COLUMNS: NOT NULL assumed", "be_noshow",
			[]want{{schema.KindBigInt, false}, {schema.KindDecimal, false}, {schema.KindUnknown, false}, {schema.KindVarchar, false}}, 3},
		{"FE spelling read as is", "fe",
			[]want{{schema.KindBigInt, false}, {schema.KindDecimal, true}, {schema.KindArray, true}, {schema.KindVarchar, false}}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, d := newFakeCatalog(t, tables)
			db, name := tt.db, "orders"
			if db == "be_noshow" {
				db, name = "be", "noshow"
			}
			tb, err := c.Table(context.Background(), db, name)
			if err != nil {
				t.Fatal(err)
			}
			for i, w := range tt.want {
				got := tb.Columns[i]
				if got.Kind != w.kind || got.Nullable != w.nullable {
					t.Errorf("%s: kind %v nullable %v, want %v %v", got.Name, got.Kind, got.Nullable, w.kind, w.nullable)
				}
			}
			if a := tb.Columns[1]; a.Precision != 13 || a.Scale != 2 {
				t.Errorf("amount %+v", a)
			}
			if q := d.queries.Load(); q != tt.queries {
				t.Errorf("%d queries, want %d", q, tt.queries)
			}
		})
	}
}

// Aggregate Key tables: each value column's function from SHOW FULL
// COLUMNS' Extra, as StarRocks' FE answers it.
func TestCatalogAggregateFunctions(t *testing.T) {
	aggCols := [][]driver.Value{
		col("day", 1, "date", "NO", "AGG"),
		col("total", 2, "bigint(20)", "YES", ""),
		col("last_name", 3, "varchar(64)", "YES", ""),
	}
	c, _ := newFakeCatalog(t, map[string]fakeTable{
		"db.daily": {cols: aggCols, model: "AGG_KEYS", show: [][]driver.Value{
			showCol("day", "date", "NO", ""), showCol("total", "bigint(20)", "YES", "SUM"),
			showCol("last_name", "varchar(64)", "YES", "REPLACE"),
		}},
		"db.latest": {cols: aggCols, model: "AGG_KEYS", show: [][]driver.Value{
			showCol("day", "date", "NO", ""), showCol("total", "bigint(20)", "YES", "replace"),
			showCol("last_name", "varchar(64)", "YES", "REPLACE"),
		}},
		"db.noshow": {cols: aggCols, model: "AGG_KEYS"},
		"db.pk": {cols: [][]driver.Value{col("k", 1, "int(11)", "NO", "PRI"), col("v", 2, "int(11)", "YES", "")},
			model: "PRIMARY_KEYS", pk: "k"},
	})
	ctx := context.Background()
	tests := []struct {
		table      string
		wantAgg    []string
		allReplace bool
	}{
		{"daily", []string{"", "SUM", "REPLACE"}, false},
		{"latest", []string{"", "REPLACE", "REPLACE"}, true},
		{"pk", []string{"", ""}, false},
	}
	for _, tt := range tests {
		tb, err := c.Table(ctx, "db", tt.table)
		if err != nil {
			t.Fatalf("%s: %v", tt.table, err)
		}
		for i, w := range tt.wantAgg {
			if tb.Columns[i].Agg != w {
				t.Errorf("%s.%s: Agg %q, want %q", tt.table, tb.Columns[i].Name, tb.Columns[i].Agg, w)
			}
		}
		if tb.AllReplace() != tt.allReplace {
			t.Errorf("%s: AllReplace = %v", tt.table, tb.AllReplace())
		}
	}
	if _, err := c.Table(ctx, "db", "noshow"); err == nil || !strings.Contains(err.Error(), "aggregate functions of db.noshow") {
		t.Errorf("Aggregate Key table without its functions: %v", err)
	}
}

func TestParseKeyList(t *testing.T) {
	for in, want := range map[string]string{
		"":                "",
		"id":              "id",
		"`id`, `region`":  "id|region",
		"a,b , c":         "a|b|c",
		"`we,ird`,`x``y`": "we,ird|x`y",
		" `k1` ,\t`k2` ":  "k1|k2",
		"`a`,,`b`":        "a|b",
	} {
		if got := strings.Join(parseKeyList(in), "|"); got != want {
			t.Errorf("parseKeyList(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNewCatalogValidates(t *testing.T) {
	if _, err := NewCatalog(CatalogConfig{}, nil); err == nil {
		t.Error("empty Addr accepted")
	}
	c, err := NewCatalog(CatalogConfig{Addr: "127.0.0.1:1", User: "u", Password: "pw-secret", Timeout: time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	err = c.Ping(context.Background())
	if err == nil || strings.Contains(err.Error(), "pw-secret") {
		t.Errorf("Ping: %v", err)
	}
}
