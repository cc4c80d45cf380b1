package debezium

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/tidwall/gjson"
)

// FuzzDecode feeds arbitrary keys and values to Decode, with and without a
// target table. It must never panic, and every row it renders must be one
// valid JSON object appended to the buffer.
func FuzzDecode(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "fixtures", "*.value.json"))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add([]byte(nil), b, uint8(0))
	}
	f.Add([]byte(`{"id":1}`), []byte(`{"before":null,"after":null,"source":{"connector":"postgresql","ts_ms":1},"op":"d"}`), uint8(1))
	f.Add([]byte(nil), []byte(env("c", `{"c":{"scale":-3,"value":"gA=="}}`)), uint8(2))
	f.Add([]byte(nil), []byte(`{"id":1,"__op":1,"__deleted":"true"}`), uint8(3))
	f.Add([]byte(`{"id":1,"k2":"x"}`), []byte(nil), uint8(2))
	f.Add([]byte(`{"id":1}`), []byte(`{"schema":{"type":"struct","name":"p.s.t.Value"},"payload":null}`), uint8(1))
	f.Add([]byte(nil), []byte(`{"id":1,"op":"d","source":{"connector":"x","ts_ms":1},"before":null}`), uint8(0))
	f.Add([]byte(nil), []byte(env("c", `{"dt":-2147472692,"ts":"+10000-01-01T00:00:00Z","v":"강남역"}`)), uint8(2))
	tables := []func() (d *Decoder){
		func() *Decoder { return NewDecoder(nil, Options{}) },
		func() *Decoder { return NewDecoder(subwayPassengers(), Options{OpColumn: true}) },
		func() *Decoder {
			return NewDecoder(deleteTable(), Options{Envelope: EnvelopeUnwrapped, OutOfRangeDates: DatesClamp})
		},
		func() *Decoder { return NewDecoder(allTypes(), Options{OpColumn: true, SchemalessTimestamp: "us"}) },
		func() *Decoder {
			return NewDecoder(allTypes(), Options{Framing: FramingSchemaless, DecimalHandling: "string"})
		},
	}
	warmWith, err := os.ReadFile(filepath.Join("testdata", "fixtures", "insert.value.json"))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, key, value []byte, which uint8) {
		d := tables[int(which)%len(tables)]()
		// A second decoder whose schema cache is warm must agree with the
		// cold one on every input.
		warm := tables[int(which)%len(tables)]()
		warm.Decode(&Record{Topic: "p.s.t", Value: warmWith}, nil)
		wOut, wEv, wErr := warm.Decode(&Record{Topic: "p.s.t", Key: key, Value: value}, []byte("["))
		dst := []byte("[")
		out, ev, err := d.Decode(&Record{Topic: "p.s.t", Key: key, Value: value}, dst)
		if string(wOut) != string(out) || wEv.Op != ev.Op || wEv.LSN != ev.LSN || wEv.Version != ev.Version || (wEv.VersionErr == nil) != (ev.VersionErr == nil) || (wErr == nil) != (err == nil) {
			t.Fatalf("warm decoder: %q %+v %v; cold decoder: %q %+v %v", wOut, wEv, wErr, out, ev, err)
		}
		if err != nil {
			if string(out) != "[" {
				t.Fatalf("dst changed on error: %q", out)
			}
			return
		}
		row := out[1:]
		switch ev.Op {
		case OpUpsert, OpDelete:
			if !gjson.ValidBytes(row) || !gjson.ParseBytes(row).IsObject() {
				t.Fatalf("rendered row is not a JSON object: %q (value %q)", row, value)
			}
			if tbl := d.Table(); ev.Op == OpDelete && tbl != nil {
				// StarRocks filters NULL in NOT NULL columns of delete rows too.
				r := gjson.ParseBytes(row)
				for i := range tbl.Columns {
					c := &tbl.Columns[i]
					if v := r.Get(c.Name); !c.Key && zeroValue(c) != "" && (!v.Exists() || v.Type == gjson.Null) {
						t.Fatalf("delete row leaves %s NULL: %s", c.Name, row)
					}
				}
			}
		default:
			if len(row) != 0 {
				t.Fatalf("op %v rendered %q", ev.Op, row)
			}
		}
	})
}
