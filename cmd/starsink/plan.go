package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/pflag"

	"github.com/starsink/starsink/config"
	"github.com/starsink/starsink/ddl"
	"github.com/starsink/starsink/mapping"
	"github.com/starsink/starsink/sink"
	"github.com/starsink/starsink/streamload"
)

func init() {
	register("plan", "show each topic's table, its DDL and how it differs from the source", runPlan)
}

// runPlan plans every topic the configuration selects: the target table,
// whether it exists, the DDL starsink would run and every difference
// between the topic's latest record and the table. It fails (exit 1) when
// any topic has an error.
func runPlan(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := pflag.NewFlagSet("plan", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("config", "", "configuration file (YAML or JSON)")
	output := fs.String("output", "text", "text, or json for scripts")
	config.AddFlags(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return nil
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if *output != "text" && *output != "json" {
		return fmt.Errorf("%w: --output: want text or json, got %q", errUsage, *output)
	}
	cfg, err := config.Load(config.LoadOptions{File: *file, Flags: fs})
	if err != nil {
		return err
	}
	m, err := mapping.New(cfg.Mapping, cfg.StarRocks.Database)
	if err != nil {
		return err
	}
	dial, err := sink.DialOptions(cfg)
	if err != nil {
		return err
	}
	cat, err := streamload.NewCatalog(sink.CatalogConfig(cfg), nil)
	if err != nil {
		return err
	}
	defer cat.Close()
	p := &ddl.Planner{Dial: dial, Catalog: cat, Mapper: m, Mapping: cfg.Mapping, Source: ddl.SourceOptionsFor(cfg.Decoder)}
	plans, err := p.PlanAll(ctx, cfg.Kafka)
	if err != nil {
		return err
	}
	if *output == "json" {
		err = ddl.WriteJSON(stdout, plans)
	} else {
		err = ddl.WriteText(stdout, plans)
	}
	if err != nil {
		return err
	}
	failed := 0
	for _, pl := range plans {
		if pl.Failed() {
			failed++
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d topics have errors", failed, len(plans))
	}
	return nil
}
