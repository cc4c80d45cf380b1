package ddl

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/starsink/starsink/config"
	"github.com/starsink/starsink/emulator"
	"github.com/starsink/starsink/mapping"
	"github.com/starsink/starsink/schema"
	"github.com/starsink/starsink/streamload"
)

// TestManagerCreatesTableOnEmulator creates the reference table from its
// record through the emulator's MySQL port, once: the second call finds it.
func TestManagerCreatesTableOnEmulator(t *testing.T) {
	s := newStack(t)
	exec, err := OpenExecutor(s.emu.MySQLAddr(), "root", "", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer exec.Close()
	reg := prometheus.NewRegistry()
	m := config.Default().Mapping
	m.CreateTables = true
	m.TableProperties = map[string]string{"replication_num": "1"}
	mgr, err := NewManager(ManagerConfig{Exec: exec, Catalog: s.cat, Mapping: m, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	key, value := file(t, "testdata/subway_info.key.json"), file(t, "testdata/subway_info.value.json")
	target := mapping.Target{Database: "subway", Table: "stations"}
	for i, want := range []bool{true, false} {
		created, err := mgr.EnsureTable(context.Background(), target, key, value)
		if err != nil || created != want {
			t.Fatalf("call %d: created %v, %v; want %v", i+1, created, err, want)
		}
	}
	got, err := s.cat.Table(context.Background(), "subway", "stations")
	if err != nil {
		t.Fatal(err)
	}
	if got.Model != schema.ModelPrimaryKeys || strings.Join(got.KeyColumns(), ",") != "line_no,station_name" ||
		got.Columns[1].Length != 400 || got.Columns[2].Length != 80 {
		t.Errorf("created %+v", got)
	}
	if n := ddlCount(t, reg, "create_table"); n != 1 {
		t.Errorf("starsink_ddl_total{kind=create_table} = %v, want 1", n)
	}
	// A second manager on the same registry shares the counter.
	if _, err := NewManager(ManagerConfig{Exec: exec, Catalog: s.cat, Mapping: m, Registerer: reg}); err != nil {
		t.Errorf("second manager: %v", err)
	}

	// Off: nothing is created.
	m.CreateTables = false
	off, _ := NewManager(ManagerConfig{Exec: exec, Catalog: s.cat, Mapping: m})
	if created, err := off.EnsureTable(context.Background(), mapping.Target{Database: "subway", Table: "other"}, key, value); created || err != nil {
		t.Errorf("create_tables off: %v, %v", created, err)
	}
	// Without schemas: a typed error.
	on, _ := NewManager(ManagerConfig{Exec: exec, Catalog: s.cat, Mapping: config.Mapping{CreateTables: true}})
	_, err = on.EnsureTable(context.Background(), mapping.Target{Database: "subway", Table: "other"}, []byte(`{"id":1}`), []byte(`{"id":1,"a":"x"}`))
	var de *Error
	if !errors.As(err, &de) || !errors.Is(err, ErrNoSchema) || de.Table != "subway.other" {
		t.Errorf("schemaless: %v", err)
	}
}

// ddlCount reads starsink_ddl_total{kind} from reg.
func ddlCount(t *testing.T, reg *prometheus.Registry, kind string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
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

// fakeFE is a StarRocks FE that runs ALTER TABLE as schema-change jobs:
// each job stays RUNNING for `polls` reads of SHOW ALTER TABLE COLUMN,
// then ends as `end` (FINISHED or CANCELLED).
type fakeFE struct {
	mu    sync.Mutex
	table *schema.Table
	polls int
	end   string
	jobs  []map[string]string
	left  int
	stmts []string
	reads int
}

var (
	reAdd    = regexp.MustCompile("^ALTER TABLE `[^`]+`\\.`[^`]+` ADD COLUMN `([^`]+)` (.+) NULL$")
	reModify = regexp.MustCompile("^ALTER TABLE `[^`]+`\\.`[^`]+` MODIFY COLUMN `([^`]+)` (.+?)( NOT)? NULL$")
)

func (f *fakeFE) Exec(_ context.Context, stmt string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stmts = append(f.stmts, stmt)
	switch {
	case reAdd.MatchString(stmt):
		m := reAdd.FindStringSubmatch(stmt)
		f.table.Columns = append(f.table.Columns, schema.NewColumn(m[1], m[2], true, false))
	case reModify.MatchString(stmt):
		m := reModify.FindStringSubmatch(stmt)
		i := f.table.Index(m[1])
		c := schema.NewColumn(m[1], m[2], f.table.Columns[i].Nullable, f.table.Columns[i].Key)
		f.table.Columns[i] = c
	default:
		return fmt.Errorf("fake FE: unexpected %s", stmt)
	}
	f.jobs = append(f.jobs, map[string]string{"JobId": fmt.Sprint(100 + len(f.jobs)), "TableName": f.table.Name, "State": "RUNNING"})
	f.left = f.polls
	return nil
}

func (f *fakeFE) Query(_ context.Context, stmt string) ([]map[string]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if stmt != AlterQuery(f.table.Database, f.table.Name) {
		return nil, fmt.Errorf("fake FE: unexpected %s", stmt)
	}
	f.reads++
	if len(f.jobs) == 0 {
		return nil, nil
	}
	j := f.jobs[len(f.jobs)-1]
	if j["State"] == "RUNNING" {
		if f.left == 0 {
			j["State"] = f.end
			if f.end == "CANCELLED" {
				j["Msg"] = "type change from VARCHAR(80) to VARCHAR(40) is not allowed"
			}
		} else {
			f.left--
		}
	}
	var out []map[string]string // every job, oldest first, as SHOW ALTER TABLE lists them
	for _, job := range f.jobs {
		c := map[string]string{}
		for k, v := range job {
			c[k] = v
		}
		out = append(out, c)
	}
	return out, nil
}

func (f *fakeFE) Table(context.Context, string, string) (*schema.Table, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.table == nil {
		return nil, streamload.ErrTableNotFound
	}
	t := *f.table
	t.Columns = append([]schema.Column(nil), f.table.Columns...)
	return &t, nil
}

func (f *fakeFE) Refresh(string, string) {}

// evolvedValue is an unwrapped value of the reference table whose source
// widened ext_code to varchar(50), added opened (date) and dropped
// reg_date.
const evolvedValue = `{"schema":{"type":"struct","optional":false,"name":"x.Value","fields":[` +
	`{"type":"string","optional":false,"field":"line_no","parameters":{"__debezium.source.column.type":"VARCHAR","__debezium.source.column.length":"100"}},` +
	`{"type":"string","optional":false,"field":"station_name","parameters":{"__debezium.source.column.type":"VARCHAR","__debezium.source.column.length":"100"}},` +
	`{"type":"string","optional":true,"field":"station_code","parameters":{"__debezium.source.column.type":"VARCHAR","__debezium.source.column.length":"20"}},` +
	`{"type":"string","optional":true,"field":"ext_code","parameters":{"__debezium.source.column.type":"VARCHAR","__debezium.source.column.length":"50"}},` +
	`{"type":"int32","optional":true,"name":"io.debezium.time.Date","field":"opened"},` +
	`{"type":"string","optional":true,"field":"__deleted"}]},` +
	`"payload":{"line_no":"1호선","station_name":"서울역","station_code":"0150","ext_code":"150","opened":0,"__deleted":"false"}}`

const evolvedKey = `{"schema":{"type":"struct","optional":false,"fields":[{"type":"string","optional":false,"field":"line_no"},{"type":"string","optional":false,"field":"station_name"}]},"payload":{"line_no":"1호선","station_name":"서울역"}}`

func referenceTable() *schema.Table {
	c := schema.NewColumn
	return &schema.Table{Database: "subway", Name: "info", Model: schema.ModelPrimaryKeys, Columns: []schema.Column{
		c("line_no", "varchar(400)", false, true), c("station_name", "varchar(100)", false, true),
		c("station_code", "varchar(80)", true, false), c("ext_code", "varchar(80)", true, false), c("reg_date", "varchar(32)", true, false)}}
}

func newFakeManager(t *testing.T, fe *fakeFE, evolve string, timeout time.Duration) (*Manager, *prometheus.Registry, *observer.ObservedLogs) {
	t.Helper()
	core, logs := observer.New(zap.InfoLevel)
	reg := prometheus.NewRegistry()
	m, err := NewManager(ManagerConfig{Exec: fe, Catalog: fe, Mapping: config.Mapping{Evolve: evolve}, Poll: time.Millisecond,
		Timeout: timeout, Log: zap.New(core), Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	return m, reg, logs
}

// TestEvolveAddsAndWidens: a new source field is added and a widened
// varchar widened, each schema change polled until FINISHED; the key
// column that is too narrow is left alone; the dropped source column is
// kept and logged once.
func TestEvolveAddsAndWidens(t *testing.T) {
	fe := &fakeFE{table: referenceTable(), polls: 3, end: "FINISHED"}
	mgr, reg, logs := newFakeManager(t, fe, "add_columns", time.Minute)
	target := mapping.Target{Database: "subway", Table: "info"}
	var got []string
	for range 2 {
		tbl, _ := fe.Table(context.Background(), "", "")
		changes, err := mgr.Evolve(context.Background(), target, tbl, []byte(evolvedKey), []byte(evolvedValue))
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range changes {
			got = append(got, c.SQL)
		}
	}
	want := []string{
		"ALTER TABLE `subway`.`info` MODIFY COLUMN `ext_code` VARCHAR(200) NULL",
		"ALTER TABLE `subway`.`info` ADD COLUMN `opened` DATE NULL",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("ran\n%s\nwant (once)\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if fe.reads < 2*(fe.polls+2) {
		t.Errorf("SHOW ALTER TABLE read %d times: the jobs were not waited for", fe.reads)
	}
	for kind, want := range map[string]float64{"add_column": 1, "modify_column": 1} {
		if n := ddlCount(t, reg, kind); n != want {
			t.Errorf("starsink_ddl_total{kind=%s} = %v, want %v", kind, n, want)
		}
	}
	if n := logs.FilterMessage("ddl").Len(); n != 2 {
		t.Errorf("%d ddl log lines, want 2", n)
	}
	if n := logs.FilterField(zap.String("column", "reg_date")).Len(); n != 1 {
		t.Errorf("dropped column logged %d times, want once", n)
	}
	if fe.table.Index("reg_date") < 0 || fe.table.Columns[1].Length != 100 {
		t.Errorf("a column was dropped or a key altered: %+v", fe.table.Columns)
	}
}

// TestEvolveFailures: a cancelled schema change is an error with
// StarRocks' message; one that never finishes times out; evolve off does
// nothing.
func TestEvolveFailures(t *testing.T) {
	target := mapping.Target{Database: "subway", Table: "info"}
	fe := &fakeFE{table: referenceTable(), polls: 1, end: "CANCELLED"}
	mgr, _, _ := newFakeManager(t, fe, "add_columns", time.Minute)
	_, err := mgr.Evolve(context.Background(), target, referenceTable(), []byte(evolvedKey), []byte(evolvedValue))
	var de *Error
	if !errors.Is(err, ErrCancelled) || !errors.As(err, &de) || de.Kind != KindModifyColumn || !strings.Contains(err.Error(), "is not allowed") {
		t.Errorf("cancelled: %v", err)
	}

	fe = &fakeFE{table: referenceTable(), polls: 1 << 30, end: "FINISHED"}
	mgr, _, _ = newFakeManager(t, fe, "add_columns", 5*time.Millisecond)
	if _, err := mgr.Evolve(context.Background(), target, referenceTable(), []byte(evolvedKey), []byte(evolvedValue)); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("never finishing: %v", err)
	}

	fe = &fakeFE{table: referenceTable(), end: "FINISHED"}
	mgr, _, _ = newFakeManager(t, fe, "none", time.Minute)
	if ch, err := mgr.Evolve(context.Background(), target, referenceTable(), []byte(evolvedKey), []byte(evolvedValue)); ch != nil || err != nil || len(fe.stmts) != 0 {
		t.Errorf("evolve none: %v %v %v", ch, err, fe.stmts)
	}
}

// TestEvolveFastSchemaChange: an ALTER that StarRocks applies without a
// job (fast schema evolution) is not waited for.
func TestEvolveFastSchemaChange(t *testing.T) {
	fe := &fakeFE{table: referenceTable(), end: "FINISHED"}
	exec := &noJobs{fe}
	mgr, err := NewManager(ManagerConfig{Exec: exec, Catalog: fe, Mapping: config.Mapping{Evolve: "add_columns"}, Poll: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ch, err := mgr.Evolve(context.Background(), mapping.Target{Database: "subway", Table: "info"}, referenceTable(), []byte(evolvedKey), []byte(evolvedValue))
	if err != nil || len(ch) != 2 {
		t.Errorf("got %v, %v", ch, err)
	}
}

// noJobs answers SHOW ALTER TABLE with no rows, as after changes that
// needed no job.
type noJobs struct{ *fakeFE }

func (n *noJobs) Query(context.Context, string) ([]map[string]string, error) { return nil, nil }

// TestEvolveOnEmulator runs the evolve of TestEvolveAddsAndWidens on the
// emulator, whose ALTERs are schema-change jobs that take a while.
func TestEvolveOnEmulator(t *testing.T) {
	s := newStack(t)
	st := s.emu.Settings()
	st.SchemaChangeDuration = emulator.Duration(200 * time.Millisecond)
	if err := s.emu.SetSettings(st); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s.emu.Exec(ctx, "USE subway; CREATE TABLE info (line_no VARCHAR(400) NOT NULL, station_name VARCHAR(100) NOT NULL, "+
		"station_code VARCHAR(80), ext_code VARCHAR(80), reg_date VARCHAR(32)) PRIMARY KEY(line_no, station_name) DISTRIBUTED BY HASH(line_no, station_name)"); err != nil {
		t.Fatal(err)
	}
	exec, err := OpenExecutor(s.emu.MySQLAddr(), "root", "", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer exec.Close()
	mgr, err := NewManager(ManagerConfig{Exec: exec, Catalog: s.cat, Mapping: config.Mapping{Evolve: "add_columns"}, Poll: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	target := mapping.Target{Database: "subway", Table: "info"}
	tbl, err := s.cat.Table(ctx, "subway", "info")
	if err != nil {
		t.Fatal(err)
	}
	changes, err := mgr.Evolve(ctx, target, tbl, []byte(evolvedKey), []byte(evolvedValue))
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 2 {
		t.Fatalf("ran %+v, want a MODIFY and an ADD", changes)
	}
	s.cat.Refresh("subway", "info")
	got, err := s.cat.Table(ctx, "subway", "info")
	if err != nil {
		t.Fatal(err)
	}
	if i := got.Index("ext_code"); i < 0 || got.Columns[i].Length != 200 {
		t.Errorf("ext_code not widened: %+v", got.Columns)
	}
	if i := got.Index("opened"); i < 0 || got.Columns[i].Kind != schema.KindDate {
		t.Errorf("opened not added: %+v", got.Columns)
	}
	jobs, err := s.emu.AlterJobs("subway", "info")
	if err != nil || len(jobs) != 2 || jobs[0].State != "FINISHED" || jobs[1].State != "FINISHED" {
		t.Errorf("schema change jobs: %+v, %v", jobs, err)
	}
	// The table now holds the source: nothing more to run.
	if again, err := mgr.Evolve(ctx, target, got, []byte(evolvedKey), []byte(evolvedValue)); err != nil || len(again) != 0 {
		t.Errorf("second evolve: %+v, %v", again, err)
	}
}

// TestManagerCreatesVersionedTableOnEmulator creates a versioned table
// (Duplicate Key, version and deleted columns) and its latest-row view.
func TestManagerCreatesVersionedTableOnEmulator(t *testing.T) {
	s := newStack(t)
	exec, err := OpenExecutor(s.emu.MySQLAddr(), "root", "", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer exec.Close()
	reg := prometheus.NewRegistry()
	mgr, err := NewManager(ManagerConfig{Exec: exec, Catalog: s.cat, Mapping: config.Mapping{CreateTables: true}, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	target := mapping.Target{Database: "subway", Table: "info_versions", Options: config.TableOptions{Mode: "versioned"}}
	created, err := mgr.EnsureTable(context.Background(), target, file(t, "testdata/subway_info.key.json"), file(t, "testdata/subway_info.value.json"))
	if err != nil || !created {
		t.Fatalf("created %v, %v", created, err)
	}
	got, err := s.cat.Table(context.Background(), "subway", "info_versions")
	if err != nil {
		t.Fatal(err)
	}
	if got.Model != schema.ModelDupKeys || got.Index("_version") < 0 || got.Index("_deleted") < 0 {
		t.Errorf("created %+v", got)
	}
	// The view was created; the emulator's SQL engine cannot query it (it
	// parses a view's CREATE text again, IF NOT EXISTS included), so only
	// the statement is checked here.
	if n := ddlCount(t, reg, KindCreateView); n != 1 {
		t.Errorf("starsink_ddl_total{kind=create_view} = %v, want 1", n)
	}
}

// TestEvolveRacingReplicas: two replicas evolve the same table for the
// same record schema at once (each from the schema it read before either
// ALTER). StarRocks refuses an ALTER while another runs and an ADD of a
// column another job added: the loser waits, reads the table again and
// runs only what is still missing. Both succeed, each change runs once.
func TestEvolveRacingReplicas(t *testing.T) {
	s := newStack(t)
	st := s.emu.Settings()
	st.SchemaChangeDuration = emulator.Duration(200 * time.Millisecond)
	if err := s.emu.SetSettings(st); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s.emu.Exec(ctx, "USE subway; CREATE TABLE info (line_no VARCHAR(400) NOT NULL, station_name VARCHAR(100) NOT NULL, "+
		"station_code VARCHAR(80), ext_code VARCHAR(80), reg_date VARCHAR(32)) PRIMARY KEY(line_no, station_name) DISTRIBUTED BY HASH(line_no, station_name)"); err != nil {
		t.Fatal(err)
	}
	stale, err := s.cat.Table(ctx, "subway", "info")
	if err != nil {
		t.Fatal(err)
	}
	// The other replica has started adding the column already.
	if err := s.emu.Exec(ctx, "ALTER TABLE subway.info ADD COLUMN opened DATE NULL"); err != nil {
		t.Fatal(err)
	}
	exec, err := OpenExecutor(s.emu.MySQLAddr(), "root", "", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer exec.Close()
	mgr, err := NewManager(ManagerConfig{Exec: exec, Catalog: s.cat, Mapping: config.Mapping{Evolve: "add_columns"}, Poll: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	changes, err := mgr.Evolve(ctx, mapping.Target{Database: "subway", Table: "info"}, stale, []byte(evolvedKey), []byte(evolvedValue))
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 1 || changes[0].Kind != KindModifyColumn {
		t.Errorf("ran %+v, want the MODIFY alone (the ADD was the other replica's)", changes)
	}
	s.cat.Refresh("subway", "info")
	got, err := s.cat.Table(ctx, "subway", "info")
	if err != nil {
		t.Fatal(err)
	}
	if i := got.Index("ext_code"); i < 0 || got.Columns[i].Length != 200 {
		t.Errorf("ext_code not widened: %+v", got.Columns)
	}
	if i := got.Index("opened"); i < 0 {
		t.Errorf("opened missing: %+v", got.Columns)
	}
	jobs, err := s.emu.AlterJobs("subway", "info")
	if err != nil || len(jobs) != 2 {
		t.Errorf("schema change jobs: %+v, %v; want the other replica's ADD and this MODIFY", jobs, err)
	}
}
