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
}

func (d *fakeInfoSchema) Connect(context.Context) (driver.Conn, error) { return fakeConn{d}, nil }
func (d *fakeInfoSchema) Driver() driver.Driver                        { return nil }

type fakeConn struct{ d *fakeInfoSchema }

func (fakeConn) Prepare(string) (driver.Stmt, error) { return nil, errors.New("no prepare") }
func (fakeConn) Close() error                        { return nil }
func (fakeConn) Begin() (driver.Tx, error)           { return nil, errors.New("no tx") }

func (c fakeConn) QueryContext(_ context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	c.d.queries.Add(1)
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
	if q := d.queries.Load(); q != 2 {
		t.Fatalf("%d queries for 3 cached reads, want 2", q)
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
	if _, err := c.Table(ctx, "db", "t"); err != nil || d.queries.Load() != 6 {
		t.Errorf("expired entry not re-read: %d queries, %v", d.queries.Load(), err)
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
