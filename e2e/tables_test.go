//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Tables that take care of themselves (issue 17 §4, docs/configuration.md):
// from an empty StarRocks database, with mapping.create_tables and
// mapping.evolve: add_columns, starsink creates the tables from Debezium's
// schemas, then follows ADD COLUMN and a widened VARCHAR in PostgreSQL
// while rows flow. A database, connector and group of their own leave the
// other steps alone.

// ownTables are the step's PostgreSQL tables: a composite key with Korean
// text, and a numeric key that gains a column.
var ownTables = []table{
	{
		name: "station_notice",
		pk:   []string{"line_no", "station_name"},
		cols: []string{"line_no", "station_name", "notice", "seq"},
		pgDDL: `CREATE TABLE public.station_notice (
  line_no varchar(8) NOT NULL, station_name varchar(24) NOT NULL,
  notice varchar(100), seq int NOT NULL DEFAULT 0,
  PRIMARY KEY (line_no, station_name))`,
		initial: 300,
	},
	{
		name:    "ride_log",
		pk:      []string{"id"},
		cols:    []string{"id", "station_name", "riders"},
		pgDDL:   `CREATE TABLE public.ride_log (id bigint PRIMARY KEY, station_name varchar(24) NOT NULL, riders int)`,
		initial: 1000,
	},
}

var ownSeedSQL = []string{
	`INSERT INTO public.station_notice
SELECT (1 + i % 9) || '호선', '역' || i || '번', i || '번 출구: 열차가 곧 도착합니다', 0 FROM generate_series(1, 300) i`,
	`INSERT INTO public.ride_log SELECT i, '강남' || i % 50 || '역', i * 7 % 1000 FROM generate_series(1, 1000) i`,
}

// ownTablesCell is the cell that runs the step: the tables are created
// from the schemas in the records, so it needs a cell with schemas.
const ownTablesCell = "2.6-raw-schemas"

// ownReplicas is how many replicas load the step's tables; they race to
// create and alter them.
const ownReplicas = 2

// planResult is the part of `starsink plan --output json` the step reads.
type planResult struct {
	Topics []struct {
		Topic  string `json:"topic"`
		Error  string `json:"error"`
		Table  string `json:"table"`
		Exists bool   `json:"exists"`
		DDL    []struct {
			Kind string `json:"kind"`
			SQL  string `json:"sql"`
		} `json:"ddl"`
		Differences []struct {
			Class   string `json:"class"`
			Column  string `json:"column"`
			Message string `json:"message"`
		} `json:"differences"`
	} `json:"topics"`
	Errors int `json:"errors"`
}

// runPlan runs `starsink plan` on config, in text (for people: returned
// and logged) and in JSON (for the checks); it fails the test unless both
// exit 0.
func runPlan(ctx context.Context, t *testing.T, e env, config string) (string, planResult) {
	t.Helper()
	text, err := exec.CommandContext(ctx, e.bin, "plan", "--config", config).CombinedOutput()
	t.Logf("starsink plan --config %s:\n%s", filepath.Base(config), text)
	if err != nil {
		t.Fatalf("starsink plan: %v", err)
	}
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, e.bin, "plan", "--config", config, "--output", "json")
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("starsink plan --output json: %v\n%s", err, stderr.Bytes())
	}
	var p planResult
	if err := json.Unmarshal(out, &p); err != nil {
		t.Fatalf("starsink plan --output json: %v\n%s", err, out)
	}
	return string(text), p
}

// setEmulator posts settings to the emulator's control endpoint and
// returns the settings it had.
func setEmulator(ctx context.Context, e env, settings string) (json.RawMessage, error) {
	if e.srHTTP == "" {
		return nil, errors.New("E2E_SR_HTTP is not set: use bash e2e/run.sh")
	}
	do := func(method, path, body string) ([]byte, error) {
		req, err := http.NewRequestWithContext(ctx, method, "http://"+e.srHTTP+path, strings.NewReader(body))
		if err != nil {
			return nil, err
		}
		req.SetBasicAuth("root", "")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		_, _ = b.ReadFrom(resp.Body)
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("emulator: %s %s: %s: %s", method, path, resp.Status, b.Bytes())
		}
		return b.Bytes(), nil
	}
	b, err := do(http.MethodGet, "/_emulator/state", "")
	if err != nil {
		return nil, err
	}
	var st struct {
		Settings json.RawMessage `json:"settings"`
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("emulator: state: %w", err)
	}
	if _, err := do(http.MethodPost, "/_emulator/config", settings); err != nil {
		return nil, err
	}
	return st.Settings, nil
}

// selfManaged runs the step in database <cell id>_own.
func selfManaged(ctx context.Context, t *testing.T, e env, c cell) {
	start := time.Now()
	db := c.id() + "_own"
	prefix := e.topicPrefix + "." + db
	connector, slot := "starsink-e2e-"+db, "starsink_"+db

	// StarRocks' schema changes are jobs that take time: ALTER TABLE
	// returns at once and SHOW ALTER TABLE COLUMN says FINISHED later.
	old, err := setEmulator(ctx, e, `{"schema_change_duration": "2s"}`)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if _, err := setEmulator(context.Background(), e, string(old)); err != nil {
			t.Errorf("restoring the emulator's settings: %v", err)
		}
	}()

	// PostgreSQL: the tables, their rows and the publication.
	admin := pgConn(ctx, t, e.pgDSN)
	for _, q := range []string{"DROP DATABASE IF EXISTS " + db + " WITH (FORCE)", "CREATE DATABASE " + db} {
		if _, err := admin.Exec(ctx, q); err != nil {
			t.Fatalf("postgres: %s: %v", q, err)
		}
	}
	dsn := strings.Replace(c.pgDSN(t, e), "/"+c.id(), "/"+db, 1)
	pg := pgConn(ctx, t, dsn)
	var stmts []string
	for _, tb := range ownTables {
		stmts = append(stmts, tb.pgDDL)
	}
	stmts = append(stmts, ownSeedSQL...)
	stmts = append(stmts, "CREATE PUBLICATION starsink_e2e FOR TABLE public.station_notice, public.ride_log")
	for _, s := range stmts {
		if _, err := pg.Exec(ctx, s); err != nil {
			t.Fatalf("postgres setup: %v\n%s", err, s)
		}
	}

	// Kafka: the topics, three partitions each, before anyone subscribes.
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.kafka))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	var topics []string
	for _, tb := range ownTables {
		topics = append(topics, prefix+".public."+tb.name)
	}
	res, err := adm.CreateTopics(ctx, 3, 1, nil, topics...)
	if err != nil {
		t.Fatalf("create topics: %v", err)
	}
	for _, r := range res.Sorted() {
		if r.Err != nil && !errors.Is(r.Err, kerr.TopicAlreadyExists) {
			t.Fatalf("create topic %s: %v", r.Topic, r.Err)
		}
	}

	// The connector: the cell's, on the step's database, with the source
	// column types in the schemas (the exact VARCHAR lengths ddl maps).
	cfg := c.connectorConfig(t, e)
	cfg["database.dbname"] = db
	cfg["topic.prefix"] = prefix
	cfg["slot.name"] = slot
	cfg["table.include.list"] = "public.station_notice,public.ride_log"
	cfg["column.propagate.source.type"] = ".*"
	delete(cfg, "signal.data.collection")
	registerConnector(ctx, t, e, connector, cfg)
	defer unregisterConnector(ctx, t, e, connector, slot)

	// An empty StarRocks database.
	sr := srConn(ctx, t, e.srMySQL, db)
	var n int
	if err := sr.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = ?", db).Scan(&n); err != nil {
		t.Fatalf("emulator: %v", err)
	}
	if n != 0 {
		t.Fatalf("emulator: database %s has %d tables, want none", db, n)
	}

	// The replicas' configuration: the cell's, with the step's database
	// and topics, and the tables left to starsink.
	tmpl, err := os.ReadFile(e.config)
	if err != nil {
		t.Fatal(err)
	}
	config := strings.NewReplacer("${CELL_ID}", db, "${CELL_TOPIC_RE}", regexp.QuoteMeta(prefix+".public.")+".*",
		"${CELL_DECODER}\n", "  create_tables: true\n  evolve: add_columns\n"+c.decoderConfig()).Replace(string(tmpl))
	if strings.Contains(config, "${") {
		t.Fatalf("%s: placeholders left:\n%s", e.config, config)
	}
	configPath := filepath.Join(e.run, "starsink-"+db+".yaml")
	if err := os.WriteFile(configPath, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	_ = os.WriteFile(filepath.Join(e.logs, "starsink-"+db+".yaml"), []byte(config), 0o644)

	// The snapshot in Kafka, then the plan: every table missing, and the
	// CREATE TABLE starsink will run.
	if _, err := waitUntil(ctx, 2*time.Minute, 500*time.Millisecond, "the snapshot in Kafka", func() (bool, string) {
		ends, err := adm.ListEndOffsets(ctx, topics...)
		if err != nil {
			return false, err.Error()
		}
		var state []string
		ok := true
		for i, tb := range ownTables {
			var sum int64
			ends.Each(func(o kadm.ListedOffset) {
				if o.Topic == topics[i] {
					sum += o.Offset
				}
			})
			ok = ok && sum >= int64(tb.initial)
			state = append(state, fmt.Sprintf("%s %d of %d", tb.name, sum, tb.initial))
		}
		return ok, strings.Join(state, ", ")
	}); err != nil {
		t.Fatal(err)
	}
	created := map[string]string{} // table → the CREATE TABLE the plan shows
	t.Run("plan_before", func(t *testing.T) {
		text, p := runPlan(ctx, t, e, configPath)
		if strings.Count(text, "(missing)") != len(ownTables) || strings.Count(text, "mapping.create_tables would run") != len(ownTables) {
			t.Errorf("the plan's text does not say that both tables are missing and would be created")
		}
		if len(p.Topics) != len(ownTables) || p.Errors != 0 {
			t.Fatalf("plan: %d topics, %d with errors; want %d, none", len(p.Topics), p.Errors, len(ownTables))
		}
		for _, tp := range p.Topics {
			if tp.Error != "" || tp.Exists || len(tp.DDL) != 1 || tp.DDL[0].Kind != "create_table" ||
				!strings.Contains(tp.DDL[0].SQL, "CREATE TABLE") {
				t.Errorf("plan of %s: error %q, exists %v, DDL %+v; want a missing table and its CREATE TABLE", tp.Topic, tp.Error, tp.Exists, tp.DDL)
				continue
			}
			created[tp.Table] = tp.DDL[0].SQL
		}
	})

	var replicas []*replica
	defer func() {
		for _, r := range replicas {
			r.stop()
		}
	}()
	started := time.Now()
	for i := 1; i <= ownReplicas; i++ {
		replicas = append(replicas, startReplicaWith(t, e, 20+i, configPath, db+"-"))
	}

	ok := t.Run("create_tables", func(t *testing.T) {
		at, err := settle(ctx, pg, sr, ownTables, replicas)
		if err != nil {
			t.Fatal(err)
		}
		compareTables(ctx, t, pg, sr, ownTables)
		for _, tb := range ownTables {
			cols, err := srColumns(ctx, sr, db, tb.name)
			if err != nil {
				t.Fatal(err)
			}
			for _, col := range tb.cols {
				if cols[col] == "" {
					t.Errorf("%s.%s: no column %s (columns %v)", db, tb.name, col, cols)
				} else if !strings.Contains(created[tb.name], col) {
					t.Errorf("%s.%s: column %s is not in the plan's CREATE TABLE:\n%s", db, tb.name, col, created[tb.name])
				}
			}
			t.Logf("%s.%s created: %v", db, tb.name, cols)
		}
		t.Logf("tables created and loaded %.1f s after the replicas started", at.Sub(started).Seconds())
	})
	if !ok {
		t.Fatal("the tables were not created: the schema changes would only repeat it")
	}

	t.Run("evolve", func(t *testing.T) {
		evolveStart := time.Now()
		notice, rides := ownTables[0], ownTables[1]
		rides.cols = append(rides.cols[:len(rides.cols):len(rides.cols)], "note")
		// Rows flow before, between and after the two ALTERs, one
		// transaction each.
		id := 1000
		flow := func(k int, withNote bool, longNotice bool) {
			for range k {
				id++
				ins := fmt.Sprintf("INSERT INTO public.ride_log (id, station_name, riders) VALUES (%d, '신촌%d역', %d)", id, id%40, id%977)
				if withNote {
					ins = fmt.Sprintf("INSERT INTO public.ride_log (id, station_name, riders, note) VALUES (%d, '신촌%d역', %d, '메모 %d: 혼잡')", id, id%40, id%977, id)
				}
				upd := fmt.Sprintf("UPDATE public.station_notice SET seq = seq + 1 WHERE station_name = '역%d번'", 1+id%300)
				if longNotice {
					// 240 characters, 560 bytes: more than VARCHAR(400),
					// what varchar(100) maps to.
					upd = fmt.Sprintf("UPDATE public.station_notice SET seq = seq + 1, notice = repeat('긴 안내문 ', 40) || %d WHERE station_name = '역%d번'", id, 1+id%300)
				}
				for _, q := range []string{ins, upd} {
					if _, err := pg.Exec(ctx, q); err != nil {
						t.Fatalf("postgres: %v\n%s", err, q)
					}
				}
				time.Sleep(10 * time.Millisecond)
			}
		}
		flow(100, false, false)
		if _, err := pg.Exec(ctx, "ALTER TABLE public.ride_log ADD COLUMN note varchar(40)"); err != nil {
			t.Fatalf("postgres: %v", err)
		}
		flow(100, true, false)
		if _, err := pg.Exec(ctx, "ALTER TABLE public.station_notice ALTER COLUMN notice TYPE varchar(300)"); err != nil {
			t.Fatalf("postgres: %v", err)
		}
		flow(100, true, true)
		committed := time.Now()
		tables := []table{notice, rides}
		at, err := settle(ctx, pg, sr, tables, replicas)
		if err != nil {
			t.Fatal(err)
		}
		compareTables(ctx, t, pg, sr, tables)
		for _, tb := range tables {
			cols, err := srColumns(ctx, sr, db, tb.name)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s.%s now: %v", db, tb.name, cols)
		}
		if cols, _ := srColumns(ctx, sr, db, "ride_log"); cols["note"] == "" {
			t.Errorf("%s.ride_log has no column note", db)
		}
		if cols, _ := srColumns(ctx, sr, db, "station_notice"); !strings.Contains(strings.ToLower(cols["notice"]), "varchar(1200)") {
			t.Errorf("%s.station_notice.notice is %q, want varchar(1200) (varchar(300), 4 bytes a character)", db, cols["notice"])
		}
		// StarRocks ran each ALTER as a job that took its time (the
		// emulator's 2 s), and the replicas waited for it.
		for _, tb := range tables {
			jobs, err := alterJobs(ctx, sr, db, tb.name)
			if err != nil {
				t.Fatal(err)
			}
			if len(jobs) == 0 {
				t.Errorf("%s.%s: SHOW ALTER TABLE COLUMN lists no job", db, tb.name)
			}
			for _, j := range jobs {
				if j.state != "FINISHED" || j.took < time.Second {
					t.Errorf("%s.%s: schema change job %s, %s after %s; want FINISHED after the emulator's 2 s", db, tb.name, j.id, j.state, j.took)
				}
			}
			t.Logf("%s.%s: schema change jobs %v", db, tb.name, jobs)
		}
		// The statements, counted by the replicas that ran them.
		kinds := map[string]float64{}
		for _, r := range replicas {
			ss, err := scrape(ctx, replicaURL(r.n, "/metrics"))
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range ss {
				if s.name == "starsink_ddl_total" {
					kinds[s.labels["kind"]] += s.value
				}
			}
		}
		if kinds["create_table"] < 2 || kinds["add_column"] < 1 || kinds["modify_column"] < 1 {
			t.Errorf("starsink_ddl_total over the replicas: %v; want create_table ≥ 2, add_column ≥ 1, modify_column ≥ 1", kinds)
		}
		t.Logf("starsink_ddl_total: %v; equal %.1f s after the last commit (step %.1f s)", kinds,
			at.Sub(committed).Seconds(), time.Since(evolveStart).Seconds())
	})

	t.Run("plan_after", func(t *testing.T) {
		text, p := runPlan(ctx, t, e, configPath)
		if strings.Count(text, "(exists)") != len(ownTables) || strings.Contains(text, "DDL (") {
			t.Errorf("the plan's text does not say that both tables exist with nothing to run")
		}
		if len(p.Topics) != len(ownTables) || p.Errors != 0 {
			t.Fatalf("plan: %d topics, %d with errors; want %d, none", len(p.Topics), p.Errors, len(ownTables))
		}
		for _, tp := range p.Topics {
			if tp.Error != "" || !tp.Exists || len(tp.DDL) != 0 {
				t.Errorf("plan of %s: error %q, exists %v, DDL %+v; want the table, nothing to run", tp.Topic, tp.Error, tp.Exists, tp.DDL)
			}
			for _, d := range tp.Differences {
				if d.Class == "error" {
					t.Errorf("plan of %s: %s: %s", tp.Topic, d.Column, d.Message)
				}
			}
		}
	})

	if dead := deadReplicas(replicas); dead != "" {
		t.Error(dead)
	}
	t.Logf("step took %.1f s", time.Since(start).Seconds())
}

// srColumns returns a table's columns and their types as
// information_schema.columns spells them.
func srColumns(ctx context.Context, sr *sql.DB, db, table string) (map[string]string, error) {
	rows, err := sr.QueryContext(ctx, "SELECT COLUMN_NAME, COLUMN_TYPE FROM information_schema.columns WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?", db, table)
	if err != nil {
		return nil, fmt.Errorf("emulator: columns of %s.%s: %w", db, table, err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var name, typ string
		if err := rows.Scan(&name, &typ); err != nil {
			return nil, fmt.Errorf("emulator: columns of %s.%s: %w", db, table, err)
		}
		out[name] = typ
	}
	return out, rows.Err()
}

// settle waits until tables are equal on both sides and returns when.
func settle(ctx context.Context, pg *pgx.Conn, sr *sql.DB, tables []table, replicas []*replica) (time.Time, error) {
	err := converge(ctx, pg, sr, tables, func() string { return deadReplicas(replicas) })
	return time.Now(), err
}

// alterJob is one row of SHOW ALTER TABLE COLUMN.
type alterJob struct {
	id, state string
	took      time.Duration // FinishTime - CreateTime, whole seconds
}

func (j alterJob) String() string { return fmt.Sprintf("%s %s in %s", j.id, j.state, j.took) }

// alterJobs reads a table's schema change jobs.
func alterJobs(ctx context.Context, sr *sql.DB, db, table string) ([]alterJob, error) {
	rows, err := sr.QueryContext(ctx, "SHOW ALTER TABLE COLUMN FROM "+db+" WHERE TableName = '"+table+"'")
	if err != nil {
		return nil, fmt.Errorf("emulator: SHOW ALTER TABLE COLUMN of %s.%s: %w", db, table, err)
	}
	defer rows.Close()
	names, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var out []alterJob
	for rows.Next() {
		vals := make([]sql.NullString, len(names))
		dst := make([]any, len(names))
		for i := range vals {
			dst[i] = &vals[i]
		}
		if err := rows.Scan(dst...); err != nil {
			return nil, fmt.Errorf("emulator: SHOW ALTER TABLE COLUMN of %s.%s: %w", db, table, err)
		}
		col := map[string]string{}
		for i, n := range names {
			col[n] = vals[i].String
		}
		j := alterJob{id: col["JobId"], state: col["State"]}
		created, err1 := time.Parse(time.DateTime, col["CreateTime"])
		finished, err2 := time.Parse(time.DateTime, col["FinishTime"])
		if err1 == nil && err2 == nil {
			j.took = finished.Sub(created)
		}
		out = append(out, j)
	}
	return out, rows.Err()
}
