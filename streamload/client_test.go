package streamload

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestLoadFollowsRedirectWithCredentials(t *testing.T) {
	f := newFakeSR(t)
	c := newTestClient(t, Config{FEURLs: []string{f.fe.URL}})
	req := jsonReq("lbl-1")
	req.PartialUpdate, req.PartialUpdateMode, req.MergeCondition = true, "column", "version"
	req.TimeZone = "UTC"
	req.Timeout = 90_500_000_000 // 90.5s rounds up
	req.Headers = map[string]string{"Load_Mem_Limit": "1024"}
	resp, err := c.Load(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != "Success" || resp.NumberLoadedRows != 1 {
		t.Errorf("response %+v", resp)
	}
	rec := f.recorded()
	if len(rec) != 1 {
		t.Fatalf("BE got %d loads, want 1", len(rec))
	}
	r := rec[0]
	if r.Path != "/api/db1/orders/_stream_load" {
		t.Errorf("path %q", r.Path)
	}
	if !bytes.Equal(r.Body, req.Body) {
		t.Errorf("body %q", r.Body)
	}
	want := map[string]string{
		"Label": "lbl-1", "Format": "json", "Strip_outer_array": "true", "Columns": "id,name,__op",
		"Partial_update": "true", "Partial_update_mode": "column", "Merge_condition": "version",
		"Max_filter_ratio": "", "Strict_mode": "true", "Timezone": "UTC", "Timeout": "91",
		"Load_mem_limit": "1024", "Expect": "100-continue",
	}
	for k, v := range want {
		if got := r.Header.Get(k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
	if got := r.Header.Get("Content-Length"); got != "" && got != strconv.Itoa(len(req.Body)) {
		t.Errorf("Content-Length %q", got)
	}
}

func TestLoadContentLengthAndContinue(t *testing.T) {
	var sawLen atomic.Int64
	f := newFakeSR(t)
	f.load = func(n int, r *http.Request, body []byte) (int, string) {
		sawLen.Store(r.ContentLength)
		return 200, `{"Status":"Success"}`
	}
	c := newTestClient(t, Config{FEURLs: []string{f.fe.URL}})
	req := jsonReq("lbl-cl")
	if _, err := c.Load(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	if sawLen.Load() != int64(len(req.Body)) {
		t.Errorf("ContentLength %d, want %d", sawLen.Load(), len(req.Body))
	}
}

func TestLoadBERewrite(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  func(be string) Config
	}{
		{"map", func(be string) Config {
			return Config{BEHostRewrite: map[string]string{"be-internal.invalid:8040": be}}
		}},
		{"override", func(be string) Config { return Config{BEHostOverride: be} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeSR(t)
			f.location = "be-internal.invalid:8040"
			cfg := tc.cfg(strings.TrimPrefix(f.be.URL, "http://"))
			cfg.FEURLs = []string{f.fe.URL}
			c := newTestClient(t, cfg)
			if _, err := c.Load(context.Background(), jsonReq("lbl-rw")); err != nil {
				t.Fatal(err)
			}
			if n := len(f.recorded()); n != 1 {
				t.Errorf("BE got %d loads", n)
			}
		})
	}
}

func TestLoadFEFailover(t *testing.T) {
	f := newFakeSR(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close() // nothing listens there now: connection refused
	var retries []int
	c := newTestClient(t, Config{FEURLs: []string{dead, f.fe.URL},
		OnRetry: func(table string, attempt int, err error) { retries = append(retries, attempt) }})
	if _, err := c.Load(context.Background(), jsonReq("lbl-fo")); err != nil {
		t.Fatal(err)
	}
	if len(retries) != 1 || retries[0] != 2 {
		t.Errorf("retries %v, want [2]", retries)
	}
	if c.fe().String() != f.fe.URL {
		t.Errorf("FE in use %s, want %s", c.fe(), f.fe.URL)
	}
}

func TestLoadRetries5xxWithSameLabel(t *testing.T) {
	f := newFakeSR(t)
	f.load = func(n int, _ *http.Request, _ []byte) (int, string) {
		if n < 2 {
			return 503, "BE restarting"
		}
		return 200, `{"Status":"Success","NumberLoadedRows":2}`
	}
	var attempts []int
	c := newTestClient(t, Config{FEURLs: []string{f.fe.URL},
		OnRetry: func(table string, attempt int, err error) {
			if table != "orders" || !IsRetryable(err) {
				t.Errorf("OnRetry(%q, %d, %v)", table, attempt, err)
			}
			attempts = append(attempts, attempt)
		}})
	if _, err := c.Load(context.Background(), jsonReq("lbl-5xx")); err != nil {
		t.Fatal(err)
	}
	rec := f.recorded()
	if len(rec) != 3 {
		t.Fatalf("BE got %d loads, want 3", len(rec))
	}
	for _, r := range rec {
		if r.Header.Get("Label") != "lbl-5xx" {
			t.Errorf("label %q", r.Header.Get("Label"))
		}
	}
	if len(attempts) != 2 || attempts[1] != 3 {
		t.Errorf("attempts %v", attempts)
	}
}

func TestLoadGivesUpAfterMaxRetries(t *testing.T) {
	f := newFakeSR(t)
	f.load = func(int, *http.Request, []byte) (int, string) {
		return 200, `{"Status":"Fail","Message":"Too many versions. tablet_id: 1"}`
	}
	c := newTestClient(t, Config{FEURLs: []string{f.fe.URL}, MaxRetries: 2})
	_, err := c.Load(context.Background(), jsonReq("lbl-max"))
	var le *LoadError
	if !errors.As(err, &le) || !le.Retryable || le.Table != "db1.orders" || le.Label != "lbl-max" {
		t.Fatalf("error %#v", err)
	}
	if n := len(f.recorded()); n != 3 {
		t.Errorf("BE got %d loads, want 3", n)
	}
}

func TestLoadNoRetries(t *testing.T) {
	f := newFakeSR(t)
	f.load = func(int, *http.Request, []byte) (int, string) { return 500, "" }
	c := newTestClient(t, Config{FEURLs: []string{f.fe.URL}, MaxRetries: -1})
	if _, err := c.Load(context.Background(), jsonReq("lbl-none")); !IsRetryable(err) {
		t.Fatalf("error %v", err)
	}
	if n := len(f.recorded()); n != 1 {
		t.Errorf("BE got %d loads, want 1", n)
	}
}

func TestLoadLabelAlreadyExists(t *testing.T) {
	exists := func(state string) string {
		return `{"Status":"Label Already Exists","ExistingJobStatus":"` + state + `","Message":"used"}`
	}
	tests := []struct {
		name      string
		answers   []string // BE answers, in order
		states    []string // get_load_state answers
		wantLoads int
		wantErr   bool
	}{
		{name: "finished is success", answers: []string{exists("FINISHED")}, wantLoads: 1},
		{name: "visible is success", answers: []string{exists("VISIBLE")}, wantLoads: 1},
		{name: "committed is success", answers: []string{exists("COMMITTED")}, wantLoads: 1},
		{name: "running then visible", answers: []string{exists("RUNNING")}, states: []string{"PREPARE", "RUNNING", "VISIBLE"}, wantLoads: 1},
		{name: "aborted is sent again", answers: []string{exists("CANCELLED"), `{"Status":"Success"}`}, wantLoads: 2},
		{name: "running then aborted is sent again", answers: []string{exists("RUNNING"), `{"Status":"Success"}`},
			states: []string{"ABORTED"}, wantLoads: 2},
		{name: "unknown state is sent again", answers: []string{exists(""), `{"Status":"Success"}`}, states: []string{"UNKNOWN"}, wantLoads: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeSR(t)
			f.states = tt.states
			f.load = func(n int, _ *http.Request, _ []byte) (int, string) {
				return 200, tt.answers[min(n, len(tt.answers)-1)]
			}
			c := newTestClient(t, Config{FEURLs: []string{f.fe.URL}})
			_, err := c.Load(context.Background(), jsonReq("lbl-exists"))
			if (err != nil) != tt.wantErr {
				t.Fatalf("error %v", err)
			}
			rec := f.recorded()
			if len(rec) != tt.wantLoads {
				t.Errorf("BE got %d loads, want %d", len(rec), tt.wantLoads)
			}
			for _, r := range rec {
				if r.Header.Get("Label") != "lbl-exists" {
					t.Errorf("label %q", r.Header.Get("Label"))
				}
			}
		})
	}
}

func TestLoadLabelStillRunningGivesUp(t *testing.T) {
	f := newFakeSR(t)
	f.states = []string{"RUNNING"}
	f.load = func(int, *http.Request, []byte) (int, string) {
		return 200, `{"Status":"Label Already Exists","ExistingJobStatus":"RUNNING"}`
	}
	c := newTestClient(t, Config{FEURLs: []string{f.fe.URL}, MaxRetries: -1, LabelWait: 1, LabelPollInterval: 1})
	_, err := c.Load(context.Background(), jsonReq("lbl-run"))
	if !IsRetryable(err) || !strings.Contains(err.Error(), "still RUNNING") {
		t.Fatalf("error %v", err)
	}
}

// A lost response: the BE loads the batch but the connection drops before
// the answer; the retry with the same label finds it FINISHED.
func TestLoadReplayAfterLostResponse(t *testing.T) {
	f := newFakeSR(t)
	var loaded atomic.Int32
	f.load = func(n int, _ *http.Request, _ []byte) (int, string) {
		if loaded.Add(1) == 1 {
			return -1, ""
		}
		return 200, `{"Status":"Label Already Exists","ExistingJobStatus":"FINISHED"}`
	}
	c := newTestClient(t, Config{FEURLs: []string{f.fe.URL}})
	resp, err := c.Load(context.Background(), jsonReq("lbl-lost"))
	if err != nil {
		t.Fatal(err)
	}
	if resp.ExistingJobStatus != "FINISHED" || loaded.Load() != 2 {
		t.Errorf("response %+v after %d loads", resp, loaded.Load())
	}
}

func TestLoadFailFetchesErrorLog(t *testing.T) {
	f := newFakeSR(t)
	f.load = func(int, *http.Request, []byte) (int, string) {
		return 200, `{"Status":"Fail","Message":"too many filtered rows","NumberFilteredRows":1,"ErrorURL":"` +
			f.be.URL + `/api/_load_error_log?file=e1"}`
	}
	c := newTestClient(t, Config{FEURLs: []string{f.fe.URL}})
	_, err := c.Load(context.Background(), jsonReq("lbl-fail"))
	var le *LoadError
	if !errors.As(err, &le) {
		t.Fatalf("error %v", err)
	}
	if le.Retryable || !strings.Contains(le.Message, "Value count does not match") || le.ErrorURL == "" {
		t.Errorf("LoadError %+v", le)
	}
	if n := len(f.recorded()); n != 1 {
		t.Errorf("permanent failure sent %d times", n)
	}
}

func TestLoadUnauthorized(t *testing.T) {
	f := newFakeSR(t)
	c := newTestClient(t, Config{FEURLs: []string{f.fe.URL}, User: testUser, Password: "wrong-pw-value"})
	_, err := c.Load(context.Background(), jsonReq("lbl-auth"))
	var le *LoadError
	if !errors.As(err, &le) || le.Retryable || le.Status != "HTTP 401" {
		t.Fatalf("error %v", err)
	}
	if strings.Contains(err.Error(), "wrong-pw-value") {
		t.Errorf("error names the password: %v", err)
	}
}

func TestLoadContextCanceled(t *testing.T) {
	f := newFakeSR(t)
	f.load = func(int, *http.Request, []byte) (int, string) { return 500, "" }
	c := newTestClient(t, Config{FEURLs: []string{f.fe.URL}})
	ctx, cancel := context.WithCancel(context.Background())
	c.sleep = func(context.Context, time.Duration) error { cancel(); return context.Canceled }
	_, err := c.Load(ctx, jsonReq("lbl-ctx"))
	if err == nil {
		t.Fatal("no error")
	}
	if n := len(f.recorded()); n != 1 {
		t.Errorf("BE got %d loads after cancel", n)
	}
}

func TestLoadCompression(t *testing.T) {
	for _, algo := range []string{"gzip", "lz4_frame", "zstd"} {
		t.Run(algo, func(t *testing.T) {
			f := newFakeSR(t)
			f.load = func(n int, _ *http.Request, _ []byte) (int, string) {
				if n == 0 {
					return 500, "retry me" // the retry re-reads the same compressed buffer
				}
				return 200, `{"Status":"Success"}`
			}
			c := newTestClient(t, Config{FEURLs: []string{f.fe.URL}})
			req := jsonReq("lbl-" + algo)
			req.Body = bytes.Repeat(req.Body, 200)
			req.Compression = algo
			if _, err := c.Load(context.Background(), req); err != nil {
				t.Fatal(err)
			}
			for _, r := range f.recorded() {
				if r.Header.Get("Compression") != algo || !bytes.Equal(r.Body, req.Body) {
					t.Errorf("compression %q, body of %d bytes", r.Header.Get("Compression"), len(r.Body))
				}
			}
		})
	}
}

// TestLoadBodyParts sends a body built in parts (empty ones included),
// plain and compressed: every attempt, the redirect to the BE and a retry
// after a 5xx, must carry the parts joined, with their total length.
func TestLoadBodyParts(t *testing.T) {
	whole := bytes.Repeat([]byte(`{"id":1,"name":"a"},`), 300)
	whole = append(append([]byte{'['}, whole[:len(whole)-1]...), ']')
	var parts [][]byte
	for rest, size := whole, 1; len(rest) > 0; size *= 3 {
		n := min(size, len(rest))
		parts = append(parts, rest[:n], nil)
		rest = rest[n:]
	}
	for _, algo := range []string{"", "gzip", "lz4_frame", "zstd"} {
		t.Run("compression="+algo, func(t *testing.T) {
			f := newFakeSR(t)
			var lens []int64
			f.load = func(n int, r *http.Request, _ []byte) (int, string) {
				lens = append(lens, r.ContentLength)
				if n == 0 {
					return 503, "retry me"
				}
				return 200, `{"Status":"Success"}`
			}
			c := newTestClient(t, Config{FEURLs: []string{f.fe.URL}})
			req := jsonReq("lbl-parts")
			req.Body, req.BodyParts, req.Compression = nil, parts, algo
			if _, err := c.Load(context.Background(), req); err != nil {
				t.Fatal(err)
			}
			rec := f.recorded()
			if len(rec) != 2 {
				t.Fatalf("BE got %d loads, want 2", len(rec))
			}
			for i, r := range rec {
				if !bytes.Equal(r.Body, whole) {
					t.Errorf("attempt %d: body of %d bytes, want %d", i, len(r.Body), len(whole))
				}
				if algo == "" && lens[i] != int64(len(whole)) {
					t.Errorf("attempt %d: ContentLength %d, want %d", i, lens[i], len(whole))
				}
			}
		})
	}
	c := newTestClient(t, Config{FEURLs: []string{"http://127.0.0.1:1"}})
	req := jsonReq("lbl-both")
	req.BodyParts = parts
	if _, err := c.Load(context.Background(), req); err == nil || !strings.Contains(err.Error(), "both Body and BodyParts") {
		t.Errorf("Body and BodyParts together: %v", err)
	}
}

func TestLoadCSVHeaders(t *testing.T) {
	f := newFakeSR(t)
	c := newTestClient(t, Config{FEURLs: []string{f.fe.URL}})
	req := &Request{DB: "db1", Table: "t", Label: "lbl-csv", Format: FormatCSV, Columns: []string{"a", "b"},
		CSVColumnSeparator: "\x01", CSVRowDelimiter: "\x02\n", Headers: CSVHeaders(),
		Body: AppendCSVRow(nil, [][]byte{[]byte("x"), nil}, "\x01", "\x02\n")}
	if _, err := c.Load(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	h := f.recorded()[0].Header
	for k, v := range map[string]string{"Format": "csv", "Column_separator": `\x01`, "Row_delimiter": `\x02\x0a`,
		"Escape": `\`, "Strip_outer_array": ""} {
		if got := h.Get(k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
}

func TestLoadConcurrencyBound(t *testing.T) {
	const limit, loads = 2, 6
	f := newFakeSR(t)
	var cur, peak atomic.Int32
	release := make(chan struct{})
	entered := make(chan struct{}, loads)
	f.load = func(int, *http.Request, []byte) (int, string) {
		n := cur.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		entered <- struct{}{}
		<-release
		cur.Add(-1)
		return 200, `{"Status":"Success"}`
	}
	c := newTestClient(t, Config{FEURLs: []string{f.fe.URL}, MaxConcurrentLoads: limit})
	var wg sync.WaitGroup
	for i := range loads {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.Load(context.Background(), jsonReq("lbl-c"+string(rune('a'+i)))); err != nil {
				t.Error(err)
			}
		}()
	}
	for range loads {
		<-entered
		release <- struct{}{}
	}
	wg.Wait()
	if p := peak.Load(); p > limit {
		t.Errorf("peak concurrency %d > %d", p, limit)
	}
}

func TestLoadRejectsBadRequest(t *testing.T) {
	c := newTestClient(t, Config{FEURLs: []string{"http://127.0.0.1:1"}})
	for _, r := range []*Request{
		nil,
		{DB: "d", Table: "t", Label: "bad label"},
		{DB: "d", Table: "t", Label: strings.Repeat("a", 129)},
		{Table: "t", Label: "l"},
		{DB: "d", Table: "t", Label: "l", Compression: "bzip3"},
		{DB: "d", Table: "t", Label: "l", Format: FormatCSV, CSVColumnSeparator: `\t`},
		{DB: "d", Table: "t", Label: "l", Headers: map[string]string{"Label": "other"}},
		{DB: "d", Table: "t", Label: "l", Headers: map[string]string{"MAX_FILTER_RATIO": "0.1"}},
		{DB: "d", Table: "t", Label: "l", Headers: map[string]string{"strict_mode": "false"}},
		{DB: "d", Table: "t", Label: "l", Headers: map[string]string{"Expect": ""}},
	} {
		if _, err := c.Load(context.Background(), r); err == nil {
			t.Errorf("request %+v accepted", r)
		}
	}
}

func TestNewValidates(t *testing.T) {
	for _, cfg := range []Config{{}, {FEURLs: []string{"ftp://x"}}, {FEURLs: []string{"http://[::1"}}, {FEURLs: []string{"x"}, CAFile: "testdata/missing.pem"}} {
		if _, err := New(cfg, nil); err == nil {
			t.Errorf("config %+v accepted", cfg)
		}
	}
	c, err := New(Config{FEURLs: []string{"fe1:8030/"}}, nil)
	if err != nil || c.fe().String() != "http://fe1:8030" {
		t.Errorf("scheme-less URL: %v %v", c, err)
	}
}

func TestLoadState(t *testing.T) {
	f := newFakeSR(t)
	f.states = []string{"visible"}
	c := newTestClient(t, Config{FEURLs: []string{f.fe.URL}})
	st, err := c.LoadState(context.Background(), "db1", "lbl:1")
	if err != nil || st != "VISIBLE" {
		t.Fatalf("state %q, %v", st, err)
	}
}

func TestParseLoadState(t *testing.T) {
	for _, tc := range []struct{ body, want string }{
		{`{"state":"VISIBLE","reason":"","status":"OK","code":"0","msg":"Success","message":"OK"}`, "VISIBLE"},
		{`{"state":"ABORTED","reason":"timeout by txn manager","status":"OK","code":"0"}`, "ABORTED"},
		{`{"status":"FAILED","code":"1","msg":"unknown database, database=x","message":"unknown database, database=x"}`, ""},
		{`{"State":"aborted"}`, "ABORTED"},
		{`{"msg":"success","code":0,"data":"PREPARE","count":0}`, "PREPARE"},
		{`{"status":"FAILED","msg":"no such db"}`, ""},
		{`not json`, ""},
	} {
		got, err := parseLoadState([]byte(tc.body))
		if got != tc.want || (tc.want == "") != (err != nil) {
			t.Errorf("%s: %q, %v", tc.body, got, err)
		}
	}
}

func TestBackoffIsCapped(t *testing.T) {
	c := newTestClient(t, Config{FEURLs: []string{"http://fe"}, RetryBackoff: 100, MaxRetryBackoff: 1000})
	for n := range 40 {
		d := c.backoff(n)
		if d < 0 || d > 1000 {
			t.Fatalf("backoff(%d) = %d", n, d)
		}
	}
}

// Loads share one transport: sequential loads reuse one BE connection.
// (The FE side is not asserted: Go's test server closes a connection whose
// 100-continue body it never read, which StarRocks' FE need not do.)
func TestLoadReusesBEConnection(t *testing.T) {
	f := newFakeSR(t)
	c := newTestClient(t, Config{FEURLs: []string{f.fe.URL}})
	for i := range 10 {
		if _, err := c.Load(context.Background(), jsonReq("lbl-reuse-"+strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.beConns.Load(); n != 1 {
		t.Errorf("%d BE connections for 10 sequential loads, want 1", n)
	}
}
