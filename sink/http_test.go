package sink

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap/zaptest"
)

// TestHTTPEndpoints runs a worker and reads /healthz, /readyz and /metrics.
func TestHTTPEndpoints(t *testing.T) {
	h := newHarness(t, 1)
	reg := prometheus.NewRegistry()
	w, err := New(h.cfg, Deps{Schemas: emuSchemas{h.emu}, Registerer: reg}, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	for i := 0; i < 20; i++ {
		h.change("c", i, 1, 2)
	}
	if err := h.converged(20 * time.Second); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(w.Handler(reg))
	defer srv.Close()
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/healthz"); code != http.StatusOK {
		t.Errorf("/healthz: %d %s", code, body)
	}
	if code, body := get("/readyz"); code != http.StatusOK {
		t.Errorf("/readyz: %d %s", code, body)
	}
	if code, _ := get("/debug/pprof/"); code != http.StatusNotFound {
		t.Errorf("/debug/pprof/ without http.pprof: %d, want 404", code)
	}
	w.cfg.HTTP.Pprof = true
	psrv := httptest.NewServer(w.Handler(reg))
	defer psrv.Close()
	if resp, err := http.Get(psrv.URL + "/debug/pprof/heap?debug=1"); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("/debug/pprof/heap with http.pprof: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	code, body := get("/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d", code)
	}
	for _, want := range []string{
		`starsink_records_total{topic="` + testTopic + `"} 20`,
		`starsink_rows_loaded_total{table="subway.subway_passengers_copy"} 20`,
		"starsink_load_duration_seconds_bucket",
		"starsink_flushes_total",
		"starsink_kafka_", // kprom
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for w.CommittedOffsets()[testTopic][0] != 20 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond) // the commit loop runs every commit.interval
	}
	if got := w.CommittedOffsets()[testTopic][0]; got != 20 {
		t.Errorf("committed offset %d, want 20", got)
	}
	cancel()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	if st := w.Stats(); st.Records != 20 || st.RowsLoaded != 20 || st.Committed == 0 {
		t.Errorf("stats %+v", st)
	}
}
