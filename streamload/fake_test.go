package streamload

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
	"go.uber.org/zap/zaptest"
)

const (
	testUser = "loader"
	testPass = "s3cret-pw"
)

// recorded is one request a fake BE received, body decompressed.
type recorded struct {
	Path   string
	Header http.Header
	Body   []byte
}

// fakeSR is an httptest FE and BE on two ports: the FE redirects loads with
// 307 to the BE and answers get_load_state; the BE checks credentials and
// hands each load to the test's load function.
type fakeSR struct {
	t      *testing.T
	fe, be *httptest.Server

	mu     sync.Mutex
	loads  []recorded
	feHits int
	states []string // get_load_state answers, in order; the last repeats
	stateN int
	// stateOf, when set, answers get_load_state instead of states.
	stateOf func(label string) string
	errLogs int
	beConns atomic.Int32 // BE connections opened

	// load answers the n-th load (0-based): HTTP status and body. A status
	// of -1 drops the connection without an answer (a lost response).
	load func(n int, r *http.Request, body []byte) (int, string)
	// txn answers the transaction interface's control calls (begin,
	// prepare, commit, rollback) on the FE.
	txn func(op string, r *http.Request) string
	// location, when set, is the host:port the FE names in its redirect.
	location string
}

func newFakeSR(t *testing.T) *fakeSR {
	t.Helper()
	f := &fakeSR{t: t}
	f.be = httptest.NewUnstartedServer(http.HandlerFunc(f.serveBE))
	f.be.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			f.beConns.Add(1)
		}
	}
	f.be.Start()
	f.fe = httptest.NewServer(http.HandlerFunc(f.serveFE))
	t.Cleanup(func() { f.fe.Close(); f.be.Close() })
	return f
}

func (f *fakeSR) serveFE(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.feHits++
	f.mu.Unlock()
	if u, p, ok := r.BasicAuth(); !ok || u != testUser || p != testPass {
		http.Error(w, "Access denied", http.StatusUnauthorized)
		return
	}
	if strings.HasSuffix(r.URL.Path, "/get_load_state") {
		f.mu.Lock()
		st := "UNKNOWN"
		if f.stateOf != nil {
			st = f.stateOf(r.URL.Query().Get("label"))
		} else if len(f.states) > 0 {
			st = f.states[min(f.stateN, len(f.states)-1)]
			f.stateN++
		}
		f.mu.Unlock()
		// The shape of StarRocks' GetStreamLoadState answer.
		_ = json.NewEncoder(w).Encode(map[string]string{"state": st, "reason": "", "status": "OK", "code": "0",
			"msg": "Success", "message": "OK"})
		return
	}
	if op, ok := strings.CutPrefix(r.URL.Path, "/api/transaction/"); ok && op != "load" && f.txn != nil {
		io.WriteString(w, f.txn(op, r))
		return
	}
	if r.Method == http.MethodPut && r.Header.Get("Expect") != "100-continue" {
		// StarRocks requires it; the client must always send it.
		http.Error(w, "There is no 100-continue header", http.StatusBadRequest)
		return
	}
	// Never read the body: the FE only redirects, so with 100-continue
	// the client must not have sent it.
	host := strings.TrimPrefix(f.be.URL, "http://")
	if f.location != "" {
		host = f.location
	}
	w.Header().Set("Location", "http://"+host+r.URL.RequestURI())
	w.WriteHeader(http.StatusTemporaryRedirect)
}

func (f *fakeSR) serveBE(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/api/_load_error_log" {
		f.mu.Lock()
		f.errLogs++
		f.mu.Unlock()
		io.WriteString(w, "Error: Value count does not match column count. Row: [1, x]\n")
		return
	}
	if u, p, ok := r.BasicAuth(); !ok || u != testUser || p != testPass {
		http.Error(w, "Access denied", http.StatusUnauthorized)
		return
	}
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	body, err := decompress(r.Header.Get("compression"), raw)
	if err != nil {
		f.t.Errorf("BE: %v", err)
	}
	f.mu.Lock()
	n := len(f.loads)
	f.loads = append(f.loads, recorded{Path: r.URL.Path, Header: r.Header.Clone(), Body: body})
	f.mu.Unlock()
	code, resp := http.StatusOK, `{"Status":"Success","Message":"OK","TxnId":1,"NumberTotalRows":1,"NumberLoadedRows":1}`
	if f.load != nil {
		code, resp = f.load(n, r, body)
	}
	if code < 0 {
		hj, ok := w.(http.Hijacker)
		if !ok {
			f.t.Fatal("no hijacker")
		}
		conn, _, _ := hj.Hijack()
		conn.Close()
		return
	}
	w.WriteHeader(code)
	io.WriteString(w, resp)
}

func (f *fakeSR) recorded() []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]recorded(nil), f.loads...)
}

func decompress(algo string, b []byte) ([]byte, error) {
	var r io.Reader
	switch algo {
	case "":
		return b, nil
	case "gzip":
		gr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, err
		}
		r = gr
	case "lz4_frame":
		r = lz4.NewReader(bytes.NewReader(b))
	case "zstd":
		zr, err := zstd.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, err
		}
		defer zr.Close()
		r = zr
	}
	return io.ReadAll(r)
}

// fakeClock is a client's clock in tests: sleeping advances it at once, so
// retry budgets are spent without waiting and without timing asserts.
type fakeClock struct {
	mu    sync.Mutex
	t     time.Time
	slept time.Duration
}

func (k *fakeClock) now() time.Time {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.t
}

func (k *fakeClock) sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	k.mu.Lock()
	k.t = k.t.Add(d)
	k.slept += d
	k.mu.Unlock()
	return nil
}

// useFakeClock gives c a fake clock and returns it.
func useFakeClock(c *Client) *fakeClock {
	k := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	c.now, c.sleep = k.now, k.sleep
	return k
}

// newTestClient returns a client of f on a fake clock: backoffs do not
// wait.
func newTestClient(t *testing.T, cfg Config) *Client {
	t.Helper()
	if cfg.User == "" {
		cfg.User, cfg.Password = testUser, testPass
	}
	c, err := New(cfg, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	useFakeClock(c)
	t.Cleanup(c.Close)
	return c
}

func jsonReq(label string) *Request {
	return &Request{DB: "db1", Table: "orders", Label: label, Format: FormatJSON,
		Columns: []string{"id", "name", "__op"},
		Body:    []byte(`[{"id":1,"name":"a","__op":0},{"id":2,"name":"b","__op":1}]`)}
}
