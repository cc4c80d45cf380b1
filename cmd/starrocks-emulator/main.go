// Command starrocks-emulator serves the StarRocks emulator (package
// emulator): Stream Load on an FE and a BE HTTP port and the MySQL protocol,
// on StarRocks' own default ports.
//
//	go run ./cmd/starrocks-emulator [--fe-port 8030] [--be-port 8040] [--mysql-port 9030]
//	    [--strict-mode] [--shared-data --memtable-rows 1000] [--info-schema be]
//	    [--fault too_many_versions=0.05 --fault shutting_down@90s] …
//
// The defaults are StarRocks 3.5's (shared-nothing, non-strict, no faults).
// The same switches can be changed while it runs through the FE port:
// POST /_emulator/faults, POST /_emulator/config, GET /_emulator/state
// (see package emulator, control.go).
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/starsink/starsink/emulator"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "starrocks-emulator:", err)
		os.Exit(1)
	}
}

// run serves until ctx ends (SIGINT or SIGTERM in main).
func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("starrocks-emulator", flag.ContinueOnError)
	host := fs.String("host", "127.0.0.1", "address to listen on")
	fePort := fs.Int("fe-port", 8030, "FE HTTP port (Stream Load entry, 307 to the BE)")
	bePort := fs.Int("be-port", 8040, "BE HTTP port")
	mysqlPort := fs.Int("mysql-port", 9030, "MySQL-protocol port")
	advertise := fs.String("be-advertise-host", "", "host the FE names in its redirects (default: --host)")
	password := fs.String("root-password", "", "password of the root user (or STARROCKS_ROOT_PASSWORD)")
	countOnly := fs.Bool("count-only", false, "count rows without storing them (benchmarks)")
	initSQL := fs.String("init-sql", "", "a file of DDL statements to run at start")
	verbose := fs.Bool("v", false, "log every load")
	feAddr := fs.String("fe-http-addr", "", "FE HTTP host:port (overrides --host/--fe-port)")
	beAddr := fs.String("be-http-addr", "", "BE HTTP host:port (overrides --host/--be-port)")
	mysqlAddr := fs.String("mysql-addr", "", "MySQL-protocol host:port (overrides --host/--mysql-port)")

	set := emulator.DefaultSettings()
	fs.BoolVar(&set.StrictMode, "strict-mode", set.StrictMode, "strict_mode of loads that send no strict_mode header (StarRocks: false)")
	fs.BoolVar(&set.SharedData, "shared-data", set.SharedData, "emulate a shared-data cluster (Primary Key DELETE+UPSERT across a memtable flush loses the UPSERT, StarRocks #75014)")
	fs.IntVar(&set.MemtableRows, "memtable-rows", set.MemtableRows, "shared-data: rows per memtable (0: no bound)")
	fs.IntVar(&set.MemtableBytes, "memtable-bytes", set.MemtableBytes, "shared-data: body bytes per memtable (0: no bound)")
	labelAge := fs.Duration("label-keep-max-second", time.Duration(set.LabelKeepMaxSecond), "finished labels older than this are dropped (label_keep_max_second; 0: never)")
	fs.IntVar(&set.LabelKeepMaxNum, "label-keep-max-num", set.LabelKeepMaxNum, "finished labels kept per database (label_keep_max_num; 0: no bound)")
	fs.StringVar(&set.InfoSchema, "info-schema", set.InfoSchema, "information_schema.columns spelling: fe or be")
	fs.IntVar(&set.StreamingLoadMaxBatchSizeMB, "streaming-load-max-batch-size-mb", set.StreamingLoadMaxBatchSizeMB, "JSON body limit without ignore_json_size (be.conf; 0: none)")
	schemaChange := fs.Duration("schema-change-duration", time.Duration(set.SchemaChangeDuration), "how long an ALTER TABLE job runs before FINISHED (0: at once)")
	rollback := fs.Duration("rollback-delay", time.Duration(set.RollbackDelay), "how long a broken upload's label stays RUNNING before ABORTED")
	fs.BoolVar(&set.EmptyLoadAsError, "empty-load-as-error", set.EmptyLoadAsError, "a load with no row fails with 'all partitions have no load data' (fe.conf)")
	txnTimeout := fs.Duration("txn-timeout", time.Duration(set.TxnTimeout), "default timeout of a transaction-interface txn")
	var faults emulator.Faults
	fs.Func("fault", "inject a transient answer, kind[=rate][@duration], repeatable; kinds: "+faultKinds(), func(v string) error {
		f, err := emulator.ParseFault(v)
		if err != nil {
			return err
		}
		faults.Answers = append(faults.Answers, f)
		return nil
	})
	fs.Int64Var(&faults.Seed, "fault-seed", 1, "seed of the fault rates' random draws")
	if err := fs.Parse(args); err != nil {
		return err
	}
	set.LabelKeepMaxSecond, set.SchemaChangeDuration = emulator.Duration(*labelAge), emulator.Duration(*schemaChange)
	set.RollbackDelay, set.TxnTimeout = emulator.Duration(*rollback), emulator.Duration(*txnTimeout)
	if *password == "" {
		*password = os.Getenv("STARROCKS_ROOT_PASSWORD")
	}
	logCfg := zap.NewProductionConfig()
	if *verbose {
		logCfg.Level = zap.NewAtomicLevelAt(zap.DebugLevel)
	}
	log, err := logCfg.Build()
	if err != nil {
		return err
	}
	defer log.Sync()
	addr := func(override string, p int) string {
		if override != "" {
			return override
		}
		return net.JoinHostPort(*host, strconv.Itoa(p))
	}
	srv, err := emulator.Start(emulator.Config{FEAddr: addr(*feAddr, *fePort), BEAddr: addr(*beAddr, *bePort), MySQLAddr: addr(*mysqlAddr, *mysqlPort),
		Password: *password, BEAdvertiseHost: *advertise, CountOnly: *countOnly, Logger: log, Settings: &set, Faults: faults})
	if err != nil {
		return err
	}
	defer srv.Close()
	if *initSQL != "" {
		b, err := os.ReadFile(*initSQL)
		if err != nil {
			return err
		}
		if err := srv.Exec(context.Background(), string(b)); err != nil {
			return fmt.Errorf("%s: %w", *initSQL, err)
		}
	}
	<-ctx.Done()
	st := srv.Stats()
	log.Info("emulator stopping", zap.Int64("loads", st.Loads), zap.Int64("rows_loaded", st.RowsLoaded), zap.Int64("rows_deleted", st.RowsDeleted))
	return nil
}

func faultKinds() string {
	var ks []string
	for _, k := range emulator.FaultKinds {
		ks = append(ks, string(k))
	}
	return strings.Join(ks, ", ")
}
