package debezium

import (
	"errors"
	"testing"

	"github.com/starsink/starsink/schema"
)

// opTable has columns named like the members of Debezium's envelope.
func opTable() *schema.Table {
	return &schema.Table{Name: "t", Model: schema.ModelPrimaryKeys, Columns: []schema.Column{
		schema.NewColumn("id", "int", false, true),
		schema.NewColumn("op", "varchar(10)", true, false),
		schema.NewColumn("source", "varchar(100)", true, false),
	}}
}

// rowSchema is the Connect schema of an unwrapped opTable row.
const rowSchema = `{"type":"struct","name":"p.public.t.Value","fields":[{"type":"int32","optional":false,"field":"id"},` +
	`{"type":"string","optional":true,"field":"op"},{"type":"string","optional":true,"field":"source"}]}`

// TestTombstones checks that tombstones and null payloads of unwrapped
// topics delete by the Kafka key (with or without a key schema), and that a
// raw topic's tombstone, which follows the delete event, is a counted skip.
func TestTombstones(t *testing.T) {
	tbl := &schema.Table{Name: "t", Model: schema.ModelPrimaryKeys, Columns: []schema.Column{
		schema.NewColumn("id", "int", false, true), schema.NewColumn("v", "varchar(10)", true, false)}}
	keyPlain := `{"id":7}`
	keyFramed := `{"schema":{"type":"struct","name":"p.s.t.Key","fields":[{"type":"int32","optional":false,"field":"id"}]},"payload":{"id":7}}`
	rawDelete := `{"before":{"id":7,"v":"a"},"after":null,"source":{"connector":"postgresql","ts_ms":1,"lsn":9},"op":"d"}`
	tests := []struct {
		name       string
		envelope   Envelope
		before     string // a value decoded first by the same decoder ("" : none)
		key, value string // value "nil" is a Kafka null
		wantOp     Op
		wantReason string
		wantRow    string
	}{
		{"unwrapped tombstone", EnvelopeUnwrapped, "", keyPlain, "nil", OpDelete, "", `{"id":7,"v":"","__op":1}`},
		{"unwrapped tombstone with key schema", EnvelopeUnwrapped, "", keyFramed, "nil", OpDelete, "", `{"id":7,"v":"","__op":1}`},
		{"unwrapped null payload", EnvelopeUnwrapped, "", keyFramed, `{"schema":{"type":"struct","name":"p.s.t.Value","optional":true},"payload":null}`, OpDelete, "", `{"id":7,"v":"","__op":1}`},
		{"unwrapped json null", EnvelopeUnwrapped, "", keyPlain, `null`, OpDelete, "", `{"id":7,"v":"","__op":1}`},
		{"raw tombstone", EnvelopeRaw, "", keyPlain, "nil", OpSkip, ReasonTombstone, ""},
		{"raw null payload", EnvelopeRaw, "", keyPlain, `null`, OpSkip, ReasonNullPayload, ""},
		{"auto tombstone after a raw delete", EnvelopeAuto, rawDelete, keyPlain, "nil", OpSkip, ReasonTombstone, ""},
		{"auto tombstone before any envelope", EnvelopeAuto, "", keyPlain, "nil", OpDelete, "", `{"id":7,"v":"","__op":1}`},
		{"auto tombstone after unwrapped rows", EnvelopeAuto, `{"id":7,"v":"a","__op":"c"}`, keyPlain, "nil", OpDelete, "", `{"id":7,"v":"","__op":1}`},
		{"auto null payload of a row schema", EnvelopeAuto, "", keyPlain, `{"schema":{"type":"struct","name":"p.s.t.Value"},"payload":null}`, OpDelete, "", `{"id":7,"v":"","__op":1}`},
		{"auto null payload of an envelope schema", EnvelopeAuto, "", keyPlain, `{"schema":{"type":"struct","name":"p.s.t.Envelope"},"payload":null}`, OpSkip, ReasonNullPayload, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := NewDecoder(tbl, Options{OpColumn: true, Envelope: tt.envelope})
			if tt.before != "" {
				if _, _, err := d.Decode(&Record{Topic: "p.s.t", Key: []byte(keyPlain), Value: []byte(tt.before)}, nil); err != nil {
					t.Fatal(err)
				}
			}
			rec := &Record{Topic: "p.s.t", Partition: 1, Offset: 5, Key: []byte(tt.key)}
			if tt.value != "nil" {
				rec.Value = []byte(tt.value)
			}
			row, ev, err := d.Decode(rec, nil)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if ev.Op != tt.wantOp || ev.Reason != tt.wantReason || string(row) != tt.wantRow {
				t.Errorf("got op=%v reason=%q row=%s; want op=%v reason=%q row=%s", ev.Op, ev.Reason, row, tt.wantOp, tt.wantReason, tt.wantRow)
			}
			if ev.Op == OpDelete && ev.VersionErr == nil {
				t.Errorf("a delete from a tombstone has no position, but VersionErr is nil")
			}
		})
	}
}

// TestTombstoneWithoutKey checks that a delete that names no row is an
// error, not a skip.
func TestTombstoneWithoutKey(t *testing.T) {
	d := NewDecoder(opTable(), Options{Envelope: EnvelopeUnwrapped})
	_, _, err := d.Decode(&Record{Topic: "p.s.t", Partition: 2, Offset: 3}, nil)
	var de *DecodeError
	if !errorsAs(err, &de) || de.Field != "key" || de.Offset != 3 {
		t.Fatalf("err = %v, want a DecodeError for field key", err)
	}
}

// TestEnvelopeChoice checks that an unwrapped row of a table whose columns
// are named op and source loads as a row, whatever op holds, when the
// envelope is configured or named by the value schema; and that raw
// envelopes are still recognised.
func TestEnvelopeChoice(t *testing.T) {
	src := `{"connector":"postgresql","ts_ms":1}`
	tests := []struct {
		name     string
		envelope Envelope
		value    string
		wantOp   Op
		wantRow  string
	}{
		{"explicit unwrapped, op d", EnvelopeUnwrapped, `{"id":1,"op":"d","source":"web"}`, OpUpsert, `{"id":1,"op":"d","source":"web"}`},
		{"explicit unwrapped, op m", EnvelopeUnwrapped, `{"id":1,"op":"m","source":"web"}`, OpUpsert, `{"id":1,"op":"m","source":"web"}`},
		{"explicit unwrapped, op c", EnvelopeUnwrapped, `{"id":1,"op":"c","source":"web"}`, OpUpsert, `{"id":1,"op":"c","source":"web"}`},
		{"explicit unwrapped, source an object", EnvelopeUnwrapped, `{"id":1,"op":"d","source":` + src + `}`, OpUpsert, `{"id":1,"op":"d","source":"{\"connector\":\"postgresql\",\"ts_ms\":1}"}`},
		{"auto with schema, op d", EnvelopeAuto, `{"schema":` + rowSchema + `,"payload":{"id":1,"op":"d","source":"web"}}`, OpUpsert, `{"id":1,"op":"d","source":"web"}`},
		{"auto with schema, op m", EnvelopeAuto, `{"schema":` + rowSchema + `,"payload":{"id":1,"op":"m","source":"web"}}`, OpUpsert, `{"id":1,"op":"m","source":"web"}`},
		{"auto with schema, op c", EnvelopeAuto, `{"schema":` + rowSchema + `,"payload":{"id":1,"op":"c","source":"web"}}`, OpUpsert, `{"id":1,"op":"c","source":"web"}`},
		{"auto schemaless, source a string", EnvelopeAuto, `{"id":1,"op":"d","source":"web"}`, OpUpsert, `{"id":1,"op":"d","source":"web"}`},
		{"auto schemaless, source without connector", EnvelopeAuto, `{"id":1,"op":"d","source":{"ts_ms":1}}`, OpUpsert, `{"id":1,"op":"d","source":"{\"ts_ms\":1}"}`},
		{"auto schemaless, raw envelope", EnvelopeAuto, `{"before":{"id":1},"after":null,"source":` + src + `,"op":"d"}`, OpDelete, `{"id":1,"op":"","source":""}`},
		{"auto schemaless, op not Debezium's", EnvelopeAuto, `{"before":null,"after":{"id":1},"source":` + src + `,"op":"x","id":1}`, OpUpsert, `{"source":"{\"connector\":\"postgresql\",\"ts_ms\":1}","op":"x","id":1}`},
		{"explicit raw", EnvelopeRaw, `{"after":{"id":1,"op":"z"},"op":"c"}`, OpUpsert, `{"id":1,"op":"z"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := NewDecoder(opTable(), Options{Envelope: tt.envelope})
			for range 2 { // the second time from the cached plan
				row, ev, err := d.Decode(&Record{Topic: "p.public.t", Value: []byte(tt.value)}, nil)
				if err != nil {
					t.Fatalf("Decode: %v", err)
				}
				if ev.Op != tt.wantOp || string(row) != tt.wantRow {
					t.Errorf("got op=%v row=%s; want op=%v row=%s", ev.Op, row, tt.wantOp, tt.wantRow)
				}
			}
		})
	}
}

// TestMetadataFields checks that only Debezium's metadata fields are taken
// out of unwrapped rows: other "__" fields are column values, loaded when
// the table has the column and reported in Event.Unknown otherwise.
func TestMetadataFields(t *testing.T) {
	tbl := &schema.Table{Name: "t", Model: schema.ModelPrimaryKeys, Columns: []schema.Column{
		schema.NewColumn("id", "int", false, true), schema.NewColumn("__note", "varchar(10)", true, false)}}
	tests := []struct {
		name        string
		prefix      string
		value       string
		wantRow     string
		wantUnknown string
		wantLSN     int64
		wantTS      int64
	}{
		{"a __ column is loaded", "", `{"id":1,"__note":"x","__deleted":"false"}`, `{"id":1,"__note":"x"}`, "", 0, 0},
		{"an unknown __ field is reported", "", `{"id":1,"__extra":5}`, `{"id":1}`, "__extra", 0, 0},
		{"add.fields are metadata", "", `{"id":1,"__op":"u","__lsn":42,"__source_ts_ms":1700000000000,"__ts_ms":1,"__table":"t","__db":"d","__schema":"public","__txId":5,"__source_snapshot":"false","__transaction_id":"9"}`, `{"id":1}`, "", 42, 1700000000000},
		{"qualified source fields", "", `{"id":1,"__source_lsn":43,"__source_ts_ms":7}`, `{"id":1}`, "", 43, 7},
		{"another prefix", "meta_", `{"id":1,"meta_op":"c","meta_lsn":44,"meta_source_ts_ms":8,"__note":"y"}`, `{"id":1,"__note":"y"}`, "", 44, 8},
		{"another prefix leaves __ fields to columns", "meta_", `{"id":1,"__lsn":1}`, `{"id":1}`, "__lsn", 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := NewDecoder(tbl, Options{Envelope: EnvelopeUnwrapped, FieldsPrefix: tt.prefix})
			row, ev, err := d.Decode(&Record{Topic: "p.s.t", Value: []byte(tt.value)}, nil)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if string(row) != tt.wantRow || ev.Unknown != tt.wantUnknown || ev.LSN != tt.wantLSN || ev.SourceTS != tt.wantTS {
				t.Errorf("got row=%s unknown=%q lsn=%d ts=%d; want row=%s unknown=%q lsn=%d ts=%d",
					row, ev.Unknown, ev.LSN, ev.SourceTS, tt.wantRow, tt.wantUnknown, tt.wantLSN, tt.wantTS)
			}
		})
	}
}

func errorsAs(err error, target **DecodeError) bool { return errors.As(err, target) }

// TestMissingKey checks that a row of a Primary Key table without one of
// its key columns is refused before StarRocks would fill the key with NULL
// and fail the whole load: most often a Debezium envelope taken for a row.
func TestMissingKey(t *testing.T) {
	pk := &schema.Table{Name: "t", Model: schema.ModelPrimaryKeys, Columns: []schema.Column{
		schema.NewColumn("id", "int", false, true), schema.NewColumn("k2", "int", false, true), schema.NewColumn("v", "int", true, false)}}
	dup := &schema.Table{Name: "t", Model: schema.ModelDupKeys, Columns: pk.Columns}
	src := `{"connector":"postgresql","ts_ms":1}`
	tests := []struct {
		name       string
		tbl        *schema.Table
		key, value string
		field      string // "" : decodes
	}{
		{"unwrapped row without a key column", pk, "", `{"id":1,"v":2}`, "k2"},
		{"envelope with an unknown op taken for a row", pk, "", `{"before":null,"after":{"id":1,"k2":2},"source":` + src + `,"op":"x"}`, "id"},
		{"raw after image without a key column", pk, "", `{"before":null,"after":{"id":1},"source":` + src + `,"op":"c"}`, "after.k2"},
		{"Kafka key without a key column", pk, `{"id":1}`, `{"before":null,"after":null,"source":` + src + `,"op":"d"}`, "key.k2"},
		{"key columns match case-insensitively", pk, "", `{"ID":1,"K2":2}`, ""},
		{"duplicate key tables are not checked", dup, "", `{"id":1,"v":2}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := NewDecoder(tt.tbl, Options{}).Decode(&Record{Topic: "p.s.t", Key: []byte(tt.key), Value: []byte(tt.value)}, nil)
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Decode: %v", err)
				}
				return
			}
			var de *DecodeError
			if !errors.As(err, &de) || !errors.Is(err, ErrMissingRow) || de.Field != tt.field {
				t.Fatalf("err = %v, want ErrMissingRow for %s", err, tt.field)
			}
		})
	}
}
