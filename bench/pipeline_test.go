// Package bench measures starsink end to end in one process: the reference
// case's Debezium events in an in-process Kafka (kfake), the worker, and the
// StarRocks emulator in count-only or full apply mode; and, as the ceiling,
// a bare franz-go group consumer reading the same topics.
//
//	go test -run '^$' -bench . -benchtime 1x ./bench/
package bench

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/starsink/starsink/config"
	"github.com/starsink/starsink/emulator"
	"github.com/starsink/starsink/internal/subway"
	"github.com/starsink/starsink/schema"
	"github.com/starsink/starsink/sink"
)

// rows is the number of subway_passengers_copy inserts per run.
const rows = 500000

// seed fills a kfake cluster with n insert events of the passengers table.
func seed(b *testing.B, schemas bool, n int) (*kfake.Cluster, int64) {
	b.Helper()
	topic := subway.Passengers.Topic()
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(6, topic))
	if err != nil {
		b.Fatal(err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(cluster.ListenAddrs()...), kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)),
		kgo.MaxBufferedRecords(200000), kgo.ProducerBatchMaxBytes(4<<20))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	ev := subway.NewEvents(schemas)
	var bytes int64
	for i := 0; i < n; i++ {
		r := subway.Generate(subway.Passengers, i, 0)
		v := ev.Value(nil, subway.Passengers, "c", nil, r)
		bytes += int64(len(v))
		cl.Produce(context.Background(), &kgo.Record{Topic: topic, Key: ev.Key(nil, subway.Passengers, r), Value: v}, nil)
	}
	if err := cl.Flush(context.Background()); err != nil {
		b.Fatal(err)
	}
	return cluster, bytes
}

type emuSchemas struct{ s *emulator.Server }

func (e emuSchemas) Table(_ context.Context, db, table string) (*schema.Table, error) {
	return e.s.Schema(db, table)
}

// BenchmarkPipeline: Kafka → worker → emulator, until every record is
// loaded and committed. Reports rows/s and MB/s of Kafka values.
func BenchmarkPipeline(b *testing.B) {
	for _, c := range []struct {
		name      string
		schemas   bool
		countOnly bool
	}{
		{"schema/count-only", true, true},
		{"schemaless/count-only", false, true},
		{"schema/apply", true, false},
		{"schemaless/apply", false, false},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				cluster, bytes := seed(b, c.schemas, rows)
				emu, err := emulator.Start(emulator.Config{CountOnly: c.countOnly, NoMySQL: true})
				if err != nil {
					b.Fatal(err)
				}
				ctx := context.Background()
				for _, q := range append([]string{"CREATE DATABASE subway", "USE subway"}, subway.StarRocksDDL...) {
					if err := emu.Exec(ctx, q); err != nil {
						b.Fatal(err)
					}
				}
				cfg := config.Default()
				cfg.Kafka.Brokers = cluster.ListenAddrs()
				cfg.Kafka.Topics = []string{subway.Passengers.Topic()}
				cfg.Kafka.GroupID = "bench"
				cfg.StarRocks.LoadURLs = []string{emu.FEURL()}
				cfg.StarRocks.Database = subway.Database
				cfg.Mapping.Template = "{table}"
				cfg.HTTP.Addr = ""
				cfg.Commit.Interval = 100 * time.Millisecond
				// Flush on rows, not on age: a 2s age would dominate the run.
				cfg.Batch.MaxRows = 50000
				cfg.Batch.MaxAge = 100 * time.Millisecond
				w, err := sink.New(&cfg, sink.Deps{Schemas: emuSchemas{emu}}, nil)
				if err != nil {
					b.Fatal(err)
				}
				wctx, cancel := context.WithCancel(ctx)
				done := make(chan error, 1)
				b.StartTimer()
				start := time.Now()
				go func() { done <- w.Run(wctx) }()
				waitCommitted(b, cluster, "bench", int64(rows))
				elapsed := time.Since(start)
				b.StopTimer()
				cancel()
				if err := <-done; err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(rows)/elapsed.Seconds(), "rows/s")
				b.ReportMetric(float64(bytes)/elapsed.Seconds()/1e6, "MB/s")
				emu.Close()
				cluster.Close()
				b.StartTimer()
			}
		})
	}
}

// BenchmarkCeiling: a bare franz-go group consumer reading and discarding
// the same records: the most any sink can do on this machine.
func BenchmarkCeiling(b *testing.B) {
	for _, schemas := range []bool{true, false} {
		b.Run(fmt.Sprintf("schemas=%v", schemas), func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				cluster, bytes := seed(b, schemas, rows)
				cl, err := kgo.NewClient(kgo.SeedBrokers(cluster.ListenAddrs()...), kgo.ConsumerGroup("ceiling"),
					kgo.ConsumeTopics(subway.Passengers.Topic()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				start := time.Now()
				n := 0
				for n < rows {
					fs := cl.PollFetches(context.Background())
					n += fs.NumRecords()
				}
				elapsed := time.Since(start)
				b.StopTimer()
				b.ReportMetric(float64(rows)/elapsed.Seconds(), "rows/s")
				b.ReportMetric(float64(bytes)/elapsed.Seconds()/1e6, "MB/s")
				cl.Close()
				cluster.Close()
				b.StartTimer()
			}
		})
	}
}

func waitCommitted(b *testing.B, cluster *kfake.Cluster, group string, want int64) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(cluster.ListenAddrs()...))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	for {
		offs, err := adm.FetchOffsets(context.Background(), group)
		if err == nil {
			var n int64
			offs.Each(func(o kadm.OffsetResponse) { n += o.At })
			if n >= want {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
}
