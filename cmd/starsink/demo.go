package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/pflag"
	"go.uber.org/zap"

	"github.com/starsink/starsink/config"
	"github.com/starsink/starsink/demo"
	"github.com/starsink/starsink/internal/subway"
)

func init() {
	register("demo", "run the reference pipeline in one process (in-process Kafka + StarRocks emulator)", runDemo)
}

func runDemo(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := pflag.NewFlagSet("demo", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	rows := fs.Int("rows", subway.DefaultBulk, "rows of the bulk insert (the update touches 10% and the delete 5% of all rows)")
	schemas := fs.Bool("schemas", true, "values carry JsonConverter schemas (value.converter.schemas.enable)")
	level := fs.String("log-level", "warn", "worker log level")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return nil
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	log, err := newLogger(config.Log{Level: *level, Format: "console"}, stderr)
	if err != nil {
		return err
	}
	defer log.Sync()
	_, err = demo.Run(ctx, demo.Options{Rows: *rows, Schemaless: !*schemas, Out: stdout, Log: log.WithOptions(zap.IncreaseLevel(zap.WarnLevel))})
	if err != nil {
		fmt.Fprintln(stdout, "demo FAILED")
		return err
	}
	fmt.Fprintln(stdout, "demo OK: every target table equals its source")
	return nil
}
