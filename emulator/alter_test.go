package emulator

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"
)

func mysqlDB(t *testing.T, s *Server) *sql.DB {
	t.Helper()
	db, err := sql.Open("mysql", "root:pw@tcp("+s.MySQLAddr()+")/db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestSchemaChangeJobs: ALTER TABLE runs as a job SHOW ALTER TABLE COLUMN
// reports with SchemaChangeProcDir's columns; while it runs the table
// keeps its old schema (a load naming the new column has it ignored) and a
// second ALTER is refused; with no duration it is FINISHED at once.
func TestSchemaChangeJobs(t *testing.T) {
	st := DefaultSettings()
	st.SchemaChangeDuration = Duration(time.Hour)
	s := start(t, Config{Settings: &st})
	db := mysqlDB(t, s)
	if _, err := db.Exec("ALTER TABLE p ADD COLUMN extra VARCHAR(5) NULL"); err != nil {
		t.Fatal(err)
	}
	rows, err := db.Query("SHOW ALTER TABLE COLUMN FROM db WHERE TableName = 'p'")
	if err != nil {
		t.Fatal(err)
	}
	cols, _ := rows.Columns()
	if got := strings.Join(cols, ","); got != "JobId,TableName,CreateTime,FinishTime,IndexName,IndexId,OriginIndexId,SchemaVersion,TransactionId,State,Msg,Progress,Timeout" {
		t.Errorf("columns %s", got)
	}
	var n int
	for rows.Next() {
		v := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(v))
		for i := range v {
			ptrs[i] = &v[i]
		}
		rows.Scan(ptrs...)
		if v[1].String != "p" || v[9].String != "PENDING" || v[3].String != "NULL" || v[12].String != "86400" {
			t.Errorf("job row %v", v)
		}
		n++
	}
	rows.Close()
	if n != 1 {
		t.Fatalf("%d jobs, want 1", n)
	}
	if sch, _ := s.Schema("db", "p"); sch.Index("extra") >= 0 {
		t.Error("column visible before the job finished")
	}
	_, err = db.Exec("ALTER TABLE p ADD COLUMN other INT")
	if err == nil || !strings.Contains(err.Error(), "Table[p]'s state(SCHEMA_CHANGE) is not NORMAL. Do not allow doing ALTER ops") {
		t.Errorf("second ALTER: %v", err)
	}
	_, r := load(t, s, "p", `[{"k":"a","n":1,"extra":"x"}]`, with(jsonHdr, "label", "during", "columns", "k,n,extra"))
	if r.Status != "Success" || rows2(t, s)["a"] != `[null,1,null]` {
		t.Errorf("load during the job: %+v %v", r, rows2(t, s))
	}

	st.SchemaChangeDuration = 0
	s.SetSettings(st)
	if _, err := db.Exec("ALTER TABLE d ADD COLUMN extra VARCHAR(5) NOT NULL DEFAULT 'z'"); err != nil {
		t.Fatal(err)
	}
	jobs, _ := s.AlterJobs("db", "d")
	if len(jobs) != 1 || jobs[0].State != "FINISHED" || jobs[0].FinishTime == "NULL" {
		t.Errorf("jobs %+v", jobs)
	}
	if sch, _ := s.Schema("db", "d"); sch.Index("extra") != 2 {
		t.Error("column not added")
	}
}

func rows2(t *testing.T, s *Server) map[string]string { return rows(t, s, "p") }

// TestAlterJobStates: a job is PENDING for the first tenth of its
// duration, WAITING_TXN for the next, then RUNNING until applied.
func TestAlterJobStates(t *testing.T) {
	t0 := time.Unix(1000, 0)
	j := &alterJob{created: t0, duration: 100 * time.Second}
	for _, tt := range []struct {
		after time.Duration
		want  string
	}{{0, "PENDING"}, {9 * time.Second, "PENDING"}, {10 * time.Second, "WAITING_TXN"}, {20 * time.Second, "RUNNING"}, {200 * time.Second, "RUNNING"}} {
		if got := j.stateAt(t0.Add(tt.after)); got != tt.want {
			t.Errorf("after %s: %s, want %s", tt.after, got, tt.want)
		}
	}
	j.state = "FINISHED"
	if got := j.stateAt(t0); got != "FINISHED" {
		t.Errorf("applied job: %s", got)
	}
}

// TestAlterRules: what MODIFY, ADD and DROP COLUMN accept and refuse, with
// StarRocks' texts (Column.checkSchemaChangeAllowed, SchemaChangeHandler).
func TestAlterRules(t *testing.T) {
	s := start(t, Config{NoMySQL: true})
	exec(t, s, `CREATE TABLE a (k INT NOT NULL, s VARCHAR(10), c CHAR(4), d DECIMAL(10,2), i INT, nn INT NOT NULL DEFAULT "0") PRIMARY KEY(k) DISTRIBUTED BY HASH(k)`)
	tests := []struct {
		sql, err string // err "" accepts
	}{
		{"ALTER TABLE a MODIFY COLUMN s VARCHAR(20)", ""},
		{"ALTER TABLE a MODIFY COLUMN s VARCHAR(5)", "Cannot shorten string length"},
		{"ALTER TABLE a MODIFY COLUMN c VARCHAR(8)", ""},
		{"ALTER TABLE a MODIFY COLUMN d DECIMAL(12,2)", ""},
		{"ALTER TABLE a MODIFY COLUMN d DECIMAL(12,3)", "Can not change DECIMAL(12,2) TO DECIMAL(12,3)"},
		{"ALTER TABLE a MODIFY COLUMN d DECIMAL(8,2)", "Can not change DECIMAL(12,2) TO DECIMAL(8,2)"},
		{"ALTER TABLE a MODIFY COLUMN i BIGINT", ""},
		{"ALTER TABLE a MODIFY COLUMN i SMALLINT", "Can not change BIGINT TO SMALLINT"},
		{"ALTER TABLE a MODIFY COLUMN i BIGINT NOT NULL", "Can not change from nullable to non-nullable"},
		{"ALTER TABLE a MODIFY COLUMN nn INT NOT NULL DEFAULT \"1\"", "Can not change default value"},
		{"ALTER TABLE a MODIFY COLUMN zz INT", "Column[zz] does not exists"},
		{"ALTER TABLE a ADD COLUMN s INT", "Can not add column which already exists in base table: s"},
		{"ALTER TABLE a DROP COLUMN k", "Can not drop key column in primary data model table"},
		{"ALTER TABLE a DROP COLUMN zz", "Column does not exists: zz"},
		{"ALTER TABLE a ADD COLUMN (x INT, y VARCHAR(3) DEFAULT 'q')", ""},
		{"ALTER TABLE a DROP COLUMN x", ""},
	}
	for _, tt := range tests {
		err := s.Exec(context.Background(), tt.sql)
		if got := fmt.Sprint(err); tt.err == "" && err != nil || tt.err != "" && !strings.EqualFold(got, tt.err) {
			t.Errorf("%s: %v, want %q", tt.sql, err, tt.err)
		}
	}
	sch, _ := s.Schema("db", "a")
	var names []string
	for _, c := range sch.Columns {
		names = append(names, c.Name+" "+c.Type)
	}
	if got := strings.Join(names, ", "); got != "k int, s varchar(20), c varchar(8), d decimal(12,2), i bigint, nn int, y varchar(3)" {
		t.Errorf("schema %s", got)
	}
}

// TestLoadPlannedBeforeSchemaChange: rows of a load planned against the
// old schema land in the new one (dropped column gone, added column at its
// default).
func TestLoadPlannedBeforeSchemaChange(t *testing.T) {
	s := start(t, Config{NoMySQL: true})
	tb := s.lookup("db", "p")
	v := tb.view()
	opts, _ := parseOptions(map[string][]string{"Format": {"json"}, "Strip_outer_array": {"true"}})
	plan, err := planLoad(&v, opts)
	if err != nil {
		t.Fatal(err)
	}
	ops, _, _, err := parseRows(&v, plan, []byte(`[{"k":"a","v":"1","n":2,"note":"x"}]`), opts, 0)
	if err != nil {
		t.Fatal(err)
	}
	exec(t, s, "ALTER TABLE db.p DROP COLUMN v, ADD COLUMN z INT DEFAULT '7'")
	if err := s.apply(tb, ops, opts, plan, DefaultSettings()); err != nil {
		t.Fatal(err)
	}
	if got := rows(t, s, "p")["a"]; got != `[2,"x",7]` {
		t.Errorf("row %s, want [2,\"x\",7]", got)
	}
}

// TestCreateTableForms: CREATE TABLE as a generator writes it, and
// CREATE VIEW readable over the MySQL port.
func TestCreateTableForms(t *testing.T) {
	s := start(t, Config{})
	db := mysqlDB(t, s)
	for _, q := range []string{
		"CREATE TABLE IF NOT EXISTS `db`.`g1` (`id` BIGINT NOT NULL COMMENT 'id', `name` VARCHAR(65533) NULL) ENGINE=OLAP PRIMARY KEY(`id`) DISTRIBUTED BY HASH(`id`) PROPERTIES (\"replication_num\" = \"1\", \"storage_volume\" = \"builtin_storage_volume\")",
		"CREATE TABLE g2 (id INT NOT NULL, v INT) PRIMARY KEY(id) DISTRIBUTED BY HASH(id) BUCKETS 8",
		"CREATE TABLE g3 (id INT NOT NULL, total BIGINT SUM DEFAULT \"0\", last VARCHAR(10) REPLACE_IF_NOT_NULL) AGGREGATE KEY(id) DISTRIBUTED BY HASH(id)",
		"CREATE TABLE g4 (dt DATE NOT NULL, id INT NOT NULL, v INT) PRIMARY KEY(dt, id) PARTITION BY RANGE(dt) (PARTITION p1 VALUES LESS THAN (\"2024-01-01\"), PARTITION p2 VALUES LESS THAN (MAXVALUE)) DISTRIBUTED BY HASH(id) ORDER BY(v) PROPERTIES (\"replication_num\" = \"1\")",
		"CREATE TABLE g5 (dt DATETIME NOT NULL, id INT NOT NULL) DUPLICATE KEY(dt) PARTITION BY date_trunc('day', dt) DISTRIBUTED BY RANDOM",
		"CREATE TABLE g6 (city VARCHAR(10) NOT NULL, id INT NOT NULL) DUPLICATE KEY(city) PARTITION BY city, id DISTRIBUTED BY HASH(id) BUCKETS 2",
		"CREATE VIEW v_g2 AS SELECT id, v FROM g2 WHERE v > 1",
		"CREATE VIEW IF NOT EXISTS v_g2 AS SELECT id FROM g2",
	} {
		if _, err := db.Exec(q); err != nil {
			t.Errorf("%s: %v", q, err)
		}
	}
	load(t, s, "g2", `[{"id":1,"v":1},{"id":2,"v":5}]`, with(jsonHdr, "label", "g2"))
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM v_g2").Scan(&n); err != nil || n != 1 {
		t.Errorf("view: %d %v", n, err)
	}
}

// TestShowAlterSharedData: a shared-data cluster adds the Warehouse column
// (SchemaChangeProcDir, RunMode.SHARED_DATA).
func TestShowAlterSharedData(t *testing.T) {
	st := DefaultSettings()
	st.SharedData = true
	s := start(t, Config{Settings: &st})
	db := mysqlDB(t, s)
	if _, err := db.Exec("ALTER TABLE p ADD COLUMN extra INT"); err != nil {
		t.Fatal(err)
	}
	rows, err := db.Query("SHOW ALTER TABLE COLUMN")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	if len(cols) != 14 || cols[13] != "Warehouse" {
		t.Errorf("columns %v", cols)
	}
}

// TestLatestRowView: a view as the versioned mode creates it (IF NOT
// EXISTS, a qualified name, a window function) is created and queried
// through the MySQL port.
func TestLatestRowView(t *testing.T) {
	s := start(t, Config{})
	db := mysqlDB(t, s)
	for _, q := range []string{
		"CREATE TABLE `db`.`iv` (`k` INT NOT NULL, `v` INT NULL, `_version` BIGINT NOT NULL, `_deleted` BOOLEAN NOT NULL) DUPLICATE KEY (`k`) DISTRIBUTED BY HASH (`k`)",
		"CREATE VIEW IF NOT EXISTS `db`.`i_latest` AS\nSELECT `k`, `v` FROM (\n  SELECT *, ROW_NUMBER() OVER (PARTITION BY `k` ORDER BY `_version` DESC) AS `__rn`\n  FROM `db`.`iv`) `latest`\nWHERE `__rn` = 1 AND NOT `_deleted`",
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	load(t, s, "iv", `[{"k":1,"v":1,"_version":1,"_deleted":false},{"k":1,"v":2,"_version":2,"_deleted":false},{"k":2,"v":3,"_version":1,"_deleted":true}]`, with(jsonHdr, "label", "v1"))
	var n, v int
	if err := db.QueryRow("SELECT COUNT(*), MAX(v) FROM i_latest").Scan(&n, &v); err != nil || n != 1 || v != 2 {
		t.Fatalf("%d %d %v", n, v, err)
	}
}
