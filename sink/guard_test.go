package sink

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/starsink/starsink/config"
	"github.com/starsink/starsink/emulator"
	"github.com/starsink/starsink/schema"
	"github.com/starsink/starsink/streamload"
)

const guardDDL = `CREATE TABLE subway_passengers_copy (use_date VARCHAR(8) NOT NULL, line_no VARCHAR(100) NOT NULL, station_name VARCHAR(100) NOT NULL, pass_in DECIMAL(13,0), pass_out DECIMAL(13,0), reg_date VARCHAR(8), _version BIGINT NOT NULL DEFAULT "0") ENGINE=OLAP PRIMARY KEY(use_date, line_no, station_name) DISTRIBUTED BY HASH(use_date) BUCKETS 1 PROPERTIES("replication_num"="1")`

// guardEmulator starts an emulator holding the Primary Key table with the
// guard's column, and a Stream Load client to it.
func guardEmulator(t *testing.T) (*emulator.Server, *schema.Table, *StreamLoader) {
	t.Helper()
	emu, err := emulator.Start(emulator.Config{NoMySQL: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { emu.Close() })
	for _, q := range []string{"CREATE DATABASE subway", "USE subway", guardDDL} {
		if err := emu.Exec(context.Background(), q); err != nil {
			t.Fatal(err)
		}
	}
	def, err := emu.Schema("subway", "subway_passengers_copy")
	if err != nil {
		t.Fatal(err)
	}
	c, err := streamload.New(streamload.Config{FEURLs: []string{emu.FEURL()}, User: "root"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return emu, def, &StreamLoader{Client: c}
}

// passIn is a change of key (station k) to pass_in v at source LSN lsn;
// op d deletes it.
func passIn(op string, k int, v, lsn int64) []byte {
	row := fmt.Sprintf(`{"use_date":"20240601","line_no":"1","station_name":"s%d","pass_in":"%s","pass_out":null,"reg_date":"20240604"}`, k, decimalB64(v))
	before, after := "null", row
	if op == "d" {
		before, after = row, "null"
	}
	return []byte(fmt.Sprintf(`{"before":%s,"after":%s,"source":{"connector":"postgresql","ts_ms":1,"lsn":%d},"op":"%s"}`, before, after, lsn, op))
}

// TestVersionGuardNewestImageWins: two members load overlapping replays
// of the same keys' changes (a revoke, a member frozen past its session
// timeout), their batches landing in random order. With the version guard
// every key ends with its newest image, whether versions come from source
// positions or from Kafka offsets.
func TestVersionGuardNewestImageWins(t *testing.T) {
	for _, from := range []string{config.VersionFromSource, config.VersionFromOffset} {
		for seed := range uint64(8) {
			t.Run(fmt.Sprint(from, "/seed", seed), func(t *testing.T) { newestImageWins(t, seed, from) })
		}
	}
}

func newestImageWins(t *testing.T, seed uint64, from string) {
	rnd := rand.New(rand.NewPCG(seed, 1))
	emu, def, loader := guardEmulator(t)
	const keys, changes = 10, 200
	values := make([][]byte, changes)
	want := map[string]string{}
	for i := range changes {
		k, v := rnd.IntN(keys), int64(i)
		values[i] = passIn("u", k, v, int64(100+i))
		want[fmt.Sprint("s", k)] = fmt.Sprint(v)
	}
	// member A loads changes [0, hi), member B replays [lo, changes).
	lo, hi := 20+rnd.IntN(60), 120+rnd.IntN(60)
	var batches [2][]*Batch
	for m, span := range [2][2]int{{0, hi}, {lo, changes}} {
		w := batchWorker(t)
		w.cfg.Mapping.VersionColumn = "_version"
		w.cfg.Mapping.VersionFrom = from
		w.schemas = emuSchemas{emu}
		ts, err := newTableState(w, def, config.TableOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for i := span[0]; i < span[1]; i++ {
			if err := add(ts, &kgo.Record{Topic: batchTopic, Offset: int64(i), Value: values[i]}); err != nil {
				t.Fatal(err)
			}
			if rnd.IntN(15) == 0 && ts.cur != nil {
				ts.flush("test")
			}
		}
		if ts.cur != nil {
			ts.flush("test")
		}
		batches[m] = ts.queue
	}
	// Each member loads its batches in order; the two interleave at random.
	for len(batches[0])+len(batches[1]) > 0 {
		m := rnd.IntN(2)
		if len(batches[m]) == 0 {
			m = 1 - m
		}
		b := batches[m][0]
		batches[m] = batches[m][1:]
		if b.Options.MergeCondition != "_version" {
			t.Fatalf("merge_condition %q, want _version", b.Options.MergeCondition)
		}
		if err := loader.Load(context.Background(), b); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := emu.Rows("subway", "subway_passengers_copy")
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(want) {
		t.Fatalf("%d rows, want %d", len(rows), len(want))
	}
	for _, r := range rows {
		if got := fmt.Sprint(r[3]); got != want[fmt.Sprint(r[2])] {
			t.Errorf("key %v: pass_in %s, want the newest %s", r[2], got, want[fmt.Sprint(r[2])])
		}
	}
}

// TestVersionGuardRefusals: the guard's column must exist, be wide enough
// and not be a key column; the refusal says what to add.
func TestVersionGuardRefusals(t *testing.T) {
	tests := []struct {
		name  string
		table *schema.Table
		want  string
	}{
		{"missing", batchTable(schema.ModelPrimaryKeys), "add `_version BIGINT NOT NULL"},
		{"narrow", func() *schema.Table {
			tb := batchTable(schema.ModelPrimaryKeys)
			tb.Columns = append(tb.Columns, schema.NewColumn("_version", "int(11)", false, false))
			return tb
		}(), "want BIGINT or LARGEINT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := batchWorker(t)
			w.cfg.Mapping.VersionColumn = "_version"
			_, err := newTableState(w, tt.table, config.TableOptions{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// aggTable is subway_passengers_copy as an Aggregate Key table whose value
// columns take fn.
func aggTable(fn string) *schema.Table {
	tb := batchTable(schema.ModelAggKeys)
	for i := range tb.Columns {
		if !tb.Columns[i].Key {
			tb.Columns[i].Agg = fn
		}
	}
	tb.Columns[3].Agg = schema.AggReplace
	return tb
}

// TestAggregateTableRefused: an Aggregate Key table is refused at start
// with the reason unless every value column is REPLACE (then it loads as
// a Primary Key table without deletes) or mapping.tables.<t>.aggregate
// is allow.
func TestAggregateTableRefused(t *testing.T) {
	tests := []struct {
		name  string
		table *schema.Table
		opts  config.TableOptions
		err   string
	}{
		{"SUM refused", aggTable("SUM"), config.TableOptions{}, "pass_out SUM, reg_date SUM"},
		{"REPLACE_IF_NOT_NULL refused", aggTable("REPLACE_IF_NOT_NULL"), config.TableOptions{}, "aggregate=allow"},
		{"all REPLACE accepted", aggTable(schema.AggReplace), config.TableOptions{}, ""},
		{"opted in", aggTable("SUM"), config.TableOptions{Aggregate: "allow"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts, err := newTableState(batchWorker(t), tt.table, tt.opts)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ts.pk || ts.deletes != "fail" {
				t.Errorf("pk %v, deletes %q: want upserts without __op, deletes refused", ts.pk, ts.deletes)
			}
		})
	}
}

// TestVersionGuardPartialUpdate: a partial update (unchanged TOAST columns)
// under the guard lists the guard's column among its columns and carries
// the version, as StarRocks requires of merge_condition with a partial
// update.
func TestVersionGuardPartialUpdate(t *testing.T) {
	w := batchWorker(t)
	w.cfg.Mapping.VersionColumn = "_version"
	def := batchTable(schema.ModelPrimaryKeys)
	def.Columns = append(def.Columns, schema.NewColumn("_version", "bigint(20)", false, false))
	ts, err := newTableState(w, def, config.TableOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := add(ts, &kgo.Record{Topic: batchTopic, Offset: 0, Value: fixture(t, "update-toast.value.json")}); err != nil {
		t.Fatal(err)
	}
	ts.flush("test")
	b := ts.queue[0]
	if !b.Partial || !slices.Contains(b.Columns, "_version") || slices.Contains(b.Columns, "reg_date") {
		t.Fatalf("partial %v, columns %v: want a partial update naming _version, not reg_date", b.Partial, b.Columns)
	}
	if body := string(bytes.Join(b.Body(), nil)); !strings.Contains(body, `"_version":10}`) {
		t.Errorf("body %s lacks the version", body)
	}
	if b.Options.MergeCondition != "_version" {
		t.Errorf("merge_condition %q", b.Options.MergeCondition)
	}
}

// With decoder.envelope=auto, a member resuming at the tombstone Debezium
// writes after a delete meets it before any change event of its topic. On a
// guarded table such a tombstone has no version: when the same poll (or an
// earlier one) holds raw envelopes of the table, it is the raw topic's
// tombstone and is skipped; alone, it stops the table naming the setting
// that removes the guess.
func TestAutoEnvelopeTombstoneBeforeRawEvents(t *testing.T) {
	def := batchTable(schema.ModelPrimaryKeys)
	def.Columns = append(def.Columns, schema.NewColumn("_version", "bigint", false, false))
	tombstone := &kgo.Record{Topic: batchTopic, Offset: 7, Key: []byte(`{"use_date":"20240601","line_no":"1","station_name":"s1"}`)}
	newTable := func(t *testing.T) *tableState {
		w := batchWorker(t)
		w.cfg.Mapping.VersionColumn = "_version"
		w.cfg.Decoder.Envelope = "auto"
		var err error
		if w.decOpts, err = DecoderOptions(w.cfg.Decoder); err != nil {
			t.Fatal(err)
		}
		ts, err := newTableState(w, def, config.TableOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return ts
	}
	t.Run("raw events in the same poll", func(t *testing.T) {
		ts := newTable(t)
		recs := []decoded{{r: tombstone, t: ts}, {r: &kgo.Record{Topic: batchTopic, Offset: 8, Value: passIn("c", 2, 5, 300)}, t: ts}}
		ts.w.decode(recs)
		for i := range recs {
			if err := ts.w.add(&recs[i]); err != nil {
				t.Fatalf("offset %d: %v", recs[i].r.Offset, err)
			}
		}
		if b := ts.cur; b == nil || b.Rows != 1 || b.Deletes != 0 {
			t.Fatalf("open batch %+v, want the create alone (the tombstone skipped)", b)
		}
		// The table's later tombstones are skipped too, by any decoder.
		if err := add(ts, &kgo.Record{Topic: batchTopic, Offset: 9, Key: tombstone.Key}); err != nil || ts.cur.Rows != 1 {
			t.Fatalf("a later tombstone: err %v, %d rows; want it skipped", err, ts.cur.Rows)
		}
	})
	t.Run("alone", func(t *testing.T) {
		ts := newTable(t)
		err := add(ts, tombstone)
		if err == nil || !strings.Contains(err.Error(), "decoder.envelope=raw") {
			t.Fatalf("error %v, want one naming decoder.envelope=raw", err)
		}
	})
}
