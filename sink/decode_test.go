package sink

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/starsink/starsink/config"
	"github.com/starsink/starsink/schema"
)

// TestDecodeLanes decodes one large poll of mixed records on four lanes and
// on one: every record must come out with the same row, event and error,
// and the four-lane run must really have spread the records over lanes.
func TestDecodeLanes(t *testing.T) {
	values := []string{"insert.value.json", "update.value.json", "delete.value.json", "snapshot-read.value.json", "", "update-toast.value.json"}
	poll := func(lanes int) (*Worker, []decoded) {
		w := batchWorker(t)
		w.lanes = make([]lane, lanes)
		ts, err := newTableState(w, batchTable(schema.ModelPrimaryKeys), config.TableOptions{})
		if err != nil {
			t.Fatal(err)
		}
		recs := make([]decoded, 3000)
		for i := range recs {
			v := fixture(t, values[i%len(values)])
			if i == 1234 {
				v = []byte(`{"before":null,"after":{"use_date":"x"},"source":{},"op":"?"}`)
			}
			recs[i] = decoded{r: &kgo.Record{Topic: batchTopic, Offset: int64(i), Value: v}, t: ts}
		}
		w.decode(recs)
		return w, recs
	}
	w1, one := poll(1)
	w4, four := poll(4)
	used := map[int]bool{}
	for i := range four {
		a, b := &one[i], &four[i]
		used[b.lane] = true
		rowA, rowB := w1.lanes[a.lane].buf[a.start:a.end], w4.lanes[b.lane].buf[b.start:b.end]
		unA, unB := w1.lanes[a.lane].ints[a.ustart:a.uend], w4.lanes[b.lane].ints[b.ustart:b.uend]
		if !bytes.Equal(rowA, rowB) || fmt.Sprint(unA) != fmt.Sprint(unB) || a.ev.Op != b.ev.Op || a.ev.LSN != b.ev.LSN || fmt.Sprint(a.err) != fmt.Sprint(b.err) {
			t.Fatalf("record %d: one lane gave %s %v %+v %v; four lanes gave %s %v %+v %v", i, rowA, unA, a.ev, a.err, rowB, unB, b.ev, b.err)
		}
	}
	if len(used) != 4 {
		t.Errorf("records decoded on lanes %v, want all four", used)
	}
	if four[1234].err == nil {
		t.Error("the bad record decoded without an error")
	}
}

// BenchmarkDecodeLanes decodes one poll of 20,000 subway inserts (with
// schema) on 1, 2 and 4 lanes: what decoder.workers buys by itself, without
// Kafka or loads competing for the cores.
//
//	go test -run '^$' -bench BenchmarkDecodeLanes ./sink/
func BenchmarkDecodeLanes(b *testing.B) {
	value := fixture(b, "insert.value.json")
	for _, lanes := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("lanes=%d", lanes), func(b *testing.B) {
			w := batchWorker(b)
			w.lanes = make([]lane, lanes)
			ts, err := newTableState(w, batchTable(schema.ModelPrimaryKeys), config.TableOptions{})
			if err != nil {
				b.Fatal(err)
			}
			recs := make([]decoded, 20000)
			for i := range recs {
				recs[i] = decoded{r: &kgo.Record{Topic: batchTopic, Offset: int64(i), Value: value}, t: ts}
			}
			b.SetBytes(int64(len(value) * len(recs)))
			for b.Loop() {
				w.decode(recs)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(recs)), "ns/row")
			for i := range recs {
				if recs[i].err != nil {
					b.Fatal(recs[i].err)
				}
			}
		})
	}
}
