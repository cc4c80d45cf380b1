package sink

import (
	"context"
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/starsink/starsink/config"
	"github.com/starsink/starsink/schema"
)

// change is a Debezium change of station k (op c, u or d) and its key.
func change(op string, k int) (key, value []byte) {
	row := fmt.Sprintf(`{"use_date":"20240601","line_no":"1","station_name":"s%d","pass_in":"AQ==","pass_out":null,"reg_date":"20240604"}`, k)
	before, after := "null", row
	if op == "d" {
		before, after = row, "null"
	}
	return []byte(fmt.Sprintf(`{"station_name":"s%d"}`, k)), []byte(fmt.Sprintf(`{"before":%s,"after":%s,"source":{"connector":"postgresql","ts_ms":1,"lsn":%d},"op":"%s"}`, before, after, k+1, op))
}

// TestNoUpsertAfterDeleteOfSameKeyInOneLoad: on a Primary Key table no
// load holds an upsert of a key after a delete of the same key (StarRocks
// #75014 loses such an upsert on shared-data tables): the batch closes
// before it. Other keys, and a delete after an upsert, stay together.
func TestNoUpsertAfterDeleteOfSameKeyInOneLoad(t *testing.T) {
	w := batchWorker(t)
	ts, err := newTableState(w, batchTable(schema.ModelPrimaryKeys), config.TableOptions{})
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		op string
		k  int
	}{{"c", 1}, {"d", 1}, {"c", 2}, {"d", 2}, {"c", 1}, {"u", 3}, {"d", 3}, {"c", 2}, {"c", 4}, {"u", 3}}
	for i, s := range steps {
		key, val := change(s.op, s.k)
		if err := add(ts, &kgo.Record{Topic: batchTopic, Offset: int64(i), Key: key, Value: val}); err != nil {
			t.Fatal(err)
		}
	}
	ts.flush("test")
	var got []string
	for _, b := range ts.queue {
		got = append(got, fmt.Sprintf("%d/%d:%s", b.Rows, b.Deletes, b.reason))
	}
	// c1 d1 c2 d2 | c1 u3 d3 c2 c4 | u3
	if want := "[4/2:delete_then_upsert 5/1:delete_then_upsert 1/0:test]"; fmt.Sprint(got) != want {
		t.Errorf("batches %v, want %s", got, want)
	}
}

// BenchmarkDeleteSplit measures batching with the delete-then-upsert
// split on two streams: subway-like rows (distinct keys, 5% deletes) and a
// hot-key stream (20 keys, every change of a key a delete or a re-insert).
func BenchmarkDeleteSplit(b *testing.B) {
	for _, bc := range []struct {
		name string
		keys int
		del  func(i int) bool
	}{
		{"subway", 1 << 30, func(i int) bool { return i%20 == 19 }},
		{"hot_keys", 20, func(i int) bool { return (i/20)%2 == 1 }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			w := batchWorker(b)
			w.cfg.Batch.MaxRows = 10000
			ts, err := newTableState(w, batchTable(schema.ModelPrimaryKeys), config.TableOptions{})
			if err != nil {
				b.Fatal(err)
			}
			const n = 4096
			recs := make([]decoded, n)
			for i := range recs {
				op := "u"
				if bc.del(i) {
					op = "d"
				}
				key, val := change(op, i%bc.keys)
				recs[i] = decoded{r: &kgo.Record{Topic: batchTopic, Offset: int64(i), Key: key, Value: val}, t: ts}
			}
			batches := 0
			b.ResetTimer()
			for range b.N {
				w.decode(recs)
				for i := range recs {
					if err := w.add(&recs[i]); err != nil {
						b.Fatal(err)
					}
				}
				ts.flush("bench")
				batches += len(ts.queue)
				for _, q := range ts.queue {
					ts.release(q)
				}
				ts.queue = ts.queue[:0]
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/record")
			b.ReportMetric(float64(n*b.N)/float64(batches), "records/batch")
		})
	}
}

// TestLabelsCarryTopicID: the topic ID of a fetch goes into the ranges of
// its batches, so a re-created topic (or a migrated cluster), whose
// offsets hold other rows, gets labels of its own.
func TestLabelsCarryTopicID(t *testing.T) {
	labels := map[string]bool{}
	for _, id := range [][16]byte{{1}, {2}} {
		w := batchWorker(t)
		ts, err := newTableState(w, batchTable(schema.ModelPrimaryKeys), config.TableOptions{})
		if err != nil {
			t.Fatal(err)
		}
		w.topics, w.tables, w.parts = map[string]*tableState{batchTopic: ts}, map[string]*tableState{ts.name: ts}, map[string]map[int32]struct{}{}
		key, val := change("c", 1)
		fetches := kgo.Fetches{{Topics: []kgo.FetchTopic{{Topic: batchTopic, TopicID: id, Partitions: []kgo.FetchPartition{
			{Partition: 0, Records: []*kgo.Record{{Topic: batchTopic, Offset: 0, Key: key, Value: val}}},
		}}}}}
		if err := w.process(context.Background(), fetches); err != nil {
			t.Fatal(err)
		}
		ts.flush("test")
		b := ts.queue[0]
		if b.Ranges[0].TopicID != id {
			t.Fatalf("range topic ID %x, want %x", b.Ranges[0].TopicID, id)
		}
		labels[b.Label] = true
	}
	if len(labels) != 2 {
		t.Errorf("labels %v: the same offsets of two incarnations of a topic share a label", labels)
	}
}

// TestSnapshotRowAfterStreamedChangeStartsALoad: with the version guard on
// source positions a snapshot row ranks below every streamed change, and
// StarRocks keeps the last row of a key within a load before comparing it
// with the stored one: a streamed update followed in one load by an
// incremental snapshot's row of the same key would be hidden by it and
// refused with it. The batch closes before a snapshot row that follows a
// streamed one, and the update lands.
func TestSnapshotRowAfterStreamedChangeStartsALoad(t *testing.T) {
	for _, from := range []string{config.VersionFromSource, config.VersionFromOffset} {
		t.Run(from, func(t *testing.T) {
			emu, def, loader := guardEmulator(t)
			// StarRocks' memtable keeps the last row of a key (REPLACE
			// aggregation) before the condition is checked: shared-data mode.
			if err := emu.SetSettings(*strictSettings()); err != nil {
				t.Fatal(err)
			}
			w := batchWorker(t)
			w.cfg.Mapping.VersionColumn = "_version"
			w.cfg.Mapping.VersionFrom = from
			ts, err := newTableState(w, def, config.TableOptions{})
			if err != nil {
				t.Fatal(err)
			}
			chunk := func(k int, v int64) []byte {
				row := fmt.Sprintf(`{"use_date":"20240601","line_no":"1","station_name":"s%d","pass_in":"%s","pass_out":null,"reg_date":"20240604"}`, k, decimalB64(v))
				return []byte(fmt.Sprintf(`{"before":null,"after":%s,"source":{"connector":"postgresql","snapshot":"incremental","ts_ms":1,"lsn":null,"sequence":"[\"900\",\"900\"]"},"op":"r"}`, row))
			}
			values := [][]byte{
				passIn("c", 1, 10, 100), // stored first
				passIn("u", 1, 11, 200), // the update …
				chunk(1, 10),            // … then a chunk that read key 1 before it (source positions rank it lower)
				passIn("u", 2, 20, 300),
			}
			for i, v := range values {
				if i == 1 {
					ts.flush("test") // the create is stored on its own
				}
				if err := add(ts, &kgo.Record{Topic: batchTopic, Offset: int64(i), Value: v}); err != nil {
					t.Fatal(err)
				}
			}
			ts.flush("test")
			var reasons []string
			for _, b := range ts.queue {
				reasons = append(reasons, fmt.Sprintf("%d:%s", b.Rows, b.reason))
				if err := loader.Load(context.Background(), b); err != nil {
					t.Fatal(err)
				}
			}
			want := "[1:test 1:snapshot_after_stream 2:test]" // source positions
			if from == config.VersionFromOffset {
				want = "[1:test 3:test]" // offsets: the chunk's row ranks above the update, in log order
			}
			if fmt.Sprint(reasons) != want {
				t.Errorf("batches %v, want %s", reasons, want)
			}
			rows, err := emu.Rows("subway", "subway_passengers_copy")
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rows {
				if r[2] == "s1" {
					wantIn := "11" // the update survives the chunk's row under source positions
					if from == config.VersionFromOffset {
						wantIn = "10" // the chunk's image, last in the topic, wins
					}
					if got := fmt.Sprint(r[3]); got != wantIn {
						t.Errorf("key s1: pass_in %s, want %s", got, wantIn)
					}
				}
			}
		})
	}
}
