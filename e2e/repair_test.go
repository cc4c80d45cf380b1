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
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Repair by incremental snapshot (docs/architecture.md, "The version of a
// change"): a target made wrong behind starsink's back is set right by a
// Debezium incremental snapshot of its table, in each way starsink can
// store a table, while the source keeps changing; and an initial snapshot
// interrupted and taken again ends equal to the source in versioned mode.
// Each mode has its own source table, target table, topic and consumer
// group; one connector feeds them all.

// TestIntegrationRepair runs the repair scenario on each cell of
// E2E_REPAIR_CELLS that the stack's Debezium runs (raw or rewrite topics:
// the versioned mode needs each change's position).
func TestIntegrationRepair(t *testing.T) {
	e := loadEnv(t)
	if e.captureOnly {
		t.Skip("capture only")
	}
	for _, c := range stackCells(t, e, e.repairCells, "E2E_REPAIR_CELLS") {
		if c.topics == "tombstone" {
			t.Errorf("cell %s: the versioned mode needs the changes' positions, which tombstone cells do not carry", c.name)
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			start := time.Now()
			t.Run("incremental_snapshot", func(t *testing.T) { repairBySnapshot(t, e, c) })
			t.Run("restarted_snapshot", func(t *testing.T) { restartedSnapshot(t, e, c) })
			t.Logf("FIGURE repair scenario %s: %.0f s", c.name, time.Since(start).Seconds())
		})
	}
}

// repairMode is one way of storing a table, with the source table, target
// and consumer group of its own.
type repairMode struct {
	name    string // the subtest's name
	table   string // the source table, its topic and its target table
	options string // mapping.tables.<table>, YAML at 6 spaces
	guard   bool   // a Primary Key table with the version column
	// versioned: a Duplicate Key table with the version and deleted
	// columns, read through <table>_latest (the latest-row view).
	versioned bool
	// repairs: the incremental snapshot sets every tampered row right.
	// Without it the mode is a control: the tampered rows whose stored
	// version came from a streamed change stay wrong.
	repairs bool
}

var repairModes = []repairMode{
	{name: "versioned_kafka_offset", table: "repair_versioned", versioned: true, repairs: true,
		options: "mode: versioned\nversion_from: kafka_offset"},
	{name: "guard_kafka_offset", table: "repair_guard", guard: true, repairs: true,
		options: "version_column: _version\nversion_from: kafka_offset"},
	{name: "primary_key", table: "repair_pk", repairs: true},
	// The controls: version_from left at its default, source_position,
	// where snapshot rows rank below every streamed change.
	{name: "control_guard_source_position", table: "repair_guard_sp", guard: true,
		options: "version_column: _version"},
	{name: "control_versioned_source_position", table: "repair_versioned_sp", versioned: true,
		options: "mode: versioned"},
}

// The rows of the scenario's tables, by seq (1…300 initially, 301…310
// inserted while streaming):
//
//	seq % 10 = 0       updated while streaming (their stored version is a streamed change's)
//	seq % 50 = 7       deleted while streaming
//	seq % 20 = 0, 3    values tampered with in the target (streamed, snapshot-only), seq ≤ 300
//	seq % 40 = 10, 11  deleted in the target behind starsink's back (streamed, snapshot-only), seq ≤ 300
//	seq % 10 = 5       changed while the incremental snapshot runs; 155 by the in-flight transaction
const (
	repairRows      = 300
	tamperedUpdates = "seq % 20 IN (0, 3)"
	tamperedDeletes = "seq % 40 IN (10, 11)"
	tamperedCount   = 15 + 15 + 8 + 8
	tamperPassIn    = "999999999"
	tamperRegDate   = "19700101"
	inflightSeq     = 155
)

func repairTable(name string) table {
	return table{
		name: name,
		pk:   []string{"use_date", "line_no", "station_name"},
		cols: []string{"use_date", "line_no", "station_name", "seq", "pass_in", "pass_out", "reg_date"},
		pgDDL: `CREATE TABLE public.` + name + ` (
  use_date varchar(8) NOT NULL, line_no varchar(100) NOT NULL, station_name varchar(100) NOT NULL,
  seq integer NOT NULL, pass_in numeric(13) NULL, pass_out numeric(13) NULL, reg_date varchar(8) NULL,
  PRIMARY KEY (use_date, line_no, station_name))`,
		initial: repairRows,
	}
}

// repairSeed fills a repair table with rows 1…n.
func repairSeed(name string, n int) string {
	return fmt.Sprintf(`INSERT INTO public.%s
SELECT '2023010' || (1 + i %% 3), (1 + i %% 9) || '호선', '역' || i || '번', i, i * 37 %% 100000, CASE WHEN i %% 7 = 0 THEN NULL ELSE i * 11 %% 90000 END, '20230201'
FROM generate_series(1, %d) i`, name, n)
}

// srDDL is the target of a mode: the source's columns, and the version
// columns the mode needs.
func (m repairMode) srDDL() []string {
	cols := `use_date varchar(8) NOT NULL, line_no varchar(100) NOT NULL, station_name varchar(100) NOT NULL,
  seq INT NOT NULL, pass_in DECIMAL(13,0) NULL, pass_out DECIMAL(13,0) NULL, reg_date varchar(8) NULL`
	key := "(use_date, line_no, station_name)"
	switch {
	case m.versioned:
		return []string{
			`CREATE TABLE ` + m.table + ` (` + cols + `,
  _version BIGINT NOT NULL, _deleted BOOLEAN NOT NULL)
DUPLICATE KEY ` + key + ` DISTRIBUTED BY HASH ` + key,
			// docs/architecture.md, "Versioned mode": the latest version
			// of each key, unless it is a delete.
			`CREATE VIEW ` + m.table + `_latest AS
SELECT use_date, line_no, station_name, seq, pass_in, pass_out, reg_date FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY use_date, line_no, station_name ORDER BY _version DESC) AS rn
  FROM ` + m.table + `) latest
WHERE rn = 1 AND NOT _deleted`,
		}
	case m.guard:
		return []string{`CREATE TABLE ` + m.table + ` (` + cols + `,
  _version BIGINT NOT NULL DEFAULT "0")
PRIMARY KEY ` + key + ` DISTRIBUTED BY HASH ` + key}
	}
	return []string{`CREATE TABLE ` + m.table + ` (` + cols + `)
PRIMARY KEY ` + key + ` DISTRIBUTED BY HASH ` + key}
}

// target is what the comparison reads: the table, or its latest-row view.
func (m repairMode) target() table {
	tb := repairTable(m.table)
	if m.versioned {
		tb.target = m.table + "_latest"
	}
	return tb
}

// repairConfig writes the configuration of a mode's replica: the cell's,
// with the scenario's database, the mode's one topic, a group of its own
// and the mode's table options.
func repairConfig(t *testing.T, e env, c cell, db, topic, table, options string) string {
	t.Helper()
	tmpl, err := os.ReadFile(e.config)
	if err != nil {
		t.Fatal(err)
	}
	mapping := ""
	if options != "" {
		mapping = "  tables:\n    " + table + ":\n      " + strings.ReplaceAll(options, "\n", "\n      ") + "\n"
	}
	config := strings.NewReplacer("${CELL_ID}", db, "${CELL_TOPIC_RE}", regexp.QuoteMeta(topic)+"$",
		"${CELL_DECODER}\n", mapping+c.decoderConfig()).Replace(string(tmpl))
	config = strings.Replace(config, "group_id: starsink-e2e-"+db+"\n", "group_id: starsink-e2e-"+db+"-"+table+"\n", 1)
	if strings.Contains(config, "${") || !strings.Contains(config, "starsink-e2e-"+db+"-"+table) {
		t.Fatalf("%s: the configuration of %s is not filled in:\n%s", e.config, table, config)
	}
	path := filepath.Join(e.run, "starsink-"+db+"-"+table+".yaml")
	if err := os.WriteFile(path, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	_ = os.WriteFile(filepath.Join(e.logs, "starsink-"+db+"-"+table+".yaml"), []byte(config), 0o644)
	return path
}

// repairBySnapshot runs the scenario on every mode at once, in database
// <cell id>_repair.
func repairBySnapshot(t *testing.T, e env, c cell) {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	db := c.id() + "_repair"
	prefix := e.topicPrefix + "." + db
	connector, slot := "starsink-e2e-"+db, "starsink_"+db
	notifications := prefix + ".notifications"

	// PostgreSQL: a table per mode, the signal table, the publication.
	pg := newDatabase(ctx, t, e, c, db)
	var names, topics, collections []string
	for _, m := range repairModes {
		tb := repairTable(m.table)
		for _, s := range []string{tb.pgDDL, "ALTER TABLE public." + m.table + " REPLICA IDENTITY FULL", repairSeed(m.table, repairRows)} {
			pgExec(ctx, t, pg, s)
		}
		names = append(names, "public."+m.table)
		topics = append(topics, prefix+".public."+m.table)
		collections = append(collections, `"public.`+m.table+`"`)
	}
	pgExec(ctx, t, pg, `CREATE TABLE public.debezium_signal (id varchar(64) PRIMARY KEY, type varchar(32) NOT NULL, data varchar(2048))`)
	pgExec(ctx, t, pg, "CREATE PUBLICATION starsink_e2e FOR TABLE "+strings.Join(names, ", ")+", public.debezium_signal")

	// StarRocks: each mode's target.
	sr := srConn(ctx, t, e.srMySQL, db)
	for _, m := range repairModes {
		for _, s := range m.srDDL() {
			if _, err := sr.ExecContext(ctx, s); err != nil {
				t.Fatalf("emulator setup: %v\n%s", err, s)
			}
		}
	}

	adm := kafkaAdmin(t, e)
	createTopicsNamed(ctx, t, adm, 3, topics...)
	createTopicsNamed(ctx, t, adm, 1, notifications)

	var replicas []*replica
	defer func() {
		for _, r := range replicas {
			r.stop()
		}
	}()
	groups := map[string]string{} // table → consumer group
	for i, m := range repairModes {
		config := repairConfig(t, e, c, db, topics[i], m.table, m.options)
		groups[m.table] = "starsink-e2e-" + db + "-" + m.table
		replicas = append(replicas, startReplicaWith(t, e, 31+i, config, db+"-"+m.table+"-"))
	}
	dead := func() string { return deadReplicas(replicas) }

	// The connector: the cell's, on the scenario's tables, with small
	// incremental snapshot chunks (each table is read in several windows,
	// so the snapshot lasts while the source changes) and its
	// notifications on a topic the test watches.
	cfg := c.connectorConfig(t, e)
	cfg["database.dbname"] = db
	cfg["topic.prefix"] = prefix
	cfg["slot.name"] = slot
	cfg["table.include.list"] = strings.Join(names, ",")
	cfg["incremental.snapshot.chunk.size"] = "50"
	// The streaming loop sleeps poll.interval.ms (500 ms by default) when
	// the slot has nothing new, and each chunk's window waits for its
	// watermark in the stream: a shorter pause shortens the snapshot.
	cfg["poll.interval.ms"] = "100"
	cfg["notification.enabled.channels"] = "sink"
	cfg["notification.sink.topic.name"] = notifications
	registerConnector(ctx, t, e, connector, cfg)
	defer unregisterConnector(context.Background(), t, e, connector, slot)

	modeTables := func() []table {
		var out []table
		for _, m := range repairModes {
			out = append(out, m.target())
		}
		return out
	}

	ok := t.Run("snapshot_and_stream", func(t *testing.T) {
		if err := converge(ctx, pg, sr, modeTables(), dead); err != nil {
			t.Fatal(err)
		}
		for _, m := range repairModes {
			for _, q := range []string{
				"UPDATE public." + m.table + " SET pass_in = pass_in + 1000, reg_date = '20240101' WHERE seq % 10 = 0",
				"DELETE FROM public." + m.table + " WHERE seq % 50 = 7",
				fmt.Sprintf(`INSERT INTO public.%s SELECT '20230105', '2호선', '신역' || i || '번', i, i, i, '20240102' FROM generate_series(%d, %d) i`,
					m.table, repairRows+1, repairRows+10),
			} {
				pgExec(ctx, t, pg, q)
			}
		}
		if err := converge(ctx, pg, sr, modeTables(), dead); err != nil {
			t.Fatal(err)
		}
		compareTables(ctx, t, pg, sr, modeTables())
		// The versions stored: with kafka_offset 2^62 + the record's
		// offset (epoch 0); with source_position negative for snapshot
		// rows and the LSN for streamed changes.
		for _, m := range repairModes {
			if !m.guard && !m.versioned {
				continue
			}
			var lo, hi int64
			if err := sr.QueryRowContext(ctx, "SELECT MIN(_version), MAX(_version) FROM "+m.table).Scan(&lo, &hi); err != nil {
				t.Fatalf("emulator: versions of %s: %v", m.table, err)
			}
			offset := strings.Contains(m.options, "kafka_offset")
			if offset && (lo < 1<<62 || hi >= 1<<62+1<<44) || !offset && (lo >= 0 || hi <= 0 || hi >= 1<<62) {
				t.Errorf("%s: versions %d…%d; want %s", m.table, lo, hi,
					map[bool]string{true: "2^62 + offset", false: "negative for snapshot rows, the LSN for streamed ones"}[offset])
				continue
			}
			t.Logf("%s: versions %d…%d", m.table, lo, hi)
		}
	})
	if !ok {
		t.Fatal("the targets never matched the source: nothing to repair")
	}

	ok = t.Run("tamper", func(t *testing.T) {
		for _, m := range repairModes {
			if err := tamper(ctx, e, sr, db, m); err != nil {
				t.Fatalf("%s: %v", m.table, err)
			}
			src, dst := repairSides(ctx, t, pg, sr, m)
			if _, n := diffRows(src, dst, 0); n != tamperedCount {
				t.Errorf("%s: %d rows differ after tampering, want %d", m.target().srName(), n, tamperedCount)
			} else {
				t.Logf("%s: %d rows tampered with (30 updated, 16 deleted)", m.target().srName(), n)
			}
		}
	})
	if !ok {
		t.Fatal("the targets could not be tampered with")
	}

	// The incremental snapshot, while the source keeps changing: a
	// transaction that updates row 155 of every table stays open while
	// the first tables are read (their chunks read the row as it was
	// before), and commits once Debezium says they were scanned; other
	// rows change in short transactions until the snapshot is done.
	t.Run("snapshot", func(t *testing.T) {
		// The notifications from the topic's start: those of this
		// snapshot carry the signal's id.
		nc, err := kgo.NewClient(kgo.SeedBrokers(e.kafka), kgo.ConsumeTopics(notifications),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()

		inflight := pgConn(ctx, t, dsnFor(t, e, c, db))
		tx, err := inflight.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(context.Background())
		for _, m := range repairModes {
			if _, err := tx.Exec(ctx, fmt.Sprintf("UPDATE public.%s SET pass_in = pass_in + 7, reg_date = '20250505' WHERE seq = %d", m.table, inflightSeq)); err != nil {
				t.Fatal(err)
			}
		}
		opened := time.Now()

		signal := "repair-" + strconv.FormatInt(time.Now().UnixNano(), 36)
		pgExec(ctx, t, pg, fmt.Sprintf(`INSERT INTO public.debezium_signal VALUES ('%s', 'execute-snapshot',
  '{"data-collections": [%s], "type": "incremental"}')`, signal, strings.Join(collections, ", ")))
		signalled := time.Now()

		var scanned []string
		committed, completed := false, false
		var committedAt, completedAt time.Time
		changes, k := 0, 0
		deadline := time.Now().Add(3 * time.Minute)
		for !completed {
			if time.Now().After(deadline) {
				t.Fatalf("no COMPLETED notification for incremental snapshot %s after 3 min (tables scanned: %v)", signal, scanned)
			}
			if d := dead(); d != "" {
				t.Fatal(d)
			}
			// Rows seq % 10 = 5 change, two in one transaction, in every table.
			k++
			a := 5 + (k*10)%repairRows
			for _, m := range repairModes {
				q := fmt.Sprintf("UPDATE public.%s SET pass_out = coalesce(pass_out, 0) + 1, reg_date = '2025%04d' WHERE seq IN (%d, %d) AND seq <> %d",
					m.table, k%10000, a, a+100, inflightSeq)
				tag, err := pg.Exec(ctx, q)
				if err != nil {
					t.Fatalf("postgres: %v\n%s", err, q)
				}
				changes += int(tag.RowsAffected())
			}
			for _, n := range pollNotifications(ctx, nc, 200*time.Millisecond) {
				if n.ID != signal || n.AggregateType != "Incremental Snapshot" {
					continue
				}
				switch n.Type {
				case "TABLE_SCAN_COMPLETED":
					scanned = append(scanned, fmt.Sprintf("%s %s rows %s", n.AdditionalData["scanned_collection"],
						n.AdditionalData["total_rows_scanned"], n.AdditionalData["status"]))
				case "COMPLETED":
					completed, completedAt = true, time.Now()
				case "ABORTED":
					t.Fatalf("incremental snapshot %s aborted: %+v", signal, n)
				}
			}
			if !committed && (len(scanned) >= 2 || completed) && time.Since(opened) > time.Second {
				if err := tx.Commit(ctx); err != nil {
					t.Fatal(err)
				}
				committed, committedAt = true, time.Now()
				t.Logf("in-flight transaction committed %.1f s after it began, %d of %d tables scanned", committedAt.Sub(opened).Seconds(), len(scanned), len(repairModes))
			}
		}
		if !committed {
			if err := tx.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			committedAt = time.Now()
		}
		t.Logf("incremental snapshot %s: %d tables scanned %v; COMPLETED %.1f s after the signal; %d rows changed meanwhile in short transactions",
			signal, len(scanned), scanned, completedAt.Sub(signalled).Seconds(), changes)
		// The transaction was open while the first two tables' chunks read
		// its rows (it commits only once they are scanned); whether it
		// also committed before the last table was read depends on speed.
		if committedAt.After(completedAt) {
			t.Logf("the in-flight transaction committed after the snapshot completed")
		}

		// Everything Debezium wrote is loaded once every group has
		// committed to the end of its topic (starsink commits an offset
		// only once its row is in StarRocks).
		caught, err := waitUntil(ctx, 2*time.Minute, 500*time.Millisecond, "every group committed to the end", func() (bool, string) {
			if d := dead(); d != "" {
				t.Fatal(d)
			}
			var lagging []string
			for i, m := range repairModes {
				lag, err := groupLag(ctx, adm, groups[m.table], topics[i])
				if err != nil {
					return false, err.Error()
				}
				if lag > 0 {
					lagging = append(lagging, fmt.Sprintf("%s %d", m.table, lag))
				}
			}
			return len(lagging) == 0, "lag: " + strings.Join(lagging, ", ")
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("FIGURE repair: incremental snapshot of %d tables of %d rows COMPLETED %.1f s after the signal, loaded %.1f s after it",
			len(repairModes), repairRows+10-6, completedAt.Sub(signalled).Seconds(), caught.Sub(signalled).Seconds())

		for i, m := range repairModes {
			t.Run(m.name, func(t *testing.T) {
				if m.repairs {
					compareTables(ctx, t, pg, sr, []table{m.target()})
					if t.Failed() {
						src, dst := repairSides(ctx, t, pg, sr, m)
						keyHistory(ctx, t, e, sr, m, topics[i], differingSeqs(src, dst))
					}
					return
				}
				// The control: the source, except the tampered rows whose
				// stored version was a streamed change's (seq % 20 = 0
				// updated; in versioned mode also seq % 40 = 10 deleted):
				// their snapshot rows ranked below it. The tampered rows
				// that only had snapshot versions were repaired.
				want, err := pgTampered(ctx, pg, m)
				if err != nil {
					t.Fatal(err)
				}
				got, err := srRows(ctx, sr, m.target())
				if err != nil {
					t.Fatal(err)
				}
				// Rows changed while the snapshot ran must hold their last
				// update too: with the guard, a streamed update followed in
				// its partition by the key's snapshot row (a lower version)
				// must not share a load with it, or StarRocks' memtable
				// keeps the key's last row, the snapshot row, and
				// merge_condition then drops it, the update with it
				// (sink/table.go starts a new load there).
				if diffs, n := diffRows(want, got, 10); n > 0 {
					t.Errorf("%s: %d rows differ from the source with the streamed rows' tampering kept:\n  %s", m.target().srName(), n, strings.Join(diffs, "\n  "))
					keyHistory(ctx, t, e, sr, m, topics[i], differingSeqs(want, got))
					return
				}
				src, err := pgRows(ctx, pg, repairTable(m.table))
				if err != nil {
					t.Fatal(err)
				}
				_, n := diffRows(src, got, 0)
				t.Logf("%s (version_from: source_position): as expected, %d tampered rows stay wrong, the other %d were repaired",
					m.target().srName(), n, tamperedCount-n)
			})
		}
	})

	if d := dead(); d != "" {
		t.Error(d)
	}
}

// tamper changes a mode's target behind starsink's back with Stream Loads
// sent to the emulator: new values for the rows tamperedUpdates selects
// and a delete of those tamperedDeletes selects. A Primary Key table keeps
// each row's version, as an UPDATE in StarRocks would. A Duplicate Key
// table cannot update or delete in place: the versioned mode's rows are
// appended, the new values or a delete marker, with the row's latest
// version + 1 (with an equal version the latest-row view could pick either
// row; the next change of the key ranks far above it).
func tamper(ctx context.Context, e env, sr *sql.DB, db string, m repairMode) error {
	cols := repairTable(m.table).cols
	sel := strings.Join(cols, ", ")
	from := m.table
	if m.guard || m.versioned {
		sel += ", _version"
	}
	if m.versioned {
		from = "(SELECT *, ROW_NUMBER() OVER (PARTITION BY use_date, line_no, station_name ORDER BY _version DESC) AS rn FROM " +
			m.table + ") latest"
	}
	q := "SELECT " + sel + " FROM " + from + " WHERE seq <= " + strconv.Itoa(repairRows) + " AND (" + tamperedUpdates + " OR " + tamperedDeletes + ")"
	if m.versioned {
		q += " AND rn = 1 AND NOT _deleted"
	}
	rows, err := sr.QueryContext(ctx, q)
	if err != nil {
		return fmt.Errorf("emulator: %w\n%s", err, q)
	}
	defer rows.Close()
	names, _ := rows.Columns()
	var updates, deletes []map[string]any
	for rows.Next() {
		vals := make([]sql.NullString, len(names))
		dst := make([]any, len(names))
		for i := range vals {
			dst[i] = &vals[i]
		}
		if err := rows.Scan(dst...); err != nil {
			return err
		}
		row := map[string]any{}
		for i, n := range names {
			if vals[i].Valid {
				row[n] = vals[i].String
			} else {
				row[n] = nil
			}
		}
		seq, _ := strconv.Atoi(vals[3].String)
		del := seq%40 == 10 || seq%40 == 11
		if m.versioned {
			v, err := strconv.ParseInt(row["_version"].(string), 10, 64)
			if err != nil {
				return fmt.Errorf("version %q: %w", row["_version"], err)
			}
			row["_version"] = json.Number(strconv.FormatInt(v+1, 10))
			row["_deleted"] = del
		} else if m.guard {
			row["_version"] = json.Number(row["_version"].(string))
		}
		if del {
			if !m.versioned {
				row["__op"] = 1
			}
			deletes = append(deletes, row)
			continue
		}
		row["pass_in"], row["reg_date"] = tamperPassIn, tamperRegDate
		updates = append(updates, row)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(updates) != 30 || len(deletes) != 16 {
		return fmt.Errorf("found %d rows to update and %d to delete, want 30 and 16", len(updates), len(deletes))
	}
	loadCols := append([]string(nil), cols...)
	if m.guard || m.versioned {
		loadCols = append(loadCols, "_version")
	}
	if m.versioned {
		return streamLoadJSON(ctx, e, db, m.table, append(loadCols, "_deleted"), append(updates, deletes...))
	}
	if err := streamLoadJSON(ctx, e, db, m.table, loadCols, updates); err != nil {
		return err
	}
	return streamLoadJSON(ctx, e, db, m.table, append(loadCols, "__op"), deletes)
}

// streamLoadJSON sends rows to the emulator as one JSON Stream Load.
func streamLoadJSON(ctx context.Context, e env, db, table string, columns []string, rows []map[string]any) error {
	body, err := json.Marshal(rows)
	if err != nil {
		return err
	}
	u := "http://" + e.srHTTP + "/api/" + db + "/" + table + "/_stream_load"
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, u, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.SetBasicAuth("root", "")
	req.Header.Set("format", "json")
	req.Header.Set("strip_outer_array", "true")
	req.Header.Set("columns", strings.Join(columns, ","))
	req.Header.Set("label", fmt.Sprintf("e2e-tamper-%s-%d", table, time.Now().UnixNano()))
	req.Header.Set("Expect", "100-continue") // StarRocks refuses a load without it
	// The FE redirects the load to a BE: keep the credentials.
	cl := &http.Client{CheckRedirect: func(r *http.Request, _ []*http.Request) error { r.SetBasicAuth("root", ""); return nil }}
	resp, err := cl.Do(req)
	if err != nil {
		return fmt.Errorf("stream load into %s.%s: %w", db, table, err)
	}
	defer resp.Body.Close()
	var res struct {
		Status           string
		Message          string
		NumberLoadedRows int
	}
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	if err := json.Unmarshal(b.Bytes(), &res); err != nil || res.Status != "Success" || res.NumberLoadedRows != len(rows) {
		return fmt.Errorf("stream load into %s.%s: %s: %s", db, table, resp.Status, b.Bytes())
	}
	return nil
}

// repairSides reads a mode's source table and its target (the table, or
// its latest-row view) for comparison.
func repairSides(ctx context.Context, t *testing.T, pg *pgx.Conn, sr *sql.DB, m repairMode) (src, dst rowSet) {
	t.Helper()
	src, err := pgRows(ctx, pg, repairTable(m.table))
	if err != nil {
		t.Fatal(err)
	}
	if dst, err = srRows(ctx, sr, m.target()); err != nil {
		t.Fatal(err)
	}
	return src, dst
}

// pgTampered is what a control's target holds after the snapshot: the
// source, with the tampered values of the streamed rows seq % 20 = 0, and
// in versioned mode without the streamed rows seq % 40 = 10 (their delete
// markers outrank the snapshot rows).
func pgTampered(ctx context.Context, pg *pgx.Conn, m repairMode) (rowSet, error) {
	where := ""
	if m.versioned {
		where = fmt.Sprintf(" WHERE NOT (seq <= %d AND seq %% 40 = 10)", repairRows)
	}
	q := fmt.Sprintf(`SELECT use_date, line_no, station_name, seq::text,
  CASE WHEN seq <= %[1]d AND seq %% 20 = 0 THEN '%[2]s' ELSE pass_in::text END, pass_out::text,
  CASE WHEN seq <= %[1]d AND seq %% 20 = 0 THEN '%[3]s' ELSE reg_date END
FROM public.%[4]s%[5]s`, repairRows, tamperPassIn, tamperRegDate, m.table, where)
	rows, err := pg.Query(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	defer rows.Close()
	out := rowSet{}
	vals := make([]*string, 7)
	dst := make([]any, 7)
	for i := range vals {
		dst[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(dst...); err != nil {
			return nil, err
		}
		k, r := joinRow(vals, 3)
		out[k] = r
	}
	return out, rows.Err()
}

// notification is a Debezium notification (the sink channel's record).
type notification struct {
	ID             string            `json:"id"`
	AggregateType  string            `json:"aggregate_type"`
	Type           string            `json:"type"`
	AdditionalData map[string]string `json:"additional_data"`
}

// pollNotifications returns the notifications that arrive within wait.
func pollNotifications(ctx context.Context, cl *kgo.Client, wait time.Duration) []notification {
	pctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	var out []notification
	cl.PollFetches(pctx).EachRecord(func(r *kgo.Record) {
		var n notification
		var env struct {
			Payload *notification `json:"payload"`
		}
		// with schemas.enable, the notification is the envelope's payload
		if json.Unmarshal(r.Value, &env) == nil && env.Payload != nil {
			n = *env.Payload
		} else if json.Unmarshal(r.Value, &n) != nil {
			return
		}
		out = append(out, n)
	})
	return out
}

// groupLag is how many records of topic group has not committed.
func groupLag(ctx context.Context, adm *kadm.Client, group, topic string) (int64, error) {
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		return 0, err
	}
	committed, err := adm.FetchOffsets(ctx, group)
	if err != nil {
		return 0, err
	}
	var lag int64
	ends.Each(func(o kadm.ListedOffset) {
		c := int64(0)
		if r, ok := committed.Lookup(topic, o.Partition); ok && r.At > 0 {
			c = r.At
		}
		lag += o.Offset - c
	})
	return lag, nil
}

// newDatabase creates PostgreSQL database db afresh and connects to it.
func newDatabase(ctx context.Context, t *testing.T, e env, c cell, db string) *pgx.Conn {
	t.Helper()
	admin := pgConn(ctx, t, e.pgDSN)
	for _, q := range []string{"DROP DATABASE IF EXISTS " + db + " WITH (FORCE)", "CREATE DATABASE " + db} {
		pgExec(ctx, t, admin, q)
	}
	return pgConn(ctx, t, dsnFor(t, e, c, db))
}

func dsnFor(t *testing.T, e env, c cell, db string) string {
	return strings.Replace(c.pgDSN(t, e), "/"+c.id(), "/"+db, 1)
}

func pgExec(ctx context.Context, t *testing.T, pg *pgx.Conn, q string) {
	t.Helper()
	if _, err := pg.Exec(ctx, q); err != nil {
		t.Fatalf("postgres: %v\n%s", err, q)
	}
}

func kafkaAdmin(t *testing.T, e env) *kadm.Client {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.kafka))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return kadm.NewClient(cl)
}

// createTopicsNamed creates topics with the given partitions, before
// anyone subscribes.
func createTopicsNamed(ctx context.Context, t *testing.T, adm *kadm.Client, partitions int32, topics ...string) {
	t.Helper()
	res, err := adm.CreateTopics(ctx, partitions, 1, nil, topics...)
	if err != nil {
		t.Fatalf("create topics: %v", err)
	}
	for _, r := range res.Sorted() {
		if r.Err != nil && !errors.Is(r.Err, kerr.TopicAlreadyExists) {
			t.Fatalf("create topic %s: %v", r.Topic, r.Err)
		}
	}
}

// restartedSnapshot stops the connector's task in the middle of its
// initial snapshot of a table loaded in versioned mode with
// snapshot_deletes_missing (and source-position versions), changes rows
// while it is stopped and while it snapshots again, and compares the
// latest-row view with the source, in database <cell id>_restart.
//
// What Debezium 2.6 does (2.6.2.Final, read in this scenario's Connect
// log; 3.6.1.Final logs and does the same): while the snapshot runs, every record's offset says so
// (snapshot=true, last_snapshot_record=false), and Connect commits the
// offsets of the records written when the task stops. The interrupted
// snapshot ends with "Snapshot was not completed successfully, it will be
// re-executed upon connector restart" (AbstractSnapshotChangeEventSource);
// at the next start the task finds that offset and logs "Previous
// snapshot was cancelled before completion; a new snapshot will be taken"
// (RelationalSnapshotChangeEventSource): the snapshot is not resumed, every
// row is read again. The slot already exists, so the new snapshot is taken
// at the current WAL position ("Read xlogStart", pg_current_wal_lsn), not
// at the slot's consistent point, and streaming starts from that position:
// the changes made while the task was stopped are in the new snapshot and
// are not streamed again; those committed after its position are streamed
// after it. The rows of the first, partial snapshot stay in the topic
// below the new ones. A row the partial snapshot loaded and that was
// deleted while the task was stopped is in neither the new snapshot nor
// the stream: without snapshot_deletes_missing it stays in the target
// (a Primary Key table keeps it the same way). With it, the new
// snapshot's last row makes starsink mark such keys deleted
// (docs/architecture.md, "A restarted snapshot"); the new snapshot's rows
// rank above the first one's by their position, streamed changes above
// both.
func restartedSnapshot(t *testing.T, e env, c cell) {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	start := time.Now()
	db := c.id() + "_restart"
	prefix := e.topicPrefix + "." + db
	connector, slot := "starsink-e2e-"+db, "starsink_"+db
	m := repairMode{table: "restart_versioned", versioned: true, options: "mode: versioned\nversion_from: source_position\nsnapshot_deletes_missing: true"}
	rows := e.restartRows
	topic := prefix + ".public." + m.table

	pg := newDatabase(ctx, t, e, c, db)
	for _, s := range []string{repairTable(m.table).pgDDL, "ALTER TABLE public." + m.table + " REPLICA IDENTITY FULL",
		repairSeed(m.table, rows), "CREATE PUBLICATION starsink_e2e FOR TABLE public." + m.table} {
		pgExec(ctx, t, pg, s)
	}
	sr := srConn(ctx, t, e.srMySQL, db)
	for _, s := range m.srDDL() {
		if _, err := sr.ExecContext(ctx, s); err != nil {
			t.Fatalf("emulator setup: %v\n%s", err, s)
		}
	}
	adm := kafkaAdmin(t, e)
	createTopicsNamed(ctx, t, adm, 3, topic)
	r := startReplicaWith(t, e, 36, repairConfig(t, e, c, db, topic, m.table, m.options), db+"-")
	defer r.stop()
	dead := func() string { return deadReplicas([]*replica{r}) }
	group := "starsink-e2e-" + db + "-" + m.table

	ends := func() int64 {
		offs, err := adm.ListEndOffsets(ctx, topic)
		if err != nil {
			t.Fatal(err)
		}
		var n int64
		offs.Each(func(o kadm.ListedOffset) { n += o.Offset })
		return n
	}
	state := func() string {
		b, _ := connectREST(ctx, http.MethodGet, e.connectURL+"/connectors/"+connector+"/status", nil)
		var s struct {
			Connector struct {
				State string `json:"state"`
			} `json:"connector"`
			Tasks []struct {
				State string `json:"state"`
				Trace string `json:"trace"`
			} `json:"tasks"`
		}
		_ = json.Unmarshal(b, &s)
		if len(s.Tasks) == 1 && s.Tasks[0].State == "FAILED" {
			t.Fatalf("connector %s failed: %.2000s", connector, s.Tasks[0].Trace)
		}
		st := s.Connector.State
		for _, tk := range s.Tasks {
			st += " " + tk.State
		}
		return st
	}

	cfg := c.connectorConfig(t, e)
	cfg["database.dbname"] = db
	cfg["topic.prefix"] = prefix
	cfg["slot.name"] = slot
	cfg["table.include.list"] = "public." + m.table
	delete(cfg, "signal.data.collection")
	// Each snapshot reads the table with a pause of 10 ms every 200 rows
	// (about 2.5 s for 50,000 rows), so that the stop lands inside the
	// first and the changes below inside the second, whatever the machine.
	cfg["snapshot.select.statement.overrides"] = "public." + m.table
	cfg["snapshot.select.statement.overrides.public."+m.table] = "SELECT * FROM public." + m.table +
		" WHERE CASE WHEN seq % 200 = 0 THEN pg_sleep(0.01)::text = '' ELSE true END"
	body, _ := json.Marshal(cfg)
	if _, err := connectREST(ctx, http.MethodPut, e.connectURL+"/connectors/"+connector+"/config", body); err != nil {
		t.Fatalf("register connector %s: %v", connector, err)
	}
	defer unregisterConnector(context.Background(), t, e, connector, slot)

	// Stop the task once a tenth of the snapshot is in Kafka.
	if _, err := waitUntil(ctx, 2*time.Minute, 20*time.Millisecond, "the snapshot under way", func() (bool, string) {
		n := ends()
		return n >= int64(rows/10), fmt.Sprintf("%d of %d records", n, rows)
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := connectREST(ctx, http.MethodPut, e.connectURL+"/connectors/"+connector+"/stop", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := waitUntil(ctx, time.Minute, 200*time.Millisecond, "the connector stopped", func() (bool, string) {
		s := state()
		return s == "STOPPED", s
	}); err != nil {
		t.Fatal(err)
	}
	partial := ends()
	t.Logf("connector stopped with %d of %d snapshot records in Kafka", partial, rows)
	if partial >= int64(rows) {
		t.Fatalf("the snapshot finished before the connector stopped (%d records): raise E2E_RESTART_ROWS", partial)
	}

	// Meanwhile: updates, deletes and inserts, each its own transaction.
	for _, q := range []string{
		"UPDATE public." + m.table + " SET pass_in = pass_in + 1, reg_date = '20240301' WHERE seq % 100 = 1",
		"DELETE FROM public." + m.table + " WHERE seq % 100 = 2",
		fmt.Sprintf("INSERT INTO public.%s SELECT '20230109', '3호선', '새역' || i || '번', i, i, NULL, '20240302' FROM generate_series(%d, %d) i",
			m.table, rows+1, rows+100),
	} {
		pgExec(ctx, t, pg, q)
	}
	var current int64
	if err := pg.QueryRow(ctx, "SELECT count(*) FROM public."+m.table).Scan(&current); err != nil {
		t.Fatal(err)
	}

	if _, err := connectREST(ctx, http.MethodPut, e.connectURL+"/connectors/"+connector+"/resume", nil); err != nil {
		t.Fatal(err)
	}
	// And while it snapshots again (its first rows are in Kafka): small
	// transactions on other rows, then a marker row, streamed once the
	// snapshot is done.
	if _, err := waitUntil(ctx, 2*time.Minute, 20*time.Millisecond, "the new snapshot under way", func() (bool, string) {
		n := ends()
		return n > partial, fmt.Sprintf("connector %s, %d records", state(), n)
	}); err != nil {
		t.Fatal(err)
	}
	later := int64(0)
	for i := range 10 {
		tag, err := pg.Exec(ctx, fmt.Sprintf("UPDATE public.%s SET pass_out = coalesce(pass_out, 0) + 5, reg_date = '20240303' WHERE seq %% 100 = 3 AND seq %% 1000 BETWEEN %d AND %d",
			m.table, i*100, i*100+99))
		if err != nil {
			t.Fatal(err)
		}
		later += tag.RowsAffected()
		time.Sleep(100 * time.Millisecond)
	}
	pgExec(ctx, t, pg, "UPDATE public."+m.table+" SET reg_date = '20991231' WHERE seq = 4")
	later++
	if _, err := waitUntil(ctx, 4*time.Minute, time.Second, "the marker row in the target", func() (bool, string) {
		if d := dead(); d != "" {
			t.Fatal(d)
		}
		var n int
		if err := sr.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+m.table+" WHERE seq = 4 AND reg_date = '20991231'").Scan(&n); err != nil {
			return false, err.Error()
		}
		return n > 0, fmt.Sprintf("connector %s, %d records in Kafka", state(), ends())
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := waitUntil(ctx, 2*time.Minute, 500*time.Millisecond, "the group committed to the end", func() (bool, string) {
		if d := dead(); d != "" {
			t.Fatal(d)
		}
		lag, err := groupLag(ctx, adm, group, topic)
		if err != nil {
			return false, err.Error()
		}
		return lag == 0, fmt.Sprintf("lag %d", lag)
	}); err != nil {
		t.Fatal(err)
	}
	// The topic holds the partial snapshot, a whole new one of the rows
	// as they were after the changes made while stopped, and the changes
	// made since it began; a resumed snapshot would leave fewer records.
	total := ends()
	t.Logf("topic: %d records = %d of the partial snapshot + %d of the new one + %d streamed after it (%d rows changed since it began)",
		total, partial, current, total-partial-current, later)
	if total < partial+current+later {
		t.Errorf("the topic has %d records, fewer than the partial snapshot (%d), a whole new one (%d) and the changes made since (%d): the snapshot was not taken again",
			total, partial, current, later)
	}

	// The latest-row view equals the source, rows deleted while the task
	// was stopped included: they are marked deleted.
	src, dst := repairSides(ctx, t, pg, sr, m)
	if diffs, n := diffRows(src, dst, 10); n > 0 {
		t.Errorf("%s: %d rows differ from the source:\n  %s", m.target().srName(), n, strings.Join(diffs, "\n  "))
	}
	var markers int64
	if err := sr.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+m.table+" WHERE _deleted AND _version < 0").Scan(&markers); err != nil {
		t.Fatal(err)
	}
	// Rows deleted while stopped are those with seq % 100 = 2; the partial
	// snapshot loaded some of them (it read about a tenth of the table).
	if markers < 2 {
		t.Errorf("no delete marker: the rows deleted while the connector was stopped were not in the partial snapshot (stopped at %d of %d records)", partial, rows)
	}
	t.Logf("%s: %d rows equal to the source; %d delete markers (keys the new snapshot did not read, and the announce)", m.target().srName(), len(src), markers)
	var versions int64
	if err := sr.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+m.table).Scan(&versions); err != nil {
		t.Fatal(err)
	}
	t.Logf("FIGURE restarted snapshot: %d rows, stopped at %d, equal %.1f s after the start; %d versions stored for %d rows",
		rows, partial, time.Since(start).Seconds(), versions, current)
	if d := dead(); d != "" {
		t.Error(d)
	}
}

// differingSeqs returns the seq of the rows that differ between a and b.
func differingSeqs(a, b rowSet) map[int]bool {
	out := map[int]bool{}
	add := func(row string) {
		if f := strings.Split(row, "\x1f"); len(f) > 3 {
			if n, err := strconv.Atoi(f[3]); err == nil {
				out[n] = true
			}
		}
	}
	for k, v := range a {
		if b[k] != v {
			add(v)
		}
	}
	for k, v := range b {
		if _, ok := a[k]; !ok {
			add(v)
		}
	}
	return out
}

// keyHistory logs, for a failed comparison, every record of topic that
// carries one of seqs (partition, offset, op, the source's snapshot flag,
// LSN and sequence, the row's reg_date and pass_out), and what the target
// stores for them, versions included: the story of each wrong row.
func keyHistory(ctx context.Context, t *testing.T, e env, sr *sql.DB, m repairMode, topic string, seqs map[int]bool) {
	t.Helper()
	if len(seqs) == 0 || len(seqs) > 20 {
		return
	}
	var list []string
	for n := range seqs {
		list = append(list, strconv.Itoa(n))
	}
	cols := "seq, reg_date, pass_out"
	if m.guard || m.versioned {
		cols += ", _version"
	}
	if m.versioned {
		cols += ", _deleted"
	}
	if rows, err := queryRowsSR(ctx, sr, "SELECT "+cols+" FROM "+m.table+" WHERE seq IN ("+strings.Join(list, ", ")+")"); err == nil {
		t.Logf("%s stores (%s):\n  %s", m.table, cols, strings.Join(rows, "\n  "))
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.kafka), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		return
	}
	defer cl.Close()
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	if err != nil {
		return
	}
	left := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset > 0 {
			left[o.Partition] = o.Offset
		}
	})
	type image struct {
		Seq     *int    `json:"seq"`
		RegDate *string `json:"reg_date"`
		PassOut any     `json:"pass_out"`
	}
	type change struct {
		Before *image `json:"before"`
		After  *image `json:"after"`
		Op     string `json:"op"`
		Source struct {
			Snapshot string  `json:"snapshot"`
			LSN      *int64  `json:"lsn"`
			Sequence *string `json:"sequence"`
		} `json:"source"`
	}
	var lines []string
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for len(left) > 0 && pctx.Err() == nil {
		cl.PollFetches(pctx).EachRecord(func(r *kgo.Record) {
			if r.Offset+1 >= left[r.Partition] {
				delete(left, r.Partition)
			}
			var c change
			var env struct {
				Payload *change `json:"payload"`
			}
			if json.Unmarshal(r.Value, &env) == nil && env.Payload != nil {
				c = *env.Payload
			} else if json.Unmarshal(r.Value, &c) != nil {
				return
			}
			img := c.After
			if img == nil {
				img = c.Before
			}
			if img == nil || img.Seq == nil || !seqs[*img.Seq] {
				return
			}
			reg := "null"
			if img.RegDate != nil {
				reg = *img.RegDate
			}
			lsn, seqn := "null", "null"
			if c.Source.LSN != nil {
				lsn = strconv.FormatInt(*c.Source.LSN, 10)
			}
			if c.Source.Sequence != nil {
				seqn = *c.Source.Sequence
			}
			lines = append(lines, fmt.Sprintf("seq %5d p%d@%08d op %s snapshot %s lsn %s sequence %s reg_date %s pass_out %v",
				*img.Seq, r.Partition, r.Offset, c.Op, c.Source.Snapshot, lsn, seqn, reg, img.PassOut))
		})
	}
	sort.Strings(lines)
	t.Logf("%s: the records of the rows that differ:\n  %s", topic, strings.Join(lines, "\n  "))
}
