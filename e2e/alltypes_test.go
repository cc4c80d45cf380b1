//go:build e2e

package e2e

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// allTypesPG is the all-types table of shared/reference/debezium-fixtures.
const allTypesPG = `CREATE TABLE public.all_types (
  id int4 NOT NULL PRIMARY KEY, c_int2 int2, c_int8 int8, c_float4 float4, c_float8 float8,
  c_numeric numeric(10,2), c_numeric_any numeric, c_bool bool, c_text text, c_varchar varchar(50),
  c_char char(5), c_date date, c_time time, c_timestamp timestamp, c_timestamptz timestamptz,
  c_interval interval, c_uuid uuid, c_json json, c_jsonb jsonb, c_bytea bytea, c_int_array int[])`

// column is a StarRocks column of the all-types table.
type column struct {
	Name string `json:"name"`
	Type string `json:"type"`
	Key  bool   `json:"key,omitempty"`
}

var allTypesCols = []column{
	{"id", "INT", true}, {"c_int2", "SMALLINT", false}, {"c_int8", "BIGINT", false}, {"c_float4", "FLOAT", false}, {"c_float8", "DOUBLE", false},
	{"c_numeric", "DECIMAL(10,2)", false}, {"c_numeric_any", "DECIMAL(38,9)", false}, {"c_bool", "BOOLEAN", false}, {"c_text", "STRING", false},
	{"c_varchar", "VARCHAR(50)", false}, {"c_char", "CHAR(5)", false}, {"c_date", "DATE", false}, {"c_time", "VARCHAR(20)", false},
	{"c_timestamp", "DATETIME", false}, {"c_timestamptz", "DATETIME", false}, {"c_interval", "BIGINT", false}, {"c_uuid", "VARCHAR(36)", false},
	{"c_json", "JSON", false}, {"c_jsonb", "JSON", false}, {"c_bytea", "VARBINARY", false}, {"c_int_array", "ARRAY<INT>", false},
}

var allTypesSR = func() string {
	var b strings.Builder
	b.WriteString("CREATE TABLE all_types (\n")
	for i, c := range allTypesCols {
		null := " NULL"
		if i == 0 {
			null = " NOT NULL"
		}
		fmt.Fprintf(&b, "  %s %s%s", c.Name, c.Type, null)
		if i < len(allTypesCols)-1 {
			b.WriteString(",\n")
		}
	}
	b.WriteString(")\nPRIMARY KEY (id)\nDISTRIBUTED BY HASH (id)")
	return b.String()
}()

// typesRow is one all-types row: the PostgreSQL literals and the values
// StarRocks must hold, as text (nil = NULL). Columns absent from want are
// not compared (c_bytea: the rendering of VARBINARY is not settled).
type typesRow struct {
	id   int
	pg   string // VALUES (...) list
	want map[string]*string
}

func s(v string) *string { return &v }

// toastText is incompressible text far above the 2 kB TOAST threshold, so
// PostgreSQL stores it out of line and an update that leaves it unchanged
// sends Debezium's unavailable-value placeholder.
const toastTextSQL = `(SELECT string_agg(md5(i::text), '') FROM generate_series(1, 1000) i)`

var typesRows = []typesRow{
	{1, `1, -12, 9007199254740993, 3.14, 2.718281828459045, 1234.56, 3.14159, true, 'hello, 세계', 'varchar value', 'ab',
  '2024-06-05', '08:30:15.5', '2024-06-05 10:05:12.345678', '2024-06-05 10:05:12.345678+09', '1 mon 2 days 03:04:05',
  'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"k":[1,2]}', '{"b": 1, "a": "x"}', '\xdeadbeef', '{1,2,3}'`,
		map[string]*string{"id": s("1"), "c_int2": s("-12"), "c_int8": s("9007199254740993"), "c_float4": s("3.14"),
			"c_float8": s("2.718281828459045"), "c_numeric": s("1234.56"), "c_numeric_any": s("3.14159"), "c_bool": s("1"),
			"c_text": s("hello, 세계"), "c_varchar": s("varchar value"), "c_char": s("ab"), "c_date": s("2024-06-05"),
			"c_time": s("08:30:15.5"), "c_timestamp": s("2024-06-05 10:05:12.345678"),
			"c_timestamptz": s("2024-06-05 01:05:12.345678"), "c_interval": s("2813645000000"),
			"c_uuid": s("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"), "c_json": s(`{"k":[1,2]}`), "c_jsonb": s(`{"a": "x", "b": 1}`),
			"c_int_array": s("[1,2,3]")}},
	{2, `2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL`,
		map[string]*string{"id": s("2"), "c_int2": nil, "c_int8": nil, "c_float4": nil, "c_float8": nil, "c_numeric": nil,
			"c_numeric_any": nil, "c_bool": nil, "c_text": nil, "c_varchar": nil, "c_char": nil, "c_date": nil, "c_time": nil,
			"c_timestamp": nil, "c_timestamptz": nil, "c_interval": nil, "c_uuid": nil, "c_json": nil, "c_jsonb": nil,
			"c_int_array": nil}},
	{3, `3, -32768, -9223372036854775808, -1.5, 1e300, -99999999.99, -123456789012345678.123456789, false,
  E'it''s "quoted" \\ back\nnew line\ttab 한글 😀', 'ünïcödé 日本語', 'x', '1969-07-20', '23:59:59.999999',
  '1900-01-01 00:00:00.000001', '1969-12-31 23:59:59.5-08', '-1 day', '00000000-0000-0000-0000-000000000000',
  '[]', '{"nested": {"a": [null, true]}}', '\x00ff', '{-1,NULL,2147483647}'`,
		map[string]*string{"id": s("3"), "c_int2": s("-32768"), "c_int8": s("-9223372036854775808"), "c_float4": s("-1.5"),
			"c_float8": s("1e300"), "c_numeric": s("-99999999.99"), "c_numeric_any": s("-123456789012345678.123456789"),
			"c_bool": s("0"), "c_text": s("it's \"quoted\" \\ back\nnew line\ttab 한글 😀"), "c_varchar": s("ünïcödé 日本語"),
			"c_char": s("x"), "c_date": s("1969-07-20"), "c_time": s("23:59:59.999999"),
			"c_timestamp": s("1900-01-01 00:00:00.000001"), "c_timestamptz": s("1970-01-01 07:59:59.5"),
			"c_interval": s("-86400000000"), "c_uuid": s("00000000-0000-0000-0000-000000000000"), "c_json": s("[]"),
			"c_jsonb": s(`{"nested": {"a": [null, true]}}`), "c_int_array": s("[-1,null,2147483647]")}},
}

// captureChanges makes the changes the captured messages come from: the
// fixture scenario on subway_passengers_copy (insert, update, delete) and the
// all-types rows, then an update that leaves a TOASTed text unchanged.
func captureChanges(ctx context.Context, t *testing.T, pg *pgx.Conn) {
	stmts := []string{
		`INSERT INTO subway_passengers_copy VALUES ('20240601','9호선','신논현',12345,NULL,'20240604')`,
		`INSERT INTO subway_passengers_copy VALUES ('20240101','2호선','강남',98765,101234,'20240104')`,
		`UPDATE subway_passengers_copy SET pass_in=98801, pass_out=101300, reg_date='20240605'
 WHERE use_date='20240101' AND line_no='2호선' AND station_name='강남'`,
		`DELETE FROM subway_passengers_copy WHERE use_date='20240101' AND line_no='2호선' AND station_name='강남'`,
	}
	for _, r := range typesRows {
		stmts = append(stmts, "INSERT INTO all_types VALUES ("+r.pg+")")
	}
	stmts = append(stmts,
		`INSERT INTO all_types (id, c_int2, c_text) VALUES (4, 1, `+toastTextSQL+`)`,
		`UPDATE all_types SET c_int2 = 7 WHERE id = 4`)
	for _, q := range stmts {
		if _, err := pg.Exec(ctx, q); err != nil { // each its own transaction
			t.Fatalf("%v\n%s", err, q)
		}
	}
	var ext string
	if err := pg.QueryRow(ctx, `SELECT CASE WHEN pg_column_size(c_text) < octet_length(c_text) / 2 THEN 'compressed' ELSE 'external' END
FROM all_types WHERE id = 4`).Scan(&ext); err != nil {
		t.Fatal(err)
	}
	t.Logf("TOAST row: c_text stored %s", ext)
}

// checkAllTypes waits for the all-types rows in the target and compares them
// with the expected values; row 4 must keep its TOASTed text after the
// update whose message carried the placeholder.
func checkAllTypes(ctx context.Context, t *testing.T, pg *pgx.Conn, sr *sql.DB, c cell) {
	if _, err := sr.ExecContext(ctx, "SELECT 1 FROM all_types LIMIT 1"); err != nil {
		t.Fatalf("the emulator has no all_types table: %v", err)
	}
	var toast string
	if err := pg.QueryRow(ctx, "SELECT c_text FROM all_types WHERE id = 4").Scan(&toast); err != nil {
		t.Fatal(err)
	}
	_, err := waitUntil(ctx, 2*time.Minute, 250*time.Millisecond, "all_types in the target", func() (bool, string) {
		var n int
		var c2 sql.NullString
		if err := sr.QueryRowContext(ctx, "SELECT COUNT(*) FROM all_types").Scan(&n); err != nil {
			return false, err.Error()
		}
		if err := sr.QueryRowContext(ctx, "SELECT c_int2 FROM all_types WHERE id = 4").Scan(&c2); err != nil {
			return false, fmt.Sprintf("%d rows, row 4: %v", n, err)
		}
		return n == 4 && c2.String == "7", fmt.Sprintf("%d rows, row 4 c_int2=%q", n, c2.String)
	})
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, len(allTypesCols))
	for i, c := range allTypesCols {
		names[i] = c.Name
	}
	for _, r := range typesRows {
		got, err := srRow(ctx, sr, "SELECT "+strings.Join(names, ", ")+" FROM all_types WHERE id = "+strconv.Itoa(r.id))
		if err != nil {
			t.Errorf("row %d: %v", r.id, err)
			continue
		}
		for i, name := range names {
			want, ok := r.want[name]
			if !ok {
				continue
			}
			if why, ok := c.unproven()[name]; ok {
				if r.id == 1 {
					t.Logf("all_types %s not compared on %s: %s (target %s, source %s)", name, c.name, why, show(got[i]), show(want))
				}
				continue
			}
			if !sameValue(want, got[i]) {
				t.Errorf("all_types row %d %s: target %s, want %s", r.id, name, show(got[i]), show(want))
			}
		}
	}
	var text sql.NullString
	if err := sr.QueryRowContext(ctx, "SELECT c_text FROM all_types WHERE id = 4").Scan(&text); err != nil {
		t.Fatal(err)
	}
	if text.String != toast {
		t.Errorf("TOAST: row 4 c_text in the target is %q (%d bytes), want the unchanged %d-byte text", trunc(text.String), len(text.String), len(toast))
	} else {
		t.Logf("TOAST: row 4 kept its %d-byte c_text through an update that did not send it", len(toast))
	}
}

func srRow(ctx context.Context, db *sql.DB, q string) ([]*string, error) {
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	ns := make([]sql.NullString, len(cols))
	dst := make([]any, len(cols))
	for i := range ns {
		dst[i] = &ns[i]
	}
	if !rows.Next() {
		return nil, fmt.Errorf("no row for %s: %v", q, rows.Err())
	}
	if err := rows.Scan(dst...); err != nil {
		return nil, err
	}
	out := make([]*string, len(cols))
	for i, v := range ns {
		if v.Valid {
			out[i] = s(v.String)
		}
	}
	return out, nil
}

// sameValue compares an expected value with what the target returned,
// allowing the renderings two correct systems may differ in: trailing zeros
// of decimals and fractional seconds, float formatting, JSON spacing, a
// 'T' or trailing 'Z' in timestamps, CHAR padding and true/false as 1/0.
func sameValue(want, got *string) bool {
	if want == nil || got == nil {
		return want == nil && got == nil
	}
	w, g := *want, *got
	if w == g {
		return true
	}
	if normTime(w) == normTime(g) || normNumber(w) == normNumber(g) || strings.TrimRight(w, " ") == strings.TrimRight(g, " ") {
		return true
	}
	if (w == "1" && g == "true") || (w == "0" && g == "false") {
		return true
	}
	if wf, err := strconv.ParseFloat(w, 64); err == nil {
		if gf, err := strconv.ParseFloat(g, 64); err == nil {
			d := wf - gf
			if d < 0 {
				d = -d
			}
			m := wf
			if m < 0 {
				m = -m
			}
			return d <= 1e-6*m || d < 1e-9
		}
	}
	var wj, gj any
	if json.Unmarshal([]byte(w), &wj) == nil && json.Unmarshal([]byte(g), &gj) == nil {
		a, _ := json.Marshal(wj)
		b, _ := json.Marshal(gj)
		return string(a) == string(b)
	}
	return false
}

// normTime renders "2024-06-05T01:05:12.345600Z" as "2024-06-05 01:05:12.3456".
func normTime(v string) string {
	v = strings.TrimSuffix(strings.Replace(v, "T", " ", 1), "Z")
	if i := strings.LastIndexByte(v, '.'); i > 0 && strings.Count(v, ":") >= 2 {
		v = strings.TrimSuffix(strings.TrimRight(v, "0"), ".")
	}
	return v
}

func show(v *string) string {
	if v == nil {
		return "NULL"
	}
	return strconv.Quote(trunc(*v))
}

func trunc(v string) string {
	if len(v) > 80 {
		return v[:80] + "…"
	}
	return v
}
