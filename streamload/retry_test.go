package streamload

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

const shuttingDown = `{"Status":"Fail","Message":"Service is shutting down, please retry later!"}`

// A BE rolling restart: the batch is answered "shutting down" a few times,
// then loaded, every attempt with the same label.
func TestLoadRetriesThroughRollingRestart(t *testing.T) {
	f := newFakeSR(t)
	f.load = func(n int, _ *http.Request, _ []byte) (int, string) {
		if n < 6 {
			return 200, shuttingDown
		}
		return 200, `{"Status":"Success","NumberLoadedRows":2}`
	}
	c := newTestClient(t, Config{FEURLs: []string{f.fe.URL}})
	if _, err := c.Load(context.Background(), jsonReq("lbl-restart")); err != nil {
		t.Fatal(err)
	}
	rec := f.recorded()
	if len(rec) != 7 {
		t.Fatalf("BE got %d loads, want 7", len(rec))
	}
	for _, r := range rec {
		if r.Header.Get("Label") != "lbl-restart" {
			t.Errorf("label %q", r.Header.Get("Label"))
		}
	}
}

// StarRocks unavailable past starrocks.retry_for: the error is retryable
// (the caller stops, never dead-letters), names the last answer and the
// time spent, and no pause went past the budget.
func TestLoadGivesUpAfterRetryFor(t *testing.T) {
	tests := []struct {
		name       string
		maxRetries int
		wantLoads  int // 0: whatever the budget allows
	}{
		{name: "budget alone", maxRetries: 0},
		{name: "max_retries cap before the budget", maxRetries: 3, wantLoads: 4},
		{name: "max_retries cap after the budget", maxRetries: 10000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeSR(t)
			f.load = func(int, *http.Request, []byte) (int, string) { return 200, shuttingDown }
			const budget = time.Minute
			c := newTestClient(t, Config{FEURLs: []string{f.fe.URL}, RetryFor: budget, MaxRetries: tt.maxRetries,
				RetryBackoff: time.Second, MaxRetryBackoff: 8 * time.Second})
			k := useFakeClock(c)
			_, err := c.Load(context.Background(), jsonReq("lbl-budget"))
			var le *LoadError
			if !errors.As(err, &le) {
				t.Fatalf("error %v, want *LoadError", err)
			}
			loads := len(f.recorded())
			switch {
			case !le.Retryable:
				t.Errorf("Retryable = false: StarRocks being unavailable must not read as a data refusal")
			case le.Status != "Fail" || !strings.Contains(le.Message, "shutting down"):
				t.Errorf("error does not name the last answer: %v", err)
			case le.Attempts != loads:
				t.Errorf("Attempts = %d, BE got %d loads", le.Attempts, loads)
			case tt.wantLoads != 0 && loads != tt.wantLoads:
				t.Errorf("BE got %d loads, want %d", loads, tt.wantLoads)
			case tt.wantLoads == 0 && loads < 8:
				t.Errorf("BE got %d loads in a %s budget with backoffs of at most 8s", loads, budget)
			case k.slept > budget || le.Elapsed > budget:
				t.Errorf("slept %s, elapsed %s: past the %s budget", k.slept, le.Elapsed, budget)
			case !strings.Contains(err.Error(), "attempts over"):
				t.Errorf("error does not say the time spent: %v", err)
			}
		})
	}
}

// A data refusal is answered at once, whatever the budget.
func TestLoadDataRefusalIsNotRetried(t *testing.T) {
	f := newFakeSR(t)
	f.load = func(int, *http.Request, []byte) (int, string) {
		return 200, `{"Status":"Fail","Message":"too many filtered rows"}`
	}
	c := newTestClient(t, Config{FEURLs: []string{f.fe.URL}, RetryFor: time.Hour})
	_, err := c.Load(context.Background(), jsonReq("lbl-refused"))
	var le *LoadError
	if !errors.As(err, &le) || le.Retryable || le.Attempts != 1 {
		t.Fatalf("error %#v", err)
	}
	if n := len(f.recorded()); n != 1 {
		t.Errorf("BE got %d loads, want 1", n)
	}
}

// brokenUpload answers like StarRocks after a client dropped the
// connection mid-body: the BE registered the label at begin_txn (before the
// body) and rolls the transaction back only later, so a retry meets "Label
// Already Exists"/RUNNING until get_load_state reports the final state.
type brokenUpload struct {
	mu      sync.Mutex
	running int    // get_load_state answers RUNNING this many times
	final   string // then this: ABORTED (label free again) or VISIBLE
	lookups int
	settled bool
}

func (b *brokenUpload) load(n int, _ *http.Request, _ []byte) (int, string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case n == 0:
		return -1, "" // the upload breaks; the label stays registered
	case !b.settled || b.final != "ABORTED":
		return 200, `{"TxnId":-1,"Label":"lbl-broken","Status":"Label Already Exists","ExistingJobStatus":"RUNNING",` +
			`"Message":"Label [lbl-broken] has already been used."}`
	}
	return 200, `{"Status":"Success","NumberLoadedRows":2}`
}

func (b *brokenUpload) state(string) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.lookups++
	if b.lookups > b.running {
		b.settled = true
		return b.final
	}
	return "RUNNING"
}

func TestLoadAfterBrokenUpload(t *testing.T) {
	tests := []struct {
		name       string
		running    int
		final      string
		wantLoads  int
		wantStatus string // of the response; "" when an error is expected
	}{
		{name: "rolled back: sent again with the same label", running: 3, final: "ABORTED", wantLoads: 3, wantStatus: "Success"},
		{name: "loaded after all: done", running: 3, final: "VISIBLE", wantLoads: 2, wantStatus: "Label Already Exists"},
		{name: "still running past retry_for: retryable error", running: 1 << 30, final: "ABORTED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeSR(t)
			b := &brokenUpload{running: tt.running, final: tt.final}
			f.load, f.stateOf = b.load, b.state
			const budget = 5 * time.Minute
			c := newTestClient(t, Config{FEURLs: []string{f.fe.URL}, RetryFor: budget, LabelPollInterval: time.Second})
			k := useFakeClock(c)
			resp, err := c.Load(context.Background(), jsonReq("lbl-broken"))
			for _, r := range f.recorded() {
				if r.Header.Get("Label") != "lbl-broken" {
					t.Errorf("label %q", r.Header.Get("Label"))
				}
			}
			if tt.wantStatus == "" {
				var le *LoadError
				if !errors.As(err, &le) || !le.Retryable || !strings.Contains(le.Message, "still RUNNING") {
					t.Fatalf("error %v, want a retryable error naming the RUNNING label", err)
				}
				if k.slept > budget {
					t.Errorf("slept %s past the %s budget", k.slept, budget)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if resp.Status != tt.wantStatus {
				t.Errorf("Status %q, want %q", resp.Status, tt.wantStatus)
			}
			if n := len(f.recorded()); n != tt.wantLoads {
				t.Errorf("BE got %d loads, want %d", n, tt.wantLoads)
			}
		})
	}
}
