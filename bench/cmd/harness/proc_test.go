package main

import (
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
)

func TestLoadQuantiles(t *testing.T) {
	body, err := os.ReadFile("testdata/metrics.txt")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(body) }))
	defer srv.Close()
	p50, p99, err := loadQuantiles(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	// 4 loads: 2 in (5ms,10ms], 2 in (10ms,20ms]. Rank 2 ends the first
	// bucket; rank 3.96 is 98% into the second.
	for _, c := range []struct {
		name      string
		got, want float64
	}{{"p50", p50, 0.01}, {"p99", p99, 0.0198}} {
		if math.Abs(c.got-c.want) > 1e-9 {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestProcSelf(t *testing.T) {
	pid := os.Getpid()
	if _, err := cpuSeconds(pid); err != nil {
		t.Fatal(err)
	}
	if c, err := machineCPU(); err != nil || c <= 0 {
		t.Fatalf("machine CPU %v, %v", c, err)
	}
	rss, err := peakRSS(pid)
	if err != nil {
		t.Fatal(err)
	}
	if rss <= 0 {
		t.Fatalf("peak RSS %d", rss)
	}
}
