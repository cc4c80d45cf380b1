package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/starsink/starsink/bench/internal/tables"
	"github.com/starsink/starsink/internal/subway"
)

// The benchmark's fixed loopback ports sit below Linux's ephemeral range
// (32768-60999), where an outgoing connection could hold one.
const (
	kfakeAddr   = "127.0.0.1:19092"
	feAddr      = "127.0.0.1:18030"
	statsURL    = "http://127.0.0.1:18099/stats"
	metricsAddr = "127.0.0.1:18080"
)

type result struct {
	kafka, framing, mode     string
	tables, rows, steadyRows int
	flush                    string
	seconds, steady, mb      float64
	cpu, emuCPU, machineCPU  float64 // CPU seconds of starsink, of the emulator and of the whole machine while it ran
	rss                      int64
	p50, p99                 float64
	ceiling                  float64
}

func run(ctx context.Context, o *options) error {
	var results []result
	for _, ts := range split(o.tables) {
		nt, err := strconv.Atoi(ts)
		if err != nil || nt < 1 {
			return fmt.Errorf("bad table count %q", ts)
		}
		for _, fr := range split(o.schemas) {
			rs, err := runKafkaCase(ctx, o, nt, fr == "on", split(o.modes), []string{""})
			if err != nil {
				return fmt.Errorf("%d tables, schemas %s: %w", nt, fr, err)
			}
			results = append(results, rs...)
		}
	}
	if o.sweep != "" {
		rs, err := runKafkaCase(ctx, o, 10, true, []string{"count-only"}, split(o.sweep))
		if err != nil {
			return fmt.Errorf("sweep: %w", err)
		}
		results = append(results, rs...)
	}
	var lat string
	if o.latencyRate > 0 {
		for _, ts := range split(o.tables) {
			nt, _ := strconv.Atoi(ts)
			for _, fr := range split(o.schemas) {
				p50, p99, err := latency(ctx, o, nt, fr == "on", o.latencyRate, o.latencyFor)
				if err != nil {
					return fmt.Errorf("latency, %d tables, schemas %s: %w", nt, fr, err)
				}
				line := fmt.Sprintf("produce→load-acknowledged at %d rows/s for %s (%d tables, %s, count-only, max_rows:max_age %s): p50 %d ms, p99 %d ms\n",
					o.latencyRate, o.latencyFor, nt, framingName(fr == "on"), o.latencyFlush, p50.Milliseconds(), p99.Milliseconds())
				fmt.Print(line)
				lat += line
			}
		}
	}
	if o.javaPlugin == "" {
		fmt.Println("peer: skipped (no --java-connector-plugin / STARSINK_BENCH_JAVA_PLUGIN: build the StarRocks Kafka connector from its public source with Maven and pass its plugin folder)")
	} else {
		rs, err := peer(ctx, o, []int{1, 10})
		if err != nil {
			return fmt.Errorf("java peer: %w", err)
		}
		results = append(results, rs...)
	}
	return report(o, results, lat)
}

// runKafkaCase starts Kafka (unless --brokers), produces the messages once,
// measures the ceiling, then runs starsink once per mode and flush setting.
func runKafkaCase(ctx context.Context, o *options, nt int, schemas bool, modes, flushes []string) ([]result, error) {
	brokers, kafka, done, err := kafkaFor(o)
	if err != nil {
		return nil, err
	}
	defer done()
	// The kfake process is fresh per case; on a shared broker produce
	// replaces the benchmark topics.
	bytes, err := produce(ctx, o, brokers, nt, o.rows, schemas)
	if err != nil {
		return nil, err
	}
	framing := "schemaless"
	if schemas {
		framing = "schema"
	}
	// The ceiling is the best of three reads: the first may meet the broker
	// still settling from the produce.
	ceilSec := 0.0
	for range 3 {
		out, err := exec.Command(filepath.Join(o.bin, "harness"), "ceiling", "--brokers", brokers, "--regex", tables.TopicRegex,
			"--group", fmt.Sprintf("ceiling-%d", time.Now().UnixNano()), "--rows", strconv.Itoa(o.rows)).Output()
		if err != nil {
			return nil, fmt.Errorf("ceiling: %w", err)
		}
		sec, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
		if err != nil {
			return nil, fmt.Errorf("ceiling: %q: %w", out, err)
		}
		if ceilSec == 0 || sec < ceilSec {
			ceilSec = sec
		}
	}
	ceiling := float64(o.rows) / ceilSec
	fmt.Printf("%s %d tables %s: ceiling %.0f rows/s\n", kafka, nt, framing, ceiling)
	var rs []result
	for _, mode := range modes {
		for _, fl := range flushes {
			r, err := runStarsink(o, brokers, nt, schemas, mode, fl)
			if err != nil {
				return nil, fmt.Errorf("%s %s: %w", mode, fl, err)
			}
			r.kafka, r.framing, r.tables, r.rows, r.ceiling = kafka, framing, nt, o.rows, ceiling
			r.mb = float64(bytes) / 1e6 / r.seconds
			fmt.Printf("  %s %s: %.0f rows/s\n", mode, fl, float64(o.rows)/r.seconds)
			rs = append(rs, r)
		}
	}
	return rs, nil
}

// kafkaFor returns the brokers of a case, "real" or "kfake", and what stops
// them: --brokers when given, else a fresh kfake process on kfakeAddr.
func kafkaFor(o *options) (brokers, kind string, done func(), err error) {
	if o.brokers != "" {
		return o.brokers, "real", func() {}, nil
	}
	p, err := start(o, "kfake", "--ports", kfakeAddr[strings.LastIndexByte(kfakeAddr, ':')+1:])
	if err != nil {
		return "", "", nil, err
	}
	time.Sleep(300 * time.Millisecond) // resetTopics also waits for it to listen
	return kfakeAddr, "kfake", func() { stop(p) }, nil
}

// resetTopics deletes the benchmark topics a shared broker still holds from
// an earlier case and creates nt fresh ones (3 partitions each).
func resetTopics(ctx context.Context, adm *kadm.Client, nt int) error {
	re := regexp.MustCompile(tables.TopicRegex)
	deleted := false
	for attempt := 0; ; attempt++ {
		listed, err := adm.ListTopics(ctx)
		if err != nil {
			if attempt < 50 { // a broker process just started may not listen yet
				time.Sleep(200 * time.Millisecond)
				continue
			}
			return fmt.Errorf("list topics: %w", err)
		}
		var old []string
		for _, t := range listed.Names() {
			if re.MatchString(t) {
				old = append(old, t)
			}
		}
		if len(old) == 0 {
			break
		}
		if attempt == 100 {
			return fmt.Errorf("benchmark topics still present after deleting: %v", old)
		}
		if !deleted {
			if _, err := adm.DeleteTopics(ctx, old...); err != nil {
				return fmt.Errorf("delete topics: %w", err)
			}
			deleted = true
		}
		time.Sleep(200 * time.Millisecond)
	}
	for attempt := 0; ; attempt++ {
		resp, err := adm.CreateTopics(ctx, 3, 1, nil, tables.Topics(nt)...)
		if err == nil {
			err = resp.Error()
		}
		if err == nil {
			return nil
		}
		if attempt == 50 { // a deleted topic's name can stay taken for a moment
			return fmt.Errorf("create topics: %w", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// compression is the producer codec of --compression: Kafka Connect's
// producers (Debezium's) default to none.
func compression(name string) (kgo.CompressionCodec, error) {
	switch name {
	case "none":
		return kgo.NoCompression(), nil
	case "gzip":
		return kgo.GzipCompression(), nil
	case "snappy":
		return kgo.SnappyCompression(), nil
	case "lz4":
		return kgo.Lz4Compression(), nil
	case "zstd":
		return kgo.ZstdCompression(), nil
	}
	return kgo.CompressionCodec{}, fmt.Errorf("--compression %q: want none, gzip, snappy, lz4 or zstd", name)
}

// produce writes rows insert events of subway_passengers_copy, spread over
// nt topics, and returns the bytes of the values.
func produce(ctx context.Context, o *options, brokers string, nt, rows int, schemas bool) (int64, error) {
	codec, err := compression(o.compression)
	if err != nil {
		return 0, err
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers), kgo.MaxBufferedRecords(100000),
		kgo.ProducerLinger(5*time.Millisecond), kgo.ProducerBatchCompression(codec))
	if err != nil {
		return 0, fmt.Errorf("producer: %w", err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	if err := resetTopics(ctx, adm, nt); err != nil {
		return 0, err
	}
	ev := subway.NewEvents(schemas)
	var bytes int64
	var firstErr error
	for i := 0; i < rows; i++ {
		r := subway.Generate(subway.Passengers, i, 0)
		v := ev.Value(nil, subway.Passengers, "c", nil, r)
		bytes += int64(len(v))
		cl.Produce(ctx, &kgo.Record{Topic: tables.Topic(i % nt), Key: ev.Key(nil, subway.Passengers, r), Value: v}, func(_ *kgo.Record, err error) {
			if err != nil && firstErr == nil {
				firstErr = err
			}
		})
	}
	if err := cl.Flush(ctx); err != nil {
		return 0, fmt.Errorf("flush: %w", err)
	}
	if firstErr != nil {
		return 0, fmt.Errorf("produce: %w", firstErr)
	}
	return bytes, nil
}

func runStarsink(o *options, brokers string, nt int, schemas bool, mode, flush string) (result, error) {
	r := result{mode: mode, flush: flush}
	emu, ss, begin, err := launch(o, brokers, nt, schemas, mode, flush)
	if err != nil {
		return r, err
	}
	defer stop(emu)
	defer stop(ss)
	emuCPU0, _ := cpuSeconds(emu.pid()) // its start and table creation are not the case's
	machine0, _ := machineCPU()
	profiled := make(chan error, 1)
	if o.profile != "" {
		name := fmt.Sprintf("%dt-%s-%s-%s.pprof", nt, framingName(schemas), mode, strings.ReplaceAll(flush, ":", "_"))
		go func() { profiled <- cpuProfile(filepath.Join(o.profile, name), o.profileFor) }()
	} else {
		profiled <- nil
	}
	first, firstRows, err := waitLoaded(ss, begin, int64(o.rows))
	if err != nil {
		return r, err
	}
	r.seconds = time.Since(begin).Seconds()
	r.steady = time.Since(first).Seconds()
	r.steadyRows = o.rows - int(firstRows)
	r.cpu, _ = cpuSeconds(ss.pid())
	if c, err := cpuSeconds(emu.pid()); err == nil {
		r.emuCPU = c - emuCPU0
	}
	if c, err := machineCPU(); err == nil {
		r.machineCPU = c - machine0
	}
	r.rss, _ = peakRSS(ss.pid())
	if r.p50, r.p99, err = loadQuantiles("http://" + metricsAddr + "/metrics"); err != nil {
		fmt.Fprintln(os.Stderr, "load latency:", err)
	}
	if err := <-profiled; err != nil {
		fmt.Fprintln(os.Stderr, "cpu profile:", err)
	}
	return r, nil
}

func framingName(schemas bool) string {
	if schemas {
		return "schema"
	}
	return "schemaless"
}

// cpuProfile saves a CPU profile of starsink's first d (http.pprof is on in
// the benchmark configuration) to file.
func cpuProfile(file string, d time.Duration) error {
	if err := waitHTTP("http://" + metricsAddr + "/healthz"); err != nil {
		return err
	}
	resp, err := http.Get(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", metricsAddr, max(1, int(d.Seconds()))))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s", resp.Status)
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return err
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// waitLoaded polls the emulator until it acknowledged want rows.
// It returns the time the first rows were acknowledged and how many.
func waitLoaded(ss *child, begin time.Time, want int64) (first time.Time, firstRows int64, err error) {
	for {
		st, err := emuStats()
		if err == nil && st.RowsLoaded > 0 && first.IsZero() {
			first = time.Now()
			firstRows = st.RowsLoaded
		}
		if err == nil && st.RowsLoaded >= want {
			return first, firstRows, nil
		}
		if ss.exited() {
			return first, firstRows, fmt.Errorf("starsink exited")
		}
		if time.Since(begin) > 10*time.Minute {
			return first, firstRows, fmt.Errorf("timeout: %d rows loaded", st.RowsLoaded)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// launch starts the emulator and starsink (consuming every benchmark topic
// with a fresh group) and returns when starsink's process started.
func launch(o *options, brokers string, nt int, schemas bool, mode, flush string) (emu, ss *child, begin time.Time, err error) {
	args := []string{"--tables", strconv.Itoa(nt)}
	if mode == "count-only" {
		args = append(args, "--count-only")
	}
	if o.profile != "" {
		name := fmt.Sprintf("%dt-%s-%s-%s-emulator.pprof", nt, framingName(schemas), mode, strings.ReplaceAll(flush, ":", "_"))
		args = append(args, "--cpuprofile", filepath.Join(o.profile, name))
	}
	emu, err = start(o, "emulator", args...)
	if err != nil {
		return nil, nil, begin, err
	}
	if err := waitHTTP(statsURL); err != nil {
		stop(emu)
		return nil, nil, begin, err
	}
	maxRows, maxAge := "100000", "1s"
	if flush != "" {
		a, b, _ := strings.Cut(flush, ":")
		maxRows, maxAge = a, b
	}
	framing := framingName(schemas)
	cfg := fmt.Sprintf(`kafka:
  brokers: [%q]
  group_id: starsink-bench-%d
  topic_regex: [%q]
  start_offset: earliest
starrocks:
  load_urls: [%q]
  mysql_addr: "127.0.0.1:19030"
  user: root
  database: %s
mapping:
  template: "{table}"
decoder:
  framing: %s
batch:
  max_rows: %s
  max_bytes: 32MiB
  max_age: %s
  buffer_memory: %s
commit:
  interval: 1s
http:
  addr: %q
  pprof: true
log:
  level: warn
`, brokers, time.Now().UnixNano(), tables.TopicRegex, feAddr, tables.Database, framing, maxRows, maxAge, o.bufferMemory, metricsAddr)
	cfgFile := filepath.Join(filepath.Dir(o.out), "starsink.yaml")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
		stop(emu)
		return nil, nil, begin, fmt.Errorf("write config: %w", err)
	}
	begin = time.Now()
	ss, err = start(o, "starsink", "run", "--config", cfgFile)
	if err != nil {
		stop(emu)
		return nil, nil, begin, err
	}
	return emu, ss, begin, nil
}

type stats struct{ RowsLoaded int64 }

func emuStats() (stats, error) {
	var s stats
	resp, err := http.Get(statsURL)
	if err != nil {
		return s, err
	}
	defer resp.Body.Close()
	return s, json.NewDecoder(resp.Body).Decode(&s)
}

func waitHTTP(url string) error {
	for i := 0; i < 200; i++ {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s never answered", url)
}

// child is a process the harness started; done closes when it exits.
type child struct {
	cmd  *exec.Cmd
	done chan struct{}
}

func (c *child) pid() int { return c.cmd.Process.Pid }

func (c *child) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

func start(o *options, name string, args ...string) (*child, error) {
	c := &child{cmd: exec.Command(filepath.Join(o.bin, name), args...), done: make(chan struct{})}
	c.cmd.Stderr = os.Stderr
	if err := c.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() { _ = c.cmd.Wait(); close(c.done) }()
	return c, nil
}

// stop ends c with SIGTERM, then SIGKILL after 5s.
func stop(c *child) {
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(5 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
	time.Sleep(200 * time.Millisecond) // ports released
}

func report(o *options, rs []result, lat string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "\n### %s, %d rows per case, %d CPUs\n\n", time.Now().UTC().Format(time.RFC3339), o.rows, runtime.NumCPU())
	b.WriteString("| kafka | tables | framing | emulator | max_rows:max_age | rows/s | MB/s | rows/s after first ack | ceiling rows/s | of ceiling | CPU s / M rows | emulator CPU s / M rows | machine CPU s / M rows | peak RSS MiB | load p50 ms | load p99 ms |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rs {
		rate := float64(r.rows) / r.seconds
		fl := r.flush
		if fl == "" {
			fl = "100000:1s"
		}
		ceil, frac := "-", "-"
		if r.ceiling > 0 {
			ceil, frac = fmt.Sprintf("%.0f", r.ceiling), fmt.Sprintf("%.2f", rate/r.ceiling)
		}
		perM := func(s float64) float64 { return s / float64(r.rows) * 1e6 }
		p50, p99 := "-", "-" // the Java peer has no load histogram
		if r.p50 > 0 || r.p99 > 0 {
			p50, p99 = fmt.Sprintf("%.0f", r.p50*1000), fmt.Sprintf("%.0f", r.p99*1000)
		}
		fmt.Fprintf(&b, "| %s | %d | %s | %s | %s | %.0f | %.1f | %.0f | %s | %s | %.1f | %.1f | %.1f | %d | %s | %s |\n",
			r.kafka, r.tables, r.framing, r.mode, fl, rate, r.mb, float64(r.steadyRows)/r.steady, ceil, frac,
			perM(r.cpu), perM(r.emuCPU), perM(r.machineCPU), r.rss>>20, p50, p99)
	}
	if lat != "" {
		b.WriteString("\n" + lat)
	}
	fmt.Print(b.String())
	if err := os.MkdirAll(filepath.Dir(o.out), 0o755); err != nil {
		return fmt.Errorf("results folder: %w", err)
	}
	f, err := os.OpenFile(o.out, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("results file: %w", err)
	}
	defer f.Close()
	_, err = f.WriteString(b.String())
	return err
}
