package sink

// End-to-end proofs that starsink's failure paths lose, revert or NULL no
// row: each runs kfake, the in-process StarRocks emulator in the settings of
// the reference pipeline (shared-data, small memtables, the BE's
// information_schema spelling) and a real worker reading table schemas over
// the emulator's MySQL port.

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"

	"github.com/starsink/starsink/config"
	"github.com/starsink/starsink/emulator"
	"github.com/starsink/starsink/streamload"
)

const proofDLQ = "starsink.dlq"

// strictSettings are the reference pipeline's StarRocks: shared-data (with
// the Primary Key apply order of StarRocks #75014), a flush every 64 rows,
// and information_schema.columns as the BE spells it (IS_NULLABLE always
// NO, so nullability comes from SHOW FULL COLUMNS).
func strictSettings() *emulator.Settings {
	st := emulator.DefaultSettings()
	st.SharedData = true
	st.MemtableRows = 64
	st.InfoSchema = "be"
	return &st
}

// newProofHarness is a harness on the strict emulator with its MySQL port,
// a dead-letter topic, and the worker's catalog pointed at that port.
func newProofHarness(t *testing.T, faults emulator.Faults, extraTopics ...string) *harness {
	t.Helper()
	h := newHarnessWith(t, emulator.Config{Settings: strictSettings(), Faults: faults}, 1, append([]string{proofDLQ}, extraTopics...)...)
	h.cfg.StarRocks.MySQLAddr = h.emu.MySQLAddr()
	return h
}

// proofWorker starts a worker with the default loader and catalog (Stream
// Load and information_schema over the emulator's ports); stop cancels it
// and returns Run's error.
func proofWorker(h *harness, cfg *config.Config) (w *Worker, stop func() error) {
	w, stop, _ = proofWorkerLogs(h, cfg)
	return w, stop
}

// proofWorkerLogs is proofWorker that also keeps the worker's log entries.
func proofWorkerLogs(h *harness, cfg *config.Config) (w *Worker, stop func() error, logs *observer.ObservedLogs) {
	h.t.Helper()
	core, logs := observer.New(zapcore.DebugLevel)
	log := zaptest.NewLogger(h.t, zaptest.WrapOptions(zap.WrapCore(func(c zapcore.Core) zapcore.Core { return zapcore.NewTee(c, core) })))
	w, err := New(cfg, Deps{}, log)
	if err != nil {
		h.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	return w, func() error { cancel(); return <-done }, logs
}

// logged reports whether an entry's message or a field holds text.
func logged(logs *observer.ObservedLogs, text string) bool {
	for _, e := range logs.All() {
		if strings.Contains(e.Message, text) {
			return true
		}
		for _, v := range e.ContextMap() {
			if strings.Contains(fmt.Sprint(v), text) {
				return true
			}
		}
	}
	return false
}

// faultTrace is a text the worker's logs hold when a load met the fault.
var faultTrace = map[emulator.FaultKind]string{
	emulator.FaultShuttingDown:    "Service is shutting down",
	emulator.FaultNoBackend:       "No backend alive",
	emulator.FaultCommitUnknown:   "Transaction status unknown",
	emulator.FaultCompactionScore: "too large compaction score",
	emulator.FaultTooManyVersions: "too many versions",
	emulator.FaultHTTPLimit:       "exceed http cuncurrent limit",
	emulator.FaultMemLimit:        "Memory of load exceed limit",
	emulator.FaultPublishTimeout:  "Publish Timeout",
}

// proofRunToError runs a worker until it stops by itself; the test fails
// if it stops without an error or runs for 30 s.
func proofRunToError(h *harness) error {
	h.t.Helper()
	w, err := New(h.cfg, Deps{}, zaptest.NewLogger(h.t))
	if err != nil {
		h.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = w.Run(ctx)
	if err == nil || ctx.Err() != nil {
		h.t.Fatalf("Run = %v, want the refused record's error", err)
	}
	return err
}

// allCommitted waits until the group committed every offset of the topic.
// finish checks the end of a proof: every record committed, the worker
// stopping cleanly, and deadLettered records dead-lettered.
func (h *harness) finish(w *Worker, stop func() error, deadLettered int64) {
	h.t.Helper()
	if err := h.allCommitted(30 * time.Second); err != nil {
		h.t.Error(err)
	}
	if err := stop(); err != nil {
		h.t.Fatalf("Run: %v", err)
	}
	if n := w.Stats().DeadLettered; n != deadLettered {
		h.t.Errorf("%d records dead-lettered, want %d", n, deadLettered)
	}
}

func (h *harness) allCommitted(timeout time.Duration) error {
	want := h.endOffsets()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if h.committed(h.cfg.Kafka.GroupID) == want {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("committed %d, end offsets %d", h.committed(h.cfg.Kafka.GroupID), want)
}

// koreanRegDate is 7 Hangul syllables, 21 bytes in UTF-8: 7 characters
// fit reg_date VARCHAR(8) as a character count but not as StarRocks counts
// it, in bytes; without strict_mode StarRocks would store NULL.
const koreanRegDate = "이천이십사년유"

// TestProofTooLongVarcharRefusedWithCoordinates: a value longer in bytes
// than its nullable VARCHAR column (which StarRocks would load as NULL) is
// refused. With errors.tolerance none the worker stops with an error naming
// topic, partition, offset and column, and commits up to the record only
// (the records before it are loaded); with errors.tolerance all that record
// alone is dead-lettered with its coordinates, and the rest loaded and
// committed.
func TestProofTooLongVarcharRefusedWithCoordinates(t *testing.T) {
	const bad = 10 // the offset (and row) of the refused record
	produce := func(h *harness) {
		h.extra = func(i int) map[string]any {
			if i == bad {
				return map[string]any{"reg_date": koreanRegDate}
			}
			return nil
		}
		for i := 0; i < 15; i++ {
			h.change("c", i, int64(i), 1)
		}
	}
	t.Run("tolerance none stops before it", func(t *testing.T) {
		h := newProofHarness(t, emulator.Faults{})
		produce(h)
		err := proofRunToError(h)
		for _, want := range []string{testTopic, fmt.Sprintf("[0]@%d", bad), "reg_date"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not name %q", err, want)
			}
		}
		if got := h.committed(h.cfg.Kafka.GroupID); got != bad {
			t.Errorf("committed offset %d, want %d (the refused record)", got, bad)
		}
		for i := bad; i < 15; i++ { // not loaded: the worker stopped at bad
			delete(h.model, fmt.Sprintf("2024%04d|%d호선|역%d", i, i%9+1, i))
		}
		if err := h.compare(); err != nil {
			t.Errorf("the records before the refused one: %v", err)
		}
	})
	t.Run("tolerance all dead-letters it alone", func(t *testing.T) {
		h := newProofHarness(t, emulator.Faults{})
		h.cfg.Errors.Tolerance = "all"
		h.cfg.Errors.DLQTopic = proofDLQ
		produce(h)
		delete(h.model, fmt.Sprintf("2024%04d|%d호선|역%d", bad, bad%9+1, bad))
		w, stop := proofWorker(h, h.cfg)
		recs, hdr := h.deadLettered(proofDLQ)
		want := map[string]string{"__connect.errors.topic": testTopic, "__connect.errors.partition": "0",
			"__connect.errors.offset": strconv.Itoa(bad)}
		for k, v := range want {
			if hdr[k] != v {
				t.Errorf("header %s = %q, want %q", k, hdr[k], v)
			}
		}
		if msg := hdr["__connect.errors.exception.message"]; !strings.Contains(msg, "reg_date") {
			t.Errorf("exception message %q does not name column reg_date", msg)
		}
		if !strings.Contains(string(recs[0].Value), koreanRegDate) {
			t.Errorf("dead-lettered value %q is not the refused record", recs[0].Value)
		}
		if err := h.converged(20 * time.Second); err != nil {
			t.Fatal(err)
		}
		h.finish(w, stop, 1)
	})
}

// TestProofKeyOnlyDeleteRemovesRowWithNotNullColumns: with REPLICA
// IDENTITY DEFAULT a delete's before image holds only the key. On a Primary
// Key table whose value columns are NOT NULL, a delete row carrying NULL in
// them is filtered by StarRocks (and by the emulator) instead of deleting;
// starsink's delete must still remove the row.
func TestProofKeyOnlyDeleteRemovesRowWithNotNullColumns(t *testing.T) {
	const topic = "dip.cdc.public.stations_nn"
	h := newProofHarness(t, emulator.Faults{}, topic)
	ddl := `CREATE TABLE subway.stations_nn (id BIGINT NOT NULL, name VARCHAR(40) NOT NULL, qty INT NOT NULL, note VARCHAR(20) NOT NULL)
		PRIMARY KEY(id) DISTRIBUTED BY HASH(id) BUCKETS 2`
	if err := h.emu.Exec(context.Background(), ddl); err != nil {
		t.Fatal(err)
	}
	h.topic = topic
	h.cfg.Kafka.Topics = []string{topic}
	lsn := 0
	emit := func(op string, id int, before, after any) {
		lsn += 8
		key, _ := json.Marshal(map[string]any{"id": id})
		val, _ := json.Marshal(map[string]any{"before": before, "after": after, "op": op,
			"source": map[string]any{"connector": "postgresql", "ts_ms": 1, "lsn": lsn}})
		h.produce(key, val)
	}
	const n = 40
	for id := 1; id <= n; id++ {
		emit("c", id, nil, map[string]any{"id": id, "name": fmt.Sprintf("역%d", id), "qty": id * 10, "note": "n"})
	}
	for id := 2; id <= n; id += 2 {
		emit("d", id, map[string]any{"id": id}, nil) // the key only
	}
	_, stop := proofWorker(h, h.cfg)
	var last error
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if last = keyOnlyDeleted(h, n); last == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if last != nil {
		t.Error(last)
	}
	if err := h.allCommitted(20 * time.Second); err != nil {
		t.Error(err)
	}
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
}

// keyOnlyDeleted checks that stations_nn holds the odd ids only, each with
// its inserted image.
func keyOnlyDeleted(h *harness, n int) error {
	rows, err := h.emu.Rows("subway", "stations_nn")
	if err != nil {
		return err
	}
	if len(rows) != n/2 {
		return fmt.Errorf("target has %d rows, want %d (the even ids deleted)", len(rows), n/2)
	}
	for _, r := range rows {
		id, err := strconv.Atoi(fmt.Sprint(r[0]))
		if err != nil {
			return fmt.Errorf("row %v: id: %w", r, err)
		}
		if id%2 == 0 {
			return fmt.Errorf("row %d was deleted in the source", id)
		}
		if got, want := fmt.Sprint(r[1], "|", r[2], "|", r[3]), fmt.Sprintf("역%d|%d|n", id, id*10); got != want {
			return fmt.Errorf("row %d: got %s, want %s", id, got, want)
		}
	}
	return nil
}

// TestProofDeleteThenReinsertSurvivesSharedDataFlushes: 1,000 keys are
// each inserted, deleted and inserted again, all in one poll, on a
// shared-data table whose memtable flushes every 64 rows, so flushes fall
// between deletes and upserts of the same key (StarRocks #75014 applies a
// load's deletes after its upserts). Every key ends present with its last
// image. The control loads the same changes in one Stream Load, without
// starsink's split, and loses keys: the test can fail.
func TestProofDeleteThenReinsertSurvivesSharedDataFlushes(t *testing.T) {
	const n = 1000
	h := newProofHarness(t, emulator.Faults{})
	h.cfg.Batch.MaxRows = 5000
	h.cfg.Batch.MaxAge = time.Second
	for i := 0; i < n; i++ { // all produced before the worker starts: one poll
		h.change("c", i, int64(i), 1)
		h.change("d", i, 0, 0)
		h.change("c", i, int64(i)+1, 2)
	}
	w, stop := proofWorker(h, h.cfg)
	if err := h.converged(60 * time.Second); err != nil {
		t.Error(err)
	}
	if err := h.allCommitted(20 * time.Second); err != nil {
		t.Error(err)
	}
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got := w.Stats().RowsDeleted; got != n {
		t.Errorf("%d delete rows loaded, want %d", got, n)
	}
	t.Logf("%d changes loaded in %d batches", 3*n, w.Stats().Batches)

	t.Run("control: one load without the split loses keys", func(t *testing.T) {
		ctx := context.Background()
		ddl := strings.Replace(testDDL, "subway_passengers_copy", "subway.control_copy", 1)
		if err := h.emu.Exec(ctx, ddl); err != nil {
			t.Fatal(err)
		}
		var body []byte
		body = append(body, '[')
		for i := 0; i < n; i++ {
			for j, op := range []int{0, 1, 0} {
				if len(body) > 1 {
					body = append(body, ',')
				}
				body = fmt.Appendf(body, `{"use_date":"2024%04d","line_no":"%d호선","station_name":"역%d","pass_in":%d,"pass_out":%d,"reg_date":"20240604","__op":%d}`,
					i%1000, i%9+1, i, i+j/2, 1+j/2, op)
			}
		}
		body = append(body, ']')
		c, err := streamload.New(streamload.Config{FEURLs: h.cfg.StarRocks.LoadURLs, User: "root"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		cols := []string{"use_date", "line_no", "station_name", "pass_in", "pass_out", "reg_date", "__op"}
		if _, err := c.Load(ctx, &streamload.Request{DB: "subway", Table: "control_copy", Label: "control-1", Format: streamload.FormatJSON, Columns: cols, Body: body}); err != nil {
			t.Fatal(err)
		}
		got, err := h.emu.Count("subway", "control_copy")
		if err != nil {
			t.Fatal(err)
		}
		if got >= n {
			t.Errorf("one load without the split kept %d of %d keys: the emulator does not lose deletes-then-upserts across flushes, so the proof above proves nothing", got, n)
		}
		t.Logf("one load without the split kept %d of %d keys", got, n)
	})
}

// TestProofTransientAnswersConverge: a fifth of loads meets each transient
// answer StarRocks gives; the worker retries them all: the target equals
// the source, every offset is committed and nothing is dead-lettered
// (errors.tolerance all).
func TestProofTransientAnswersConverge(t *testing.T) {
	for i, kind := range emulator.FaultKinds {
		t.Run(string(kind), func(t *testing.T) {
			h := newProofHarness(t, emulator.Faults{Answers: []emulator.Fault{{Kind: kind, Rate: 0.2}}, Seed: int64(i + 1)})
			h.cfg.Errors.Tolerance = "all"
			h.cfg.Errors.DLQTopic = proofDLQ
			h.cfg.Batch.MaxRows = 8 // some 25 loads: each subtest meets its fault
			// Produced before the worker starts, so that the batches, and
			// the loads meeting the seeded faults, are the same every run.
			for i := 0; i < 120; i++ {
				h.change("c", i, int64(i), 0)
			}
			for i := 0; i < 120; i += 2 {
				h.change("u", i, int64(i)+1, 5)
			}
			for i := 0; i < 120; i += 5 {
				h.change("d", i, 0, 0)
			}
			w, stop, logs := proofWorkerLogs(h, h.cfg)
			if err := h.converged(60 * time.Second); err != nil {
				t.Error(err)
			}
			h.finish(w, stop, 0)
			if trace := faultTrace[kind]; trace == "" || !logged(logs, trace) {
				t.Errorf("no load met %s (no log holds %q): the fault was not injected", kind, trace)
			}
		})
	}
}

// TestProofShuttingDownBEOutlived: a BE answers "Service is shutting down"
// to every load for 90 s (a rolling restart). The worker keeps retrying
// within starrocks.retry_for (10 minutes by default), loads everything once
// the span ends, commits, and dead-letters nothing although errors.tolerance
// is all.
//
// It runs for 90 s of real time: the span is the emulator's wall-clock
// fault, and the point is a span longer than any backoff. It is the only
// such test and is skipped under -short.
func TestProofShuttingDownBEOutlived(t *testing.T) {
	if testing.Short() {
		t.Skip("runs 90 s of real time")
	}
	const span = 90 * time.Second
	h := newProofHarness(t, emulator.Faults{Answers: []emulator.Fault{{Kind: emulator.FaultShuttingDown, For: emulator.Duration(span)}}})
	h.cfg.Errors.Tolerance = "all"
	h.cfg.Errors.DLQTopic = proofDLQ
	h.cfg.StarRocks.MaxRetries = 0 // retry_for alone bounds the retries
	h.cfg.StarRocks.RetryFor = config.Default().StarRocks.RetryFor
	h.cfg.StarRocks.MaxRetryBackoff = 2 * time.Second
	w, stop, logs := proofWorkerLogs(h, h.cfg)
	for i := 0; i < 100; i++ {
		h.change("c", i, int64(i), 1)
	}
	for i := 0; i < 100; i += 3 {
		h.change("u", i, int64(i)*2, 2)
	}
	if err := h.converged(span + 60*time.Second); err != nil {
		t.Fatal(err)
	}
	if !logged(logs, faultTrace[emulator.FaultShuttingDown]) {
		t.Fatal("no load met the shutting-down BE: the fault was not injected")
	}
	h.finish(w, stop, 0)
}
