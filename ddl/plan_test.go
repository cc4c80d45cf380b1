package ddl

import (
	"os"
	"strings"
	"testing"

	"github.com/starsink/starsink/internal/subway"
	"github.com/starsink/starsink/schema"
)

func readRecord(t *testing.T, key, value string) Record {
	t.Helper()
	var rec Record
	var err error
	if key != "" {
		if rec.Key, err = os.ReadFile(key); err != nil {
			t.Fatal(err)
		}
	}
	if rec.Value, err = os.ReadFile(value); err != nil {
		t.Fatal(err)
	}
	return rec
}

func source(t *testing.T, key, value string) *Source {
	t.Helper()
	src, err := ReadSource(readRecord(t, key, value), SourceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// find returns the differences of one column ("" = the table's).
func find(p *TablePlan, col string) []Difference {
	var out []Difference
	for _, d := range p.Differences {
		if strings.EqualFold(d.Column, col) {
			out = append(out, d)
		}
	}
	return out
}

func hasDifference(p *TablePlan, col string, c Class, text string) bool {
	for _, d := range find(p, col) {
		if d.Class == c && strings.Contains(d.Message, text) {
			return true
		}
	}
	return false
}

func classOf(t *testing.T, p *TablePlan, col string) Class {
	t.Helper()
	ds := find(p, col)
	if len(ds) == 0 {
		t.Fatalf("no difference for %q in %+v", col, p.Differences)
	}
	worst := ClassOK
	for _, d := range ds {
		if d.Class == ClassError || d.Class == ClassWarning && worst == ClassOK {
			worst = d.Class
		}
	}
	return worst
}

// TestPlanSubwayKoreanVarchar is the reference case: PostgreSQL
// varchar(100) of Korean station names, loaded into the seed's
// VARCHAR(100) columns, which hold 100 bytes: about 33 Korean characters.
func TestPlanSubwayKoreanVarchar(t *testing.T) {
	src := source(t, "testdata/subway_info.key.json", "testdata/subway_info.value.json")
	p := Plan(subway.Database, subway.InfoTable, src, subway.Info.Schema(), Options{})
	if !p.Exists || !p.HasErrors() {
		t.Fatalf("want an existing table with errors, got %+v", p)
	}
	for _, col := range []string{"line_no", "station_name"} {
		if c := classOf(t, p, col); c != ClassError {
			t.Errorf("%s: %s, want error", col, c)
		}
		if msg := find(p, col)[0].Message; !strings.Contains(msg, "needs up to 400") {
			t.Errorf("%s: %q does not say 400 bytes are needed", col, msg)
		}
	}
	for _, col := range []string{"station_code", "ext_code", "reg_date"} {
		if c := classOf(t, p, col); c != ClassError {
			t.Errorf("%s: %s, want error (varchar(%d) in bytes is a quarter of the characters)", col, c, 0)
		}
	}
	// Key columns are reported, never altered; the others are widened.
	var modified []string
	for _, ch := range p.DDL {
		modified = append(modified, ch.Column)
		if ch.Kind != KindModifyColumn {
			t.Errorf("unexpected %s: %s", ch.Kind, ch.SQL)
		}
	}
	if got := strings.Join(modified, ","); got != "station_code,ext_code,reg_date" {
		t.Errorf("modified %s, want the three value columns", got)
	}
	if want := "ALTER TABLE `subway`.`subway_info_copy` MODIFY COLUMN `station_code` VARCHAR(80) NULL"; p.DDL[0].SQL != want {
		t.Errorf("got %s\nwant %s", p.DDL[0].SQL, want)
	}
}

// TestPlanMissingTable gives the CREATE TABLE of the reference table:
// key columns first and NOT NULL, lengths in bytes, automatic buckets,
// the configured properties.
func TestPlanMissingTable(t *testing.T) {
	src := source(t, "testdata/subway_info.key.json", "testdata/subway_info.value.json")
	p := Plan("subway", "subway_info_copy", src, nil, Options{Properties: map[string]string{"replication_num": "1", "storage_volume": "s3"}})
	if p.Exists || len(p.DDL) != 1 {
		t.Fatalf("want one statement for a missing table, got %+v", p.DDL)
	}
	want := "CREATE TABLE IF NOT EXISTS `subway`.`subway_info_copy` (\n" +
		"  `line_no` VARCHAR(400) NOT NULL,\n" +
		"  `station_name` VARCHAR(400) NOT NULL,\n" +
		"  `station_code` VARCHAR(80) NULL,\n" +
		"  `ext_code` VARCHAR(80) NULL,\n" +
		"  `reg_date` VARCHAR(32) NULL\n" +
		")\nPRIMARY KEY (`line_no`, `station_name`)\n" +
		"DISTRIBUTED BY HASH (`line_no`, `station_name`)\n" +
		"PROPERTIES (\"replication_num\" = \"1\", \"storage_volume\" = \"s3\")"
	if got := p.DDL[0].SQL; got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if !p.HasErrors() {
		t.Error("a missing table without create_tables is an error")
	}
	p = Plan("subway", "subway_info_copy", src, nil, Options{CreateTables: true})
	if p.HasErrors() {
		t.Errorf("with create_tables a missing table is a warning: %+v", p.Differences)
	}
}

// TestPlanDifferences classes each kind of difference.
func TestPlanDifferences(t *testing.T) {
	src := source(t, "../debezium/testdata/captured/all-types-insert-1.key.json", "../debezium/testdata/captured/all-types-insert-1.value.json")
	c := schema.NewColumn
	table := &schema.Table{Database: "d", Name: "all_types", Model: schema.ModelPrimaryKeys, Columns: []schema.Column{
		c("id", "int", false, true),
		c("c_int2", "tinyint", true, false),              // too narrow: error, widened
		c("c_int8", "largeint", true, false),             // wider: ok
		c("c_float4", "double", true, false),             // ok
		c("c_float8", "float", true, false),              // error, widened
		c("c_numeric", "decimal(9,2)", true, false),      // fewer integer digits: error
		c("c_numeric_any", "decimal(38,9)", true, false), // precision unknown: warning
		c("c_bool", "boolean", false, false),             // source nullable, target NOT NULL: error
		c("c_text", "varchar(65533)", true, false),       // length unknown: warning
		c("c_date", "datetime", true, false),             // ok
		c("c_timestamp", "date", true, false),            // drops the time: error
		c("c_json", "json", true, false),                 // ok
		c("c_uuid", "varchar(36)", true, false),          // ok
		c("extra", "int", true, false),                   // no source column: warning
	}}
	p := Plan("d", "all_types", src, table, Options{})
	want := map[string]Class{
		"id": ClassOK, "c_int2": ClassError, "c_int8": ClassOK, "c_float4": ClassOK, "c_float8": ClassError,
		"c_numeric": ClassError, "c_numeric_any": ClassWarning, "c_bool": ClassError, "c_text": ClassWarning,
		"c_date": ClassOK, "c_timestamp": ClassError, "c_json": ClassOK, "c_uuid": ClassOK, "extra": ClassWarning,
		"c_varchar": ClassWarning, "c_jsonb": ClassWarning, // missing from the table
	}
	for col, w := range want {
		if got := classOf(t, p, col); got != w {
			t.Errorf("%s: %s (%v), want %s", col, got, find(p, col), w)
		}
	}
	kinds := map[string]string{}
	for _, ch := range p.DDL {
		kinds[ch.Column] = ch.Kind + " " + ch.SQL[strings.LastIndex(ch.SQL, "`")+2:]
	}
	for col, w := range map[string]string{
		"c_int2":     "modify_column SMALLINT NULL",
		"c_float8":   "modify_column DOUBLE NULL",
		"c_numeric":  "modify_column DECIMAL(10, 2) NULL",
		"c_varchar":  "add_column VARCHAR(1048576) NULL",
		"c_interval": "add_column BIGINT NULL",
	} {
		if kinds[col] != w {
			t.Errorf("%s: DDL %q, want %q", col, kinds[col], w)
		}
	}
	if _, ok := kinds["c_bool"]; ok {
		t.Error("a NOT NULL column is reported, not altered")
	}
}

// TestPlanKeyAndModel: a key that differs and a model that cannot take the
// mode are errors.
func TestPlanKeyAndModel(t *testing.T) {
	src := source(t, "testdata/subway_info.key.json", "testdata/subway_info.value.json")
	c := schema.NewColumn
	table := &schema.Table{Database: "subway", Name: "t", Model: schema.ModelPrimaryKeys, Columns: []schema.Column{
		c("line_no", "varchar(400)", false, true), c("station_name", "varchar(400)", false, false),
		c("station_code", "varchar(80)", true, false), c("ext_code", "varchar(80)", true, false), c("reg_date", "varchar(32)", true, false)}}
	p := Plan("subway", "t", src, table, Options{})
	if !hasDifference(p, "", ClassError, "key differs") {
		t.Errorf("want a key error, got %+v", find(p, ""))
	}
	if !hasDifference(p, "", ClassWarning, "primary_key_limit_size") {
		t.Errorf("keys of up to 800 bytes: want a warning, got %+v", find(p, ""))
	}
	table.Columns[1].Key = true
	if p = Plan("subway", "t", src, table, Options{}); p.HasErrors() || len(p.DDL) != 0 {
		t.Errorf("a table that holds the source: got %+v %+v", p.Differences, p.DDL)
	}
	p = Plan("subway", "t", src, table, Options{Versioned: true, VersionColumn: "_version", DeletedColumn: "_deleted"})
	if classOf(t, p, "") != ClassError || classOf(t, p, "_version") != ClassError || classOf(t, p, "_deleted") != ClassError {
		t.Errorf("versioned on a Primary Key table without its columns: %+v", p.Differences)
	}
}

// TestPlanVersioned creates a Duplicate Key table with the version and
// deleted columns and the latest-row view; a guard column is a BIGINT.
func TestPlanVersioned(t *testing.T) {
	src := source(t, "testdata/subway_info.key.json", "testdata/subway_info.value.json")
	p := Plan("subway", "info_versions", src, nil, Options{Versioned: true, VersionColumn: "_version", DeletedColumn: "_deleted", CreateTables: true})
	if len(p.DDL) != 2 {
		t.Fatalf("want table and view, got %+v", p.DDL)
	}
	for _, s := range []string{"DUPLICATE KEY (`line_no`, `station_name`)", "`_version` BIGINT NOT NULL", "`_deleted` BOOLEAN NOT NULL"} {
		if !strings.Contains(p.DDL[0].SQL, s) {
			t.Errorf("CREATE TABLE lacks %s:\n%s", s, p.DDL[0].SQL)
		}
	}
	wantView := "CREATE VIEW IF NOT EXISTS `subway`.`info_latest` AS\n" +
		"SELECT `line_no`, `station_name`, `station_code`, `ext_code`, `reg_date` FROM (\n" +
		"  SELECT *, ROW_NUMBER() OVER (PARTITION BY `line_no`, `station_name` ORDER BY `_version` DESC) AS `__rn`\n" +
		"  FROM `subway`.`info_versions`) `latest`\n" +
		"WHERE `__rn` = 1 AND NOT `_deleted`"
	if p.DDL[1].SQL != wantView {
		t.Errorf("view:\n%s\nwant\n%s", p.DDL[1].SQL, wantView)
	}
	p = Plan("subway", "info", src, nil, Options{GuardColumn: "_ver"})
	if !strings.Contains(p.DDL[0].SQL, "`_ver` BIGINT NULL\n)\nPRIMARY KEY") {
		t.Errorf("guard column missing:\n%s", p.DDL[0].SQL)
	}
}

// TestPlanSchemaless says what it cannot know and compares names only.
func TestPlanSchemaless(t *testing.T) {
	rec := Record{Key: []byte(`{"line_no":"1호선","station_name":"서울역"}`),
		Value: []byte(`{"before":null,"after":{"line_no":"1호선","station_name":"서울역","new_col":1},"source":{},"op":"c"}`)}
	src, err := ReadSource(rec, SourceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p := Plan("subway", "subway_info_copy", src, subway.Info.Schema(), Options{})
	if len(p.Unknown) == 0 || len(p.DDL) != 0 {
		t.Errorf("want unknowns and no DDL, got %+v %+v", p.Unknown, p.DDL)
	}
	if classOf(t, p, "new_col") != ClassWarning || classOf(t, p, "line_no") != ClassOK || classOf(t, p, "reg_date") != ClassWarning {
		t.Errorf("names only: %+v", p.Differences)
	}
	if p := Plan("subway", "x", src, nil, Options{}); len(p.DDL) != 0 || len(p.Unknown) < 2 {
		t.Errorf("no DDL without schemas: %+v", p)
	}
	if _, err := ReadSource(Record{Key: rec.Key}, SourceOptions{}); err != ErrNoValue {
		t.Errorf("tombstone: %v, want ErrNoValue", err)
	}
}

// TestPlanUnwrapped reads an ExtractNewRecordState value: the value schema
// is the row, its __ fields are not columns.
func TestPlanUnwrapped(t *testing.T) {
	rec := Record{Value: []byte(`{"schema":{"type":"struct","fields":[{"type":"int32","optional":false,"field":"id"},{"type":"string","optional":true,"field":"name"},{"type":"string","optional":true,"field":"__deleted"}],"optional":false,"name":"x.Value"},"payload":{"id":1,"name":"a","__deleted":"false"}}`)}
	src, err := ReadSource(rec, SourceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if src.Envelope || len(src.Columns) != 2 || src.Columns[1].Name != "name" {
		t.Fatalf("got %+v", src)
	}
	p := Plan("d", "x", src, nil, Options{})
	if len(p.DDL) != 0 || !p.HasErrors() {
		t.Errorf("keyless record: no PRIMARY KEY DDL, an error: %+v", p)
	}
}

// TestReadSourceMetadata: an unwrapped row's ExtractNewRecordState fields
// are not columns, other "__" fields are, as in the decoder; decoder.envelope
// and the schema's name decide envelope or row.
func TestReadSourceMetadata(t *testing.T) {
	value := `{"schema":{"type":"struct","name":"p.s.t.Value","fields":[{"type":"int32","field":"id"},{"type":"string","optional":true,"field":"__note"},` +
		`{"type":"int64","optional":true,"field":"__lsn"},{"type":"int64","optional":true,"field":"__source_ts_ms"},{"type":"string","optional":true,"field":"__op"},` +
		`{"type":"int64","optional":true,"field":"_x_lsn"}]},"payload":{"id":1}}`
	names := func(src *Source) string {
		var out []string
		for _, c := range src.Columns {
			out = append(out, c.Name)
		}
		return strings.Join(out, ",")
	}
	for _, c := range []struct {
		opts SourceOptions
		want string
	}{
		{SourceOptions{}, "id,__note,_x_lsn"},
		{SourceOptions{FieldsPrefix: "_x_"}, "id,__note,__lsn,__source_ts_ms"},
	} {
		src, err := ReadSource(Record{Value: []byte(value)}, c.opts)
		if err != nil {
			t.Fatal(err)
		}
		if got := names(src); got != c.want || src.Envelope {
			t.Errorf("%+v: columns %s, want %s (envelope %v)", c.opts, got, c.want, src.Envelope)
		}
	}
	// A table whose columns are named after, op and source is a row when its
	// schema says so.
	row := `{"schema":{"type":"struct","name":"p.s.t.Value","fields":[{"type":"string","field":"after"},{"type":"string","field":"op"},{"type":"string","field":"source"}]},"payload":{}}`
	if src, err := ReadSource(Record{Value: []byte(row)}, SourceOptions{}); err != nil || src.Envelope || names(src) != "after,op,source" {
		t.Errorf("row named like an envelope: %+v, %v", src, err)
	}
	if _, err := ReadSource(Record{Value: []byte(row)}, SourceOptions{Envelope: "raw"}); err == nil {
		t.Error("decoder.envelope raw on a row whose after is no struct: want an error")
	}
}
