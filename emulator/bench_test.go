package emulator

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/starsink/starsink/internal/subway"
	"github.com/starsink/starsink/schema"
)

// BenchmarkApply is the emulator's side of a full-apply Stream Load of
// 10,000 passenger rows as starsink sends them (JSON array, columns
// header with __op): parse, convert and upsert. In the benchmark harness
// this runs on the cores starsink uses, so its cost is part of every
// apply-mode figure.
func BenchmarkApply(b *testing.B) {
	const rows = 10000
	var body []byte
	body = append(body, '[')
	for i := 0; i < rows; i++ {
		if i > 0 {
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
	def := *subway.Passengers.Schema()
	def.Model = schema.ModelPrimaryKeys
	t := newTable(def)
	s := &Server{}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		ops, reasons, _, err := parseRows(&t.def, body, opts)
		if err != nil || len(reasons) > 0 || len(ops) != rows {
			b.Fatalf("%v %v %d", err, reasons, len(ops))
		}
		if err := s.apply(t, ops, opts); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*rows)/b.Elapsed().Seconds(), "rows/s")
}
