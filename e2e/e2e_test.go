//go:build e2e

package e2e

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestIntegrationEndToEnd is issue 5's scenario on the real stack that
// run.sh started, for each cell of E2E_FULL_CELLS that the stack's Debezium
// runs: initial snapshot, bulk insert with a replica killed in the middle,
// bulk update, bulk delete, the dashboard queries, every column type with
// an unchanged TOAST value, and the capture of real Debezium messages.
func TestIntegrationEndToEnd(t *testing.T) {
	e := loadEnv(t)
	for _, c := range stackCells(t, e, e.fullCells, "E2E_FULL_CELLS") {
		t.Run(c.name, func(t *testing.T) { reference(t, e, c) })
	}
}

// reference runs the whole scenario on one cell.
func reference(t *testing.T, e env, c cell) {
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Minute)
	defer cancel()

	c.createDatabase(ctx, t, e)
	pg := pgConn(ctx, t, c.pgDSN(t, e))
	setupPostgres(ctx, t, pg)
	createTopics(ctx, t, e, c)
	var sr *sql.DB
	var replicas []*replica
	var config string
	if !e.captureOnly {
		sr = srConn(ctx, t, e.srMySQL, c.id())
		setupTarget(ctx, t, sr)
		config = c.starsinkConfig(t, e)
		for i := 1; i <= e.replicas; i++ {
			replicas = append(replicas, startReplica(t, e, c, i, config))
		}
		defer func() {
			for _, r := range replicas {
				if r != nil {
					r.stop()
				}
			}
		}()
	}
	defer unregisterCell(ctx, t, e, c)

	t0 := time.Now()
	registerCell(ctx, t, e, c)

	if !e.captureOnly {
		ok := t.Run("initial_load", func(t *testing.T) {
			at, err := waitUntil(ctx, 5*time.Minute, 250*time.Millisecond, "initial snapshot in the target", func() (bool, string) {
				if dead := deadReplicas(replicas); dead != "" {
					t.Fatal(dead)
				}
				state := ""
				for _, tb := range subwayTables {
					n, err := srCount(ctx, sr, tb.name)
					if err != nil {
						return false, err.Error()
					}
					state += fmt.Sprintf("%s=%d ", tb.name, n)
					if n != int64(tb.initial) {
						return false, state
					}
				}
				return true, state
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("FIGURE initial load: %d rows in %.1f s (connector registration → last row visible)",
				796+16784+13080, at.Sub(t0).Seconds())
			compareTables(ctx, t, pg, sr, subwayTables)
		})
		if !ok {
			t.Fatal("the initial load failed: later steps would only repeat it")
		}
	}

	// The fixture scenario of shared/reference/debezium-fixtures plus the
	// all-types rows: the changes the captured messages come from.
	t.Run("changes_for_capture", func(t *testing.T) { captureChanges(ctx, t, pg) })
	t.Run("capture", func(t *testing.T) { captureMessages(ctx, t, e, c) })
	if c.topics == "raw" {
		t.Run("incremental_snapshot", func(t *testing.T) { incrementalSnapshot(ctx, t, e, c, pg) })
	}
	if e.captureOnly {
		if e.sourceOnly {
			t.Run("source_only", func(t *testing.T) { measureSource(ctx, t, e, c, pg) })
		}
		return
	}

	t.Run("all_types", func(t *testing.T) { checkAllTypes(ctx, t, pg, sr, c) })

	passengers := subwayTables[1]
	t.Run("bulk_insert", func(t *testing.T) {
		base, err := srCount(ctx, sr, passengers.name)
		if err != nil {
			t.Fatal(err)
		}
		want := base + int64(e.bulkRows)
		start := time.Now()
		tag, err := pg.Exec(ctx, bulkInsertSQL(e.bulkRows)) // one statement, one transaction
		if err != nil {
			t.Fatalf("bulk insert: %v", err)
		}
		committed := time.Now()
		if tag.RowsAffected() != int64(e.bulkRows) {
			t.Fatalf("bulk insert wrote %d rows, want %d", tag.RowsAffected(), e.bulkRows)
		}
		t.Logf("bulk insert of %d rows committed in PostgreSQL in %.1f s", e.bulkRows, committed.Sub(start).Seconds())

		// Kill one replica with SIGKILL once about a third of the rows
		// arrived, and start it again: what it loaded but had not
		// committed is replayed, and the Primary Key table absorbs it.
		killed := len(replicas) < 2
		at, err := waitUntil(ctx, 15*time.Minute, 200*time.Millisecond, "bulk insert in the target", func() (bool, string) {
			if dead := deadReplicas(replicas); dead != "" {
				t.Fatal(dead)
			}
			n, err := srCount(ctx, sr, passengers.name)
			if err != nil {
				return false, err.Error()
			}
			if !killed && n > base+int64(e.bulkRows)/3 {
				killed = true
				r := replicas[1]
				r.kill9(t)
				replicas[1] = nil
				t.Logf("killed replica %d at %d of %d rows", r.n, n-base, e.bulkRows)
				replicas[1] = startReplica(t, e, c, r.n, config)
			}
			return n == want, fmt.Sprintf("%d of %d rows", n-base, e.bulkRows)
		})
		if err != nil {
			t.Fatal(err)
		}
		if !killed {
			t.Errorf("no replica was killed during the bulk insert")
		}
		secs := at.Sub(committed).Seconds()
		t.Logf("FIGURE bulk insert: %d rows visible %.1f s after the commit: %.0f rows/s", e.bulkRows, secs, float64(e.bulkRows)/secs)
		compareTables(ctx, t, pg, sr, subwayTables[1:2])
	})

	catchUp := func(t *testing.T, what, stmt string) {
		tag, err := pg.Exec(ctx, stmt)
		if err != nil {
			t.Fatalf("bulk %s: %v", what, err)
		}
		committed := time.Now()
		want, err := pgFingerprint(ctx, pg, passengers.name)
		if err != nil {
			t.Fatal(err)
		}
		at, err := waitUntil(ctx, 10*time.Minute, 250*time.Millisecond, "bulk "+what+" in the target", func() (bool, string) {
			if dead := deadReplicas(replicas); dead != "" {
				t.Fatal(dead)
			}
			got, err := srFingerprint(ctx, sr, passengers.name)
			if err != nil {
				return false, err.Error()
			}
			return got == want, "target " + got + ", source " + want
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("FIGURE bulk %s: %d rows caught up %.1f s after the commit", what, tag.RowsAffected(), at.Sub(committed).Seconds())
		compareTables(ctx, t, pg, sr, subwayTables[1:2])
	}
	t.Run("bulk_update", func(t *testing.T) { catchUp(t, "update", bulkUpdateSQL(e.changeRows)) })
	t.Run("bulk_delete", func(t *testing.T) { catchUp(t, "delete", bulkDeleteSQL(e.changeRows)) })

	// A column added in StarRocks, then in the source (README's order):
	// the first change that carries it has the replicas read the table's
	// schema again, and every change from then on loads it.
	t.Run("schema_change", func(t *testing.T) {
		info := subwayTables[0]
		info.cols = append(slices.Clone(info.cols), "note")
		if _, err := sr.ExecContext(ctx, "ALTER TABLE subway_info_copy ADD COLUMN note VARCHAR(40)"); err != nil {
			t.Fatalf("emulator: %v", err)
		}
		time.Sleep(1500 * time.Millisecond) // past starrocks.schema_refresh_interval (1s in starsink.yaml)
		if _, err := pg.Exec(ctx, "ALTER TABLE public.subway_info_copy ADD COLUMN note varchar(40)"); err != nil {
			t.Fatalf("postgres: %v", err)
		}
		tag, err := pg.Exec(ctx, "UPDATE public.subway_info_copy SET note = 'n-' || station_name WHERE length(station_name) % 2 = 0")
		if err != nil {
			t.Fatalf("postgres: %v", err)
		}
		want := tag.RowsAffected()
		if want == 0 {
			t.Fatal("the update changed no row")
		}
		if _, err := waitUntil(ctx, 2*time.Minute, 250*time.Millisecond, "the new column in the target", func() (bool, string) {
			if dead := deadReplicas(replicas); dead != "" {
				t.Fatal(dead)
			}
			var n int64
			if err := sr.QueryRowContext(ctx, "SELECT COUNT(note) FROM subway_info_copy").Scan(&n); err != nil {
				return false, err.Error()
			}
			return n == want, fmt.Sprintf("%d of %d notes", n, want)
		}); err != nil {
			t.Fatal(err)
		}
		compareTables(ctx, t, pg, sr, []table{info})
	})

	// What an operator reads (issue 18): freshness from the changes'
	// source.ts_ms, GET /status, and the status page in a browser.
	t.Run("freshness", func(t *testing.T) { freshness(ctx, t, c, pg, sr, replicas) })
	t.Run("status", func(t *testing.T) { statusJSON(ctx, t, c, replicas) })
	t.Run("status_page", func(t *testing.T) { statusPage(ctx, t, c, replicas) })

	t.Run("final_compare", func(t *testing.T) { compareTables(ctx, t, pg, sr, subwayTables) })
	t.Run("dashboards", func(t *testing.T) { compareDashboards(ctx, t, pg, sr) })
	if c.name == ownTablesCell {
		t.Run("tables_that_take_care_of_themselves", func(t *testing.T) { selfManaged(ctx, t, e, c) })
	}

	if dead := deadReplicas(replicas); dead != "" {
		t.Error(dead)
	}
}

// setupPostgres creates the four tables, their initial rows, the signal
// table of incremental snapshots and the publication the connector reads.
func setupPostgres(ctx context.Context, t *testing.T, pg *pgx.Conn) {
	t.Helper()
	stmts := []string{stationsSQL}
	for _, tb := range subwayTables {
		stmts = append(stmts, tb.pgDDL, "ALTER TABLE public."+tb.name+" REPLICA IDENTITY FULL")
	}
	stmts = append(stmts, seedSQL...)
	stmts = append(stmts, allTypesPG, "ALTER TABLE public.all_types REPLICA IDENTITY DEFAULT",
		`CREATE TABLE public.debezium_signal (id varchar(64) PRIMARY KEY, type varchar(32) NOT NULL, data varchar(2048))`,
		`CREATE PUBLICATION starsink_e2e FOR TABLE public.subway_info_copy, public.subway_passengers_copy,
  public.subway_passengers_time_copy, public.all_types, public.debezium_signal`)
	for _, s := range stmts {
		if _, err := pg.Exec(ctx, s); err != nil {
			t.Fatalf("postgres setup: %v\n%s", err, s)
		}
	}
	for _, tb := range subwayTables {
		n, err := pgCount(ctx, pg, tb.name)
		if err != nil || n != int64(tb.initial) {
			t.Fatalf("postgres setup: %s has %d rows (%v), want %d", tb.name, n, err, tb.initial)
		}
	}
}

// setupTarget creates the StarRocks tables in the emulator.
func setupTarget(ctx context.Context, t *testing.T, sr *sql.DB) {
	t.Helper()

	for _, tb := range subwayTables {
		if _, err := sr.ExecContext(ctx, tb.srDDL); err != nil {
			t.Fatalf("emulator setup: %v\n%s", err, tb.srDDL)
		}
	}
	// A failure here fails the all_types step only.
	if _, err := sr.ExecContext(ctx, allTypesSR); err != nil {
		t.Logf("emulator setup: all_types: %v", err)
	}
}

func compareDashboards(ctx context.Context, t *testing.T, pg *pgx.Conn, sr *sql.DB) {
	for _, d := range dashboards {
		src, err := queryRowsPG(ctx, pg, d.sql)
		if err != nil {
			t.Errorf("%s on PostgreSQL: %v", d.name, err)
			continue
		}
		dst, err := queryRowsSR(ctx, sr, d.sql)
		if err != nil {
			t.Errorf("%s on the emulator: %v", d.name, err)
			continue
		}
		a, b := rowSet{}, rowSet{}
		for _, r := range src {
			a[r] = r
		}
		for _, r := range dst {
			b[r] = r
		}
		diffs, n := diffRows(a, b, 10)
		if n > 0 {
			t.Errorf("%s: %d rows differ (PostgreSQL %d rows, emulator %d):\n  %v", d.name, n, len(src), len(dst), diffs)
			continue
		}
		t.Logf("%s: %d rows, same answer on both sides", d.name, len(src))
	}
}
