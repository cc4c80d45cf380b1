package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/starsink/starsink/bench/internal/tables"
)

// peer runs the Java StarRocks Kafka connector (bench/java-peer.sh, a
// standalone Kafka Connect 4.0 worker) on the same messages as starsink,
// with the schema framing, into the emulator in count-only mode, and
// returns one row per table count. The time runs from the worker's start
// to the last row acknowledged, as for starsink.
func peer(ctx context.Context, o *options, counts []int) ([]result, error) {
	var rs []result
	for _, nt := range counts {
		brokers, kafka, done, err := kafkaFor(o)
		if err != nil {
			return nil, err
		}
		r, err := peerCase(ctx, o, brokers, nt)
		r.kafka = kafka
		done()
		if err != nil {
			return nil, fmt.Errorf("%d tables: %w", nt, err)
		}
		fmt.Printf("  java connector %d tables: %.0f rows/s\n", nt, float64(o.rows)/r.seconds)
		rs = append(rs, r)
	}
	return rs, nil
}

func peerCase(ctx context.Context, o *options, brokers string, nt int) (result, error) {
	r := result{framing: "schema", mode: "count-only, Java connector", tables: nt, rows: o.rows, flush: "java: 1s"}
	bytes, err := produce(ctx, o, brokers, nt, o.rows, true)
	if err != nil {
		return r, err
	}
	emu, err := start(o, "emulator", "--tables", strconv.Itoa(nt), "--count-only")
	if err != nil {
		return r, err
	}
	defer stop(emu)
	if err := waitHTTP(statsURL); err != nil {
		return r, err
	}
	var m []string
	for i := 0; i < nt; i++ {
		m = append(m, tables.Topic(i)+":"+tables.Name(i))
	}
	work, err := filepath.Abs(filepath.Join(filepath.Dir(o.out), "java-peer"))
	if err != nil {
		return r, fmt.Errorf("peer folder: %w", err)
	}
	c := &child{cmd: exec.Command(o.peerScript, o.javaPlugin, brokers, strings.Join(tables.Topics(nt), ","), strings.Join(m, ","),
		feAddr, tables.Database, work), done: make(chan struct{})}
	logf, err := os.Create(filepath.Join(filepath.Dir(o.out), fmt.Sprintf("java-peer-%d.log", nt)))
	if err != nil {
		return r, fmt.Errorf("peer log: %w", err)
	}
	defer logf.Close()
	c.cmd.Stdout, c.cmd.Stderr = logf, logf
	emuCPU0, _ := cpuSeconds(emu.pid())
	machine0, _ := machineCPU()
	begin := time.Now()
	if err := c.cmd.Start(); err != nil {
		return r, fmt.Errorf("start java peer: %w", err)
	}
	go func() { _ = c.cmd.Wait(); close(c.done) }()
	defer stop(c)
	first, firstRows, err := waitLoaded(c, begin, int64(o.rows))
	if err != nil {
		return r, fmt.Errorf("java peer (log in %s): %w", logf.Name(), err)
	}
	r.seconds = time.Since(begin).Seconds()
	r.steady, r.steadyRows = time.Since(first).Seconds(), o.rows-int(firstRows)
	r.mb = float64(bytes) / 1e6 / r.seconds
	r.cpu, _ = cpuSeconds(c.pid())
	r.rss, _ = peakRSS(c.pid())
	if c, err := cpuSeconds(emu.pid()); err == nil {
		r.emuCPU = c - emuCPU0
	}
	if c, err := machineCPU(); err == nil {
		r.machineCPU = c - machine0
	}
	return r, nil
}
