// Command starrocks-emulator serves the StarRocks emulator (package
// emulator): Stream Load on an FE and a BE HTTP port and the MySQL protocol,
// on StarRocks' own default ports.
//
//	go run ./cmd/starrocks-emulator [--fe-port 8030] [--be-port 8040] [--mysql-port 9030]
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"

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
	if err := fs.Parse(args); err != nil {
		return err
	}
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
		Password: *password, BEAdvertiseHost: *advertise, CountOnly: *countOnly, Logger: log})
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
