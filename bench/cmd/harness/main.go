// Command harness is the end-to-end benchmark of starsink (bench/run.sh runs
// it). For each case it produces subway-shaped Debezium messages into Kafka
// (a kfake process, or a real broker given with --brokers), measures a bare
// franz-go consumer group reading them (the ceiling), then runs starsink as
// its own process against the emulator (its own process, count-only or full
// apply) and reports rows/s and MB/s from start to the last row acknowledged
// by the emulator, CPU seconds per million rows and peak RSS of the starsink
// process, and p50/p99 batch load latency from starsink's /metrics.
//
// "harness ceiling" is the bare consumer, run as a child process.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "ceiling" {
		if err := ceilingMain(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "ceiling:", err)
			os.Exit(1)
		}
		return
	}
	var o options
	flag.IntVar(&o.rows, "rows", 200000, "messages per case")
	flag.StringVar(&o.tables, "tables", "1,10,100", "table counts, comma-separated")
	flag.StringVar(&o.schemas, "schemas", "on,off", "framings: on (JSON with schemas), off (schemaless)")
	flag.StringVar(&o.modes, "modes", "count-only,apply", "emulator modes")
	flag.StringVar(&o.bin, "bin", "bench/.work/bin", "folder of the starsink, kfake, emulator and harness binaries")
	flag.StringVar(&o.brokers, "brokers", "", "a running Kafka (e.g. the e2e KRaft broker); default: start the kfake process")
	flag.StringVar(&o.out, "out", "bench/.work/results.md", "results file (appended)")
	flag.StringVar(&o.sweep, "sweep", "", "flush sweep on 10 tables, count-only: max_rows:max_age list, e.g. 10000:1s,100000:1s,100000:100ms")
	flag.StringVar(&o.bufferMemory, "buffer-memory", "256MiB", "batch.buffer_memory of starsink")
	flag.StringVar(&o.javaPlugin, "java-connector-plugin", os.Getenv("STARSINK_BENCH_JAVA_PLUGIN"), "plugin folder of the StarRocks Kafka connector (the Java peer)")
	flag.IntVar(&o.latencyRate, "latency-rate", 20000, "rows/s of the produce→ack latency case (0 skips it)")
	flag.DurationVar(&o.latencyFor, "latency-for", 10*time.Second, "length of the latency case")
	flag.StringVar(&o.latencyFlush, "latency-flush", "100000:1s", "max_rows:max_age of the latency case")
	flag.StringVar(&o.peerScript, "java-peer-script", "bench/java-peer.sh", "script that runs the Java connector in Kafka Connect")
	flag.StringVar(&o.profile, "cpuprofile", "", "folder to write CPU profiles into: of each starsink case (its first --profile-for, from /debug/pprof) and of the emulator (its whole run)")
	flag.DurationVar(&o.profileFor, "profile-for", 3*time.Second, "length of each CPU profile")
	flag.StringVar(&o.compression, "compression", "none", "producer compression of the benchmark topics: none (Kafka Connect's default), gzip, snappy, lz4, zstd")
	flag.Parse()
	if err := run(context.Background(), &o); err != nil {
		fmt.Fprintln(os.Stderr, "harness:", err)
		os.Exit(1)
	}
}

type options struct {
	rows                      int
	tables, schemas, modes    string
	bin, brokers, out, sweep  string
	bufferMemory, javaPlugin  string
	peerScript, profile       string
	compression, latencyFlush string
	profileFor                time.Duration
	latencyRate               int
	latencyFor                time.Duration
}

func split(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
