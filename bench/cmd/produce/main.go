// Command produce writes N subway_passengers_copy insert events, as the
// Debezium 2.6 PostgreSQL connector writes them, into a Kafka topic: the
// input of the peer benchmark (bench/peer.sh).
//
//	go run ./bench/cmd/produce --brokers 127.0.0.1:59092 --rows 200000 [--schemas=false]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/starsink/starsink/internal/subway"
)

func main() {
	brokers := flag.String("brokers", "127.0.0.1:59092", "bootstrap brokers")
	rows := flag.Int("rows", 200000, "events to produce")
	schemas := flag.Bool("schemas", true, "values carry JsonConverter schemas")
	flag.Parse()
	cl, err := kgo.NewClient(kgo.SeedBrokers(*brokers), kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)),
		kgo.MaxBufferedRecords(100000), kgo.ProducerBatchMaxBytes(1<<20), kgo.AllowAutoTopicCreation())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer cl.Close()
	ev := subway.NewEvents(*schemas)
	start := time.Now()
	var failed error
	for i := 0; i < *rows; i++ {
		r := subway.Generate(subway.Passengers, i, 0)
		cl.Produce(context.Background(), &kgo.Record{Topic: subway.Passengers.Topic(), Key: ev.Key(nil, subway.Passengers, r),
			Value: ev.Value(nil, subway.Passengers, "c", nil, r)}, func(_ *kgo.Record, err error) {
			if err != nil && failed == nil {
				failed = err
			}
		})
	}
	if err := cl.Flush(context.Background()); err != nil || failed != nil {
		fmt.Fprintln(os.Stderr, "produce:", err, failed)
		os.Exit(1)
	}
	fmt.Printf("produced %d events in %.1fs\n", *rows, time.Since(start).Seconds())
}
