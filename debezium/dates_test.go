package debezium

import (
	"errors"
	"strings"
	"testing"

	"github.com/starsink/starsink/schema"
)

// TestOutOfRangeDates checks dates and timestamps StarRocks cannot hold:
// PostgreSQL's ±infinity as Debezium writes them, BC dates and years beyond
// 9999. They are refused by default, naming the value, and loaded as the
// nearest end of StarRocks' range with decoder.out_of_range_dates=clamp.
func TestOutOfRangeDates(t *testing.T) {
	date := func(v string) string { return framed(`{"type":"int32","name":"io.debezium.time.Date","field":"c"}`, v) }
	micro := func(v string) string {
		return framed(`{"type":"int64","name":"io.debezium.time.MicroTimestamp","field":"c"}`, v)
	}
	milli := func(v string) string {
		return framed(`{"type":"int64","name":"io.debezium.time.Timestamp","field":"c"}`, v)
	}
	zoned := func(v string) string {
		return framed(`{"type":"string","name":"io.debezium.time.ZonedTimestamp","field":"c"}`, `"`+v+`"`)
	}
	iso := func(v string) string {
		return framed(`{"type":"string","name":"io.debezium.time.IsoDate","field":"c"}`, `"`+v+`"`)
	}
	tests := []struct {
		name      string
		col       string
		value     string
		wantClamp string // the value clamp loads
		wantWhat  string // what the refusal says the value is ("" : nothing special)
	}{
		{"date infinity, streamed", "date", date("-2147472692"), "9999-12-31", "date 'infinity'"},
		{"date -infinity, streamed", "date", date("-2147472691"), "0000-01-01", "date '-infinity'"},
		{"date infinity, snapshot", "date", date("-622191234"), "9999-12-31", "date 'infinity'"},
		{"date -infinity, snapshot", "date", date("-625821272"), "0000-01-01", "date '-infinity'"},
		{"date infinity into datetime", "datetime", date("-2147472692"), "9999-12-31 23:59:59.999999", "date 'infinity'"},
		{"BC date", "date", date("-735160"), "0000-01-01", ""}, // -0043-03-15
		{"date beyond 9999", "date", date("2932897"), "9999-12-31", ""},
		{"timestamp infinity", "datetime", micro("9223372036825200000"), "9999-12-31 23:59:59.999999", "timestamp 'infinity'"},
		{"timestamp -infinity", "datetime", micro("-9223372036832400000"), "0000-01-01 00:00:00", "timestamp '-infinity'"},
		{"timestamp(3) infinity", "datetime", milli("9223372036825200"), "9999-12-31 23:59:59.999999", "timestamp 'infinity'"},
		{"timestamp(3) -infinity", "datetime", milli("-9223372036832400"), "0000-01-01 00:00:00", "timestamp '-infinity'"},
		{"timestamp infinity into date", "date", micro("9223372036825200000"), "9999-12-31", "timestamp 'infinity'"},
		{"BC timestamp", "datetime", micro("-62198755200000000"), "0000-01-01 00:00:00", ""}, // -0001-01-01
		{"timestamp beyond 9999", "datetime", micro("253402300800000000"), "9999-12-31 23:59:59.999999", ""},
		{"timestamptz infinity", "datetime", zoned("infinity"), "9999-12-31 23:59:59.999999", "timestamptz 'infinity'"},
		{"timestamptz -infinity", "datetime", zoned("-infinity"), "0000-01-01 00:00:00", "timestamptz '-infinity'"},
		{"timestamptz beyond 9999", "datetime", zoned("+21016-11-04T06:51:30.123456Z"), "9999-12-31 23:59:59.999999", ""},
		{"timestamptz BC", "datetime", zoned("-4713-11-24T00:00:00Z"), "0000-01-01 00:00:00", ""},
		{"iso date BC", "date", iso("-0043-03-15"), "0000-01-01", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tbl := &schema.Table{Name: "t", Columns: []schema.Column{schema.NewColumn("c", tt.col, true, false)}}
			rec := &Record{Topic: "p.s.t", Partition: 1, Offset: 12, Value: []byte(tt.value)}
			_, _, err := NewDecoder(tbl, Options{}).Decode(rec, nil)
			var de *DecodeError
			if !errors.As(err, &de) || !errors.Is(err, ErrRange) || de.Field != "after.c" {
				t.Fatalf("default: err = %v, want an ErrRange DecodeError for after.c", err)
			}
			if msg := err.Error(); !strings.Contains(msg, "out_of_range_dates=clamp") || tt.wantWhat != "" && !strings.Contains(msg, tt.wantWhat) {
				t.Errorf("message %q should name %q and the option", msg, tt.wantWhat)
			}
			row, _, err := NewDecoder(tbl, Options{OutOfRangeDates: DatesClamp}).Decode(rec, nil)
			if want := `{"c":"` + tt.wantClamp + `"}`; err != nil || string(row) != want {
				t.Errorf("clamp: got %s, %v; want %s", row, err, want)
			}
		})
	}
}

// TestDateRangeEnds checks that the ends of StarRocks' range load as they
// are, in both modes.
func TestDateRangeEnds(t *testing.T) {
	tests := []struct{ col, schema, value, want string }{
		{"date", `{"type":"int32","name":"io.debezium.time.Date","field":"c"}`, `-719528`, `0000-01-01`},
		{"date", `{"type":"int32","name":"io.debezium.time.Date","field":"c"}`, `2932896`, `9999-12-31`},
		{"datetime", `{"type":"int64","name":"io.debezium.time.MicroTimestamp","field":"c"}`, `253402300799999999`, `9999-12-31 23:59:59.999999`},
		{"datetime", `{"type":"int64","name":"io.debezium.time.MicroTimestamp","field":"c"}`, `-62167219200000000`, `0000-01-01 00:00:00`},
		{"datetime", `{"type":"string","name":"io.debezium.time.ZonedTimestamp","field":"c"}`, `"0000-01-01T00:00:00Z"`, `0000-01-01 00:00:00`},
	}
	for _, tt := range tests {
		for _, mode := range []OutOfRangeDates{DatesFail, DatesClamp} {
			tbl := &schema.Table{Name: "t", Columns: []schema.Column{schema.NewColumn("c", tt.col, true, false)}}
			row, _, err := NewDecoder(tbl, Options{OutOfRangeDates: mode}).Decode(&Record{Topic: "p.s.t", Value: []byte(framed(tt.schema, tt.value))}, nil)
			if want := `{"c":"` + tt.want + `"}`; err != nil || string(row) != want {
				t.Errorf("%s %s (mode %d): got %s, %v; want %s", tt.col, tt.value, mode, row, err, want)
			}
		}
	}
}

// TestParseOptions checks the spellings of decoder.envelope and
// decoder.out_of_range_dates.
func TestParseOptions(t *testing.T) {
	for s, want := range map[string]Envelope{"": EnvelopeAuto, "auto": EnvelopeAuto, "raw": EnvelopeRaw, "unwrapped": EnvelopeUnwrapped} {
		if got, err := ParseEnvelope(s); err != nil || got != want {
			t.Errorf("ParseEnvelope(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	if _, err := ParseEnvelope("wrapped"); err == nil {
		t.Error("ParseEnvelope(wrapped) succeeded")
	}
	for s, want := range map[string]OutOfRangeDates{"": DatesFail, "fail": DatesFail, "clamp": DatesClamp} {
		if got, err := ParseOutOfRangeDates(s); err != nil || got != want {
			t.Errorf("ParseOutOfRangeDates(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	if _, err := ParseOutOfRangeDates("null"); err == nil {
		t.Error("ParseOutOfRangeDates(null) succeeded")
	}
}
