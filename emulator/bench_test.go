package emulator

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/starsink/starsink/internal/subway"
	"github.com/starsink/starsink/schema"
)

// passengerLoad is a full-apply Stream Load body of passenger rows
// [from, from+n) as starsink sends them (JSON array, __op column), and its
// options.
func passengerLoad(b *testing.B, from, n int) ([]byte, loadOptions) {
	var body []byte
	body = append(body, '[')
	for i := from; i < from+n; i++ {
		if i > from {
			body = append(body, ',')
		}
		r := subway.Generate(subway.Passengers, i, 0)
		body = fmt.Appendf(body, `{"use_date":%q,"line_no":%q,"station_name":%q,"pass_in":%q,"pass_out":%q,"reg_date":%q,"__op":0}`,
			*r[0], *r[1], *r[2], *r[3], *r[4], *r[5])
	}
	body = append(body, ']')
	h := http.Header{}
	h.Set("format", "json")
	h.Set("strip_outer_array", "true")
	h.Set("columns", "use_date,line_no,station_name,pass_in,pass_out,reg_date,__op")
	opts, err := parseOptions(h)
	if err != nil {
		b.Fatal(err)
	}
	return body, opts
}

func passengerTable() *table {
	def := *subway.Passengers.Schema()
	def.Model = schema.ModelPrimaryKeys
	return newTable(def, nil)
}

func benchLoad(b *testing.B, s *Server, t *table, body []byte, opts loadOptions, want int) {
	v := t.view()
	plan, err := planLoad(&v, opts)
	if err != nil {
		b.Fatal(err)
	}
	ops, reasons, _, err := parseRows(&v, plan, body, opts, want)
	if err != nil || len(reasons) > 0 || len(ops) != want {
		b.Fatalf("%v %v %d", err, reasons, len(ops))
	}
	if err := s.apply(t, ops, opts, plan, DefaultSettings()); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkApply is the emulator's side of a full-apply Stream Load of
// 10,000 passenger rows as starsink sends them: parse, convert and upsert
// (the same keys each time, so the table stays at 10,000 rows). In the
// benchmark harness this runs on the cores starsink uses, so its cost is
// part of every apply-mode figure.
func BenchmarkApply(b *testing.B) {
	const rows = 10000
	body, opts := passengerLoad(b, 0, rows)
	t := passengerTable()
	s := &Server{}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		benchLoad(b, s, t, body, opts, rows)
	}
	b.ReportMetric(float64(b.N*rows)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkApplyGrowing loads 1,000,000 distinct passenger rows into an
// empty table in loads of 100,000, as the harness's apply cases do: what
// the table holds grows, and with it the garbage collector's work.
func BenchmarkApplyGrowing(b *testing.B) {
	const rows, per = 1000000, 100000
	var bodies [][]byte
	var opts loadOptions
	for from := 0; from < rows; from += per {
		body, o := passengerLoad(b, from, per)
		bodies, opts = append(bodies, body), o
	}
	s := &Server{}
	b.ReportAllocs()
	for b.Loop() {
		t := passengerTable()
		for _, body := range bodies {
			benchLoad(b, s, t, body, opts, per)
		}
	}
	b.ReportMetric(float64(b.N*rows)/b.Elapsed().Seconds(), "rows/s")
}
