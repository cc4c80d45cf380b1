package emulator

import (
	"database/sql"
	"reflect"
	"strings"
	"testing"
)

// openSQL connects to the emulator's MySQL port as the catalog does
// (interpolated parameters).
func openSQL(t *testing.T, s *Server) *sql.DB {
	t.Helper()
	db, err := sql.Open("mysql", "root:pw@tcp("+s.MySQLAddr()+")/db?interpolateParams=true")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestColumnTypeSpelling(t *testing.T) {
	s := start(t, Config{})
	db := openSQL(t, s)
	if _, err := db.Exec(`CREATE TABLE types (
		c_bool BOOLEAN NOT NULL, c_tiny TINYINT, c_small SMALLINT, c_int INT, c_big BIGINT, c_large LARGEINT,
		c_float FLOAT, c_double DOUBLE, c_dec DECIMAL(13, 0), c_dec_bare DECIMAL, c_date DATE, c_dt DATETIME,
		c_char CHAR(2), c_vc VARCHAR(64), c_vc_bare VARCHAR, c_string STRING, c_json JSON, c_bin VARBINARY(16),
		c_arr ARRAY<INT>, c_arr_dec ARRAY<DECIMAL(10,2)>, c_map MAP<VARCHAR(8),BIGINT>, c_struct STRUCT<a INT, b STRING>
	) ENGINE=OLAP DUPLICATE KEY(c_bool) DISTRIBUTED BY HASH(c_bool)`); err != nil {
		t.Fatal(err)
	}
	// What StarRocks' FE answers for each (FrontendServiceImpl.describeTable,
	// ScalarType/ArrayType/MapType/StructType.toMysqlColumnTypeString and
	// toMysqlDataTypeString).
	tests := []struct {
		col, columnType, dataType, nullable, key string
	}{
		{"c_bool", "tinyint(1)", "tinyint", "NO", "DUP"},
		{"c_tiny", "tinyint(4)", "tinyint", "YES", ""},
		{"c_small", "smallint(6)", "smallint", "YES", ""},
		{"c_int", "int(11)", "int", "YES", ""},
		{"c_big", "bigint(20)", "bigint", "YES", ""},
		{"c_large", "bigint(20) unsigned", "bigint unsigned", "YES", ""},
		{"c_float", "float", "float", "YES", ""},
		{"c_double", "double", "double", "YES", ""},
		{"c_dec", "decimal(13, 0)", "decimal", "YES", ""},
		{"c_dec_bare", "decimal(10, 0)", "decimal", "YES", ""},
		{"c_date", "date", "date", "YES", ""},
		{"c_dt", "datetime", "datetime", "YES", ""},
		{"c_char", "char(2)", "char", "YES", ""},
		{"c_vc", "varchar(64)", "varchar", "YES", ""},
		{"c_vc_bare", "varchar(1)", "varchar", "YES", ""},
		{"c_string", "varchar(65533)", "varchar", "YES", ""},
		{"c_json", "json", "json", "YES", ""},
		{"c_bin", "varbinary(16)", "varbinary", "YES", ""},
		{"c_arr", "array<int(11)>", "array", "YES", ""},
		{"c_arr_dec", "array<DECIMAL64(10,2)>", "array", "YES", ""},
		{"c_map", "map<varchar(8),bigint(20)>", "map", "YES", ""},
		{"c_struct", "struct<a int(11), b varchar(65533)>", "struct", "YES", ""},
	}
	rows, err := db.Query("SELECT COLUMN_NAME, ORDINAL_POSITION, COLUMN_TYPE, DATA_TYPE, IS_NULLABLE, COLUMN_KEY "+
		"FROM information_schema.columns WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION", "db", "types")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	i := 0
	for ; rows.Next(); i++ {
		var name, colType, dataType, nullable, key string
		var pos int64
		if err := rows.Scan(&name, &pos, &colType, &dataType, &nullable, &key); err != nil {
			t.Fatal(err)
		}
		if i >= len(tests) {
			t.Fatalf("extra row %s", name)
		}
		tt := tests[i]
		got := []string{name, colType, dataType, nullable, key}
		want := []string{tt.col, tt.columnType, tt.dataType, tt.nullable, tt.key}
		if !reflect.DeepEqual(got, want) || pos != int64(i+1) {
			t.Errorf("row %d: got %q at %d, want %q", i, got, pos, want)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if i != len(tests) {
		t.Errorf("%d rows, want %d", i, len(tests))
	}
}

func TestInformationSchemaQueries(t *testing.T) {
	s := start(t, Config{})
	db := openSQL(t, s)
	if _, err := db.Exec("CREATE TABLE u (id INT NOT NULL, v STRING) ENGINE=OLAP UNIQUE KEY(id) DISTRIBUTED BY HASH(id)"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, query string
		args        []any
		want        string // rows joined by ";", values by ","
		wantErr     string
	}{
		{name: "columns of one table", query: "SELECT COLUMN_NAME, COLUMN_KEY FROM information_schema.columns WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
			args: []any{"db", "d"}, want: "k,DUP;v,"},
		{name: "one column", query: "SELECT `column_type` FROM information_schema.COLUMNS WHERE table_name = 'p' AND column_name = 'note'",
			want: "varchar(4)"},
		{name: "order by name descending", query: "SELECT COLUMN_NAME FROM information_schema.columns WHERE TABLE_NAME = 'p' ORDER BY COLUMN_NAME DESC",
			want: "v;note;n;k"},
		{name: "unknown column", query: "SELECT NOPE FROM information_schema.columns WHERE TABLE_NAME = 'p'",
			wantErr: "Unknown column 'NOPE'"},
		{name: "an expression goes to the engine", query: "SELECT COUNT(*) FROM information_schema.columns WHERE TABLE_NAME = 'p'",
			want: "4"},
		{name: "primary key table", query: "SELECT TABLE_MODEL, PRIMARY_KEY, DISTRIBUTE_BUCKET FROM information_schema.tables_config WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
			args: []any{"db", "p"}, want: "PRIMARY_KEYS,`k`,1"},
		{name: "unique key table", query: "SELECT TABLE_MODEL, PRIMARY_KEY FROM information_schema.tables_config WHERE TABLE_NAME = 'u'",
			want: "UNIQUE_KEYS,`id`"},
		{name: "duplicate key table has no primary key", query: "SELECT TABLE_MODEL, PRIMARY_KEY, SORT_KEY FROM information_schema.tables_config WHERE TABLE_NAME = 'd'",
			want: "DUP_KEYS,,`k`"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := db.Query(tt.query, tt.args...)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			cols, _ := rows.Columns()
			var out []string
			for rows.Next() {
				vals := make([]sql.NullString, len(cols))
				ptrs := make([]any, len(cols))
				for i := range vals {
					ptrs[i] = &vals[i]
				}
				if err := rows.Scan(ptrs...); err != nil {
					t.Fatal(err)
				}
				var row []string
				for _, v := range vals {
					row = append(row, v.String)
				}
				out = append(out, strings.Join(row, ","))
			}
			if got := strings.Join(out, ";"); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestUnquote: values as go-sql-driver's interpolation and hand-written SQL
// quote them.
func TestUnquote(t *testing.T) {
	for in, want := range map[string]string{
		`plain`: "plain", `it\'s`: "it's", `it''s`: "it's", `a\\b`: `a\b`, `line\nbreak`: "line\nbreak",
	} {
		if got := unquote(in); got != want {
			t.Errorf("unquote(%q) = %q, want %q", in, got, want)
		}
	}
	w, ok := parseTail(` WHERE TABLE_NAME = 'it\'s' AND TABLE_SCHEMA = 'a''b'`)
	if !ok || w.eq["table_name"] != "it's" || w.eq["table_schema"] != "a'b" {
		t.Errorf("parseTail: %+v %v", w.eq, ok)
	}
}

// FuzzInfoSchemaParse feeds the information_schema query and type parsers
// anything: they answer or decline, never panic.
func FuzzInfoSchemaParse(f *testing.F) {
	for _, s := range []string{
		" WHERE TABLE_SCHEMA = 'db' AND TABLE_NAME = 'it\\'s' ORDER BY ORDINAL_POSITION",
		" where a='' and", "ORDER BY x DESC, y", "array<decimal(10,2)>", "struct<a int, b map<int,array<int>>>",
		"map<", "decimal(", "varchar(x)", ">", "<>",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		parseTail(s)
		_ = columnType(s)
		_ = dataType(s)
		textLength(s)
	})
}

// TestColumnTypeSpellingBE: with settings.info_schema "be" the columns
// are spelt as the BE scanner spells them (schema_columns_scanner.cpp
// type_to_string, to_mysql_data_type_string): decimal(p,s) without a
// space, the nested and binary types unknown, IS_NULLABLE always NO.
func TestColumnTypeSpellingBE(t *testing.T) {
	st := DefaultSettings()
	st.InfoSchema = "be"
	s := start(t, Config{Settings: &st})
	db := openSQL(t, s)
	if _, err := db.Exec(`CREATE TABLE types (c_bool BOOLEAN NOT NULL, c_large LARGEINT, c_dec DECIMAL(13, 2), c_vc VARCHAR(64),
		c_bin VARBINARY(16), c_arr ARRAY<INT>, c_map MAP<VARCHAR(8),BIGINT>, c_struct STRUCT<a INT>, c_json JSON)
		ENGINE=OLAP DUPLICATE KEY(c_bool) DISTRIBUTED BY HASH(c_bool)`); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"c_bool tinyint(1) tinyint NO DUP",
		"c_large bigint(20) unsigned bigint unsigned NO ",
		"c_dec decimal(13,2) decimal NO ",
		"c_vc varchar(64) varchar NO ",
		"c_bin unknown unknown NO ",
		"c_arr unknown unknown NO ",
		"c_map unknown unknown NO ",
		"c_struct unknown unknown NO ",
		"c_json json json NO ",
	}
	rows, err := db.Query("SELECT COLUMN_NAME, COLUMN_TYPE, DATA_TYPE, IS_NULLABLE, COLUMN_KEY FROM information_schema.columns WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?", "db", "types")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var a, b, c, d, e string
		if err := rows.Scan(&a, &b, &c, &d, &e); err != nil {
			t.Fatal(err)
		}
		got = append(got, strings.Join([]string{a, b, c, d, e}, " "))
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
