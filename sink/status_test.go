package sink

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"

	"github.com/starsink/starsink/config"
	"github.com/starsink/starsink/emulator"
	"github.com/starsink/starsink/mapping"
	"github.com/starsink/starsink/status"
)

const statusTable = "subway.subway_passengers_copy"

// changeAt produces an insert of row i whose source commit time is tsMs
// (source.ts_ms), and applies it to the expected state.
func (h *harness) changeAt(i int, tsMs int64) {
	h.t.Helper()
	date, line, station := fmt.Sprintf("2024%04d", i%1000), fmt.Sprintf("%d호선", i%9+1), fmt.Sprintf("역%d", i)
	row := map[string]any{"use_date": date, "line_no": line, "station_name": station,
		"pass_in": decimalB64(int64(i)), "pass_out": decimalB64(1), "reg_date": "20240604"}
	h.mu.Lock()
	h.lsn += 8
	lsn := h.lsn
	h.model[date+"|"+line+"|"+station] = [3]string{fmt.Sprint(i), "1", "20240604"}
	h.mu.Unlock()
	key, _ := json.Marshal(map[string]string{"use_date": date, "line_no": line, "station_name": station})
	val, _ := json.Marshal(map[string]any{"before": nil, "after": row, "op": "c",
		"source": map[string]any{"connector": "postgresql", "ts_ms": tsMs, "lsn": lsn}})
	h.produce(key, val)
}

// statusClient calls a worker's HTTP handler.
type statusClient struct {
	t   *testing.T
	url string
}

func (c statusClient) do(method, path, token string) (int, string) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.url+path, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (c statusClient) status() status.Member {
	c.t.Helper()
	code, body := c.do(http.MethodGet, "/status", "")
	if code != http.StatusOK {
		c.t.Fatalf("GET /status: %d %s", code, body)
	}
	var m status.Member
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		c.t.Fatalf("GET /status: %v\n%s", err, body)
	}
	return m
}

// until polls cond until it holds or 20 s pass.
func until(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func tableOf(m status.Member, name string) *status.Table {
	for i := range m.Tables {
		if m.Tables[i].Name == name {
			return &m.Tables[i]
		}
	}
	return nil
}

func committedSum(tb *status.Table) int64 {
	var n int64
	for _, p := range tb.Partitions {
		if p.Committed > 0 {
			n += p.Committed
		}
	}
	return n
}

// TestStatusPauseResumeOverHTTP runs a worker as an operator meets it:
// GET /status after a load shows the table, its partitions, committed
// offsets and last load; a pause over HTTP (http.admin, a bearer token)
// stops loading the table while records arrive, and a resume loads and
// commits them; freshness is exported for the table after loads whose
// messages carry source.ts_ms.
func TestStatusPauseResumeOverHTTP(t *testing.T) {
	const token = "s3cret"
	h := newHarness(t, 2)
	h.cfg.HTTP.Admin = true
	h.cfg.HTTP.AdminToken = token
	reg := prometheus.NewRegistry()
	w, err := New(h.cfg, Deps{Schemas: emuSchemas{h.emu}, Registerer: reg}, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	srv := httptest.NewServer(w.Handler(reg))
	defer srv.Close()
	c := statusClient{t: t, url: srv.URL}

	now := time.Now().UnixMilli()
	for i := 0; i < 20; i++ {
		h.changeAt(i, now-5000)
	}
	if err := h.converged(20 * time.Second); err != nil {
		t.Fatal(err)
	}
	var m status.Member
	until(t, "/status to show the 20 records committed and the last load", func() bool {
		m = c.status()
		tb := tableOf(m, statusTable)
		return tb != nil && committedSum(tb) == 20 && tb.LastLoad != nil
	})
	if m.Group != h.cfg.Kafka.GroupID || m.MemberID == "" || m.Generation < 1 {
		t.Errorf("group %q member %q generation %d: want the worker's group membership", m.Group, m.MemberID, m.Generation)
	}
	if len(m.Assigned) != 1 || m.Assigned[0].Topic != testTopic || len(m.Assigned[0].Partitions) != 2 {
		t.Errorf("assigned %+v, want both partitions of %s", m.Assigned, testTopic)
	}
	tb := tableOf(m, statusTable)
	if len(m.Tables) != 1 || len(tb.Partitions) != 2 {
		t.Fatalf("tables %+v, want %s with 2 partitions", m.Tables, statusTable)
	}
	if tb.State != status.StateIdle || tb.LagRecords != 0 {
		t.Errorf("state %s lag %d, want idle and caught up", tb.State, tb.LagRecords)
	}
	for _, p := range tb.Partitions {
		if p.End != p.Committed || p.Lag != 0 {
			t.Errorf("partition %+v: want committed at the end, no lag", p)
		}
	}
	if l := tb.LastLoad; l.Status != "Success" || l.Rows == 0 || !strings.HasPrefix(l.Label, h.cfg.StarRocks.LabelPrefix) {
		t.Errorf("last load %+v", l)
	}
	if tb.LastError != nil || tb.Retries != 0 || tb.DeadLettered != 0 {
		t.Errorf("last error %+v, retries %d, dead-lettered %d: want none", tb.LastError, tb.Retries, tb.DeadLettered)
	}

	// Pause: refused without the token, unknown tables are 404.
	if code, body := c.do(http.MethodPost, "/tables/"+statusTable+"/pause", ""); code != http.StatusUnauthorized {
		t.Errorf("pause without the token: %d %s, want 401", code, body)
	}
	if code, body := c.do(http.MethodPost, "/tables/subway.nope/pause", token); code != http.StatusNotFound {
		t.Errorf("pause of a table the worker does not load: %d %s, want 404", code, body)
	}
	for range 2 { // pausing a paused table is done too
		if code, body := c.do(http.MethodPost, "/tables/"+statusTable+"/pause", token); code != http.StatusOK || !strings.Contains(body, `"paused":true`) {
			t.Fatalf("pause: %d %s", code, body)
		}
	}
	if tb := tableOf(c.status(), statusTable); tb.State != status.StatePaused || !strings.Contains(tb.Reason, "operator") {
		t.Errorf("paused table: state %s reason %q", tb.State, tb.Reason)
	}
	if _, body := c.do(http.MethodGet, "/metrics", ""); !strings.Contains(body, `starsink_table_paused{table="`+statusTable+`"} 1`) {
		t.Errorf("/metrics lacks starsink_table_paused 1 for the paused table")
	}

	// While paused, new records are neither fetched nor loaded. The budget
	// resuming its topics must not resume the table either.
	records := w.Stats().Records
	for i := 20; i < 30; i++ {
		h.changeAt(i, now)
	}
	w.mu.Lock()
	w.buffered.Add(w.cfg.Batch.BufferMemory)
	w.budget()
	w.buffered.Add(-w.cfg.Batch.BufferMemory)
	w.budget()
	paused := w.cl.PauseFetchPartitions(nil)[testTopic]
	w.mu.Unlock()
	if len(paused) != 2 {
		t.Errorf("paused partitions after the budget paused and resumed: %v, want both", paused)
	}
	time.Sleep(500 * time.Millisecond) // time the worker would need to fetch them
	if got := w.Stats().Records; got != records {
		t.Errorf("%d records consumed while the table was paused", got-records)
	}
	if rows, err := h.emu.Rows("subway", "subway_passengers_copy"); err != nil || len(rows) != 20 {
		t.Errorf("target has %d rows while paused (%v), want 20", len(rows), err)
	}

	// Resume: the records are loaded and committed.
	for range 2 {
		if code, body := c.do(http.MethodPost, "/tables/"+statusTable+"/resume", token); code != http.StatusOK || !strings.Contains(body, `"paused":false`) {
			t.Fatalf("resume: %d %s", code, body)
		}
	}
	if err := h.converged(20 * time.Second); err != nil {
		t.Fatal(err)
	}
	until(t, "/status to show the 30 records committed", func() bool {
		tb := tableOf(c.status(), statusTable)
		return tb != nil && committedSum(tb) == 30 && tb.State == status.StateIdle
	})
	_, body := c.do(http.MethodGet, "/metrics", "")
	for _, want := range []string{
		`starsink_table_paused{table="` + statusTable + `"} 0`,
		`starsink_freshness_seconds{table="` + statusTable + `"}`,
		`starsink_end_to_end_seconds_count{table="` + statusTable + `"}`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if s, ok := w.Freshness().Seconds(statusTable); !ok || s > 3600 {
		t.Errorf("freshness %v %v: want the age of the newest change loaded (seconds)", s, ok)
	}
	cancel()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
}

// TestPauseHoldsOnPartitionsGainedLater pauses a table on one of two
// workers, stops the other: the partition the paused worker takes over is
// paused too, and everything loads once the table is resumed.
func TestPauseHoldsOnPartitionsGainedLater(t *testing.T) {
	h := newHarness(t, 2)
	cfgA, cfgB := *h.cfg, *h.cfg
	cfgA.Kafka.ClientID, cfgB.Kafka.ClientID = "a", "b"
	a, stopA := h.worker(&cfgA)
	b, stopB := h.worker(&cfgB)
	owns := func(w *Worker, n int) func() bool {
		return func() bool { return len(w.own.partitions()[testTopic]) == n }
	}
	until(t, "each worker to own one partition", func() bool { return owns(a, 1)() && owns(b, 1)() })
	if err := a.PauseTable(statusTable); err != nil {
		t.Fatal(err)
	}
	if err := a.PauseTable(statusTable); err != nil {
		t.Fatalf("pausing a paused table: %v", err)
	}
	var unknown *status.UnknownTableError
	if err := a.ResumeTable("subway.nope"); !errors.As(err, &unknown) {
		t.Errorf("resume of a table the worker does not load: %v, want an UnknownTableError", err)
	}
	if err := stopB(); err != nil {
		t.Fatalf("worker b: %v", err)
	}
	until(t, "worker a to own both partitions", owns(a, 2))
	if got := a.cl.PauseFetchPartitions(nil)[testTopic]; len(got) != 2 {
		t.Errorf("paused partitions %v after the rebalance, want both", got)
	}
	records := a.Stats().Records
	for i := range 40 { // the sticky partitioner spreads them over both partitions
		h.changeAt(i, time.Now().UnixMilli())
	}
	if tb := tableOf(a.Status(), statusTable); tb == nil || tb.State != status.StatePaused || len(tb.Partitions) != 2 {
		t.Errorf("status of the paused table: %+v", tb)
	}
	time.Sleep(500 * time.Millisecond) // time the worker would need to fetch them
	if got := a.Stats().Records; got != records {
		t.Errorf("%d records consumed while the table was paused", got-records)
	}
	if err := a.ResumeTable(statusTable); err != nil {
		t.Fatal(err)
	}
	if err := h.converged(20 * time.Second); err != nil {
		t.Fatal(err)
	}
	if err := stopA(); err != nil {
		t.Fatalf("worker a: %v", err)
	}
	if got, want := h.committed(h.cfg.Kafka.GroupID), h.endOffsets(); got != want {
		t.Errorf("committed %d, end offsets %d", got, want)
	}
}

// TestStatusCountsRetriesDeadLettersAndFailure: /status counts a table's
// Stream Load retries and dead-lettered records, keeps the last error with
// the record it is about, shows a budget pause with its reason, and a
// table whose record stops the worker as failed.
func TestStatusCountsRetriesDeadLettersAndFailure(t *testing.T) {
	t.Run("retries and dead letters", func(t *testing.T) {
		h := newHarness(t, 1, "starsink.dlq")
		h.cfg.Errors.Tolerance = "all"
		h.cfg.Errors.DLQTopic = "starsink.dlq"
		h.emu.SetFaults(emulator.Faults{FailRatio: 1})
		w, stop := h.worker(h.cfg)
		h.changeAt(1, time.Now().UnixMilli())
		until(t, "a retry to be counted", func() bool {
			tb := tableOf(w.Status(), statusTable)
			return tb != nil && tb.Retries > 0
		})
		h.emu.SetFaults(emulator.Faults{})
		h.produce([]byte(`{"k":1}`), []byte(`{not json`))
		h.changeAt(2, time.Now().UnixMilli())
		if err := h.converged(20 * time.Second); err != nil {
			t.Fatal(err)
		}
		var tb *status.Table
		until(t, "the dead-lettered record to be counted", func() bool {
			tb = tableOf(w.Status(), statusTable)
			return tb.DeadLettered == 1 && tb.LastLoad != nil
		})
		if e := tb.LastError; e == nil || e.Topic != testTopic || e.Offset != 1 || e.Message == "" {
			t.Errorf("last error %+v, want the dead-lettered record's", e)
		}
		committed, owned := w.cl.CommittedOffsets(), w.own.partitions()
		w.mu.Lock()
		w.buffered.Add(w.cfg.Batch.BufferMemory)
		w.budget()
		tb = tableOf(w.statusLocked(status.Member{}, committed, owned), statusTable)
		w.buffered.Add(-w.cfg.Batch.BufferMemory)
		w.budget()
		w.mu.Unlock()
		if tb.State != status.StatePaused || !strings.Contains(tb.Reason, "batch.buffer_memory") {
			t.Errorf("budget pause: state %s reason %q", tb.State, tb.Reason)
		}
		if err := stop(); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("failed", func(t *testing.T) {
		h := newHarness(t, 1)
		h.changeAt(1, time.Now().UnixMilli())
		h.produce([]byte(`{"k":1}`), []byte(`{not json`))
		w, stop := h.worker(h.cfg)
		until(t, "the table to fail", func() bool {
			tb := tableOf(w.Status(), statusTable)
			return tb != nil && tb.State == status.StateFailed
		})
		if err := stop(); err == nil {
			t.Error("Run returned no error after a poison record")
		}
		if e := tableOf(w.Status(), statusTable).LastError; e.Topic != testTopic || e.Offset != 1 {
			t.Errorf("last error %+v, want the poison record's", e)
		}
	})
}

// TestProgressPollsWithTheFetchLag: once per poll the worker reports its
// rows loaded and the records left over its partitions (as the last
// fetches said) to the progress log.
func TestProgressPollsWithTheFetchLag(t *testing.T) {
	core, logs := observer.New(zap.InfoLevel)
	mc := config.Default().Mapping
	mc.Template = "{table}"
	mapper, err := mapping.New(mc, "db")
	if err != nil {
		t.Fatal(err)
	}
	w := &Worker{progress: status.NewProgress(zap.New(core), 100, time.Hour, nil), mapper: mapper,
		tracker: status.NewTracker(prometheus.NewRegistry(), nil)}
	w.fetchedAt(&kgo.FetchTopicPartition{Topic: "a", FetchPartition: kgo.FetchPartition{Partition: 0, HighWatermark: 500}}, 90)
	w.fetchedAt(&kgo.FetchTopicPartition{Topic: "b", FetchPartition: kgo.FetchPartition{Partition: 3, HighWatermark: 80}}, 40)
	w.rowsLoaded.Store(7)
	w.pollDone()
	entries := logs.FilterMessage("catching up").All()
	if len(entries) != 1 || entries[0].ContextMap()["lag"] != int64(130) {
		t.Fatalf("progress log %v, want one catching up line with lag 130", logs.All())
	}
	w.forgetStatus(map[string][]int32{"a": {0}})
	w.pollDone()
	if entries := logs.FilterMessage("caught up").All(); len(entries) != 1 || entries[0].ContextMap()["lag"] != int64(40) {
		t.Fatalf("progress log %v, want caught up with lag 40 once partition a/0 is given up", logs.All())
	}
}
