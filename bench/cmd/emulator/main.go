// Command emulator runs the StarRocks emulator for the benchmark harness:
// the FE/BE HTTP and MySQL ports of package emulator, the benchmark's
// tables created at start, and the emulator's counters as JSON on
// GET /stats of a separate address, so that another process can see when
// every row has been acknowledged.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

	"go.uber.org/zap"

	"github.com/starsink/starsink/bench/internal/tables"
	"github.com/starsink/starsink/emulator"
)

func main() {
	fe := flag.String("fe", "127.0.0.1:18030", "FE HTTP address")
	be := flag.String("be", "127.0.0.1:18040", "BE HTTP address")
	my := flag.String("mysql", "127.0.0.1:19030", "MySQL-protocol address")
	stats := flag.String("stats", "127.0.0.1:18099", "address of GET /stats")
	countOnly := flag.Bool("count-only", false, "count rows without storing them")
	n := flag.Int("tables", 1, "number of benchmark tables to create")
	profile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	flag.Parse()
	if *profile != "" {
		f, err := os.Create(*profile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "emulator: cpu profile:", err)
			os.Exit(1)
		}
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	if err := run(*fe, *be, *my, *stats, *countOnly, *n); err != nil {
		fmt.Fprintln(os.Stderr, "emulator:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

func run(fe, be, my, statsAddr string, countOnly bool, n int) error {
	srv, err := emulator.Start(emulator.Config{FEAddr: fe, BEAddr: be, MySQLAddr: my, CountOnly: countOnly, Logger: zap.NewNop()})
	if err != nil {
		return fmt.Errorf("start emulator: %w", err)
	}
	defer srv.Close()
	ctx := context.Background()
	for _, q := range tables.DDL(n) {
		if err := srv.Exec(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/stats", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(srv.Stats())
	})
	hs := &http.Server{Addr: statsAddr, Handler: mux}
	go func() { _ = hs.ListenAndServe() }()
	defer hs.Close()
	fmt.Println("emulator ready")
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	return nil
}
