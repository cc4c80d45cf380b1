package streamload

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

// benchBody builds a JSON array of rows rows of about 200 bytes each, the
// shape the worker sends.
func benchBody(rows int) []byte {
	b := make([]byte, 0, rows*220)
	b = append(b, '[')
	for i := range rows {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"id":`...)
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, `,"line":"L`...)
		b = strconv.AppendInt(b, int64(i%40), 10)
		b = append(b, `","station":"Station name `...)
		b = strconv.AppendInt(b, int64(i%400), 10)
		b = append(b, `","ts":"2026-11-23 06:00:00.123456","delay_s":`...)
		b = strconv.AppendInt(b, int64(i%600), 10)
		b = append(b, `,"note":"`...)
		b = append(b, strings.Repeat("x", 64)...)
		b = append(b, `","__op":0}`...)
	}
	return append(b, ']')
}

// discardBE is an FE that redirects to a BE that reads and discards bodies
// and answers Success.
func discardBE(b *testing.B) (fe string) {
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		fmt.Fprintf(w, `{"Status":"Success","Message":"OK","LoadBytes":%d}`, n)
	}))
	feSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", be.URL+r.URL.RequestURI())
		w.WriteHeader(http.StatusTemporaryRedirect)
	}))
	b.Cleanup(func() { feSrv.Close(); be.Close() })
	return feSrv.URL
}

// BenchmarkLoad measures the client's throughput (redirect, headers, body
// streaming, response parsing) against an in-process BE that discards what
// it reads: the numbers are the client's and loopback's, not StarRocks'.
func BenchmarkLoad(b *testing.B) {
	for _, bc := range []struct {
		rows        int
		compression string
	}{{1000, ""}, {10000, ""}, {10000, "lz4_frame"}, {10000, "zstd"}, {10000, "gzip"}} {
		name := fmt.Sprintf("rows=%d", bc.rows)
		if bc.compression != "" {
			name += "/" + bc.compression
		}
		b.Run(name, func(b *testing.B) {
			c, err := New(Config{FEURLs: []string{discardBE(b)}, User: "root"}, nil)
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			req := &Request{DB: "bench", Table: "t", Label: "bench", Format: FormatJSON,
				Columns: []string{"id", "line", "station", "ts", "delay_s", "note", "__op"},
				Body:    benchBody(bc.rows), Compression: bc.compression}
			ctx := context.Background()
			b.SetBytes(int64(len(req.Body)))
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			for i := 0; b.Loop(); i++ {
				req.Label = "bench-" + strconv.Itoa(i)
				if _, err := c.Load(ctx, req); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*bc.rows)/time.Since(start).Seconds(), "rows/s")
		})
	}
}
