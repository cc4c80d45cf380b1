package emulator

import (
	"context"
	"net/http"
	"testing"
)

// FuzzParseDDL: any statement parses or is refused, never panics; what
// parses as ALTER TABLE has clauses.
func FuzzParseDDL(f *testing.F) {
	for _, s := range []string{
		typesDDL,
		"ALTER TABLE db.p ADD COLUMN x VARCHAR(5) NOT NULL DEFAULT 'a' AFTER k",
		"ALTER TABLE p ADD COLUMN (a INT, b DECIMAL(10, 2) SUM DEFAULT \"0\"), DROP COLUMN c, MODIFY COLUMN d BIGINT",
		"CREATE VIEW v (a, b) AS SELECT a, b FROM t WHERE x = 'as'",
		"CREATE TABLE t (k INT NOT NULL, v BIGINT SUM) AGGREGATE KEY(k) DISTRIBUTED BY HASH(k) BUCKETS 4 PROPERTIES (\"replication_num\" = \"1\")",
		"DROP VIEW IF EXISTS v",
		"ALTER TABLE",
		"CREATE VIEW v AS",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, sql string) {
		st, err := parseDDL(sql)
		if err == nil && st.kind == "alter table" && len(st.clauses) == 0 {
			t.Errorf("%q: ALTER TABLE without a clause", sql)
		}
	})
}

// FuzzParseFault: a --fault value parses into a valid fault or an error.
func FuzzParseFault(f *testing.F) {
	for _, s := range []string{"too_many_versions=0.05", "shutting_down@90s", "mem_limit=0.5@1m", "nope", "=", "@", "publish_timeout=2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		ft, err := ParseFault(v)
		if err == nil && ft.valid() != nil {
			t.Errorf("%q parsed into an invalid fault %+v", v, ft)
		}
	})
}

// FuzzParseRows: any body, JSON or CSV, gives rows, reasons or an error,
// never a panic, and never more rows than it read.
func FuzzParseRows(f *testing.F) {
	for _, s := range []string{
		`[{"k":"a","v":"1.5","n":1,"note":"x","__op":0}]`,
		`[{"k":"a","v":"123456","n":"abc","note":"toolong"},{"k":null}]`,
		`{"k":"b"}`, `[1,2]`, `[`, "a\t1.5\t\\N\t\\N\n", "a\tb\n\n",
	} {
		f.Add(s, true, false)
		f.Add(s, false, true)
	}
	s, err := Start(Config{NoMySQL: true})
	if err != nil {
		f.Fatal(err)
	}
	defer s.Close()
	for _, q := range []string{"CREATE DATABASE db", "USE db", ddl} {
		if err := s.Exec(context.Background(), q); err != nil {
			f.Fatal(err)
		}
	}
	tb := s.lookup("db", "p")
	f.Fuzz(func(t *testing.T, body string, json, strict bool) {
		h := http.Header{}
		if json {
			h.Set("format", "json")
			h.Set("strip_outer_array", "true")
		}
		if strict {
			h.Set("strict_mode", "true")
		}
		opts, err := parseOptions(h)
		if err != nil {
			t.Fatal(err)
		}
		v := tb.view()
		plan, err := planLoad(&v, opts)
		if err != nil {
			t.Fatal(err)
		}
		ops, reasons, total, err := parseRows(&v, plan, []byte(body), opts, 0)
		if err == nil && int64(len(ops)+len(reasons)) != total {
			t.Errorf("%d rows and %d reasons of %d read", len(ops), len(reasons), total)
		}
	})
}
