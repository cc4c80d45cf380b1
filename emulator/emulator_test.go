package emulator

import (
	"bytes"
	"compress/gzip"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	_ "github.com/go-sql-driver/mysql"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

const ddl = `CREATE TABLE p (k VARCHAR(10) NOT NULL, v DECIMAL(5,1), n INT, note VARCHAR(4)) ENGINE=OLAP PRIMARY KEY(k) DISTRIBUTED BY HASH(k) BUCKETS 1 PROPERTIES("replication_num"="1");
CREATE TABLE d (k VARCHAR(10) NOT NULL, v INT) ENGINE=OLAP DUPLICATE KEY(k) DISTRIBUTED BY HASH(k)`

func start(t *testing.T, cfg Config) *Server {
	t.Helper()
	cfg.Password = "pw"
	s, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	for _, q := range []string{"CREATE DATABASE db", "USE db", ddl} {
		if err := s.Exec(context.Background(), q); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// load sends a Stream Load to the FE, follows the 307 itself (as a client
// must), and returns the HTTP status and the decoded answer.
func load(t *testing.T, s *Server, table, body string, hdr map[string]string) (int, loadResponse) {
	t.Helper()
	code, r, err := tryLoad(t, s, table, strings.NewReader(body), hdr)
	if err != nil {
		t.Fatal(err)
	}
	return code, r
}

// tryLoad is load that returns the BE's transport error instead of failing.
func tryLoad(t *testing.T, s *Server, table string, body io.Reader, hdr map[string]string) (int, loadResponse, error) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPut, s.FEURL()+"/api/db/"+table+"/_stream_load", nil)
	req.SetBasicAuth("root", "pw")
	req.Header.Set("Expect", "100-continue")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	cl := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTemporaryRedirect {
		t.Fatalf("FE answered %d, want 307", resp.StatusCode)
	}
	loc := resp.Header.Get("Location")
	if u, _ := url.Parse(loc); u.Port() == strings.TrimPrefix(s.FEURL()[strings.LastIndexByte(s.FEURL(), ':'):], ":") {
		t.Fatalf("307 to the FE's own port: %s", loc)
	}
	req2, _ := http.NewRequest(http.MethodPut, loc, body)
	req2.Header = req.Header.Clone()
	resp2, err := cl.Do(req2)
	if err != nil {
		return 0, loadResponse{}, err
	}
	defer resp2.Body.Close()
	var r loadResponse
	b, _ := io.ReadAll(resp2.Body)
	json.Unmarshal(b, &r)
	return resp2.StatusCode, r, nil
}

func rows(t *testing.T, s *Server, table string) map[string]string {
	t.Helper()
	rs, err := s.Rows("db", table)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, r := range rs {
		b, _ := json.Marshal(r[1:])
		out[r[0].(string)] = string(b)
	}
	return out
}

var jsonHdr = map[string]string{"format": "json", "strip_outer_array": "true"}

func with(h map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range h {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

func TestAuthAndExpect(t *testing.T) {
	s := start(t, Config{})
	for _, c := range []struct {
		name   string
		user   string
		expect string
		want   int
		body   string
	}{
		{"no credentials", "", "100-continue", 401, `"status": "FAILED"`},
		{"wrong password", "root:bad", "100-continue", 401, `"msg": "Access denied for user 'root'@'127.0.0.1'"`},
		{"no 100-continue", "root:pw", "", 200, "There is no 100-continue header"},
	} {
		req, _ := http.NewRequest(http.MethodPut, s.FEURL()+"/api/db/p/_stream_load", strings.NewReader("[]"))
		if c.user != "" {
			u, p, _ := strings.Cut(c.user, ":")
			req.SetBasicAuth(u, p)
		}
		if c.expect != "" {
			req.Header.Set("Expect", c.expect)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.want || !bytes.Contains(b, []byte(c.body)) {
			t.Errorf("%s: %d %s", c.name, resp.StatusCode, b)
		}
	}
}

func TestPrimaryKeyOrderAndLabels(t *testing.T) {
	s := start(t, Config{})
	body := `[{"k":"a","v":"1.5","n":1,"__op":0},{"k":"b","v":2,"n":2,"__op":0},{"k":"a","__op":1},{"k":"a","v":"3","n":3,"__op":0},{"k":"b","__op":1}]`
	code, r := load(t, s, "p", body, with(jsonHdr, "label", "l1", "columns", "k,v,n,__op"))
	if code != 200 || r.Status != "Success" || r.NumberTotalRows != 5 || r.NumberLoadedRows != 5 || r.Label != "l1" {
		t.Fatalf("answer %d %+v", code, r)
	}
	if got := rows(t, s, "p"); len(got) != 1 || got["a"] != `["3.0",3,null]` {
		t.Errorf("rows %v, want only a = 3.0 (order applied)", got)
	}
	_, r = load(t, s, "p", body, with(jsonHdr, "label", "l1", "columns", "k,v,n,__op"))
	if r.Status != "Label Already Exists" || r.ExistingJobStatus != "FINISHED" {
		t.Errorf("label reuse: %+v", r)
	}
}

func TestFilteringAndErrorURL(t *testing.T) {
	s := start(t, Config{})
	body := `[{"k":"a","v":"1"},{"k":"b","v":"123456"},{"k":null,"v":"1"},{"k":"c","note":"toolong"}]`
	_, r := load(t, s, "p", body, with(jsonHdr, "label", "f1", "strict_mode", "true"))
	if r.Status != "Fail" || r.Message != "too many filtered rows" || r.NumberFilteredRows != 3 || r.ErrorURL == "" {
		t.Fatalf("want a failed job with 3 filtered rows: %+v", r)
	}
	resp, err := http.Get(r.ErrorURL)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		"Error: Value ''123456'' is out of range. The type of 'v' is DECIMAL32(5, 1). Row: ['b', '123456', NULL, NULL, 0]\n",
		"Error: NULL value in non-nullable column 'k'. Row: [NULL, 1.0, NULL, NULL]\n",
		"Error: Invalid argument: Value length is beyond the capacity. column=note, capacity=4. Row: {\"k\":\"c\",\"note\":\"toolong\"}\n",
	} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("error log lacks %q:\n%s", want, b)
		}
	}
	_, r = load(t, s, "p", body, with(jsonHdr, "label", "f2", "max_filter_ratio", "0.8", "strict_mode", "true"))
	if r.Status != "Success" || r.NumberLoadedRows != 1 {
		t.Errorf("max_filter_ratio 0.8: %+v", r)
	}
}

func TestPartialUpdateMergeConditionAndModels(t *testing.T) {
	s := start(t, Config{})
	load(t, s, "p", `[{"k":"a","v":"5","n":10,"note":"x"}]`, with(jsonHdr, "label", "m1"))
	load(t, s, "p", `[{"k":"a","n":11}]`, with(jsonHdr, "label", "m2", "partial_update", "true", "columns", "k,n"))
	if got := rows(t, s, "p")["a"]; got != `["5.0",11,"x"]` {
		t.Errorf("partial update: %s", got)
	}
	load(t, s, "p", `[{"k":"a","v":"1","n":1,"note":"y"}]`, with(jsonHdr, "label", "m3", "merge_condition", "n"))
	if got := rows(t, s, "p")["a"]; got != `["5.0",11,"x"]` {
		t.Errorf("merge_condition let an older row win: %s", got)
	}
	load(t, s, "d", `[{"k":"a","v":1},{"k":"a","v":1}]`, with(jsonHdr, "label", "d1"))
	if n, _ := s.Count("db", "d"); n != 2 {
		t.Errorf("duplicate key table has %d rows, want 2 (append)", n)
	}
	// __op is a slot of Primary Key tables only (Load.initColumns): on
	// others the name is ignored and the row inserted.
	_, r := load(t, s, "d", `[{"k":"a","__op":1}]`, with(jsonHdr, "label", "d2", "columns", "k,__op"))
	if n, _ := s.Count("db", "d"); r.Status != "Success" || n != 3 {
		t.Errorf("__op=1 on a duplicate key table: %+v, %d rows", r, n)
	}
	_, r = load(t, s, "d", `[{"k":"a"}]`, with(jsonHdr, "label", "d3", "partial_update", "true", "columns", "k"))
	if r.Status != "Fail" || r.Message != "Only primary key table support partial update" {
		t.Errorf("partial update of a duplicate key table: %+v", r)
	}
}

func TestCSVAndJSONPaths(t *testing.T) {
	s := start(t, Config{})
	_, r := load(t, s, "p", "a\x011.5\x01\\N\nb\x012\x017\n", map[string]string{"label": "c1", "column_separator": `\x01`, "columns": "k,v,n"})
	if r.Status != "Success" || r.NumberLoadedRows != 2 {
		t.Fatalf("csv: %+v", r)
	}
	_, r = load(t, s, "p", `[{"x":{"id":"c"},"val":9}]`, with(jsonHdr, "label", "j1", "jsonpaths", `["$.x.id","$.val"]`, "columns", "k,n"))
	if got := rows(t, s, "p"); r.Status != "Success" || got["a"] != `["1.5",null,null]` || got["c"] != `[null,9,null]` {
		t.Errorf("rows %v (%+v)", got, r)
	}
}

func TestTransactionsAndLoadState(t *testing.T) {
	s := start(t, Config{})
	call := func(action, label, body string) map[string]any {
		method := http.MethodPost
		if action == "load" {
			method = http.MethodPut
		}
		req, _ := http.NewRequest(method, s.FEURL()+"/api/transaction/"+action, strings.NewReader(body))
		req.SetBasicAuth("root", "pw")
		req.Header.Set("label", label)
		req.Header.Set("db", "db")
		req.Header.Set("table", "p")
		req.Header.Set("format", "json")
		req.Header.Set("strip_outer_array", "true")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		json.NewDecoder(resp.Body).Decode(&m)
		return m
	}
	state := func(label string) string {
		req, _ := http.NewRequest(http.MethodGet, s.FEURL()+"/api/db/get_load_state?label="+label, nil)
		req.SetBasicAuth("root", "pw")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		json.NewDecoder(resp.Body).Decode(&m)
		return m["state"].(string)
	}
	call("begin", "t1", "")
	call("load", "t1", `[{"k":"z","n":1}]`)
	if st := state("t1"); st != "PREPARE" {
		t.Errorf("after load: %s", st)
	}
	if n, _ := s.Count("db", "p"); n != 0 {
		t.Error("rows visible before commit")
	}
	call("prepare", "t1", "")
	if st := state("t1"); st != "PREPARED" {
		t.Errorf("after prepare: %s", st)
	}
	call("commit", "t1", "")
	if st, n := state("t1"), rows(t, s, "p"); st != "VISIBLE" || len(n) != 1 {
		t.Errorf("after commit: %s %v", st, n)
	}
	if m := call("commit", "t1", ""); m["Message"] != "Transaction 1 has already committed, label is t1" {
		t.Errorf("second commit: %v", m)
	}
	call("begin", "t2", "")
	call("rollback", "t2", "")
	if st := state("t2"); st != "ABORTED" {
		t.Errorf("after rollback: %s", st)
	}
	if st := state("nope"); st != "UNKNOWN" {
		t.Errorf("unknown label: %s", st)
	}
}

func TestMySQLProtocol(t *testing.T) {
	s := start(t, Config{})
	load(t, s, "p", `[{"k":"a","v":"1.1","n":1},{"k":"b","v":"2.2","n":1},{"k":"c","v":"0.1","n":2}]`, with(jsonHdr, "label", "q1"))
	db, err := sql.Open("mysql", "root:pw@tcp("+s.MySQLAddr()+")/db?interpolateParams=true")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("CREATE TABLE x (id BIGINT NOT NULL, j JSON) ENGINE=OLAP DUPLICATE KEY(id) DISTRIBUTED BY HASH(id) BUCKETS 2"); err != nil {
		t.Fatalf("DDL over MySQL: %v", err)
	}
	var model, keys string
	if err := db.QueryRow("SELECT TABLE_MODEL, PRIMARY_KEY FROM information_schema.tables_config WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?", "db", "p").Scan(&model, &keys); err != nil || model != "PRIMARY_KEYS" || keys != "`k`" {
		t.Errorf("tables_config: %q %q %v", model, keys, err)
	}
	var colType, nullable string
	if err := db.QueryRow("SELECT COLUMN_TYPE, IS_NULLABLE FROM information_schema.columns WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND COLUMN_NAME = 'v'", "db", "p").Scan(&colType, &nullable); err != nil || colType != "decimal(5, 1)" || nullable != "YES" {
		t.Errorf("columns: %q %q %v", colType, nullable, err)
	}
	var sum string
	if err := db.QueryRow("SELECT SUM(v) FROM p WHERE n = 1 GROUP BY n").Scan(&sum); err != nil || sum != "3.3" {
		t.Errorf("exact decimal sum: %q %v", sum, err)
	}
	var cnt int
	if err := db.QueryRow("SELECT COUNT(*) FROM p a JOIN p b ON a.n = b.n").Scan(&cnt); err != nil || cnt != 5 {
		t.Errorf("join: %d %v", cnt, err)
	}
}

func TestCountOnly(t *testing.T) {
	s := start(t, Config{CountOnly: true})
	_, r := load(t, s, "p", `[{"k":"a"},{"k":"b"},{"k":"c"}]`, with(jsonHdr, "label", "co"))
	if r.NumberLoadedRows != 3 || s.Stats().RowsLoaded != 3 {
		t.Errorf("count-only: %+v %+v", r, s.Stats())
	}
	if n, _ := s.Count("db", "p"); n != 0 {
		t.Error("count-only stored rows")
	}
}

func TestDDLForms(t *testing.T) {
	s := start(t, Config{NoMySQL: true})
	for _, q := range []string{
		"ALTER TABLE db.p ADD COLUMN extra VARCHAR(5) NULL",
		"CREATE TABLE IF NOT EXISTS db.p (k INT) ENGINE=OLAP DUPLICATE KEY(k) DISTRIBUTED BY RANDOM",
		"CREATE TABLE db.agg (k INT NOT NULL, c BIGINT) ENGINE=OLAP AGGREGATE KEY(k) COMMENT 'x' DISTRIBUTED BY HASH(k) BUCKETS 3",
		"TRUNCATE TABLE db.d",
		"DROP TABLE IF EXISTS db.nope",
	} {
		if err := s.Exec(context.Background(), q); err != nil {
			t.Errorf("%s: %v", q, err)
		}
	}
	for _, q := range []string{
		"CREATE TABLE db.bad (a INT, b INT) ENGINE=OLAP PRIMARY KEY(b) DISTRIBUTED BY HASH(b)", // key not first
		"CREATE TABLE db.bad2 (a GEOMETRY) ENGINE=OLAP DUPLICATE KEY(a)",
		"CREATE TABLE db.p (a INT) ENGINE=OLAP DUPLICATE KEY(a)",
	} {
		if err := s.Exec(context.Background(), q); err == nil {
			t.Errorf("%s: accepted", q)
		}
	}
	if sch, _ := s.Schema("db", "p"); sch.Index("extra") != 4 {
		t.Error("ADD COLUMN did not add")
	}
}

// TestStrictMode: without strict_mode a value that does not convert loads
// NULL into a nullable column; with strict_mode=true the row is filtered.
// Length and decimal overflows are filtered either way.
// TestCompression loads the same rows as gzip, lz4 frame and zstd bodies
// (the compression header, or Content-Encoding), and refuses an unknown
// codec.
func TestCompression(t *testing.T) {
	s := start(t, Config{})
	rowsJSON := []byte(`[{"k":"z1","n":1},{"k":"z2","n":2}]`)
	var gz, l4, zs bytes.Buffer
	gw := gzip.NewWriter(&gz)
	gw.Write(rowsJSON)
	gw.Close()
	lw := lz4.NewWriter(&l4)
	lw.Write(rowsJSON)
	lw.Close()
	zw, _ := zstd.NewWriter(&zs)
	zw.Write(rowsJSON)
	zw.Close()
	tests := []struct {
		name, header, codec string
		body                []byte
		status              string
	}{
		{"gzip", "compression", "gzip", gz.Bytes(), "Success"},
		{"lz4 frame", "compression", "lz4_frame", l4.Bytes(), "Success"},
		{"zstd", "compression", "zstd", zs.Bytes(), "Success"},
		{"gzip as Content-Encoding", "Content-Encoding", "gzip", gz.Bytes(), "Success"},
		{"unknown codec", "compression", "brotli", rowsJSON, "Fail"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, r, err := tryLoad(t, s, "p", bytes.NewReader(tt.body), with(jsonHdr, "label", fmt.Sprintf("z%d", i), tt.header, tt.codec))
			if err != nil {
				t.Fatal(err)
			}
			if r.Status != tt.status {
				t.Fatalf("status %s, want %s: %+v", r.Status, tt.status, r)
			}
			if tt.status == "Success" && (r.NumberLoadedRows != 2 || rows(t, s, "p")["z2"] != `[null,2,null]`) {
				t.Errorf("rows not loaded: %+v %v", r, rows(t, s, "p"))
			}
		})
	}
}

// TestFaults: each injected fault shows as a client sees it, and a Publish
// Timeout still applies the rows.
func TestFaults(t *testing.T) {
	s := start(t, Config{})
	tests := []struct {
		name    string
		faults  Faults
		code    int    // 0: the connection fails
		status  string // of the answer when code is 200
		applied bool
	}{
		{"500", Faults{FailRatio: 1}, http.StatusInternalServerError, "", false},
		{"reset", Faults{ResetRatio: 1}, 0, "", false},
		{"BE down", Faults{BEDown: true}, 0, "", false},
		{"too many versions", Faults{TooManyVersionsRatio: 1}, http.StatusOK, "Fail", false},
		{"publish timeout", Faults{PublishTimeoutRatio: 1}, http.StatusOK, "Publish Timeout", true},
		{"none", Faults{}, http.StatusOK, "Success", true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s.SetFaults(tt.faults)
			key := fmt.Sprintf("f%d", i)
			code, r, err := tryLoad(t, s, "p", strings.NewReader(`[{"k":"`+key+`","n":1}]`), with(jsonHdr, "label", "fault"+key))
			switch {
			case tt.code == 0 && err == nil:
				t.Fatalf("answered %d %+v, want a failed connection", code, r)
			case tt.code != 0 && err != nil:
				t.Fatal(err)
			case code != tt.code || tt.code == http.StatusOK && r.Status != tt.status:
				t.Fatalf("answered %d %q, want %d %q", code, r.Status, tt.code, tt.status)
			}
			if _, ok := rows(t, s, "p")[key]; ok != tt.applied {
				t.Errorf("row applied %v, want %v", ok, tt.applied)
			}
		})
	}
	if tmv := s.Stats(); tmv.FailedLoads == 0 {
		t.Errorf("stats count no failed load: %+v", tmv)
	}
}

// TestMySQLAuth: the MySQL port accepts only the configured user and
// password, as StarRocks does.
func TestMySQLAuth(t *testing.T) {
	s := start(t, Config{})
	tests := []struct {
		name, userinfo string
		ok             bool
	}{
		{"right credentials", "root:pw", true},
		{"wrong password", "root:nope", false},
		{"no password", "root", false},
		{"unknown user", "admin:pw", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, err := sql.Open("mysql", tt.userinfo+"@tcp("+s.MySQLAddr()+")/db")
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			err = db.Ping()
			if tt.ok && err != nil {
				t.Fatalf("Ping = %v, want success", err)
			}
			if !tt.ok && (err == nil || !strings.Contains(err.Error(), "Access denied")) {
				t.Fatalf("Ping = %v, want Access denied", err)
			}
		})
	}
}
