package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime/debug"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/pflag"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/starsink/starsink/config"
	"github.com/starsink/starsink/sink"
)

func init() {
	register("run", "run the worker", runRun)
}

func runRun(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := pflag.NewFlagSet("run", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("config", "", "configuration file (YAML or JSON)")
	connector := fs.String("connector-config", "", "a Java StarRocks Kafka connector configuration (JSON or .properties) to run with the same meaning")
	printCfg := fs.Bool("print-config", false, "print the effective configuration (secrets hidden) and exit")
	config.AddFlags(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return nil
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	opts := config.LoadOptions{File: *file, Flags: fs}
	var cfg *config.Config
	var err error
	if *connector != "" {
		var uns []config.Unsupported
		cfg, uns, err = config.LoadConnector(*connector, opts)
		for _, u := range uns {
			fmt.Fprintf(stderr, "connector option not honoured: %s\n", u)
		}
	} else {
		cfg, err = config.Load(opts)
	}
	if err != nil {
		return err
	}
	if *printCfg {
		fmt.Fprintln(stdout, cfg.String())
		return nil
	}
	log, err := newLogger(cfg.Log, stderr)
	if err != nil {
		return err
	}
	defer log.Sync()
	for _, name := range config.UnknownEnv(os.Environ()) {
		log.Warn("unknown environment variable", zap.String("name", name))
	}
	log.Info("configuration", zap.Stringer("config", cfg))
	if env := os.Getenv("GOMEMLIMIT"); env != "" {
		log.Info("memory limit from GOMEMLIMIT", zap.String("GOMEMLIMIT", env))
	} else {
		limit := memoryLimit(cfg)
		debug.SetMemoryLimit(limit)
		log.Info("memory limit", zap.Int64("bytes", limit))
	}
	return runWorker(ctx, cfg, sink.Deps{}, log)
}

// memoryLimit is the Go runtime's soft memory limit for a worker: the batch
// budget, two fetches per seed broker (one buffered, one arriving) and 64 MiB
// for everything else. Near it the garbage collector runs more often instead
// of letting the heap grow to twice what is live; GOMEMLIMIT overrides it.
func memoryLimit(cfg *config.Config) int64 {
	return cfg.Batch.BufferMemory + 2*int64(len(cfg.Kafka.Brokers))*int64(cfg.Kafka.FetchMaxBytes) + 64<<20
}

// runWorker runs a worker with its HTTP endpoints until ctx ends.
func runWorker(ctx context.Context, cfg *config.Config, deps sink.Deps, log *zap.Logger) error {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	deps.Registerer = reg
	w, err := sink.New(cfg, deps, log)
	if err != nil {
		return err
	}
	if cfg.HTTP.Addr != "" {
		srv := &http.Server{Addr: cfg.HTTP.Addr, Handler: w.Handler(reg), ReadHeaderTimeout: 5 * time.Second}
		go func() {
			if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("http server", zap.Error(err))
			}
		}()
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			srv.Shutdown(sctx)
		}()
	}
	return w.Run(ctx)
}

// newLogger builds the process logger. log.format json (the default)
// writes one JSON object per line for log collectors; console writes one
// readable line per event for a person at a terminal (zap's console
// encoder: time, level, message, then the fields as JSON), with the level
// coloured only when out is a terminal and NO_COLOR is unset.
func newLogger(c config.Log, out io.Writer) (*zap.Logger, error) {
	lvl, err := zapcore.ParseLevel(c.Level)
	if err != nil {
		return nil, fmt.Errorf("log.level: %w", err)
	}
	encCfg := zap.NewProductionEncoderConfig()
	encCfg.EncodeTime = zapcore.ISO8601TimeEncoder
	var enc zapcore.Encoder
	if c.Format == "console" {
		encCfg.EncodeLevel = zapcore.CapitalLevelEncoder
		if colour(out) {
			encCfg.EncodeLevel = zapcore.CapitalColorLevelEncoder
		}
		encCfg.EncodeDuration = zapcore.StringDurationEncoder // "1.5s", not 1.5
		encCfg.ConsoleSeparator = "  "
		enc = zapcore.NewConsoleEncoder(encCfg)
	} else {
		enc = zapcore.NewJSONEncoder(encCfg)
	}
	return zap.New(zapcore.NewCore(enc, zapcore.AddSync(out), lvl)), nil
}

// colour reports whether out is a terminal that colours are welcome on
// (https://no-color.org: NO_COLOR set to anything turns them off).
func colour(out io.Writer) bool {
	if os.Getenv("NO_COLOR") != "" {
		return false
	}
	f, ok := out.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
