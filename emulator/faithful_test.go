package emulator

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// exec runs DDL on a test server.
func exec(t *testing.T, s *Server, sql string) {
	t.Helper()
	if err := s.Exec(context.Background(), sql); err != nil {
		t.Fatal(err)
	}
}

// errorLog reads the ErrorURL of an answer.
func errorLog(t *testing.T, url string) string {
	t.Helper()
	if url == "" {
		t.Fatal("no ErrorURL")
	}
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// loadState asks the FE's get_load_state for a label.
func loadState(t *testing.T, s *Server, label string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.FEURL()+"/api/db/get_load_state?label="+label, nil)
	req.SetBasicAuth("root", "pw")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v struct{ State string }
	json.NewDecoder(resp.Body).Decode(&v)
	return v.State
}

const typesDDL = `CREATE TABLE ty (k INT NOT NULL, s VARCHAR(3), d DECIMAL(4,2), i TINYINT, dt DATE, ts DATETIME,
	sn VARCHAR(3) NOT NULL DEFAULT '') ENGINE=OLAP PRIMARY KEY(k) DISTRIBUTED BY HASH(k)`

// TestValueThatDoesNotFit: with strict_mode unset (false) a value that
// does not fit its column loads NULL into a nullable column and the load
// succeeds with nothing filtered; into a NOT NULL column the row is
// filtered. strict_mode: true filters the row with the scanner's reason.
func TestValueThatDoesNotFit(t *testing.T) {
	s := start(t, Config{})
	exec(t, s, typesDDL)
	// The error log line of each in strict mode: the JSON reader's errors
	// with the JSON row, the casts' (FileScanner::materialize) with the
	// source row (the header's slots, and __op, which a JSON load into a
	// Primary Key table always reads, 0 when absent).
	tests := []struct {
		name, field, value string
		logLine            string // %s is the JSON row
	}{
		{"varchar longer in bytes", "s", `"éé"`, "Error: Invalid argument: Value length is beyond the capacity. column=s, capacity=3. Row: %s"},
		{"decimal with too many integer digits", "d", `"123.4"`, "Error: Value ''123.4'' is out of range. The type of 'd' is DECIMAL32(4, 2). Row: [1, '123.4', 0]"},
		{"integer out of range", "i", `128`, "Error: Invalid argument: Value is overflow. column=i, value=128. Row: %s"},
		{"unparsable date", "dt", `"2024-02-30"`, "Error: Value ''2024-02-30'' is out of range. The type of 'dt' is DATE. Row: [3, '2024-02-30', 0]"},
		{"date after 9999-12-31", "dt", `"10000-01-01"`, "Error: Value ''10000-01-01'' is out of range. The type of 'dt' is DATE. Row: [4, '10000-01-01', 0]"},
		{"datetime before 0000-01-01", "ts", `"-0001-12-31 00:00:00"`, "Error: Value ''-0001-12-31 00:00:00'' is out of range. The type of 'ts' is DATETIME. Row: [5, '-0001-12-31 00:00:00', 0]"},
		{"integer from text", "i", `"abc"`, "Error: Invalid argument: Unable to cast string value to BIGINT. value=abc, column=i. Row: %s"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			row := fmt.Sprintf(`{"k":%d,%q:%s}`, i, tt.field, tt.value)
			_, r := load(t, s, "ty", "["+row+"]", with(jsonHdr, "label", fmt.Sprintf("lenient%d", i), "columns", "k,"+tt.field))
			if r.Status != "Success" || r.NumberFilteredRows != 0 || r.NumberLoadedRows != 1 || r.ErrorURL != "" {
				t.Fatalf("non-strict: %+v, want Success with the value NULL", r)
			}
			got, _ := s.Rows("db", "ty")
			for _, g := range got {
				if g[0] == int64(i) {
					b, _ := json.Marshal(g)
					if want := fmt.Sprintf(`[%d,null,null,null,null,null,""]`, i); string(b) != want {
						t.Errorf("row %s, want %s", b, want)
					}
				}
			}
			_, r = load(t, s, "ty", "["+row+"]", with(jsonHdr, "label", fmt.Sprintf("strict%d", i), "columns", "k,"+tt.field, "strict_mode", "true"))
			if r.Status != "Fail" || r.Message != "too many filtered rows" || r.NumberFilteredRows != 1 {
				t.Fatalf("strict: %+v, want the row filtered", r)
			}
			want := tt.logLine + "\n"
			if strings.Contains(want, "%s") {
				want = fmt.Sprintf(want, row)
			}
			if got := errorLog(t, r.ErrorURL); got != want {
				t.Errorf("error log\n%q, want\n%q", got, want)
			}
		})
	}
	t.Run("NOT NULL column filters the row", func(t *testing.T) {
		_, r := load(t, s, "ty", `[{"k":100,"sn":"toolong"}]`, with(jsonHdr, "label", "nn", "columns", "k,sn"))
		if r.Status != "Fail" || r.NumberFilteredRows != 1 {
			t.Fatalf("%+v, want the row filtered", r)
		}
		// OlapTableSink::_validate_data logs the row as loaded.
		if got, want := errorLog(t, r.ErrorURL), "Error: NULL value in non-nullable column 'sn'. Row: [100, NULL, NULL, NULL, NULL, NULL, NULL]\n"; got != want {
			t.Errorf("error log %q, want %q", got, want)
		}
	})
	t.Run("strict default from settings", func(t *testing.T) {
		st := s.Settings()
		st.StrictMode = true
		if err := s.SetSettings(st); err != nil {
			t.Fatal(err)
		}
		defer func() { st.StrictMode = false; s.SetSettings(st) }()
		_, r := load(t, s, "ty", `[{"k":200,"i":1000}]`, with(jsonHdr, "label", "strictdefault", "columns", "k,i"))
		if r.Status != "Fail" || r.NumberFilteredRows != 1 {
			t.Fatalf("%+v, want the row filtered under a strict default", r)
		}
	})
}

// TestDeleteRowNullInNotNullColumn: a delete row carrying only the key, or
// NULL in a NOT NULL column, is filtered like any other row
// (OlapTableSink::_validate_data has no exception for __op=1).
func TestDeleteRowNullInNotNullColumn(t *testing.T) {
	s := start(t, Config{})
	exec(t, s, `CREATE TABLE pn (k INT NOT NULL, v VARCHAR(10) NOT NULL, w INT) PRIMARY KEY(k) DISTRIBUTED BY HASH(k)`)
	load(t, s, "pn", `[{"k":1,"v":"a"},{"k":2,"v":"b"}]`, with(jsonHdr, "label", "seed", "columns", "k,v,w,__op"))
	tests := []struct {
		name, body string
		status     string
		left       int64
	}{
		{"key only", `[{"k":1,"__op":1}]`, "Fail", 2},
		{"explicit null", `[{"k":1,"v":null,"__op":1}]`, "Fail", 2},
		{"full row", `[{"k":1,"v":"a","__op":1}]`, "Success", 1},
		{"nullable column may be absent", `[{"k":2,"v":"x","__op":1}]`, "Success", 0},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, r := load(t, s, "pn", tt.body, with(jsonHdr, "label", fmt.Sprintf("del%d", i), "columns", "k,v,w,__op"))
			if r.Status != tt.status {
				t.Fatalf("%+v, want %s", r, tt.status)
			}
			if tt.status == "Fail" && !strings.Contains(errorLog(t, r.ErrorURL), "NULL value in non-nullable column 'v'") {
				t.Errorf("error log lacks the NULL reason")
			}
			if n, _ := s.Count("db", "pn"); n != tt.left {
				t.Errorf("%d rows left, want %d", n, tt.left)
			}
		})
	}
}

// TestTransientAnswers: each injected transient answer carries StarRocks'
// text, at the stage StarRocks gives it, with the label state that stage
// leaves and the rows applied or not.
func TestTransientAnswers(t *testing.T) {
	s := start(t, Config{})
	tests := []struct {
		kind    FaultKind
		fe      bool   // answered by the FE (no redirect)
		status  string // of the answer
		message string // prefix of its Message
		state   string // get_load_state afterwards
		applied bool
	}{
		{FaultShuttingDown, false, "Fail", "Service is shutting down, please retry later!", "UNKNOWN", false},
		{FaultNoBackend, true, "FAILED", "class com.starrocks.common.DdlException: No backend alive.", "UNKNOWN", false},
		{FaultCommitUnknown, false, "Fail", "Commit transaction fail cause ", "VISIBLE", true},
		{FaultCompactionScore, false, "Fail", "Failed to load data into partition ", "ABORTED", false},
		{FaultTooManyVersions, false, "Fail", "Failed to load data into tablet ", "ABORTED", false},
		{FaultHTTPLimit, false, "Fail", "Stream Load exceed http cuncurrent limit 47, please try again later", "UNKNOWN", false},
		{FaultMemLimit, false, "Fail", "Memory of load exceed limit.", "ABORTED", false},
		// COMMITTED until the publish ends (publishDelay), then VISIBLE.
		{FaultPublishTimeout, false, "Publish Timeout", "Publish timeout. The data will be visible after a while", "COMMITTED", true},
	}
	for i, tt := range tests {
		t.Run(string(tt.kind), func(t *testing.T) {
			s.SetFaults(Faults{Answers: []Fault{{Kind: tt.kind, Rate: 1}}})
			defer s.SetFaults(Faults{})
			key, label := fmt.Sprintf("t%d", i), fmt.Sprintf("transient%d", i)
			status, msg := sendRaw(t, s, label, `[{"k":"`+key+`","n":1}]`, tt.fe)
			if status != tt.status || !strings.HasPrefix(msg, tt.message) {
				t.Fatalf("answer %q %q, want %q %q…", status, msg, tt.status, tt.message)
			}
			if got := loadState(t, s, label); got != tt.state {
				t.Errorf("label state %s, want %s", got, tt.state)
			}
			if _, ok := rows(t, s, "p")[key]; ok != tt.applied {
				t.Errorf("row applied %v, want %v", ok, tt.applied)
			}
			if tt.state == "COMMITTED" {
				time.Sleep(publishDelay)
				if got := loadState(t, s, label); got != "VISIBLE" {
					t.Errorf("label state %s after the publish delay, want VISIBLE", got)
				}
			}
		})
	}
	t.Run("too many versions 3.x text", func(t *testing.T) {
		msg := faultMessage(FaultTooManyVersions, 5, "h")
		if !strings.HasSuffix(msg, "because of too many versions, current/limit: 1001/1000. You can reduce the loading job concurrency, or increase loading data batch size. If you are loading data with Routine Load, you can increase FE configs routine_load_task_consume_second and max_routine_load_batch_size,") {
			t.Errorf("text %q", msg)
		}
	})
	t.Run("for a span: answers while it lasts, then not", func(t *testing.T) {
		s.SetFaults(Faults{Answers: []Fault{{Kind: FaultShuttingDown, For: Duration(time.Hour)}}})
		if status, msg := sendRaw(t, s, "span1", `[{"k":"s1"}]`, false); status != "Fail" || !strings.HasPrefix(msg, "Service is shutting down") {
			t.Fatalf("during the span: %s %s", status, msg)
		}
		s.SetFaults(Faults{Answers: []Fault{{Kind: FaultShuttingDown, For: Duration(time.Nanosecond)}}})
		time.Sleep(time.Millisecond) // the span is over
		if status, msg := sendRaw(t, s, "span1", `[{"k":"s1"}]`, false); status != "Success" {
			t.Fatalf("after the span: %s %s", status, msg)
		}
		s.SetFaults(Faults{})
	})
}

// sendRaw sends a load to table p and returns the Status and Message of
// whichever side answered (the FE when fe is true).
func sendRaw(t *testing.T, s *Server, label, body string, fe bool) (string, string) {
	t.Helper()
	if fe {
		req, _ := http.NewRequest(http.MethodPut, s.FEURL()+"/api/db/p/_stream_load", strings.NewReader(body))
		req.SetBasicAuth("root", "pw")
		req.Header.Set("Expect", "100-continue")
		req.Header.Set("label", label)
		cl := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := cl.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var v struct{ Status, Message string }
		json.NewDecoder(resp.Body).Decode(&v)
		return v.Status, v.Message
	}
	_, r := load(t, s, "p", body, with(jsonHdr, "label", label))
	return r.Status, r.Message
}

// TestSharedDataDeleteThenUpsert reproduces StarRocks issue #75014: on a
// shared-data Primary Key table a DELETE and a later UPSERT of one key in
// one load lose the UPSERT when a memtable flush falls between them; in
// one memtable, or on shared-nothing, the UPSERT wins.
func TestSharedDataDeleteThenUpsert(t *testing.T) {
	body := `[{"k":"a","n":1,"__op":0},{"k":"a","__op":1},{"k":"a","n":2,"__op":0},{"k":"b","n":3,"__op":0}]`
	tests := []struct {
		name string
		set  func(*Settings)
		want map[string]string
	}{
		{"shared-nothing", func(*Settings) {}, map[string]string{"a": `[null,2,null]`, "b": `[null,3,null]`}},
		{"shared-data, one memtable", func(st *Settings) { st.SharedData = true }, map[string]string{"a": `[null,2,null]`, "b": `[null,3,null]`}},
		{"shared-data, flush after the delete", func(st *Settings) { st.SharedData, st.MemtableRows = true, 2 }, map[string]string{"b": `[null,3,null]`}},
		{"shared-data, flush by bytes", func(st *Settings) { st.SharedData, st.MemtableBytes = true, 40 }, map[string]string{"b": `[null,3,null]`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := DefaultSettings()
			tt.set(&st)
			s := start(t, Config{Settings: &st})
			_, r := load(t, s, "p", body, with(jsonHdr, "label", "x", "columns", "k,n,__op"))
			if r.Status != "Success" {
				t.Fatalf("%+v", r)
			}
			if got := rows(t, s, "p"); fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("rows %v, want %v", got, tt.want)
			}
		})
	}
}

// TestJSONSizeLimit: a JSON body whose Content-Length is over
// streaming_load_max_batch_size_mb fails before it is read, with
// StarRocks' text, unless ignore_json_size is true; CSV is not bounded so.
func TestJSONSizeLimit(t *testing.T) {
	st := DefaultSettings()
	st.StreamingLoadMaxBatchSizeMB = 1
	s := start(t, Config{Settings: &st})
	pad := strings.Repeat(" ", 1<<20)
	big := `[{"k":"big","n":1}]` + pad
	_, r := load(t, s, "p", big, with(jsonHdr, "label", "big1"))
	want := fmt.Sprintf("The size of this batch exceed the max size [1048576]  of json type data  data [ %d ]. Set ignore_json_size to skip the check, although it may lead huge memory consuming.", len(big))
	if r.Status != "Fail" || r.Message != want {
		t.Fatalf("%+v\nwant %s", r, want)
	}
	if got := loadState(t, s, "big1"); got != "UNKNOWN" {
		t.Errorf("label %s, want UNKNOWN (refused before the transaction)", got)
	}
	if _, r = load(t, s, "p", big, with(jsonHdr, "label", "big1", "ignore_json_size", "true")); r.Status != "Success" {
		t.Errorf("ignore_json_size: %+v", r)
	}
	if _, r = load(t, s, "p", "csv\t1\t\\N\t\\N\n"+strings.Repeat("\n", 0)+"", map[string]string{"label": "csv1"}); r.Status != "Success" {
		t.Errorf("CSV: %+v", r)
	}
	if got := DefaultSettings().StreamingLoadMaxBatchSizeMB; got != 100 {
		t.Errorf("default %d MB, want 100", got)
	}
}

// TestColumnsHeaderNamesMissingColumn: a name in the columns header that
// the table lacks is accepted and its field read into nothing
// (Load.initColumns gives it a non-materialized slot); a duplicate name is
// refused.
func TestColumnsHeaderNamesMissingColumn(t *testing.T) {
	s := start(t, Config{})
	_, r := load(t, s, "p", `[{"k":"a","n":1,"gone":"x"}]`, with(jsonHdr, "label", "f6", "columns", "k,n,gone"))
	if r.Status != "Success" || rows(t, s, "p")["a"] != `[null,1,null]` {
		t.Errorf("%+v %v", r, rows(t, s, "p"))
	}
	_, r = load(t, s, "p", `[{"k":"b"}]`, with(jsonHdr, "label", "f6dup", "columns", "k,n,N"))
	if r.Status != "Fail" || r.Message != "Duplicate column: N" {
		t.Errorf("duplicate: %+v", r)
	}
}

// TestPartialUpdateAndMergeCondition: a partial update of a missing row
// inserts it with the absent columns' defaults; merge_condition is refused
// where the FE refuses it, applies on ties and on NULL over NULL, and
// never holds back a delete.
func TestPartialUpdateAndMergeCondition(t *testing.T) {
	s := start(t, Config{})
	exec(t, s, `CREATE TABLE pu (k INT NOT NULL, s VARCHAR(5) NOT NULL, n INT NOT NULL, d INT DEFAULT "7", x VARCHAR(3), ver INT)
		PRIMARY KEY(k) DISTRIBUTED BY HASH(k)`)
	get := func(k int64) string {
		rs, _ := s.Rows("db", "pu")
		for _, r := range rs {
			if r[0] == k {
				b, _ := json.Marshal(r)
				return string(b)
			}
		}
		return ""
	}
	_, r := load(t, s, "pu", `[{"k":1,"x":"v"}]`, with(jsonHdr, "label", "pu1", "partial_update", "true", "columns", "k,x"))
	if r.Status != "Success" || get(1) != `[1,"",0,7,"v",null]` {
		t.Errorf("partial insert of a missing row: %+v %s", r, get(1))
	}
	refusals := []struct {
		table string
		hdr   []string
		msg   string
	}{
		{"d", []string{"merge_condition", "v"}, "Conditional update only support primary key table d"},
		{"pu", []string{"merge_condition", "k"}, "Merge condition column k should not be primary key!"},
		{"pu", []string{"merge_condition", "nope"}, "Merge condition column nope does not exist. If you are doing partial update with condition update, please check condition column is in the given update columns. Otherwise please check condition column is in table pu"},
		{"pu", []string{"merge_condition", "ver", "partial_update", "true", "columns", "k,x"}, "Merge condition column ver does not exist. If you are doing partial update with condition update, please check condition column is in the given update columns. Otherwise please check condition column is in table pu"},
	}
	for i, tt := range refusals {
		_, r := load(t, s, tt.table, `[{"k":1}]`, with(with(jsonHdr, tt.hdr...), "label", fmt.Sprintf("mcr%d", i)))
		if r.Status != "Fail" || r.Message != tt.msg {
			t.Errorf("%v: %+v, want %q", tt.hdr, r, tt.msg)
		}
	}
	steps := []struct {
		body, want string
	}{
		{`[{"k":2,"s":"a","n":1,"ver":null}]`, `[2,"a",1,null,null,null]`},
		{`[{"k":2,"s":"b","n":1,"ver":null}]`, `[2,"b",1,null,null,null]`}, // NULL == NULL applies
		{`[{"k":2,"s":"c","n":1,"ver":5}]`, `[2,"c",1,null,null,5]`},
		{`[{"k":2,"s":"d","n":1,"ver":5}]`, `[2,"d",1,null,null,5]`},    // a tie applies
		{`[{"k":2,"s":"e","n":1,"ver":4}]`, `[2,"d",1,null,null,5]`},    // older: skipped
		{`[{"k":2,"s":"f","n":1,"ver":null}]`, `[2,"d",1,null,null,5]`}, // NULL is the smallest
		{`[{"k":2,"s":"g","n":1,"ver":1,"__op":1}]`, ``},                // deletes are unconditional
	}
	for i, st := range steps {
		_, r := load(t, s, "pu", st.body, with(jsonHdr, "label", fmt.Sprintf("mc%d", i), "merge_condition", "ver", "columns", "k,s,n,d,x,ver,__op"))
		if r.Status != "Success" || get(2) != st.want {
			t.Errorf("step %d %s: %s %s, want %s", i, st.body, r.Status, get(2), st.want)
		}
	}
}

// TestBrokenUploadLabel: the label is registered before the body; after
// the client breaks the upload a retry meets Label Already Exists RUNNING
// until the rollback, then get_load_state answers ABORTED and the label
// loads again.
func TestBrokenUploadLabel(t *testing.T) {
	t.Run("before the rollback", func(t *testing.T) {
		st := DefaultSettings()
		st.RollbackDelay = Duration(time.Hour)
		s := start(t, Config{Settings: &st, Faults: Faults{ResetRatio: 1}})
		if _, _, err := tryLoad(t, s, "p", strings.NewReader(`[{"k":"a"}]`), with(jsonHdr, "label", "broken")); err == nil {
			t.Fatal("the upload did not break")
		}
		s.SetFaults(Faults{})
		_, r := load(t, s, "p", `[{"k":"a"}]`, with(jsonHdr, "label", "broken"))
		if r.Status != "Label Already Exists" || r.ExistingJobStatus != "RUNNING" {
			t.Errorf("retry: %+v", r)
		}
		if got := loadState(t, s, "broken"); got != "PREPARE" {
			t.Errorf("state %s, want PREPARE", got)
		}
	})
	t.Run("after the rollback", func(t *testing.T) {
		st := DefaultSettings()
		st.RollbackDelay = Duration(time.Millisecond)
		s := start(t, Config{Settings: &st, Faults: Faults{ResetRatio: 1}})
		tryLoad(t, s, "p", strings.NewReader(`[{"k":"a"}]`), with(jsonHdr, "label", "broken"))
		s.SetFaults(Faults{})
		for loadState(t, s, "broken") != "ABORTED" { // the rollback comes
			time.Sleep(time.Millisecond)
		}
		if _, r := load(t, s, "p", `[{"k":"a"}]`, with(jsonHdr, "label", "broken")); r.Status != "Success" {
			t.Errorf("reuse after ABORTED: %+v", r)
		}
	})
}

// TestLabelEviction: finished labels go beyond label_keep_max_num per
// database (oldest first) or past label_keep_max_second; an evicted label
// answers UNKNOWN and loads again.
func TestLabelEviction(t *testing.T) {
	t.Run("by number", func(t *testing.T) {
		st := DefaultSettings()
		st.LabelKeepMaxNum = 2
		s := start(t, Config{Settings: &st})
		for _, l := range []string{"l1", "l2", "l3", "l4"} {
			load(t, s, "d", `[{"k":"a","v":1}]`, with(jsonHdr, "label", l))
		}
		for l, want := range map[string]string{"l1": "UNKNOWN", "l2": "VISIBLE", "l4": "VISIBLE"} {
			if got := loadState(t, s, l); got != want {
				t.Errorf("%s: %s, want %s", l, got, want)
			}
		}
		if _, r := load(t, s, "d", `[{"k":"a","v":1}]`, with(jsonHdr, "label", "l1")); r.Status != "Success" {
			t.Errorf("evicted label: %+v (a replay loads twice)", r)
		}
	})
	t.Run("by age", func(t *testing.T) {
		st := DefaultSettings()
		st.LabelKeepMaxSecond = Duration(time.Nanosecond)
		s := start(t, Config{Settings: &st})
		load(t, s, "d", `[{"k":"a","v":1}]`, with(jsonHdr, "label", "a1"))
		time.Sleep(time.Millisecond) // a1 is older than its retention
		load(t, s, "d", `[{"k":"a","v":1}]`, with(jsonHdr, "label", "a2"))
		if got := loadState(t, s, "a1"); got != "UNKNOWN" {
			t.Errorf("a1: %s, want UNKNOWN", got)
		}
	})
	if st := DefaultSettings(); time.Duration(st.LabelKeepMaxSecond) != 72*time.Hour || st.LabelKeepMaxNum != 1000 {
		t.Errorf("defaults %v %d, want 3 days and 1000", st.LabelKeepMaxSecond, st.LabelKeepMaxNum)
	}
}

// TestBEAuth: the BE checks no password itself; the FE refuses the BE's
// begin_txn, answered 200 Fail (F1).
func TestBEAuth(t *testing.T) {
	s := start(t, Config{})
	for _, tt := range []struct{ name, user, pass, msg string }{
		{"wrong password", "root", "bad", "Access denied for root@127.0.0.1"},
		{"no credentials", "", "", "no valid Basic authorization"},
	} {
		req, _ := http.NewRequest(http.MethodPut, s.BEURL()+"/api/db/p/_stream_load", strings.NewReader(`[]`))
		if tt.user != "" {
			req.SetBasicAuth(tt.user, tt.pass)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var r loadResponse
		json.NewDecoder(resp.Body).Decode(&r)
		resp.Body.Close()
		if resp.StatusCode != 200 || r.Status != "Fail" || r.Message != tt.msg {
			t.Errorf("%s: %d %+v", tt.name, resp.StatusCode, r)
		}
	}
}

// TestJSONReading (F3): a JSON load into a Primary Key table reads __op
// without a columns header; a JSON boolean into VARCHAR is 1/0; a JSON
// string into a JSON column stays a string; BOOLEAN takes true/false,
// numbers and "1"/"0"/"true"/"false" in any case.
func TestJSONReading(t *testing.T) {
	s := start(t, Config{})
	exec(t, s, `CREATE TABLE js (k INT NOT NULL, s VARCHAR(5), j JSON, b BOOLEAN) PRIMARY KEY(k) DISTRIBUTED BY HASH(k)`)
	load(t, s, "js", `[{"k":1,"s":true,"j":"{\"a\":1}","b":"TRUE"},{"k":2,"s":false,"j":{"a":1},"b":"yes"},{"k":3,"b":2}]`, with(jsonHdr, "label", "js1"))
	load(t, s, "js", `[{"k":3,"__op":1}]`, with(jsonHdr, "label", "js2"))
	got, _ := s.Rows("db", "js")
	b, _ := json.Marshal(got)
	if want := `[[1,"1","\"{\\\"a\\\":1}\"",true],[2,"0","{\"a\":1}",null]]`; string(b) != want {
		t.Errorf("rows %s, want %s", b, want)
	}
}

// TestEmptyLoad: a load that loads no row fails with "all partitions have
// no load data" (fe.conf empty_load_as_error, true) and its label is
// ABORTED; with the setting off it succeeds.
func TestEmptyLoad(t *testing.T) {
	s := start(t, Config{})
	_, r := load(t, s, "p", `[]`, with(jsonHdr, "label", "e1"))
	if r.Status != "Fail" || r.Message != "all partitions have no load data" || loadState(t, s, "e1") != "ABORTED" {
		t.Errorf("empty: %+v", r)
	}
	_, r = load(t, s, "p", `[{"k":null}]`, with(jsonHdr, "label", "e2", "max_filter_ratio", "1"))
	if r.Status != "Fail" || r.Message != "all partitions have no load data" || r.NumberFilteredRows != 1 {
		t.Errorf("all filtered within the ratio: %+v", r)
	}
	st := s.Settings()
	st.EmptyLoadAsError = false
	s.SetSettings(st)
	if _, r = load(t, s, "p", `[]`, with(jsonHdr, "label", "e3")); r.Status != "Success" {
		t.Errorf("empty_load_as_error=false: %+v", r)
	}
}

// TestLoadStateUnknownDatabase: GetStreamLoadState answers an unknown
// database with a FAILED RestBaseResult and no state.
func TestLoadStateUnknownDatabase(t *testing.T) {
	s := start(t, Config{})
	req, _ := http.NewRequest(http.MethodGet, s.FEURL()+"/api/nodb/get_load_state?label=x", nil)
	req.SetBasicAuth("root", "pw")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]string
	json.NewDecoder(resp.Body).Decode(&m)
	if resp.StatusCode != 200 || m["status"] != "FAILED" || m["msg"] != "unknown database, database=nodb" || m["state"] != "" {
		t.Errorf("%d %v", resp.StatusCode, m)
	}
}

// TestOpColumn: __op is a TINYINT slot (Load.initColumns): a constant
// 'delete'/'upsert' becomes 1/0, another string constant fails the plan;
// in the data 1 deletes, a value that is not a number is NULL (an upsert)
// unless strict, where the row is filtered.
func TestOpColumn(t *testing.T) {
	s := start(t, Config{})
	load(t, s, "p", `[{"k":"a"},{"k":"b"},{"k":"c"}]`, with(jsonHdr, "label", "seed"))
	tests := []struct {
		name, body string
		hdr        []string
		status     string
		msg        string
		left       string
	}{
		{"constant delete", `[{"k":"a"}]`, []string{"columns", "k,__op='delete'"}, "Success", "OK", "b,c"},
		{"constant upsert", `[{"k":"a"}]`, []string{"columns", "k,__op='UPSERT'"}, "Success", "OK", "a,b,c"},
		{"other constant", `[{"k":"a"}]`, []string{"columns", "k,__op='remove'"}, "Fail", "load op type string not supported: remove", "a,b,c"},
		{"numeric string deletes", `[{"k":"a","__op":"1"}]`, nil, "Success", "OK", "b,c"},
		{"a word is NULL, an upsert", `[{"k":"a","__op":"delete"}]`, nil, "Success", "OK", "a,b,c"},
		{"a word filtered when strict", `[{"k":"a","__op":"delete"}]`, []string{"strict_mode", "true"}, "Fail", "too many filtered rows", "a,b,c"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, r := load(t, s, "p", tt.body, with(with(jsonHdr, tt.hdr...), "label", fmt.Sprintf("op%d", i)))
			if r.Status != tt.status || r.Message != tt.msg {
				t.Fatalf("%+v, want %s %q", r, tt.status, tt.msg)
			}
			var keys []string
			for _, k := range []string{"a", "b", "c"} {
				if _, ok := rows(t, s, "p")[k]; ok {
					keys = append(keys, k)
				}
			}
			if got := strings.Join(keys, ","); got != tt.left {
				t.Errorf("rows %s, want %s", got, tt.left)
			}
		})
	}
}

// TestUnknownTable: the FE redirects without looking the table up; the
// BE's begin_txn meets the FE's refusal (loadTxnBeginImpl), answered Fail.
func TestUnknownTable(t *testing.T) {
	s := start(t, Config{})
	_, r := load(t, s, "nope", `[]`, with(jsonHdr, "label", "u1"))
	if r.Status != "Fail" || r.Message != `unknown table "db.nope"` {
		t.Errorf("%+v", r)
	}
}

// TestErrorLogHoldsFiftyRows: the error log holds the first 50 rejected
// rows; NumberFilteredRows counts all.
func TestErrorLogHoldsFiftyRows(t *testing.T) {
	s := start(t, Config{})
	var b strings.Builder
	b.WriteString("[")
	for i := 0; i < 60; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"k":null,"n":%d}`, i)
	}
	b.WriteString("]")
	_, r := load(t, s, "p", b.String(), with(jsonHdr, "label", "many"))
	if r.NumberFilteredRows != 60 {
		t.Fatalf("%+v", r)
	}
	if n := strings.Count(errorLog(t, r.ErrorURL), "\n"); n != 50 {
		t.Errorf("error log has %d lines, want 50", n)
	}
}
