package sink

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"

	"github.com/starsink/starsink/config"
	"github.com/starsink/starsink/ddl"
	"github.com/starsink/starsink/debezium"
	"github.com/starsink/starsink/emulator"
	"github.com/starsink/starsink/mapping"
	"github.com/starsink/starsink/streamload"
)

// ddlStack is kfake + the emulator with its MySQL port and an empty
// database shop, for the worker's create_tables and evolve paths: the
// worker reads the catalog and runs its DDL over the MySQL port, as in
// production.
type ddlStack struct {
	t       *testing.T
	cluster *kfake.Cluster
	emu     *emulator.Server
	cfg     *config.Config
	prod    *kgo.Client
	reg     *prometheus.Registry

	mu    sync.Mutex
	model map[string]map[int]map[string]any // table → id → column → value (nil: NULL)
}

func newDDLStack(t *testing.T, set emulator.Settings, topics ...string) *ddlStack {
	t.Helper()
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, topics...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	emu, err := emulator.Start(emulator.Config{Settings: &set})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { emu.Close() })
	if err := emu.Exec(context.Background(), "CREATE DATABASE shop"); err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Kafka.Brokers = cluster.ListenAddrs()
	cfg.Kafka.Topics = topics
	cfg.Kafka.GroupID = "starsink-ddl-test"
	cfg.Kafka.SessionTimeout = 6 * time.Second
	cfg.Kafka.RebalanceTimeout = 20 * time.Second
	cfg.StarRocks.LoadURLs = []string{emu.FEURL()}
	cfg.StarRocks.MySQLAddr = emu.MySQLAddr()
	cfg.StarRocks.Database = "shop"
	cfg.StarRocks.RetryBackoff = 5 * time.Millisecond
	cfg.StarRocks.MaxRetryBackoff = 20 * time.Millisecond
	cfg.Mapping.Template = "{table}"
	cfg.Mapping.TableProperties = map[string]string{"replication_num": "1"}
	cfg.Decoder.Envelope = "raw"
	cfg.Batch.MaxAge = 20 * time.Millisecond
	cfg.Batch.MaxRows = 50
	cfg.HTTP.Addr = ""
	cfg.Commit.Interval = 100 * time.Millisecond
	prod, err := kgo.NewClient(kgo.SeedBrokers(cluster.ListenAddrs()...), kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(prod.Close)
	return &ddlStack{t: t, cluster: cluster, emu: emu, cfg: &cfg, prod: prod, reg: prometheus.NewRegistry(),
		model: map[string]map[int]map[string]any{}}
}

// field is one source column of a generated Debezium schema.
type field struct {
	name, typ string // Connect type: int32, int64, string
	length    int    // VARCHAR length (column.propagate.source.type), 0: none
	key       bool
}

func (f field) schema() map[string]any {
	s := map[string]any{"field": f.name, "type": f.typ, "optional": !f.key}
	if f.length > 0 {
		s["parameters"] = map[string]string{ddl.ParamSourceType: "VARCHAR", ddl.ParamSourceLength: fmt.Sprint(f.length)}
	}
	return s
}

// event produces one Debezium change (raw envelope, JsonConverter with
// schemas) of row to topic and applies it to the model of table.
func (s *ddlStack) event(topic, table, op string, fields []field, row map[string]any) {
	s.t.Helper()
	var keyFields, rowFields []any
	key := map[string]any{}
	for _, f := range fields {
		rowFields = append(rowFields, f.schema())
		if f.key {
			keyFields = append(keyFields, f.schema())
			key[f.name] = row[f.name]
		}
	}
	rowSchema := func(name string) map[string]any {
		return map[string]any{"type": "struct", "optional": true, "field": name, "name": topic + ".Value", "fields": rowFields}
	}
	source := map[string]any{"type": "struct", "optional": false, "field": "source", "fields": []any{
		map[string]any{"field": "connector", "type": "string", "optional": false},
		map[string]any{"field": "ts_ms", "type": "int64", "optional": false},
		map[string]any{"field": "lsn", "type": "int64", "optional": true},
	}}
	envSchema := map[string]any{"type": "struct", "optional": false, "name": topic + ".Envelope", "fields": []any{
		rowSchema("before"), rowSchema("after"), source,
		map[string]any{"field": "op", "type": "string", "optional": false},
		map[string]any{"field": "ts_ms", "type": "int64", "optional": true},
	}}
	payload := map[string]any{"before": nil, "after": row, "op": op, "ts_ms": 1,
		"source": map[string]any{"connector": "postgresql", "ts_ms": 1, "lsn": time.Now().UnixNano()}}
	if op == "d" {
		payload["before"], payload["after"] = row, nil
	}
	k, _ := json.Marshal(map[string]any{"schema": map[string]any{"type": "struct", "optional": false, "name": topic + ".Key", "fields": keyFields}, "payload": key})
	v, _ := json.Marshal(map[string]any{"schema": envSchema, "payload": payload})
	if err := s.prod.ProduceSync(context.Background(), &kgo.Record{Topic: topic, Key: k, Value: v}).FirstErr(); err != nil {
		s.t.Fatal(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.model[table]
	if m == nil {
		m = map[int]map[string]any{}
		s.model[table] = m
	}
	id := int(row["id"].(int))
	if op == "d" {
		delete(m, id)
		return
	}
	m[id] = row
}

// compare checks that table holds exactly the model's rows, column by
// column (a column the model's row lacks must be NULL).
func (s *ddlStack) compare(table string) error {
	def, err := s.emu.Schema("shop", table)
	if err != nil {
		return err
	}
	rows, err := s.emu.Rows("shop", table)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	want := s.model[table]
	if len(rows) != len(want) {
		return fmt.Errorf("%s has %d rows, the source %d", table, len(rows), len(want))
	}
	id := def.Index("id")
	for _, r := range rows {
		var n int
		fmt.Sscan(fmt.Sprint(r[id]), &n)
		w, ok := want[n]
		if !ok {
			return fmt.Errorf("%s: row %d is not in the source", table, n)
		}
		for i, c := range def.Columns {
			got, exp := r[i], w[c.Name]
			if exp == nil && got == nil {
				continue
			}
			if fmt.Sprint(got) != fmt.Sprint(exp) {
				return fmt.Errorf("%s: row %d column %s: got %v, want %v", table, n, c.Name, got, exp)
			}
		}
	}
	return nil
}

func (s *ddlStack) converged(timeout time.Duration, tables ...string) error {
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		last = nil
		for _, t := range tables {
			if last = s.compare(t); last != nil {
				break
			}
		}
		if last == nil {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return last
}

func (s *ddlStack) worker(log *zap.Logger) (stop func() error) {
	s.t.Helper()
	w, err := New(s.cfg, Deps{Registerer: s.reg}, log)
	if err != nil {
		s.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	var once sync.Once
	var runErr error
	stop = func() error {
		once.Do(func() { cancel(); runErr = <-done })
		return runErr
	}
	s.t.Cleanup(func() { stop() })
	return stop
}

// plan runs `starsink plan`'s logic on the stack.
func (s *ddlStack) plan() map[string]ddl.TopicPlan {
	s.t.Helper()
	cat, err := streamload.NewCatalog(streamload.CatalogConfig{Addr: s.emu.MySQLAddr(), User: "root", TTL: time.Millisecond}, nil)
	if err != nil {
		s.t.Fatal(err)
	}
	defer cat.Close()
	m, err := mapping.New(s.cfg.Mapping, s.cfg.StarRocks.Database)
	if err != nil {
		s.t.Fatal(err)
	}
	dial, err := DialOptions(s.cfg)
	if err != nil {
		s.t.Fatal(err)
	}
	p := &ddl.Planner{Dial: dial, Catalog: cat, Mapper: m, Mapping: s.cfg.Mapping, Source: ddl.SourceOptionsFor(s.cfg.Decoder)}
	plans, err := p.PlanAll(context.Background(), s.cfg.Kafka)
	if err != nil {
		s.t.Fatal(err)
	}
	out := map[string]ddl.TopicPlan{}
	for _, tp := range plans {
		out[tp.Topic] = tp
	}
	return out
}

func (s *ddlStack) ddlCount(kind string) float64 {
	s.t.Helper()
	mfs, err := s.reg.Gather()
	if err != nil {
		s.t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "starsink_ddl_total" {
			continue
		}
		for _, m := range mf.Metric {
			if m.GetLabel()[0].GetValue() == kind {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

var (
	ordersV1 = []field{{name: "id", typ: "int32", key: true}, {name: "name", typ: "string", length: 50}, {name: "qty", typ: "int64"}}
	// ordersV2: a new column note, and name widened from varchar(50) to
	// varchar(300) in the source.
	ordersV2  = []field{{name: "id", typ: "int32", key: true}, {name: "name", typ: "string", length: 300}, {name: "qty", typ: "int64"}, {name: "note", typ: "string", length: 20}}
	customers = []field{{name: "id", typ: "int32", key: true}, {name: "email", typ: "string", length: 100}, {name: "points", typ: "int32"}}
)

const (
	ordersTopic    = "shop.public.orders"
	customersTopic = "shop.public.customers"
)

// TestCreateTablesIntegration: an empty database, create_tables on, two
// topics of Debezium records with schemas: the worker creates both tables
// (Primary Key on the key's fields) as `starsink plan` said it would, and
// every row loads, equal to the source.
func TestCreateTablesIntegration(t *testing.T) {
	s := newDDLStack(t, emulator.DefaultSettings(), ordersTopic, customersTopic)
	s.cfg.Mapping.CreateTables = true
	// A tombstone first: the table is created from the first record that
	// has a value.
	tomb := &kgo.Record{Topic: ordersTopic, Key: []byte(`{"schema":{"type":"struct","fields":[{"type":"int32","optional":false,"field":"id"}],"optional":false},"payload":{"id":9999}}`)}
	if err := s.prod.ProduceSync(context.Background(), tomb).FirstErr(); err != nil {
		t.Fatal(err)
	}
	for i := range 120 {
		s.event(ordersTopic, "orders", "c", ordersV1, map[string]any{"id": i, "name": fmt.Sprintf("주문%d", i), "qty": int64(i * 3)})
		s.event(customersTopic, "customers", "r", customers, map[string]any{"id": i, "email": fmt.Sprintf("c%d@example.com", i), "points": i})
	}
	for i := 0; i < 120; i += 7 {
		s.event(ordersTopic, "orders", "u", ordersV1, map[string]any{"id": i, "name": "갱신", "qty": int64(-i)})
		s.event(customersTopic, "customers", "d", customers, map[string]any{"id": i, "email": fmt.Sprintf("c%d@example.com", i), "points": i})
	}
	before := s.plan()
	for _, topic := range []string{ordersTopic, customersTopic} {
		p := before[topic]
		if p.Error != "" || p.TablePlan == nil || p.Exists || len(p.DDL) == 0 || !strings.HasPrefix(p.DDL[0].SQL, "CREATE TABLE") {
			t.Fatalf("plan before, %s: %+v", topic, p)
		}
	}
	stop := s.worker(zaptest.NewLogger(t))
	if err := s.converged(30*time.Second, "orders", "customers"); err != nil {
		t.Fatal(err)
	}
	if err := stop(); err != nil {
		t.Fatalf("worker: %v", err)
	}
	for table, keys := range map[string]string{"orders": "id", "customers": "id"} {
		def, err := s.emu.Schema("shop", table)
		if err != nil {
			t.Fatal(err)
		}
		if def.Model.String() != "PRIMARY_KEYS" || strings.Join(def.KeyColumns(), ",") != keys {
			t.Errorf("%s created as %s %v, want a Primary Key table on %s", table, def.Model, def.KeyColumns(), keys)
		}
	}
	if n := s.ddlCount("create_table"); n != 2 {
		t.Errorf("starsink_ddl_total{kind=create_table} = %v, want 2", n)
	}
	after := s.plan()
	for _, topic := range []string{ordersTopic, customersTopic} {
		if p := after[topic]; p.Failed() || !p.Exists || len(p.DDL) != 0 {
			t.Errorf("plan after, %s: %+v", topic, p)
		}
	}
}

// TestCreateTablesOffStopsOnMissingTable: with create_tables off a missing
// table stops the worker, as before.
func TestCreateTablesOffStopsOnMissingTable(t *testing.T) {
	s := newDDLStack(t, emulator.DefaultSettings(), ordersTopic)
	s.event(ordersTopic, "orders", "c", ordersV1, map[string]any{"id": 1, "name": "a", "qty": int64(1)})
	w, err := New(s.cfg, Deps{Registerer: s.reg}, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = w.Run(ctx)
	if !errors.Is(err, streamload.ErrTableNotFound) {
		t.Fatalf("Run: %v, want an error wrapping ErrTableNotFound", err)
	}
	if _, err := s.emu.Schema("shop", "orders"); err == nil {
		t.Error("the table was created with create_tables off")
	}
}

// TestEvolveAddColumnsIntegration: after some rows, the source gains a
// column and widens a VARCHAR; with evolve add_columns the worker adds and
// widens the columns, waits for StarRocks' schema-change jobs, and loses
// no value of the new column: the table ends equal to the source.
func TestEvolveAddColumnsIntegration(t *testing.T) {
	set := emulator.DefaultSettings()
	set.SchemaChangeDuration = emulator.Duration(300 * time.Millisecond)
	s := newDDLStack(t, set, ordersTopic)
	s.cfg.Mapping.CreateTables = true
	s.cfg.Mapping.Evolve = "add_columns"
	for i := range 100 {
		s.event(ordersTopic, "orders", "c", ordersV1, map[string]any{"id": i, "name": fmt.Sprintf("n%d", i), "qty": int64(i)})
	}
	stop := s.worker(zaptest.NewLogger(t))
	if err := s.converged(30*time.Second, "orders"); err != nil {
		t.Fatal(err)
	}
	// The worker stops while the new events are written, so that the plan
	// below sees the table before evolving; a new one evolves it (with a
	// registry of its own, whose DDL counts are this step's).
	if err := stop(); err != nil {
		t.Fatalf("worker: %v", err)
	}
	long := strings.Repeat("긴", 150) // 450 bytes: beyond VARCHAR(200), within VARCHAR(1200)
	for i := 100; i < 300; i++ {
		row := map[string]any{"id": i, "name": fmt.Sprintf("n%d", i), "qty": int64(i), "note": fmt.Sprintf("note %d", i)}
		if i%10 == 0 {
			row["name"] = long
		}
		s.event(ordersTopic, "orders", "c", ordersV2, row)
	}
	plan := s.plan()[ordersTopic]
	var kinds []string
	for _, c := range plan.DDL {
		kinds = append(kinds, c.Kind+" "+c.Column)
	}
	if strings.Join(kinds, ",") != "add_column note,modify_column name" && strings.Join(kinds, ",") != "modify_column name,add_column note" {
		t.Errorf("plan before evolving: %v", kinds)
	}
	s.reg = prometheus.NewRegistry()
	stop = s.worker(zaptest.NewLogger(t))
	if err := s.converged(30*time.Second, "orders"); err != nil {
		t.Fatal(err)
	}
	if err := stop(); err != nil {
		t.Fatalf("worker: %v", err)
	}
	def, _ := s.emu.Schema("shop", "orders")
	if i := def.Index("note"); i < 0 || !def.Columns[i].Nullable {
		t.Errorf("note not added as a nullable column: %+v", def.Columns)
	}
	if i := def.Index("name"); def.Columns[i].Length < len(long) {
		t.Errorf("name not widened: %s", def.Columns[i].Type)
	}
	jobs, err := s.emu.AlterJobs("shop", "orders")
	if err != nil || len(jobs) != 2 {
		t.Errorf("schema change jobs: %+v, %v; want 2", jobs, err)
	}
	for _, j := range jobs {
		if j.State != "FINISHED" {
			t.Errorf("job %d: %s", j.JobID, j.State)
		}
	}
	if a, m := s.ddlCount("add_column"), s.ddlCount("modify_column"); a != 1 || m != 1 {
		t.Errorf("starsink_ddl_total: add_column %v, modify_column %v; want 1 and 1", a, m)
	}
	if p := s.plan()[ordersTopic]; p.Failed() || len(p.DDL) != 0 {
		t.Errorf("plan after evolving: %+v", p)
	}
}

// TestEvolveNoneLeavesNewFieldUnloaded: with evolve none a new field is
// logged once and not loaded; the other columns load.
func TestEvolveNoneLeavesNewFieldUnloaded(t *testing.T) {
	s := newDDLStack(t, emulator.DefaultSettings(), ordersTopic)
	s.cfg.Mapping.CreateTables = true
	for i := range 50 {
		s.event(ordersTopic, "orders", "c", ordersV1, map[string]any{"id": i, "name": "a", "qty": int64(i)})
	}
	core, logs := observer.New(zapcore.InfoLevel)
	log := zap.New(zapcore.NewTee(core, zaptest.NewLogger(t).Core()))
	stop := s.worker(log)
	if err := s.converged(30*time.Second, "orders"); err != nil {
		t.Fatal(err)
	}
	for i := 50; i < 150; i++ {
		s.event(ordersTopic, "orders", "c", ordersV2, map[string]any{"id": i, "name": "b", "qty": int64(i), "note": "lost"})
	}
	// The model: note is not loaded.
	s.mu.Lock()
	for _, r := range s.model["orders"] {
		delete(r, "note")
	}
	s.mu.Unlock()
	if err := s.converged(30*time.Second, "orders"); err != nil {
		t.Fatal(err)
	}
	if err := stop(); err != nil {
		t.Fatalf("worker: %v", err)
	}
	if def, _ := s.emu.Schema("shop", "orders"); def.Index("note") >= 0 {
		t.Error("note was added with evolve none")
	}
	if n := logs.FilterMessage("field has no column in the table: not loaded").FilterField(zap.String("field", "note")).Len(); n != 1 {
		t.Errorf("the new field was logged %d times, want once", n)
	}
	if n := s.ddlCount("add_column"); n != 0 {
		t.Errorf("starsink_ddl_total{kind=add_column} = %v", n)
	}
}

// TestEvolveWidensOnRangeError: the source widens a VARCHAR and nothing
// else; the first longer value, refused by the decoder as out of range,
// makes the worker widen the column and decode it again: it loads.
func TestEvolveWidensOnRangeError(t *testing.T) {
	set := emulator.DefaultSettings()
	set.SchemaChangeDuration = emulator.Duration(300 * time.Millisecond)
	s := newDDLStack(t, set, ordersTopic)
	s.cfg.Mapping.CreateTables = true
	s.cfg.Mapping.Evolve = "add_columns"
	for i := range 20 {
		s.event(ordersTopic, "orders", "c", ordersV1, map[string]any{"id": i, "name": "short", "qty": int64(i)})
	}
	stop := s.worker(zaptest.NewLogger(t))
	if err := s.converged(30*time.Second, "orders"); err != nil {
		t.Fatal(err)
	}
	widened := []field{ordersV1[0], {name: "name", typ: "string", length: 300}, ordersV1[2]}
	for i := 20; i < 60; i++ {
		s.event(ordersTopic, "orders", "u", widened, map[string]any{"id": i % 30, "name": strings.Repeat("넓", 100+i), "qty": int64(i)})
	}
	if err := s.converged(30*time.Second, "orders"); err != nil {
		t.Fatal(err)
	}
	if err := stop(); err != nil {
		t.Fatalf("worker: %v", err)
	}
	if a, m := s.ddlCount("add_column"), s.ddlCount("modify_column"); a != 0 || m != 1 {
		t.Errorf("starsink_ddl_total: add_column %v, modify_column %v; want 0 and 1", a, m)
	}
}

// TestEvolveUnchangedKeepsRangeError: a value out of its column's range
// whose source type did not change is not mended by evolve: the record
// stops the worker, as with evolve none.
func TestEvolveUnchangedKeepsRangeError(t *testing.T) {
	s := newDDLStack(t, emulator.DefaultSettings(), ordersTopic)
	s.cfg.Mapping.CreateTables = true
	s.cfg.Mapping.Evolve = "add_columns"
	s.event(ordersTopic, "orders", "c", ordersV1, map[string]any{"id": 1, "name": "short", "qty": int64(1)})
	s.event(ordersTopic, "orders", "c", ordersV1, map[string]any{"id": 2, "name": strings.Repeat("x", 201), "qty": int64(2)})
	w, err := New(s.cfg, Deps{Registerer: s.reg}, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := w.Run(ctx); !errors.Is(err, debezium.ErrRange) {
		t.Fatalf("Run: %v, want an error wrapping debezium.ErrRange", err)
	}
	if n := s.ddlCount("modify_column") + s.ddlCount("add_column"); n != 0 {
		t.Errorf("%v ALTERs ran", n)
	}
}

// TestEvolveTimeoutStopsWithoutCommitting: a schema change that outlives
// the poll's DDL bound (half of kafka.rebalance_timeout) stops the worker
// with the DDL's error, and the records that needed the column are not
// committed: a restart takes them again.
func TestEvolveTimeoutStopsWithoutCommitting(t *testing.T) {
	set := emulator.DefaultSettings()
	set.SchemaChangeDuration = emulator.Duration(time.Hour)
	s := newDDLStack(t, set, ordersTopic)
	s.cfg.Mapping.CreateTables = true
	s.cfg.Mapping.Evolve = "add_columns"
	s.cfg.Kafka.RebalanceTimeout = 4 * time.Second
	for i := range 10 {
		s.event(ordersTopic, "orders", "c", ordersV1, map[string]any{"id": i, "name": "a", "qty": int64(i)})
	}
	w, err := New(s.cfg, Deps{Registerer: s.reg}, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	if err := s.converged(30*time.Second, "orders"); err != nil {
		t.Fatal(err)
	}
	for i := 10; i < 20; i++ {
		s.event(ordersTopic, "orders", "c", ordersV2, map[string]any{"id": i, "name": "b", "qty": int64(i), "note": "n"})
	}
	err = <-done
	var de *ddl.Error
	if !errors.As(err, &de) || de.Table != "shop.orders" || !errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
		t.Fatalf("Run: %v; want the ALTER's deadline", err)
	}
	if n, _ := s.emu.Count("shop", "orders"); n != 10 {
		t.Errorf("the table holds %d rows, want the 10 loaded before the new field", n)
	}
	offs, err := kadm.NewClient(s.prod).FetchOffsets(context.Background(), s.cfg.Kafka.GroupID)
	if err != nil {
		t.Fatal(err)
	}
	var committed int64
	offs.Each(func(o kadm.OffsetResponse) { committed += max(0, o.At) })
	if committed != 10 {
		t.Errorf("committed %d records, want the 10 loaded", committed)
	}
}

// TestEvolveTwoReplicasIntegration: two replicas share the topic's
// partitions and meet the new schema at about the same time; both evolve
// the table (one waits for the other's schema change) and the table ends
// equal to the source.
func TestEvolveTwoReplicasIntegration(t *testing.T) {
	set := emulator.DefaultSettings()
	set.SchemaChangeDuration = emulator.Duration(300 * time.Millisecond)
	s := newDDLStack(t, set, ordersTopic)
	s.cfg.Mapping.CreateTables = true
	s.cfg.Mapping.Evolve = "add_columns"
	for i := range 40 {
		s.event(ordersTopic, "orders", "c", ordersV1, map[string]any{"id": i, "name": "a", "qty": int64(i)})
	}
	var stops []func() error
	for _, id := range []string{"a", "b"} {
		cfg := *s.cfg
		cfg.Kafka.ClientID = "replica-" + id
		w, err := New(&cfg, Deps{Registerer: prometheus.NewRegistry()}, zaptest.NewLogger(t).Named(id))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- w.Run(ctx) }()
		stop := func() error { cancel(); return <-done }
		stops = append(stops, sync.OnceValue(stop))
		t.Cleanup(func() { stops[len(stops)-1]() })
	}
	if err := s.converged(30*time.Second, "orders"); err != nil {
		t.Fatal(err)
	}
	for i := 40; i < 200; i++ {
		s.event(ordersTopic, "orders", "c", ordersV2, map[string]any{"id": i, "name": strings.Repeat("n", i), "qty": int64(i), "note": fmt.Sprint(i)})
	}
	if err := s.converged(30*time.Second, "orders"); err != nil {
		t.Fatal(err)
	}
	for _, stop := range stops {
		if err := stop(); err != nil {
			t.Errorf("worker: %v", err)
		}
	}
}

// refusingExec is a ddl.Executor whose statements all fail.
type refusingExec struct{}

var errRefused = errors.New("Access denied; you need the CREATE privilege")

func (refusingExec) Exec(context.Context, string) error { return errRefused }
func (refusingExec) Query(context.Context, string) ([]map[string]string, error) {
	return nil, errRefused
}

// TestCreateTablesStopsWhenItCannot: a table create_tables cannot create
// (records without schemas, a statement StarRocks refuses) stops the
// worker with the reason, never dead-letters, and commits nothing.
func TestCreateTablesStopsWhenItCannot(t *testing.T) {
	for _, tc := range []struct {
		name string
		exec ddl.Executor
		rec  func(s *ddlStack)
		want error
	}{
		{"records without schemas", nil, func(s *ddlStack) {
			v, _ := json.Marshal(map[string]any{"before": nil, "after": map[string]any{"id": 1, "name": "a"}, "op": "c",
				"source": map[string]any{"connector": "postgresql", "ts_ms": 1, "lsn": 8}})
			if err := s.prod.ProduceSync(context.Background(), &kgo.Record{Topic: ordersTopic, Key: []byte(`{"id":1}`), Value: v}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}, ddl.ErrNoSchema},
		{"statement refused", refusingExec{}, func(s *ddlStack) {
			s.event(ordersTopic, "orders", "c", ordersV1, map[string]any{"id": 1, "name": "a", "qty": int64(1)})
		}, errRefused},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newDDLStack(t, emulator.DefaultSettings(), ordersTopic)
			s.cfg.Mapping.CreateTables = true
			s.cfg.Errors.Tolerance = "all"
			s.cfg.Errors.DLQTopic = "starsink.dlq"
			tc.rec(s)
			w, err := New(s.cfg, Deps{Registerer: s.reg, DDL: tc.exec}, zaptest.NewLogger(t))
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			err = w.Run(ctx)
			var de *ddl.Error
			if !errors.Is(err, tc.want) || !errors.As(err, &de) || de.Kind != "create_table" || ctx.Err() != nil {
				t.Fatalf("Run: %v; want a create_table error wrapping %v", err, tc.want)
			}
			if st := w.Stats(); st.DeadLettered != 0 || st.RowsLoaded != 0 {
				t.Errorf("stats %+v: want nothing loaded or dead-lettered", st)
			}
		})
	}
}
