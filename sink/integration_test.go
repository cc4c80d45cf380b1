package sink

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap/zaptest"

	"github.com/starsink/starsink/config"
	"github.com/starsink/starsink/emulator"
	"github.com/starsink/starsink/schema"
	"github.com/starsink/starsink/streamload"
)

const (
	testTopic = "dip.cdc.public.subway_passengers_copy"
	testDDL   = `CREATE TABLE subway_passengers_copy (use_date VARCHAR(8) NOT NULL, line_no VARCHAR(100) NOT NULL, station_name VARCHAR(100) NOT NULL, pass_in DECIMAL(13,0), pass_out DECIMAL(13,0), reg_date VARCHAR(8)) ENGINE=OLAP PRIMARY KEY(use_date, line_no, station_name) DISTRIBUTED BY HASH(use_date, line_no, station_name) BUCKETS 4 PROPERTIES("replication_num"="1")`
)

// emuSchemas reads table schemas from an in-process emulator.
type emuSchemas struct{ s *emulator.Server }

func (e emuSchemas) Table(_ context.Context, db, table string) (*schema.Table, error) {
	return e.s.Schema(db, table)
}

// MaxValue is SELECT MAX(column) over the emulator's rows (MaxValuer).
func (e emuSchemas) MaxValue(_ context.Context, db, table, column string) (int64, bool, error) {
	def, err := e.s.Schema(db, table)
	if err != nil {
		return 0, false, err
	}
	i := def.Index(column)
	if i < 0 {
		return 0, false, fmt.Errorf("no column %s in %s.%s", column, db, table)
	}
	rows, err := e.s.Rows(db, table)
	if err != nil {
		return 0, false, err
	}
	var max int64
	has := false
	for _, r := range rows {
		if v, ok := r[i].(int64); ok && (!has || v > max) {
			max, has = v, true
		}
	}
	return max, has, nil
}

// harness is kfake + the emulator + a worker configuration.
type harness struct {
	t       *testing.T
	cluster *kfake.Cluster
	emu     *emulator.Server
	cfg     *config.Config
	prod    *kgo.Client
	model   map[string][3]string // key → pass_in, pass_out, reg_date
	mu      sync.Mutex
	topic   string // change and produce write here (testTopic)
	lsn     int64  // source.lsn of the last change: grows with every change
	// extra, when set, gives more fields of row i's events (columns the
	// source has and the target may not).
	extra func(i int) map[string]any
}

func newHarness(t *testing.T, partitions int32, extraTopics ...string) *harness {
	t.Helper()
	return newHarnessWith(t, emulator.Config{NoMySQL: true}, partitions, extraTopics...)
}

func newHarnessWith(t *testing.T, ecfg emulator.Config, partitions int32, extraTopics ...string) *harness {
	t.Helper()
	topics := append([]string{testTopic}, extraTopics...)
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(partitions, topics...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	emu, err := emulator.Start(ecfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { emu.Close() })
	ctx := context.Background()
	for _, q := range []string{"CREATE DATABASE subway", "USE subway", testDDL} {
		if err := emu.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	cfg := config.Default()
	cfg.Kafka.Brokers = cluster.ListenAddrs()
	cfg.Kafka.Topics = []string{testTopic}
	cfg.Kafka.GroupID = "starsink-test"
	cfg.Kafka.SessionTimeout = 6 * time.Second
	cfg.Kafka.RebalanceTimeout = 10 * time.Second
	cfg.StarRocks.LoadURLs = []string{emu.FEURL()}
	cfg.StarRocks.Database = "subway"
	cfg.StarRocks.RetryBackoff = 5 * time.Millisecond
	cfg.StarRocks.MaxRetryBackoff = 20 * time.Millisecond
	cfg.StarRocks.MaxRetries = 20
	cfg.Mapping.Template = "{table}"
	cfg.Decoder.Envelope = "raw" // the harness produces raw envelopes; a malformed one is poison
	cfg.Batch.MaxAge = 20 * time.Millisecond
	cfg.Batch.MaxRows = 500
	cfg.HTTP.Addr = ""
	cfg.Commit.Interval = 100 * time.Millisecond
	prod, err := kgo.NewClient(kgo.SeedBrokers(cluster.ListenAddrs()...), kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(prod.Close)
	return &harness{t: t, cluster: cluster, emu: emu, cfg: &cfg, prod: prod, model: map[string][3]string{}, topic: testTopic}
}

// decimalB64 is Debezium's Decimal encoding: minimal big-endian two's
// complement, base64.
func decimalB64(n int64) string {
	b := binary.BigEndian.AppendUint64(nil, uint64(n))
	for len(b) > 1 && (b[0] == 0 && b[1]&0x80 == 0 || b[0] == 0xff && b[1]&0x80 != 0) {
		b = b[1:]
	}
	return base64.StdEncoding.EncodeToString(b)
}

// change produces one Debezium event (schemaless raw envelope) for row i
// and applies it to the expected state.
func (h *harness) change(op string, i int, in, out int64) {
	h.t.Helper()
	date, line, station := fmt.Sprintf("2024%04d", i%1000), fmt.Sprintf("%d호선", i%9+1), fmt.Sprintf("역%d", i)
	row := map[string]any{"use_date": date, "line_no": line, "station_name": station,
		"pass_in": decimalB64(in), "pass_out": decimalB64(out), "reg_date": "20240604"}
	if h.extra != nil {
		for k, v := range h.extra(i) {
			row[k] = v
		}
	}
	h.mu.Lock()
	h.lsn += 8
	lsn := h.lsn
	h.mu.Unlock()
	envl := map[string]any{"before": nil, "after": row, "source": map[string]any{"connector": "postgresql", "ts_ms": 1, "lsn": lsn}, "op": op}
	if op == "d" {
		envl["before"], envl["after"] = row, nil
	}
	key, _ := json.Marshal(map[string]string{"use_date": date, "line_no": line, "station_name": station})
	val, _ := json.Marshal(envl)
	h.produce(key, val)
	h.mu.Lock()
	k := date + "|" + line + "|" + station
	if op == "d" {
		delete(h.model, k)
	} else {
		h.model[k] = [3]string{fmt.Sprint(in), fmt.Sprint(out), "20240604"}
	}
	h.mu.Unlock()
}

func (h *harness) produce(key, val []byte) {
	h.t.Helper()
	if err := h.prod.ProduceSync(context.Background(), &kgo.Record{Topic: h.topic, Key: key, Value: val}).FirstErr(); err != nil {
		h.t.Fatal(err)
	}
}

// converged waits until the emulator holds exactly the expected rows.
func (h *harness) converged(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		if last = h.compare(); last == nil {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return last
}

func (h *harness) compare() error {
	rows, err := h.emu.Rows("subway", "subway_passengers_copy")
	if err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(rows) != len(h.model) {
		return fmt.Errorf("target has %d rows, source %d", len(rows), len(h.model))
	}
	for _, r := range rows {
		k := fmt.Sprint(r[0], "|", r[1], "|", r[2])
		want, ok := h.model[k]
		if !ok {
			return fmt.Errorf("row %s is not in the source", k)
		}
		if got := [3]string{fmt.Sprint(r[3]), fmt.Sprint(r[4]), fmt.Sprint(r[5])}; got != want {
			return fmt.Errorf("row %s: got %v, want %v", k, got, want)
		}
	}
	return nil
}

// worker starts a worker in the background; stop cancels it and returns
// Run's error.
func (h *harness) worker(cfg *config.Config) (w *Worker, stop func() error) {
	h.t.Helper()
	w, err := New(cfg, Deps{Schemas: emuSchemas{h.emu}}, zaptest.NewLogger(h.t).Named(cfg.Kafka.ClientID))
	if err != nil {
		h.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	return w, func() error { cancel(); return <-done }
}

// runToError runs a fresh worker until it stops by itself and returns
// Run's error; the test fails if it has none or runs for 30 s.
func (h *harness) runToError() error {
	h.t.Helper()
	w, err := New(h.cfg, Deps{Schemas: emuSchemas{h.emu}}, zaptest.NewLogger(h.t))
	if err != nil {
		h.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = w.Run(ctx)
	if err == nil || ctx.Err() != nil {
		h.t.Fatalf("Run = %v, want the poison record's error", err)
	}
	return err
}

// committed returns the group's committed offsets, summed over partitions.
func (h *harness) committed(group string) int64 {
	adm := kadm.NewClient(h.prod)
	offs, err := adm.FetchOffsets(context.Background(), group)
	if errors.Is(err, kerr.GroupIDNotFound) {
		return 0 // not joined yet
	}
	if err != nil {
		h.t.Fatal(err)
	}
	var n int64
	offs.Each(func(o kadm.OffsetResponse) { n += o.At })
	return n
}

// deadLettered reads the one record the dead-letter topic should hold and
// its headers by key.
func (h *harness) deadLettered(topic string) ([]*kgo.Record, map[string]string) {
	h.t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(h.cluster.ListenAddrs()...), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		h.t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	fs := cl.PollRecords(ctx, 10)
	recs := fs.Records()
	if len(recs) != 1 {
		h.t.Fatalf("dead-letter topic has %d records, want 1 (%v)", len(recs), fs.Err())
	}
	hdr := map[string]string{}
	for _, x := range recs[0].Headers {
		hdr[x.Key] = string(x.Value)
	}
	return recs, hdr
}

func (h *harness) endOffsets() int64 {
	adm := kadm.NewClient(h.prod)
	ends, err := adm.ListEndOffsets(context.Background(), h.topic)
	if err != nil {
		h.t.Fatal(err)
	}
	var n int64
	ends.Each(func(o kadm.ListedOffset) { n += o.Offset })
	return n
}

func TestIntegrationConverges(t *testing.T) {
	h := newHarness(t, 3)
	w, stop := h.worker(h.cfg)
	for i := 0; i < 300; i++ {
		h.change("r", i, int64(i*10), int64(i*11))
	}
	for i := 0; i < 300; i += 3 {
		h.change("u", i, int64(i*100), -int64(i))
	}
	for i := 0; i < 300; i += 5 {
		h.change("d", i, 0, 0)
	}
	if err := h.converged(20 * time.Second); err != nil {
		t.Fatal(err)
	}
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got, want := h.committed(h.cfg.Kafka.GroupID), h.endOffsets(); got != want {
		t.Errorf("committed %d, end offsets %d", got, want)
	}
	if n := w.buffered.Load(); n != 0 {
		t.Errorf("%d bytes still charged to the budget after every batch loaded", n)
	}
}

// TestIntegrationParallelDecode decodes large polls on four lanes: every
// key's insert, update and delete land in different lanes' shares, and the
// target must still end as the source, in order; a poison record among them
// stops the worker with nothing past it committed.
func TestIntegrationParallelDecode(t *testing.T) {
	const n = 1200
	changes := func(h *harness, poisonAt int) {
		for i := 0; i < n; i++ {
			if i == poisonAt {
				h.produce([]byte(`{"k":1}`), []byte(`{"before":null,"after":{"use_date":"x"},"source":{},"op":"?"}`))
			}
			h.change("c", i, int64(i), 1)
			if i >= 400 {
				h.change("u", i-400, int64(i), 2)
			}
			if i >= 800 && i%2 == 0 {
				h.change("d", i-800, 0, 0)
			}
		}
	}
	t.Run("converges", func(t *testing.T) {
		h := newHarness(t, 1)
		h.cfg.Decoder.Workers = 4
		h.cfg.Batch.MaxRows = 5000
		changes(h, -1) // all produced first: polls are large
		_, stop := h.worker(h.cfg)
		if err := h.converged(30 * time.Second); err != nil {
			t.Fatal(err)
		}
		if err := stop(); err != nil {
			t.Fatalf("Run: %v", err)
		}
		if got, want := h.committed(h.cfg.Kafka.GroupID), h.endOffsets(); got != want {
			t.Errorf("committed %d, end offsets %d", got, want)
		}
	})
	t.Run("poison stops in order", func(t *testing.T) {
		h := newHarness(t, 1)
		h.cfg.Decoder.Workers = 4
		h.cfg.Batch.MaxRows = 5000
		changes(h, 1000)
		poison := int64(1000 + 600 + 200/2) // inserts, updates and deletes produced before it
		err := h.runToError()
		if want := fmt.Sprintf("[0]@%d", poison); !contains2(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
		if got := h.committed(h.cfg.Kafka.GroupID); got != poison {
			t.Errorf("committed offset %d, want %d (the poison record)", got, poison)
		}
	})
}

// TestIntegrationGroup runs three members; members leave and join while
// changes flow; the target converges and everything is committed.
func TestIntegrationGroup(t *testing.T) {
	h := newHarness(t, 6)
	var stops []func() error
	for i := 0; i < 3; i++ {
		cfg := *h.cfg
		cfg.Kafka.ClientID = fmt.Sprintf("m%d", i)
		_, stop := h.worker(&cfg)
		stops = append(stops, stop)
	}
	for i := 0; i < 600; i++ {
		h.change("c", i, int64(i), int64(i))
		if i == 200 {
			if err := stops[0](); err != nil {
				t.Errorf("member 0: %v", err)
			}
		}
		if i == 400 {
			cfg := *h.cfg
			cfg.Kafka.ClientID = "m3"
			_, stop := h.worker(&cfg)
			stops[0] = stop
		}
	}
	for i := 0; i < 600; i += 2 {
		h.change("u", i, int64(i)*7, 1)
	}
	if err := h.converged(60 * time.Second); err != nil {
		t.Fatal(err)
	}
	for i, stop := range stops {
		if err := stop(); err != nil {
			t.Errorf("member %d: %v", i, err)
		}
	}
	if got, want := h.committed(h.cfg.Kafka.GroupID), h.endOffsets(); got != want {
		t.Errorf("committed %d, end offsets %d", got, want)
	}
}

// TestIntegrationFaults injects Stream Load faults: nothing is lost and
// nothing applies twice (the model check would see a stale row).
func TestIntegrationFaults(t *testing.T) {
	h := newHarness(t, 3)
	h.emu.SetFaults(emulator.Faults{FailRatio: 0.2, ResetRatio: 0.1, PublishTimeoutRatio: 0.2, Seed: 7})
	_, stop := h.worker(h.cfg)
	for i := 0; i < 400; i++ {
		h.change("c", i, int64(i), 0)
	}
	for i := 0; i < 400; i += 2 {
		h.change("u", i, int64(i)+1, 5)
	}
	if err := h.converged(60 * time.Second); err != nil {
		t.Fatal(err)
	}
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
}

// TestIntegrationPoisonStops: without errors.tolerance the worker stops at
// a bad record with an error naming it, and the committed offset stays
// before it.
func TestIntegrationPoisonStops(t *testing.T) {
	h := newHarness(t, 1)
	for i := 0; i < 10; i++ {
		h.change("c", i, 1, 1)
	}
	h.produce([]byte(`{"k":1}`), []byte(`{"before":null,"after":{"use_date":"x"},"source":{},"op":"?"}`))
	h.change("c", 99, 1, 1)
	err := h.runToError()
	for _, want := range []string{testTopic, "[0]@10", "field op"} {
		if !contains2(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	if got := h.committed(h.cfg.Kafka.GroupID); got != 10 {
		t.Errorf("committed offset %d, want 10 (the poison record)", got)
	}
}

// TestIntegrationDLQ: with errors.tolerance=all the poison record goes to
// the dead-letter topic with Kafka Connect's headers and the stream goes on.
func TestIntegrationDLQ(t *testing.T) {
	h := newHarness(t, 1, "starsink.dlq")
	h.cfg.Errors.Tolerance = "all"
	h.cfg.Errors.DLQTopic = "starsink.dlq"
	_, stop := h.worker(h.cfg)
	h.change("c", 1, 1, 1)
	h.produce([]byte(`{"k":1}`), []byte(`{not json`))
	h.change("c", 2, 2, 2)
	if err := h.converged(20 * time.Second); err != nil {
		t.Fatal(err)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	recs, hdr := h.deadLettered("starsink.dlq")
	want := map[string]string{"__connect.errors.topic": testTopic, "__connect.errors.partition": "0", "__connect.errors.offset": "1", "__connect.errors.stage": "decode"}
	for k, v := range want {
		if hdr[k] != v {
			t.Errorf("header %s = %q, want %q", k, hdr[k], v)
		}
	}
	if string(recs[0].Value) != `{not json` {
		t.Errorf("value %q, want the original bytes", recs[0].Value)
	}
	if got, want := h.committed(h.cfg.Kafka.GroupID), h.endOffsets(); got != want {
		t.Errorf("committed %d, end offsets %d", got, want)
	}
}

// TestIntegrationDLQLoadFailure: a record StarRocks refuses as data (NULL
// in a NOT NULL column, which the decoder cannot know: IS_NULLABLE is not
// trusted) goes to the dead-letter topic with the original key, value and
// headers, and its offsets are committed.
func TestIntegrationDLQLoadFailure(t *testing.T) {
	h := newHarness(t, 1, "starsink.dlq")
	h.cfg.Errors.Tolerance = "all"
	h.cfg.Errors.DLQTopic = "starsink.dlq"
	_, stop := h.worker(h.cfg)
	val := []byte(`{"before":null,"after":{"use_date":null,"line_no":"1호선","station_name":"역","pass_in":"AA==","pass_out":"AA==","reg_date":"20240604"},"source":{"connector":"postgresql","ts_ms":1,"lsn":1},"op":"c"}`)
	key := []byte(`{"use_date":"20240601"}`)
	rec := &kgo.Record{Topic: testTopic, Key: key, Value: val, Headers: []kgo.RecordHeader{{Key: "trace", Value: []byte("t-1")}}}
	if err := h.prod.ProduceSync(context.Background(), rec).FirstErr(); err != nil {
		t.Fatal(err)
	}
	recs, hdr := h.deadLettered("starsink.dlq")
	want := map[string]string{"trace": "t-1", "__connect.errors.topic": testTopic, "__connect.errors.offset": "0", "__connect.errors.stage": "load"}
	for k, v := range want {
		if hdr[k] != v {
			t.Errorf("header %s = %q, want %q", k, hdr[k], v)
		}
	}
	if string(recs[0].Value) != string(val) || string(recs[0].Key) != string(key) {
		t.Errorf("dead-lettered key %q value %q, want the original bytes", recs[0].Key, recs[0].Value)
	}
	h.change("c", 2, 2, 2) // the worker goes on
	if err := h.converged(20 * time.Second); err != nil {
		t.Fatal(err)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if got, want := h.committed(h.cfg.Kafka.GroupID), h.endOffsets(); got != want {
		t.Errorf("committed %d, end offsets %d", got, want)
	}
}

// TestIntegrationVersioned: a Duplicate Key table in the versioned mode
// receives every change as a row, and the read-time deduplication that
// docs/architecture.md gives (the latest version of each key, unless
// deleted), run through the emulator's MySQL port, equals the source.
func TestIntegrationVersioned(t *testing.T) {
	const vTopic = "dip.cdc.public.subway_passengers_v"
	h := newHarnessWith(t, emulator.Config{}, 3, vTopic)
	ddl := `CREATE TABLE subway_passengers_v (use_date VARCHAR(8) NOT NULL, line_no VARCHAR(100) NOT NULL, station_name VARCHAR(100) NOT NULL,
		pass_in DECIMAL(13,0), pass_out DECIMAL(13,0), reg_date VARCHAR(8), _version BIGINT NOT NULL, _deleted BOOLEAN NOT NULL)
		DUPLICATE KEY(use_date, line_no, station_name) DISTRIBUTED BY HASH(use_date)`
	if err := h.emu.Exec(context.Background(), ddl); err != nil {
		t.Fatal(err)
	}
	h.topic = vTopic
	h.cfg.Kafka.Topics = []string{vTopic}
	h.cfg.Mapping.Tables = map[string]config.TableOptions{"subway_passengers_v": {Mode: "versioned"}}
	_, stop := h.worker(h.cfg)
	for i := 0; i < 300; i++ {
		h.change("r", i, int64(i), 0)
	}
	for i := 0; i < 300; i += 3 {
		h.change("u", i, int64(i)+1, 7)
	}
	for i := 0; i < 300; i += 5 {
		h.change("d", i, 0, 0)
	}
	for i := 0; i < 300; i += 10 {
		h.change("c", i, 42, 42) // re-inserted after its delete
	}
	want := h.endOffsets()
	deadline := time.Now().Add(20 * time.Second)
	for h.committed(h.cfg.Kafka.GroupID) < want && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if n, _ := h.emu.Count("subway", "subway_passengers_v"); n != want {
		t.Errorf("%d rows stored, want one per change (%d)", n, want)
	}
	db, err := sql.Open("mysql", "root:@tcp("+h.emu.MySQLAddr()+")/subway")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT use_date, line_no, station_name, pass_in, pass_out, reg_date FROM (
		SELECT *, ROW_NUMBER() OVER (PARTITION BY use_date, line_no, station_name ORDER BY _version DESC) AS rn
		FROM subway_passengers_v) latest
		WHERE rn = 1 AND NOT _deleted`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[string][3]string{}
	for rows.Next() {
		var d, l, st, in, out, reg string
		if err := rows.Scan(&d, &l, &st, &in, &out, &reg); err != nil {
			t.Fatal(err)
		}
		got[d+"|"+l+"|"+st] = [3]string{in, out, reg}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(h.model) {
		t.Fatalf("deduplicated view has %d rows, source %d", len(got), len(h.model))
	}
	for k, v := range h.model {
		if got[k] != v {
			t.Errorf("row %s: view %v, source %v", k, got[k], v)
		}
	}
}

// TestIntegrationKillRestart: a member stops without flushing (its loads
// cancelled); a new member replays from the last commit and converges.
func TestIntegrationKillRestart(t *testing.T) {
	h := newHarness(t, 3)
	cfg := *h.cfg
	cfg.Shutdown.GracePeriod = time.Millisecond // no time to flush: like kill -9
	cfg.Batch.MaxAge = time.Hour
	cfg.Batch.MaxRows = 50
	_, stop := h.worker(&cfg)
	for i := 0; i < 500; i++ {
		h.change("c", i, int64(i), 0)
	}
	time.Sleep(200 * time.Millisecond)
	stop() // may report unfinished loads: that is the point
	for i := 0; i < 500; i += 4 {
		h.change("u", i, 9, 9)
	}
	_, stop = h.worker(h.cfg)
	if err := h.converged(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

// TestIntegrationBudgetPauses: a budget smaller than one batch pauses
// fetching; rows still all arrive.
func TestIntegrationBudgetPauses(t *testing.T) {
	h := newHarness(t, 1)
	h.cfg.Batch.BufferMemory = 2 << 10
	h.cfg.Batch.MaxBytes = 2 << 10
	h.cfg.Batch.MaxAge = 300 * time.Millisecond
	for i := 0; i < 200; i++ {
		h.change("c", i, 1, 1)
	}
	w, stop := h.worker(h.cfg)
	sawPause := false
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) && !sawPause {
		sawPause = w.Paused() && w.Stats().Paused > 0
		time.Sleep(time.Millisecond)
	}
	if err := h.converged(20 * time.Second); err != nil {
		t.Fatal(err)
	}
	if err := stop(); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	if !sawPause {
		t.Error("fetching never paused (with a paused-partition count) although the budget was exceeded")
	}
}

func contains2(s, sub string) bool { return len(s) >= len(sub) && (s == sub || indexOf(s, sub) >= 0) }

func indexOf(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}

var _ = sort.Strings

// TestUnimplementedOptionsRejected: options the configuration accepts but
// the worker does not honour yet stop it at start, never silently.
func TestUnimplementedOptionsRejected(t *testing.T) {
	for _, mod := range []func(*config.Config){
		func(c *config.Config) { c.StarRocks.Format = "csv" },
		func(c *config.Config) {
			c.Mapping.Tables = map[string]config.TableOptions{"subway_passengers_copy": {Format: "csv"}}
		},
	} {
		cfg := config.Default()
		cfg.Kafka.Brokers = []string{"127.0.0.1:1"}
		cfg.Kafka.Topics = []string{testTopic}
		cfg.StarRocks.LoadURLs = []string{"http://127.0.0.1:1"}
		cfg.StarRocks.Database = "subway"
		cfg.Mapping.Template = "{table}"
		mod(&cfg)
		if _, err := New(&cfg, Deps{}, nil); err == nil || !strings.Contains(err.Error(), "not implemented") && !strings.Contains(err.Error(), "csv") {
			t.Errorf("New = %v, want an error naming the option", err)
		}
	}
}

// TestIntegrationIdleFlush: with max_age an hour, the end of a burst still
// loads once the worker has caught up, and its offsets are committed.
func TestIntegrationIdleFlush(t *testing.T) {
	h := newHarness(t, 3)
	h.cfg.Batch.MaxAge = time.Hour
	_, stop := h.worker(h.cfg)
	for i := 0; i < 200; i++ {
		h.change("r", i, int64(i), int64(i))
	}
	if err := h.converged(20 * time.Second); err != nil {
		t.Fatalf("a burst below max_rows did not load while the worker was idle: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for h.committed(h.cfg.Kafka.GroupID) != h.endOffsets() && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if got, want := h.committed(h.cfg.Kafka.GroupID), h.endOffsets(); got != want {
		t.Errorf("committed %d before shutdown, end offsets %d", got, want)
	}
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
}

// TestIntegrationSchemaChange: the source gains a column before the target
// has it (its values are not loaded, as StarRocks ignores unknown keys);
// once ALTER TABLE adds it, every later change carries it, those in the
// same poll as the first one included (decoded again under the new schema),
// and the rows loaded before keep NULL.
func TestIntegrationSchemaChange(t *testing.T) {
	h := newHarness(t, 3)
	h.cfg.StarRocks.SchemaRefreshInterval = 50 * time.Millisecond
	h.extra = func(i int) map[string]any { return map[string]any{"note": fmt.Sprintf("n%d", i)} }
	_, stop := h.worker(h.cfg)
	for i := 0; i < 200; i++ {
		h.change("c", i, int64(i), 1)
	}
	if err := h.converged(20 * time.Second); err != nil {
		t.Fatal(err)
	}
	if err := h.emu.Exec(context.Background(), "ALTER TABLE subway.subway_passengers_copy ADD COLUMN note VARCHAR(20)"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // past schema_refresh_interval since the last read
	// One burst, so that many of these share a poll with the first one.
	for i := 100; i < 400; i++ {
		h.change("u", i, int64(i), 2)
	}
	if err := h.converged(20 * time.Second); err != nil {
		t.Fatal(err)
	}
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	rows, err := h.emu.Rows("subway", "subway_passengers_copy")
	if err != nil {
		t.Fatal(err)
	}
	var withNote, without int
	for _, r := range rows {
		if len(r) != 7 {
			t.Fatalf("row %v: %d columns, want 7", r, len(r))
		}
		station := fmt.Sprint(r[2])
		var i int
		if _, err := fmt.Sscanf(station, "역%d", &i); err != nil {
			t.Fatalf("station %q: %v", station, err)
		}
		switch {
		case i >= 100 && r[6] != fmt.Sprintf("n%d", i):
			t.Errorf("row %d, changed after ALTER TABLE: note %v, want n%d", i, r[6], i)
		case i < 100 && r[6] != nil:
			t.Errorf("row %d, loaded before ALTER TABLE: note %v, want NULL", i, r[6])
		case i >= 100:
			withNote++
		default:
			without++
		}
	}
	if withNote != 300 || without != 100 {
		t.Errorf("%d rows with a note and %d without, want 300 and 100", withNote, without)
	}
}

// blockingSchemas answers every table read with err, or, when err is nil,
// blocks until the read's context ends (a catalog that hangs).
type blockingSchemas struct {
	started chan struct{}
	err     error
}

func (b blockingSchemas) Table(ctx context.Context, _, _ string) (*schema.Table, error) {
	select {
	case b.started <- struct{}{}:
	default:
	}
	if b.err != nil {
		return nil, b.err
	}
	<-ctx.Done()
	return nil, ctx.Err()
}

// TestIntegrationSchemaReadFailureNotDeadLettered: SIGTERM during a new
// table's first schema read, or the catalog failing it, is not the
// records' fault: with errors.tolerance=all nothing is dead-lettered and
// nothing committed; a shutdown stays clean, a catalog error stops the
// worker.
func TestIntegrationSchemaReadFailureNotDeadLettered(t *testing.T) {
	for _, tt := range []struct {
		name    string
		err     error
		wantErr bool
	}{
		{name: "shutdown during the read"},
		{name: "catalog error", err: errors.New("catalog: connection refused"), wantErr: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, 1, "starsink.dlq")
			h.cfg.Errors.Tolerance = "all"
			h.cfg.Errors.DLQTopic = "starsink.dlq"
			h.change("c", 1, 1, 1)
			h.change("c", 2, 2, 2)
			bs := blockingSchemas{started: make(chan struct{}, 1), err: tt.err}
			w, err := New(h.cfg, Deps{Schemas: bs}, zaptest.NewLogger(t))
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- w.Run(ctx) }()
			<-bs.started
			if tt.err == nil {
				cancel()
			}
			select {
			case err = <-done:
			case <-time.After(30 * time.Second):
				t.Fatal("Run did not return")
			}
			if (err != nil) != tt.wantErr {
				t.Errorf("Run = %v, want error %v", err, tt.wantErr)
			}
			if n := w.Stats().DeadLettered; n != 0 {
				t.Errorf("%d records dead-lettered", n)
			}
			if got := h.committed(h.cfg.Kafka.GroupID); got != 0 {
				t.Errorf("committed %d, want nothing", got)
			}
		})
	}
}

// heldLoader holds every load of the first batch it sees until its context
// ends; StarRocks then receives the body whole and commits it (the worst
// case for a cancelled load), and after the hold every load goes through.
type heldLoader struct {
	inner   Loader
	held    chan struct{} // closed when the first load is being held
	mu      sync.Mutex
	holding bool
	done    bool
	late    int // loads that landed after release
	release chan struct{}
}

func (l *heldLoader) Load(ctx context.Context, b *Batch) error {
	l.mu.Lock()
	first := !l.holding
	l.holding = true
	l.mu.Unlock()
	if first {
		close(l.held)
		select {
		case <-ctx.Done():
			// The body was sent whole: StarRocks commits it anyway.
			if err := l.inner.Load(context.Background(), b); err != nil {
				return err
			}
			return ctx.Err()
		case <-l.release:
			l.mu.Lock()
			l.late++
			l.mu.Unlock()
		}
	}
	return l.inner.Load(ctx, b)
}

func (l *heldLoader) LoadState(ctx context.Context, db, label string) (string, error) {
	return l.inner.(LoadStater).LoadState(ctx, db, label)
}

// TestIntegrationRevokeFencesLoad: a member's load is still running when
// commit.revoke_timeout ends after a second member joined. It is cancelled
// and settled before the revoke returns, so it cannot land after the new
// owner loaded a newer image of the same key: the table ends with the
// newest image, and the old member never commits for the partition.
func TestIntegrationRevokeFencesLoad(t *testing.T) {
	h := newHarness(t, 1)
	h.cfg.Commit.RevokeTimeout = 200 * time.Millisecond
	c, err := streamload.New(streamload.Config{FEURLs: h.cfg.StarRocks.LoadURLs, User: "root"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	held := &heldLoader{inner: &StreamLoader{Client: c}, held: make(chan struct{}), release: make(chan struct{})}
	cfgA := *h.cfg
	cfgA.Kafka.ClientID = "a"
	// An eager balancer revokes every partition of a when b joins.
	eager := []kgo.Opt{kgo.Balancers(kgo.RoundRobinBalancer())}
	a, err := New(&cfgA, Deps{Schemas: emuSchemas{h.emu}, Loader: held, KafkaOpts: eager}, zaptest.NewLogger(t).Named("a"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	doneA := make(chan error, 1)
	go func() { doneA <- a.Run(ctx) }()
	h.change("c", 1, 1, 1)
	<-held.held
	cfgB := *h.cfg
	cfgB.Kafka.ClientID = "b"
	b, err := New(&cfgB, Deps{Schemas: emuSchemas{h.emu}, KafkaOpts: eager}, zaptest.NewLogger(t).Named("b"))
	if err != nil {
		t.Fatal(err)
	}
	ctxB, cancelB := context.WithCancel(context.Background())
	doneB := make(chan error, 1)
	go func() { doneB <- b.Run(ctxB) }()
	stopB := func() error { cancelB(); return <-doneB }
	// Whichever member owns the partition after the rebalance loads the
	// first change again (its label already landed); then a newer image.
	deadline := time.Now().Add(30 * time.Second)
	for h.committed(h.cfg.Kafka.GroupID) < 1 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	h.change("u", 1, 2, 2)
	if err := h.converged(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	close(held.release)
	cancel()
	if err := <-doneA; err != nil {
		t.Errorf("member a: %v", err)
	}
	if err := stopB(); err != nil {
		t.Errorf("member b: %v", err)
	}
	if err := h.compare(); err != nil {
		t.Errorf("after member a stopped: %v", err)
	}
	held.mu.Lock()
	late := held.late
	held.mu.Unlock()
	if late != 0 {
		t.Errorf("%d held loads went on after the revoke", late)
	}
}
