package debezium

import (
	"testing"
)

// BenchmarkDecode measures decode+render of one row into a reused buffer.
//
//	go test -run '^$' -bench BenchmarkDecode -benchmem ./debezium/
func BenchmarkDecode(b *testing.B) {
	cases := []struct {
		name, file string
		table      func() (tbl any)
	}{
		{"subway_schemaless", "insert.value.schemaless.json", nil},
		{"subway_schema", "insert.value.json", nil},
		{"all_types", "all-types-insert.value.json", nil},
		{"subway_unwrapped", "unwrapped-update.value.json", nil}, // ExtractNewRecordState + AddOpField, with schema
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			value := fixture(b, c.file)
			tbl := subwayPassengers()
			if c.name == "all_types" {
				tbl = allTypes()
			}
			d := NewDecoder(tbl, Options{OpColumn: true})
			rec := &Record{Topic: "dip.cdc.public.t", Value: value}
			var buf []byte
			b.SetBytes(int64(len(value)))
			b.ReportAllocs()
			for b.Loop() {
				var err error
				buf, _, err = d.Decode(rec, buf[:0])
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
