package status_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/starsink/starsink/status"
)

// worker stands for sink.Worker: what it keeps and the calls it makes.
type worker struct {
	mu      sync.Mutex
	tracker *status.Tracker
	paused  map[string]bool
	parts   map[string][]status.Partition // by table: assigned partitions, the worker's own lag
}

// Status implements status.Source: the live part from the worker, the
// history from the Tracker.
func (w *worker) Status() status.Member {
	w.mu.Lock()
	defer w.mu.Unlock()
	m := status.Member{Group: "starsink", MemberID: "m-1", Generation: 3, Time: time.Now()}
	for name, parts := range w.parts {
		t := status.Table{Name: name, State: status.StateIdle, Partitions: append([]status.Partition(nil), parts...)}
		if w.paused[name] {
			t.State, t.Reason = status.StatePaused, "paused by an operator"
		}
		w.tracker.Fill(&t)
		m.Tables = append(m.Tables, t)
	}
	return m
}

// PauseTable and ResumeTable implement status.Pauser.
func (w *worker) PauseTable(name string) error  { return w.setPaused(name, true) }
func (w *worker) ResumeTable(name string) error { return w.setPaused(name, false) }

func (w *worker) setPaused(name string, p bool) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.parts[name]; !ok {
		return &status.UnknownTableError{Table: name}
	}
	w.paused[name] = p // the real worker also calls PauseFetchPartitions / ResumeFetchPartitions
	return nil
}

// Example shows the calls a worker makes and how the handlers are
// mounted.
func Example() {
	reg := prometheus.NewRegistry()
	w := &worker{
		tracker: status.NewTracker(reg, nil),
		paused:  map[string]bool{},
		parts:   map[string][]status.Partition{"shop.orders": {{Topic: "pg.public.orders", Partition: 0, Committed: 90, End: 100, Lag: 10}}},
	}

	// While a batch fills: one Add per row, from debezium.Event.SourceTS.
	var src status.SourceTimes
	for _, ts := range []int64{1_700_000_000_000, 1_700_000_000_250} {
		src.Add(ts)
	}
	// After the Stream Load succeeded:
	w.tracker.Loaded("shop.orders", status.Load{Label: "starsink-orders-0-0-1", Rows: 2, DurationSeconds: 0.03, Status: "Success", At: time.Now()}, src)
	// After a retry, a dead-lettered record, a revoke: Retried, DeadLettered, Forget.
	w.tracker.Retried("shop.orders")

	mux := http.NewServeMux()
	(&status.Handler{Source: w, Freshness: w.tracker.Freshness}).Register(mux) // Admin: kadm.NewClient(cl) in the worker
	admin := status.NewAdmin(w, true, "", nil)
	reg.MustRegister(admin)
	admin.Register(mux)

	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/tables/shop.orders/pause", nil))
	fmt.Print(rec.Code, " ", rec.Body.String())
	m := w.Status()
	fmt.Println(m.Tables[0].Name, m.Tables[0].State, m.Tables[0].Retries, m.Tables[0].LastLoad.Rows)
	// Output:
	// 200 {"table":"shop.orders","paused":true}
	// shop.orders paused 1 2
}
