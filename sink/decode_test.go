package sink

import (
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/starsink/starsink/config"
	"github.com/starsink/starsink/schema"
)

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
			b.ReportMetric(0, "ns/op")
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
