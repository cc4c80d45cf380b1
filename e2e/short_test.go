//go:build e2e

package e2e

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestIntegrationMatrix runs the short scenario on each cell of
// E2E_SHORT_CELLS that the stack's Debezium runs: the initial snapshot,
// the captured changes (an insert, an update, a delete, the all-types
// rows, a TOAST update), then inserts, updates, key changes and deletes by
// key, each table compared row by row with PostgreSQL. One replica per
// cell; the reference scenario (TestIntegrationEndToEnd) covers the group.
func TestIntegrationMatrix(t *testing.T) {
	e := loadEnv(t)
	if e.captureOnly {
		t.Skip("capture only")
	}
	for _, c := range stackCells(t, e, e.shortCells, "E2E_SHORT_CELLS") {
		t.Run(c.name, func(t *testing.T) { short(t, e, c) })
	}
}

func short(t *testing.T, e env, c cell) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	start := time.Now()

	c.createDatabase(ctx, t, e)
	pg := pgConn(ctx, t, c.pgDSN(t, e))
	setupPostgres(ctx, t, pg)
	createTopics(ctx, t, e, c)
	sr := srConn(ctx, t, e.srMySQL, c.id())
	setupTarget(ctx, t, sr)
	r := startReplica(t, e, c, 1, c.starsinkConfig(t, e))
	defer r.stop()
	defer unregisterCell(ctx, t, e, c)
	registerCell(ctx, t, e, c)
	dead := func() string { return deadReplicas([]*replica{r}) }

	ok := t.Run("initial_load", func(t *testing.T) {
		if err := converge(ctx, pg, sr, subwayTables, dead); err != nil {
			t.Fatal(err)
		}
		compareTables(ctx, t, pg, sr, subwayTables)
	})
	if !ok {
		t.Fatal("the initial load failed: later steps would only repeat it")
	}
	t.Run("changes_for_capture", func(t *testing.T) { captureChanges(ctx, t, pg) })
	t.Run("capture", func(t *testing.T) { captureMessages(ctx, t, e, c) })
	if c.topics == "raw" {
		t.Run("incremental_snapshot", func(t *testing.T) { incrementalSnapshot(ctx, t, e, c, pg) })
	}
	t.Run("all_types", func(t *testing.T) { checkAllTypes(ctx, t, pg, sr, c) })
	t.Run("changes", func(t *testing.T) {
		for _, q := range shortChanges {
			tag, err := pg.Exec(ctx, q)
			if err != nil {
				t.Fatalf("%v\n%s", err, q)
			}
			if tag.RowsAffected() == 0 {
				t.Fatalf("changed no row:\n%s", q)
			}
		}
		if err := converge(ctx, pg, sr, subwayTables, dead); err != nil {
			t.Fatal(err)
		}
		compareTables(ctx, t, pg, sr, subwayTables)
	})
	if d := dead(); d != "" {
		t.Error(d)
	}
	t.Logf("FIGURE short scenario %s: %.0f s", c.name, time.Since(start).Seconds())
}

// shortChanges are the short scenario's changes after the captured ones,
// each its own transaction: inserts, updates, key changes (a primary key
// column updated: Debezium writes a delete of the old key and a create of
// the new one) and deletes by key.
var shortChanges = []string{
	bulkInsertSQL(2000),
	bulkUpdateSQL(1500),
	`UPDATE subway_info_copy SET line_no = '10호선' WHERE line_no = '9호선'`,
	`UPDATE subway_passengers_copy SET station_name = station_name || '(신)'
WHERE use_date = '20230101' AND line_no = '1호선'`,
	`DELETE FROM subway_passengers_copy WHERE use_date = '20230102' AND line_no = '1호선' AND station_name = '강남역'`,
	`DELETE FROM subway_passengers_time_copy WHERE time_band IN ('05~06', '23~00')`,
	bulkDeleteSQL(700),
	`INSERT INTO subway_info_copy VALUES ('1호선', '신설역', '000999', NULL, '20240601')`,
}

// converge waits until every table of tables holds the same rows on both
// sides (or dead says a replica ended).
func converge(ctx context.Context, pg *pgx.Conn, sr *sql.DB, tables []table, dead func() string) error {
	_, err := waitUntil(ctx, 2*time.Minute, time.Second, "the target equal to the source", func() (bool, string) {
		if d := dead(); d != "" {
			return false, d
		}
		var state []string
		for _, tb := range tables {
			src, err := pgRows(ctx, pg, tb)
			if err != nil {
				return false, err.Error()
			}
			dst, err := srRows(ctx, sr, tb)
			if err != nil {
				return false, err.Error()
			}
			if _, n := diffRows(src, dst, 0); n > 0 {
				state = append(state, fmt.Sprintf("%s: %d rows differ (source %d, target %d)", tb.name, n, len(src), len(dst)))
			}
		}
		return len(state) == 0, strings.Join(state, "; ")
	})
	return err
}

// incrementalSnapshot sends an execute-snapshot signal for
// subway_info_copy through the signal table and saves the first records
// of the incremental snapshot into <capture dir>/<cell>-incremental/.
func incrementalSnapshot(ctx context.Context, t *testing.T, e env, c cell, pg *pgx.Conn) {
	topic := c.topic(e, "subway_info_copy")
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.kafka))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ends := func() (map[int32]int64, int64) {
		offs, err := adm.ListEndOffsets(ctx, topic)
		if err != nil {
			t.Fatal(err)
		}
		m, n := map[int32]int64{}, int64(0)
		offs.Each(func(o kadm.ListedOffset) { m[o.Partition] = o.Offset; n += o.Offset })
		return m, n
	}
	base, before := ends()
	var rows int64
	if err := pg.QueryRow(ctx, "SELECT count(*) FROM subway_info_copy").Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if _, err := pg.Exec(ctx, `INSERT INTO debezium_signal VALUES ('incremental-info', 'execute-snapshot',
  '{"data-collections": ["public.subway_info_copy"], "type": "incremental"}')`); err != nil {
		t.Fatal(err)
	}
	if _, err := waitUntil(ctx, 2*time.Minute, 500*time.Millisecond, "the incremental snapshot in Kafka", func() (bool, string) {
		_, n := ends()
		return n-before >= rows, fmt.Sprintf("%d of %d records", n-before, rows)
	}); err != nil {
		t.Fatal(err)
	}
	t.Logf("incremental snapshot of subway_info_copy: %d records", rows)
	if e.capture == "" {
		return
	}
	parts := map[int32]kgo.Offset{}
	for p, o := range base {
		parts[p] = kgo.NewOffset().At(o)
	}
	rd, err := kgo.NewClient(kgo.SeedBrokers(e.kafka), kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: parts}))
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	var got []*captured
	pctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for len(got) < 3 {
		fs := rd.PollFetches(pctx)
		if pctx.Err() != nil {
			break
		}
		fs.EachRecord(func(r *kgo.Record) {
			m, ok := parseMessage(r.Value)
			if ok && m.op == "r" && len(got) < 3 {
				got = append(got, &captured{rec: r, msg: m, exp: expectation{Op: "r", Decoded: "upsert"}})
			}
		})
	}
	if len(got) < 3 {
		t.Fatalf("found %d incremental snapshot records, want 3", len(got))
	}
	sort.Slice(got, func(i, j int) bool {
		a, b := got[i].rec, got[j].rec
		return a.Partition < b.Partition || a.Partition == b.Partition && a.Offset < b.Offset
	})
	dir := filepath.Join(e.capture, c.name+"-incremental")
	if err := writeCell(dir, e, c); err != nil {
		t.Fatal(err)
	}
	for i, cp := range got {
		cp.name = fmt.Sprintf("info-incremental-read-%d", i+1)
		x := &cp.exp
		x.Topic, x.Partition, x.Offset = cp.rec.Topic, cp.rec.Partition, cp.rec.Offset
		if err := expectSnapshot(ctx, pg, "info", cp, `incremental snapshot: INSERT INTO debezium_signal VALUES ('incremental-info', 'execute-snapshot', '{"data-collections": ["public.subway_info_copy"], "type": "incremental"}')`); err != nil {
			t.Fatal(err)
		}
		if err := save(dir, cp); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "signal.sql"), []byte(`INSERT INTO debezium_signal VALUES ('incremental-info', 'execute-snapshot',
  '{"data-collections": ["public.subway_info_copy"], "type": "incremental"}');
`), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("captured %d incremental snapshot records into %s", len(got), filepath.Base(dir))
}
