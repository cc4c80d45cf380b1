package subway

import (
	"testing"

	"github.com/starsink/starsink/debezium"
	"github.com/starsink/starsink/schema"
)

// TestEventsDecode renders every kind of event, with and without schemas,
// and checks that the decoder reads back the generated row.
func TestEventsDecode(t *testing.T) {
	zero := map[schema.Kind]string{schema.KindVarchar: `""`, schema.KindChar: `""`, schema.KindDecimal: "0", schema.KindBigInt: "0", schema.KindInt: "0"}
	for _, schemas := range []bool{true, false} {
		ev := NewEvents(schemas)
		for _, tb := range Tables {
			dec := debezium.NewDecoder(tb.Schema(), debezium.Options{OpColumn: true})
			before, after := Generate(tb, 5, 0), Generate(tb, 5, 1)
			for _, c := range []struct {
				op            string
				before, after Row
				wantOp        debezium.Op
				want          Row
			}{
				{"r", nil, before, debezium.OpUpsert, before},
				{"u", before, after, debezium.OpUpsert, after},
				{"d", after, nil, debezium.OpDelete, after},
			} {
				val := ev.Value(nil, tb, c.op, c.before, c.after)
				row, got, err := dec.Decode(&debezium.Record{Topic: tb.Topic(), Key: ev.Key(nil, tb, c.want), Value: val}, nil)
				if err != nil {
					t.Fatalf("%s %s schemas=%v: %v", tb.Name(), c.op, schemas, err)
				}
				if got.Op != c.wantOp {
					t.Errorf("%s %s: op %v", tb.Name(), c.op, got.Op)
				}
				want := "{"
				for j, col := range tb.Schema().Columns {
					if j > 0 {
						want += ","
					}
					want += `"` + col.Name + `":`
					switch {
					case c.want[j] == nil && c.wantOp == debezium.OpDelete && !col.Key:
						// A delete row never carries NULL: StarRocks filters
						// NULL in NOT NULL columns of delete rows too.
						want += zero[col.Kind]
					case c.want[j] == nil:
						want += "null"
					default:
						want += `"` + *c.want[j] + `"`
					}
				}
				if c.wantOp == debezium.OpDelete {
					want += `,"__op":1}`
				} else {
					want += `,"__op":0}`
				}
				if string(row) != want {
					t.Errorf("%s %s schemas=%v:\n got %s\nwant %s", tb.Name(), c.op, schemas, row, want)
				}
			}
		}
	}
}

// TestGenerateUnique checks that generated keys never collide, so the
// reference sizes are exact.
func TestGenerateUnique(t *testing.T) {
	sizes := map[Table]int{Info: InfoRows, Passengers: PassengerRows + 20000, Time: TimeRows + 20000}
	for tb, n := range sizes {
		seen := map[string]bool{}
		for i := 0; i < n; i++ {
			k := Key(tb, Generate(tb, i, 0))
			if seen[k] {
				t.Fatalf("%s: row %d repeats key %q", tb.Name(), i, k)
			}
			seen[k] = true
		}
	}
	if Generate(Passengers, 7, 0)[3] == nil || *Generate(Passengers, 7, 0)[3] != *Generate(Passengers, 7, 0)[3] {
		t.Fatal("Generate is not deterministic")
	}
}
