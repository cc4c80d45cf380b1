package emulator

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// TestAggregateKeyTable: value columns aggregate by their function as
// StarRocks aggregates them (SUM adds, MAX/MIN keep the extreme, REPLACE
// takes the last, REPLACE_IF_NOT_NULL ignores NULL; NULL is ignored by
// SUM, MAX and MIN), and SHOW FULL COLUMNS shows each function in Extra.
func TestAggregateKeyTable(t *testing.T) {
	s := start(t, Config{})
	exec(t, s, `CREATE TABLE ag (k INT NOT NULL, total BIGINT SUM, amount DECIMAL(10,2) SUM, hi INT MAX, lo INT MIN,
		last VARCHAR(10) REPLACE, keep VARCHAR(10) REPLACE_IF_NOT_NULL) AGGREGATE KEY(k) DISTRIBUTED BY HASH(k)`)
	for i, body := range []string{
		`[{"k":1,"total":5,"amount":"1.50","hi":3,"lo":3,"last":"a","keep":"x"}]`,
		`[{"k":1,"total":7,"amount":"2.25","hi":9,"lo":1,"last":"b","keep":null},{"k":1,"total":null,"hi":null,"lo":null,"last":null}]`,
	} {
		if _, r := load(t, s, "ag", body, with(jsonHdr, "label", fmt.Sprintf("ag%d", i))); r.Status != "Success" {
			t.Fatalf("%+v", r)
		}
	}
	got, _ := s.Rows("db", "ag")
	b, _ := json.Marshal(got)
	if want := `[[1,12,"3.75",9,1,null,"x"]]`; string(b) != want {
		t.Errorf("rows %s, want %s", b, want)
	}

	if sch, _ := s.Schema("db", "ag"); sch.Columns[1].Agg != "SUM" || sch.Columns[6].Agg != "REPLACE_IF_NOT_NULL" || sch.Columns[0].Agg != "" {
		t.Errorf("Schema() aggregates %+v", sch.Columns)
	}
	db := mysqlDB(t, s)
	// show answers a query as "Field:Extra:Key" per row, and its columns.
	show := func(q string) (string, string) {
		rows, err := db.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		cols, _ := rows.Columns()
		idx := map[string]int{}
		for i, c := range cols {
			idx[c] = i
		}
		var out []string
		for rows.Next() {
			v := make([]sql.NullString, len(cols))
			p := make([]any, len(v))
			for i := range v {
				p[i] = &v[i]
			}
			rows.Scan(p...)
			out = append(out, v[idx["Field"]].String+":"+v[idx["Extra"]].String+":"+v[idx["Key"]].String)
		}
		return strings.Join(cols, ","), strings.Join(out, " ")
	}
	tests := []struct{ query, cols, rows string }{
		{"SHOW FULL COLUMNS FROM ag", "Field,Type,Collation,Null,Key,Default,Extra,Privileges,Comment",
			"k::YES total:SUM:NO amount:SUM:NO hi:MAX:NO lo:MIN:NO last:REPLACE:NO keep:REPLACE_IF_NOT_NULL:NO"},
		{"SHOW COLUMNS FROM ag FROM db", "Field,Type,Null,Key,Default,Extra",
			"k::YES total:SUM:NO amount:SUM:NO hi:MAX:NO lo:MIN:NO last:REPLACE:NO keep:REPLACE_IF_NOT_NULL:NO"},
		// DESC: the function hidden for OLAP tables (TableSchemaProcDir).
		{"DESC ag", "Field,Type,Null,Key,Default,Extra",
			"k::true total::false amount::false hi::false lo::false last::false keep::false"},
	}
	// information_schema.columns has no aggregate function: the BE
	// scanner writes EXTRA empty.
	var extras []string
	rs, err := db.Query("SELECT EXTRA FROM information_schema.columns WHERE TABLE_SCHEMA = 'db' AND TABLE_NAME = 'ag'")
	if err != nil {
		t.Fatal(err)
	}
	for rs.Next() {
		var e string
		rs.Scan(&e)
		extras = append(extras, e)
	}
	rs.Close()
	if strings.Join(extras, "") != "" || len(extras) != 7 {
		t.Errorf("information_schema EXTRA %q, want 7 empty", extras)
	}
	for _, tt := range tests {
		cols, rows := show(tt.query)
		if cols != tt.cols || rows != tt.rows {
			t.Errorf("%s:\n%s\n%s\nwant\n%s\n%s", tt.query, cols, rows, tt.cols, tt.rows)
		}
	}
}
