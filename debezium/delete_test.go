package debezium

import (
	"testing"

	"github.com/starsink/starsink/schema"
)

// deleteTable has a NOT NULL value column of every kind.
func deleteTable() *schema.Table {
	cols := []schema.Column{schema.NewColumn("id", "int", false, true), schema.NewColumn("k2", "varchar(10)", false, true)}
	for _, c := range [][2]string{{"b", "boolean"}, {"i", "tinyint"}, {"l", "largeint"}, {"f", "double"}, {"d", "decimal(5,2)"},
		{"dt", "date"}, {"ts", "datetime"}, {"s", "char(3)"}, {"v", "varchar(5)"}, {"t", "string"}, {"j", "json"},
		{"bin", "varbinary"}, {"a", "array<int>"}, {"m", "map<int,int>"}, {"st", "struct<a int>"}, {"_version", "bigint"}, {"odd", "hll"}} {
		cols = append(cols, schema.NewColumn(c[0], c[1], false, false))
	}
	return &schema.Table{Name: "t", Model: schema.ModelPrimaryKeys, Columns: cols}
}

const filled = `"b":false,"i":0,"l":0,"f":0,"d":"0","dt":"1970-01-01","ts":"1970-01-01 00:00:00","s":"","v":"","t":"","j":{},"bin":"","a":[],"m":{},"st":{}`

// TestDeleteFill checks that a delete row never leaves a non-key column
// NULL, which StarRocks filters even in delete rows: columns the before
// image lacks, or holds as null, get a zero value of their type; columns
// the caller writes itself (Options.Omit) and columns of unknown type are
// left out.
func TestDeleteFill(t *testing.T) {
	key := `{"id":1,"k2":"a"}`
	tests := []struct {
		name, key, value string
		envelope         Envelope
		want             string
	}{
		{"delete from the Kafka key", key, `{"before":null,"after":null,"source":{"connector":"postgresql","ts_ms":1},"op":"d"}`, EnvelopeAuto,
			`{"id":1,"k2":"a",` + filled + `,"__op":1}`},
		{"REPLICA IDENTITY DEFAULT before image", "", `{"before":{"id":1,"k2":"a","v":null,"i":5},"after":null,"source":{"connector":"postgresql","ts_ms":1},"op":"d"}`, EnvelopeAuto,
			`{"id":1,"k2":"a","v":"","i":5,"b":false,"l":0,"f":0,"d":"0","dt":"1970-01-01","ts":"1970-01-01 00:00:00","s":"","t":"","j":{},"bin":"","a":[],"m":{},"st":{},"__op":1}`},
		{"tombstone of an unwrapped topic", key, "nil", EnvelopeUnwrapped, `{"id":1,"k2":"a",` + filled + `,"__op":1}`},
		{"unwrapped rewrite delete", "", `{"id":1,"k2":"a","t":"x","__deleted":"true"}`, EnvelopeAuto,
			`{"id":1,"k2":"a","t":"x","b":false,"i":0,"l":0,"f":0,"d":"0","dt":"1970-01-01","ts":"1970-01-01 00:00:00","s":"","v":"","j":{},"bin":"","a":[],"m":{},"st":{},"__op":1}`},
		{"upserts are not filled", "", `{"id":1,"k2":"a","v":null,"__op":"c"}`, EnvelopeAuto, `{"id":1,"k2":"a","v":null,"__op":0}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := NewDecoder(deleteTable(), Options{OpColumn: true, Envelope: tt.envelope, Omit: []string{"_version"}})
			for range 2 { // the second time with the buffers of the first
				rec := &Record{Topic: "p.s.t", Key: []byte(tt.key)}
				if tt.value != "nil" {
					rec.Value = []byte(tt.value)
				}
				row, _, err := d.Decode(rec, nil)
				if err != nil {
					t.Fatalf("Decode: %v", err)
				}
				if string(row) != tt.want {
					t.Errorf("row\n got %s\nwant %s", row, tt.want)
				}
			}
		})
	}
}

// TestZeroValuesFit checks that every zero value a delete row is filled
// with passes the checks of its column.
func TestZeroValuesFit(t *testing.T) {
	tbl := deleteTable()
	for i := range tbl.Columns {
		c := &tbl.Columns[i]
		if z := zeroValue(c); z != "" {
			if err := fits([]byte(z), c); err != nil {
				t.Errorf("%s %s: zero value %s does not fit: %v", c.Name, c.Type, z, err)
			}
		}
	}
}
