package emulator

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// txnCall sends one transaction operation to base (FE or BE URL) without
// following redirects and returns the HTTP status, the Location and the
// decoded answer.
func txnCall(t *testing.T, base, op, label, body string, hdr ...string) (int, string, map[string]any) {
	t.Helper()
	method := http.MethodPost
	if op == "load" {
		method = http.MethodPut
	}
	req, _ := http.NewRequest(method, base+"/api/transaction/"+op, strings.NewReader(body))
	req.SetBasicAuth("root", "pw")
	req.Header.Set("label", label)
	req.Header.Set("db", "db")
	req.Header.Set("table", "p")
	req.Header.Set("format", "json")
	req.Header.Set("strip_outer_array", "true")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	cl := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, resp.Header.Get("Location"), m
}

// TestTransactionInterface pins F12: the FE redirects begin, load and
// prepare to a BE; Status is a TStatusCode name; a load answers no row
// counts and its data errors surface at prepare; the BE refuses a label it
// still holds with an empty ExistingJobStatus; timed-out and idle txns are
// aborted.
func TestTransactionInterface(t *testing.T) {
	s := start(t, Config{})
	for _, op := range []string{"begin", "load", "prepare"} {
		code, loc, _ := txnCall(t, s.FEURL(), op, "r1", "")
		if code != http.StatusTemporaryRedirect || !strings.HasPrefix(loc, s.BEURL()+"/api/transaction/"+op) {
			t.Errorf("FE %s: %d %q, want 307 to the BE", op, code, loc)
		}
	}
	be := s.BEURL()
	_, _, m := txnCall(t, be, "begin", "x1", "")
	if m["Status"] != "OK" || m["TxnId"] == nil {
		t.Fatalf("begin: %v", m)
	}
	if _, _, m = txnCall(t, be, "begin", "x1", ""); m["Status"] != "LABEL_ALREADY_EXISTS" || m["ExistingJobStatus"] != nil {
		t.Errorf("begin of a held label: %v", m)
	}
	_, _, m = txnCall(t, be, "load", "x1", `[{"k":"a","n":1},{"k":null,"n":2}]`)
	if m["Status"] != "OK" || m["LoadBytes"] == nil || m["NumberTotalRows"] != nil || m["NumberLoadedRows"] != nil {
		t.Errorf("load answers no row counts: %v", m)
	}
	_, _, m = txnCall(t, be, "prepare", "x1", "")
	if m["Status"] != "INTERNAL_ERROR" || m["Message"] != "too many filtered rows" || m["ErrorURL"] == nil {
		t.Errorf("prepare: %v", m)
	}
	if got := loadState(t, s, "x1"); got != "ABORTED" {
		t.Errorf("state %s, want ABORTED", got)
	}
	if _, _, m = txnCall(t, be, "load", "nope", `[]`); m["Status"] != "TXN_NOT_EXISTS" {
		t.Errorf("unknown label: %v", m)
	}
	txnCall(t, be, "begin", "x0", "")
	if _, _, m = txnCall(t, be, "commit", "x0", ""); m["Status"] != "INTERNAL_ERROR" || !strings.HasSuffix(m["Message"].(string), "hasn't send any data yet") {
		t.Errorf("commit without a load: %v", m)
	}

	txnCall(t, be, "begin", "x2", "")
	txnCall(t, be, "load", "x2", `[{"k":"b","n":1}]`)
	if _, _, m = txnCall(t, be, "prepare", "x2", ""); m["Status"] != "OK" || m["NumberLoadedRows"] != float64(1) {
		t.Errorf("prepare: %v", m)
	}
	if code, _, m := txnCall(t, s.FEURL(), "commit", "x2", ""); code != 200 || m["Status"] != "OK" {
		t.Errorf("FE commit of a PREPARED txn: %d %v", code, m)
	}
	if _, ok := rows(t, s, "p")["b"]; !ok {
		t.Error("committed rows not visible")
	}
	if _, _, m = txnCall(t, s.FEURL(), "commit", "nope", ""); m["Status"] != "FAILED" || !strings.HasPrefix(m["Message"].(string), "class ") {
		t.Errorf("FE commit of an unknown label: %v", m)
	}

	for _, tt := range []struct{ name, hdr, reason string }{
		{"timeout", "timeout", "transaction is aborted by timeout."},
		{"idle", "idle_transaction_timeout", "transaction is aborted by idle timeout."},
	} {
		txnCall(t, be, "begin", "to-"+tt.name, "", tt.hdr, "5")
		j := s.txnJob("db", "to-"+tt.name)
		j.mu.Lock()
		if tt.name == "timeout" {
			j.deadline = time.Now().Add(-time.Second) // its 5 s are over
		} else {
			j.active = time.Now().Add(-6 * time.Second) // idle for 6 s
		}
		j.mu.Unlock()
		// The BE drops the txn's context when it aborts it.
		if _, _, m = txnCall(t, be, "load", "to-"+tt.name, `[{"k":"c"}]`); m["Status"] != "TXN_NOT_EXISTS" || m["Message"] != "transaction with label to-"+tt.name+" not exists" {
			t.Errorf("%s: %v", tt.name, m)
		}
		if got := loadState(t, s, "to-"+tt.name); got != "ABORTED" {
			t.Errorf("%s: state %s", tt.name, got)
		}
		j.mu.Lock()
		if j.reason != tt.reason {
			t.Errorf("%s: reason %q, want %q", tt.name, j.reason, tt.reason)
		}
		j.mu.Unlock()
	}
}

// TestConcurrentLoadsAndTransactions: Stream Loads, transactions and label
// eviction in one database at once finish (no lock-order deadlock) and
// leave every committed row.
func TestConcurrentLoadsAndTransactions(t *testing.T) {
	st := DefaultSettings()
	st.LabelKeepMaxNum = 5
	s := start(t, Config{Settings: &st})
	// call sends one request to the BE; it is safe in a goroutine (no t).
	call := func(method, path, label, body string, hdr ...string) (map[string]any, error) {
		req, _ := http.NewRequest(method, s.BEURL()+path, strings.NewReader(body))
		req.SetBasicAuth("root", "pw")
		req.Header.Set("label", label)
		req.Header.Set("db", "db")
		req.Header.Set("table", "p")
		req.Header.Set("format", "json")
		req.Header.Set("strip_outer_array", "true")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		var m map[string]any
		return m, json.NewDecoder(resp.Body).Decode(&m)
	}
	const workers, each = 4, 15
	errs := make(chan error, 2*workers*each)
	for w := 0; w < workers; w++ {
		go func() {
			for i := 0; i < each; i++ {
				key := fmt.Sprintf("s%d_%d", w, i)
				m, err := call(http.MethodPut, "/api/db/p/_stream_load", key, `[{"k":"`+key+`","n":1}]`)
				if err == nil && m["Status"] != "Success" {
					err = fmt.Errorf("load %s: %v", key, m)
				}
				errs <- err
			}
		}()
		go func() {
			for i := 0; i < each; i++ {
				label := fmt.Sprintf("t%d_%d", w, i)
				var m map[string]any
				var err error
				for _, step := range []struct{ method, op, body string }{
					{http.MethodPost, "begin", ""}, {http.MethodPut, "load", `[{"k":"` + label + `","n":2}]`}, {http.MethodPost, "commit", ""},
				} {
					if m, err = call(step.method, "/api/transaction/"+step.op, label, step.body); err == nil && m["Status"] != "OK" {
						err = fmt.Errorf("%s %s: %v", step.op, label, m)
					}
					if err != nil {
						break
					}
				}
				errs <- err
			}
		}()
	}
	for i := 0; i < 2*workers*each; i++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if n, _ := s.Count("db", "p"); n != 2*workers*each {
		t.Errorf("%d rows, want %d", n, 2*workers*each)
	}
}
