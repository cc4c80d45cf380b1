package debezium

import (
	"errors"
	"strings"
	"testing"

	"github.com/starsink/starsink/schema"
)

// TestFits checks every value against its column as StarRocks would store
// it: values that fit load as rendered, values that do not are refused with
// ErrRange naming the record, the field, the column type and the value.
func TestFits(t *testing.T) {
	dec := func(scale int, b64 string) string { // a Decimal field with a schema
		return framed(`{"type":"bytes","name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":"`+string(rune('0'+scale))+`"},"field":"c"}`, `"`+b64+`"`)
	}
	date := func(days string) string {
		return framed(`{"type":"int32","name":"io.debezium.time.Date","field":"c"}`, days)
	}
	long := strings.Repeat("가", 30) // 90 bytes
	tests := []struct {
		name  string
		col   string
		value string
		want  string // rendered row; "" : refused
	}{
		// Character columns count bytes: Korean text is 3 bytes a character.
		{"varchar exact bytes", "varchar(9)", env("c", `{"c":"강남역"}`), `{"c":"강남역"}`},
		{"varchar one byte over", "varchar(8)", env("c", `{"c":"강남역"}`), ""},
		{"varchar ascii fits", "varchar(3)", env("c", `{"c":"abc"}`), `{"c":"abc"}`},
		{"varchar escapes count unescaped", "varchar(3)", env("c", `{"c":"a\"b"}`), `{"c":"a\"b"}`},
		{"varchar unicode escape counts its UTF-8", "varchar(5)", env("c", `{"c":"\u00e9\u00e9\u00e9"}`), ""},
		{"varchar unicode escape fits", "varchar(6)", env("c", `{"c":"\u00e9\u00e9\u00e9"}`), `{"c":"\u00e9\u00e9\u00e9"}`},
		{"varchar surrogate pair is 4 bytes", "varchar(4)", env("c", `{"c":"\ud83d\ude00"}`), `{"c":"\ud83d\ude00"}`},
		{"char in bytes", "char(5)", env("c", `{"c":"ab   x"}`), ""},
		{"number into varchar", "varchar(2)", env("c", `{"c":123}`), ""},
		{"string column 65533 bytes", "string", env("c", `{"c":"`+strings.Repeat("a", 65534)+`"}`), ""},
		{"long value is cut in the error", "varchar(10)", env("c", `{"c":"`+long+`"}`), ""},
		{"null always fits", "varchar(1)", env("c", `{"c":null}`), `{"c":null}`},
		// Decimals: integer digits p-s, no non-zero digit beyond the scale.
		{"decimal at precision", "decimal(5,2)", dec(2, "AYaf"), `{"c":"999.99"}`}, // 99999
		{"decimal too many integer digits", "decimal(4,2)", dec(2, "AYaf"), ""},
		{"decimal numeric too large", "decimal(3,0)", env("c", `{"c":1000}`), ""},
		{"decimal numeric fits", "decimal(4,1)", env("c", `{"c":-123.40}`), `{"c":"-123.4"}`},
		{"decimal fraction beyond scale", "decimal(6,1)", env("c", `{"c":1.25}`), ""},
		{"decimal leading zeros do not count", "decimal(3,2)", env("c", `{"c":0.5}`), `{"c":"0.50"}`},
		// Integers per type.
		{"tinyint max", "tinyint", env("c", `{"c":127}`), `{"c":127}`},
		{"tinyint over", "tinyint", env("c", `{"c":128}`), ""},
		{"tinyint min", "tinyint", env("c", `{"c":-128}`), `{"c":-128}`},
		{"tinyint under", "tinyint", env("c", `{"c":-129}`), ""},
		{"smallint over", "smallint", env("c", `{"c":32768}`), ""},
		{"int min", "int", env("c", `{"c":-2147483648}`), `{"c":-2147483648}`},
		{"int over", "int", env("c", `{"c":2147483648}`), ""},
		{"bigint over", "bigint", env("c", `{"c":9223372036854775808}`), ""},
		{"largeint beyond int64", "largeint", env("c", `{"c":170141183460469231731687303715884105727}`), `{"c":170141183460469231731687303715884105727}`},
		{"largeint over", "largeint", env("c", `{"c":170141183460469231731687303715884105728}`), ""},
		{"fraction into int", "int", env("c", `{"c":1.5}`), ""},
		{"decimal into int drops zeros", "int", framed(`{"type":"bytes","name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":"2"},"field":"c"}`, `"AMg="`), `{"c":2}`},
		{"decimal into tinyint over", "tinyint", env("c", `{"c":"AMg="}`), ""}, // schemaless precise 200
		// Booleans.
		{"boolean", "boolean", env("c", `{"c":true}`), `{"c":true}`},
		{"boolean from 1", "boolean", env("c", `{"c":1}`), `{"c":1}`},
		{"boolean from 2", "boolean", env("c", `{"c":2}`), ""},
		{"boolean from text", "boolean", env("c", `{"c":"yes"}`), ""},
		// Dates and times.
		{"date min", "date", date("-719528"), `{"c":"0000-01-01"}`},
		{"date max", "date", date("2932896"), `{"c":"9999-12-31"}`},
		{"date string kept", "date", env("c", `{"c":"2024-02-29"}`), `{"c":"2024-02-29"}`},
		{"date string not in the calendar", "date", env("c", `{"c":"2023-02-29"}`), ""},
		{"date string not a date", "date", env("c", `{"c":"yesterday"}`), ""},
		{"datetime string kept", "datetime", env("c", `{"c":"2024-06-05 10:05:12.345678"}`), `{"c":"2024-06-05 10:05:12.345678"}`},
		{"datetime string bad hour", "datetime", env("c", `{"c":"2024-06-05 25:05:12"}`), ""},
		// Values rendered in a form that fits their own kind are still
		// checked against a text column.
		{"date into a short varchar", "varchar(8)", date("19879"), ""},
		{"date into a varchar", "varchar(10)", date("19879"), `{"c":"2024-06-05"}`},
		{"decimal into a short varchar", "varchar(6)", dec(2, "AeJA"), ""},
		{"boolean into char(1)", "char(1)", env("c", `{"c":true}`), `{"c":true}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tbl := &schema.Table{Name: "t", Columns: []schema.Column{schema.NewColumn("c", tt.col, true, false)}}
			row, _, err := NewDecoder(tbl, Options{}).Decode(&Record{Topic: "p.s.t", Partition: 4, Offset: 77, Value: []byte(tt.value)}, nil)
			if tt.want != "" {
				if err != nil || string(row) != tt.want {
					t.Fatalf("got %s, %v; want %s", row, err, tt.want)
				}
				return
			}
			var de *DecodeError
			if !errors.As(err, &de) || !errors.Is(err, ErrRange) && !errors.Is(err, ErrType) {
				t.Fatalf("err = %v (row %s), want a DecodeError for a value that does not fit", err, row)
			}
			msg := err.Error()
			if de.Field != "after.c" || !strings.Contains(msg, "p.s.t[4]@77") || !strings.Contains(msg, tt.col) {
				t.Errorf("error %q should name p.s.t[4]@77, after.c and %s", msg, tt.col)
			}
			if len(msg) > 400 {
				t.Errorf("error quotes too much of the value: %d bytes", len(msg))
			}
		})
	}
}

// TestTextLen checks the byte length of JSON strings with escapes.
func TestTextLen(t *testing.T) {
	tests := []struct {
		v    string
		want int
	}{
		{`"abc"`, 3}, {`""`, 0}, {`"강"`, 3}, {`"a\nb"`, 3}, {`"\u0041"`, 1}, {`"\u00e9"`, 2}, {`"\u20ac"`, 3},
		{`"\ud83d\ude00"`, 4}, {`"\ud83d"`, 3}, {`12345`, 5}, {`true`, 1}, {`"\\\\"`, 2},
	}
	for _, tt := range tests {
		if got := textLen([]byte(tt.v)); got != tt.want {
			t.Errorf("textLen(%s) = %d, want %d", tt.v, got, tt.want)
		}
	}
}

// FuzzFits feeds arbitrary rendered values to the checks of every column
// kind: they must never panic, and a refusal must wrap ErrRange.
func FuzzFits(f *testing.F) {
	for _, s := range []string{`"강남"`, `"a\u00e9\ud83d\ude00"`, `-128`, `170141183460469231731687303715884105728`, `"-123.40"`,
		`"2024-02-29 23:59:59.999999"`, `"+10000-01-01"`, `true`, `"\`, `"`, `1e5`, `null`} {
		f.Add([]byte(s))
	}
	cols := []schema.Column{}
	for _, typ := range []string{"varchar(3)", "char(1)", "string", "tinyint", "smallint", "int", "bigint", "largeint",
		"decimal(5,2)", "decimal(38,0)", "boolean", "date", "datetime", "double", "json"} {
		cols = append(cols, schema.NewColumn("c", typ, true, false))
	}
	f.Fuzz(func(t *testing.T, v []byte) {
		for i := range cols {
			if err := fits(v, &cols[i]); err != nil && !errors.Is(err, ErrRange) {
				t.Fatalf("fits(%q, %s) = %v, not an ErrRange", v, cols[i].Type, err)
			}
		}
	})
}
