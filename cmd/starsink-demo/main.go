// Command starsink-demo runs the reference pipeline in one process: an
// in-process Kafka (franz-go's kfake) fed with the subway tables' Debezium
// events, the starsink worker, and the StarRocks emulator; it then compares
// every target table with its source row by row.
//
//	go run ./cmd/starsink-demo [--rows N] [--schemas=false]
//
// It is a binary of its own so that the worker's binary does not carry the
// emulator: its MySQL engine compiles an ICU regex module when the program
// starts (a quarter of a second of CPU and 20 MiB of heap on every start of
// `starsink run`) and doubles the binary's size.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/starsink/starsink/demo"
	"github.com/starsink/starsink/internal/subway"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case errors.Is(err, flag.ErrHelp):
	case err != nil:
		fmt.Fprintln(os.Stderr, "starsink-demo:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("starsink-demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	rows := fs.Int("rows", subway.DefaultBulk, "rows of the bulk insert (the update touches 10% and the delete 5% of all rows)")
	schemas := fs.Bool("schemas", true, "values carry JsonConverter schemas (value.converter.schemas.enable)")
	level := fs.String("log-level", "warn", "worker log level (debug, info, warn, error)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	lvl, err := zapcore.ParseLevel(*level)
	if err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	enc := zap.NewProductionEncoderConfig()
	enc.EncodeTime = zapcore.ISO8601TimeEncoder
	log := zap.New(zapcore.NewCore(zapcore.NewConsoleEncoder(enc), zapcore.AddSync(stderr), lvl))
	defer log.Sync()
	if _, err := demo.Run(ctx, demo.Options{Rows: *rows, Schemaless: !*schemas, Out: stdout, Log: log}); err != nil {
		fmt.Fprintln(stdout, "demo FAILED")
		return err
	}
	fmt.Fprintln(stdout, "demo OK: every target table equals its source")
	return nil
}
