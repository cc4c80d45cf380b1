package sink

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/starsink/starsink/status"
)

// Handler serves /metrics (from g), /healthz (the process is alive),
// /readyz (Kafka and StarRocks answer and no table has had work waiting
// without progress for longer than http.stuck_after) and, with http.pprof,
// Go's profiler under /debug/pprof/. The worker implements status.Source
// (sink/status.go), so GET /status and its page GET / are served too (with
// the group described from Kafka, and lag in seconds from the worker's
// status.Freshness), and status.Pauser, so POST /tables/<t>/pause and
// /resume are (http.admin, http.admin_token).
func (w *Worker) Handler(g prometheus.Gatherer) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(g, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(rw http.ResponseWriter, _ *http.Request) {
		rw.Write([]byte("ok\n"))
	})
	mux.HandleFunc("/readyz", func(rw http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		if err := w.Ready(ctx); err != nil {
			http.Error(rw, "not ready: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		rw.Write([]byte("ready\n"))
	})
	if src, ok := any(w).(status.Source); ok {
		h := &status.Handler{Source: src, Admin: kadm.NewClient(w.cl), Log: w.log}
		if f, ok := any(w).(interface{ Freshness() *status.Freshness }); ok {
			h.Freshness = f.Freshness()
		}
		h.Register(mux)
	}
	if p, ok := any(w).(status.Pauser); ok {
		a := status.NewAdmin(p, w.cfg.HTTP.Admin, w.cfg.HTTP.AdminToken, w.log)
		if r, ok := g.(prometheus.Registerer); ok {
			// starsink_table_paused; a second Handler on the same
			// registry keeps the first one's gauge.
			_ = r.Register(a)
		}
		a.Register(mux)
	}
	if w.cfg.HTTP.Pprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	return mux
}

// Ready checks Kafka, StarRocks and stuck tables.
func (w *Worker) Ready(ctx context.Context) error {
	var errs []error
	if err := w.cl.Ping(ctx); err != nil {
		errs = append(errs, fmt.Errorf("kafka: %w", err))
	}
	for _, c := range []any{w.schemas, w.loader} {
		if p, ok := c.(Pinger); ok {
			if err := p.Ping(ctx); err != nil {
				errs = append(errs, fmt.Errorf("starrocks: %w", err))
			}
		}
	}
	w.mu.Lock()
	errs = append(errs, w.recreatedErrs()...)
	for name, t := range w.tables {
		t.qmu.Lock()
		waiting := len(t.queue) > 0
		t.qmu.Unlock()
		if since := time.Since(time.Unix(0, t.last.Load())); waiting && since > w.cfg.HTTP.StuckAfter {
			errs = append(errs, fmt.Errorf("table %s: no batch finished for %s while batches wait", name, since.Round(time.Second)))
		}
	}
	w.mu.Unlock()
	return errors.Join(errs...)
}
