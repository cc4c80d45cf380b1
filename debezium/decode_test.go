package debezium

import (
	"errors"
	"strings"
	"testing"

	"github.com/starsink/starsink/schema"
)

// env wraps an after row into a raw schemaless envelope.
func env(op, after string) string {
	return `{"before":null,"after":` + after + `,"source":{"connector":"postgresql","lsn":7,"ts_ms":9},"op":"` + op + `"}`
}

// framed wraps a value of field c with a one-field schema.
func framed(fieldSchema, value string) string { return framedField("c", fieldSchema, value) }

func framedField(name, fieldSchema, value string) string {
	return `{"schema":{"type":"struct","name":"p.s.t.Envelope","fields":[{"type":"struct","fields":[` + fieldSchema + `],"field":"after"}]},` +
		`"payload":{"before":null,"after":{"` + name + `":` + value + `},"source":{"connector":"postgresql","ts_ms":1},"op":"c"}}`
}

// TestValues checks one value at a time: message form, column type, result.
func TestValues(t *testing.T) {
	tests := []struct {
		name  string
		col   string // StarRocks type of column c
		value string // record value
		opts  Options
		want  string // rendered row
	}{
		// Decimals (precise mode): base64 two's complement, scale from the schema or the column.
		{"decimal schema", "decimal(10,2)", framed(`{"type":"bytes","name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":"2"},"field":"c"}`, `"AeJA"`), Options{}, `{"c":"1234.56"}`},
		{"negative decimal", "decimal(10,2)", framed(`{"type":"bytes","name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":"2"},"field":"c"}`, `"/h3A"`), Options{}, `{"c":"-1234.56"}`},
		{"decimal sign byte", "decimal(13,0)", env("c", `{"c":"AIA="}`), Options{}, `{"c":"128"}`},
		{"decimal zero", "decimal(13,0)", env("c", `{"c":"AA=="}`), Options{}, `{"c":"0"}`},
		{"decimal scale widened", "decimal(12,3)", framed(`{"type":"bytes","name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":"2"},"field":"c"}`, `"AeJA"`), Options{}, `{"c":"1234.560"}`},
		{"decimal beyond int64", "decimal(38,0)", env("c", `{"c":"AQAAAAAAAAAA"}`), Options{}, `{"c":"18446744073709551616"}`},
		{"decimal numeric format", "decimal(10,2)", env("c", `{"c":1234.5}`), Options{}, `{"c":"1234.50"}`},
		{"decimal string mode", "decimal(13,4)", env("c", `{"c":"22.2200"}`), Options{DecimalHandling: "string"}, `{"c":"22.2200"}`},
		{"variable scale", "decimal(20,5)", env("c", `{"c":{"scale":5,"value":"BMsv"}}`), Options{}, `{"c":"3.14159"}`},
		{"variable scale negative", "decimal(10,0)", framed(`{"type":"struct","name":"io.debezium.data.VariableScaleDecimal","field":"c"}`, `{"scale":-2,"value":"AQ=="}`), Options{}, `{"c":"100"}`},
		{"decimal into varchar keeps own scale", "varchar(20)", framed(`{"type":"bytes","name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":"2"},"field":"c"}`, `"AeJA"`), Options{}, `{"c":"1234.56"}`},
		// Integers stay exact.
		{"int64 beyond 2^53", "bigint(20)", env("c", `{"c":9007199254740993}`), Options{}, `{"c":9007199254740993}`},
		{"int64 max", "largeint", env("c", `{"c":9223372036854775807}`), Options{}, `{"c":9223372036854775807}`},
		// Dates and times.
		{"date", "date", framed(`{"type":"int32","name":"io.debezium.time.Date","field":"c"}`, `19879`), Options{}, `{"c":"2024-06-05"}`},
		{"date before 1970", "date", framed(`{"type":"int32","name":"io.debezium.time.Date","field":"c"}`, `-1`), Options{}, `{"c":"1969-12-31"}`},
		{"connect date schemaless", "date", env("c", `{"c":-3653}`), Options{}, `{"c":"1960-01-01"}`},
		{"time ms", "varchar(20)", framed(`{"type":"int32","name":"io.debezium.time.Time","field":"c"}`, `30615000`), Options{}, `{"c":"08:30:15"}`},
		{"micro time", "varchar(20)", framed(`{"type":"int64","name":"io.debezium.time.MicroTime","field":"c"}`, `30615500001`), Options{}, `{"c":"08:30:15.500001"}`},
		{"nano time", "varchar(20)", framed(`{"type":"int64","name":"io.debezium.time.NanoTime","field":"c"}`, `30615500001000`), Options{}, `{"c":"08:30:15.500001"}`},
		{"time 24:00", "varchar(20)", framed(`{"type":"int64","name":"io.debezium.time.MicroTime","field":"c"}`, `86400000000`), Options{}, `{"c":"24:00:00"}`},
		{"timestamp ms", "datetime", framed(`{"type":"int64","name":"io.debezium.time.Timestamp","field":"c"}`, `1717581912345`), Options{}, `{"c":"2024-06-05 10:05:12.345000"}`},
		{"connect timestamp", "datetime", framed(`{"type":"int64","name":"org.apache.kafka.connect.data.Timestamp","field":"c"}`, `1717581912000`), Options{}, `{"c":"2024-06-05 10:05:12"}`},
		{"micro timestamp before 1970", "datetime", framed(`{"type":"int64","name":"io.debezium.time.MicroTimestamp","field":"c"}`, `-1`), Options{}, `{"c":"1969-12-31 23:59:59.999999"}`},
		{"nano timestamp", "datetime", framed(`{"type":"int64","name":"io.debezium.time.NanoTimestamp","field":"c"}`, `1717581912345678901`), Options{}, `{"c":"2024-06-05 10:05:12.345678"}`},
		{"timestamp +infinity", "datetime", framed(`{"type":"int64","name":"io.debezium.time.MicroTimestamp","field":"c"}`, `9223372036825200000`), Options{OutOfRangeDates: DatesClamp}, `{"c":"9999-12-31 23:59:59.999999"}`},
		{"timestamp -infinity", "datetime", framed(`{"type":"int64","name":"io.debezium.time.MicroTimestamp","field":"c"}`, `-9223372036832400000`), Options{OutOfRangeDates: DatesClamp}, `{"c":"0000-01-01 00:00:00"}`},
		{"zoned infinity", "datetime", framed(`{"type":"string","name":"io.debezium.time.ZonedTimestamp","field":"c"}`, `"infinity"`), Options{OutOfRangeDates: DatesClamp}, `{"c":"9999-12-31 23:59:59.999999"}`},
		{"zoned schemaless", "datetime", env("c", `{"c":"2024-06-05T01:05:12Z"}`), Options{}, `{"c":"2024-06-05 01:05:12"}`},
		{"schemaless micros configured", "datetime", env("c", `{"c":1717581912345678}`), Options{SchemalessTimestamp: "us"}, `{"c":"2024-06-05 10:05:12.345678"}`},
		{"zoned time", "varchar(20)", framed(`{"type":"string","name":"io.debezium.time.ZonedTime","field":"c"}`, `"11:51:02Z"`), Options{}, `{"c":"11:51:02Z"}`},
		{"micro duration", "bigint(20)", framed(`{"type":"int64","name":"io.debezium.time.MicroDuration","field":"c"}`, `2813645000000`), Options{}, `{"c":2813645000000}`},
		{"interval string", "varchar(40)", framed(`{"type":"string","name":"io.debezium.time.Interval","field":"c"}`, `"P1Y2M3DT4H5M6.78S"`), Options{}, `{"c":"P1Y2M3DT4H5M6.78S"}`},
		// Text-like semantic types.
		{"json into json", "json", framed(`{"type":"string","name":"io.debezium.data.Json","field":"c"}`, `"{\"a\":[1,{\"b\":null}]}"`), Options{}, `{"c":{"a":[1,{"b":null}]}}`},
		{"json into varchar", "varchar(100)", framed(`{"type":"string","name":"io.debezium.data.Json","field":"c"}`, `"{\"a\":1}"`), Options{}, `{"c":"{\"a\":1}"}`},
		{"json schemaless", "json", env("c", `{"c":"[1,2]"}`), Options{}, `{"c":[1,2]}`},
		{"uuid", "varchar(36)", framed(`{"type":"string","name":"io.debezium.data.Uuid","field":"c"}`, `"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"`), Options{}, `{"c":"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"}`},
		{"enum", "varchar(10)", framed(`{"type":"string","name":"io.debezium.data.Enum","parameters":{"allowed":"a,b"},"field":"c"}`, `"b"`), Options{}, `{"c":"b"}`},
		{"enum set", "varchar(10)", framed(`{"type":"string","name":"io.debezium.data.EnumSet","field":"c"}`, `"a,b"`), Options{}, `{"c":"a,b"}`},
		{"quotes and newline", "string", env("c", `{"c":"say \"hi\"\nbye"}`), Options{}, `{"c":"say \"hi\"\nbye"}`},
		{"bytes", "varbinary", framed(`{"type":"bytes","field":"c"}`, `"3q2+7w=="`), Options{}, `{"c":"deadbeef"}`},
		{"bits", "varchar(8)", framed(`{"type":"bytes","name":"io.debezium.data.Bits","parameters":{"length":"3"},"field":"c"}`, `"BQ=="`), Options{}, `{"c":"101"}`},
		{"boolean", "boolean", env("c", `{"c":false}`), Options{}, `{"c":false}`},
		{"NaN into varchar", "varchar(10)", framed(`{"type":"double","field":"c"}`, `"NaN"`), Options{}, `{"c":"NaN"}`},
		{"null", "decimal(13,0)", env("c", `{"c":null}`), Options{}, `{"c":null}`},
		// Arrays, element by element.
		{"int array", "array<int(11)>", framed(`{"type":"array","items":{"type":"int32","optional":true},"field":"c"}`, `[1,null,3]`), Options{}, `{"c":[1,null,3]}`},
		{"date array", "array<date>", framed(`{"type":"array","items":{"type":"int32","name":"io.debezium.time.Date"},"field":"c"}`, `[0,19879]`), Options{}, `{"c":["1970-01-01","2024-06-05"]}`},
		{"text array", "array<varchar(10)>", env("c", `{"c":["a","b"]}`), Options{}, `{"c":["a","b"]}`},
		// Structs and maps.
		{"point into json", "json", framed(`{"type":"struct","name":"io.debezium.data.geometry.Point","field":"c"}`, `{"x":1.5,"y":2,"wkb":"AQ==","srid":null}`), Options{}, `{"c":{"x":1.5,"y":2,"wkb":"AQ==","srid":null}}`},
		{"hstore map into varchar", "varchar(100)", framed(`{"type":"map","keys":{"type":"string"},"values":{"type":"string"},"field":"c"}`, `{"k":"v"}`), Options{}, `{"c":"{\"k\":\"v\"}"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tbl := &schema.Table{Name: "t", Columns: []schema.Column{schema.NewColumn("c", tt.col, true, false)}}
			row, ev, err := NewDecoder(tbl, tt.opts).Decode(&Record{Topic: "p.s.t", Value: []byte(tt.value)}, nil)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if ev.Op != OpUpsert {
				t.Errorf("op = %v, want upsert", ev.Op)
			}
			if string(row) != tt.want {
				t.Errorf("row\n got %s\nwant %s", row, tt.want)
			}
		})
	}
}

// TestOps checks how each kind of record is classified.
func TestOps(t *testing.T) {
	tbl := &schema.Table{Name: "t", Columns: []schema.Column{schema.NewColumn("id", "int", false, true), schema.NewColumn("v", "varchar(10)", true, false)}}
	tests := []struct {
		name       string
		topic      string
		key, value string // value "" with nilValue = tombstone
		nilValue   bool
		wantOp     Op
		wantReason string
		wantRow    string
		snapshot   bool
	}{
		{"tombstone before any envelope", "p.s.t", `{"id":1}`, "", true, OpDelete, "", `{"id":1,"v":"","__op":1}`, false},
		{"null payload", "p.s.t", `{"id":1}`, `{"schema":{"type":"struct","name":"p.s.t.Value"},"payload":null}`, false, OpDelete, "", `{"id":1,"v":"","__op":1}`, false},
		{"null payload of an envelope schema", "p.s.t", `{"id":1}`, `{"schema":{"type":"struct","name":"p.s.t.Envelope"},"payload":null}`, false, OpSkip, ReasonNullPayload, "", false},
		{"json null", "p.s.t", `{"id":1}`, `null`, false, OpDelete, "", `{"id":1,"v":"","__op":1}`, false},
		{"snapshot", "p.s.t", "", env("r", `{"id":1,"v":"a"}`), false, OpUpsert, "", `{"id":1,"v":"a","__op":0}`, true},
		{"update", "p.s.t", "", `{"before":{"id":1,"v":"a"},"after":{"id":1,"v":"b"},"source":{"connector":"postgresql","ts_ms":1},"op":"u"}`, false, OpUpsert, "", `{"id":1,"v":"b","__op":0}`, false},
		{"delete default identity", "p.s.t", "", `{"before":{"id":1,"v":null},"after":null,"source":{"connector":"postgresql","ts_ms":1},"op":"d"}`, false, OpDelete, "", `{"id":1,"v":"","__op":1}`, false},
		{"delete from key", "p.s.t", `{"schema":{"type":"struct"},"payload":{"id":7}}`, `{"before":null,"after":null,"source":{"connector":"postgresql","ts_ms":1},"op":"d"}`, false, OpDelete, "", `{"id":7,"v":"","__op":1}`, false},
		{"truncate", "p.s.t", "", `{"before":null,"after":null,"source":{"connector":"postgresql","ts_ms":1},"op":"t"}`, false, OpTruncate, "", "", false},
		{"message", "p.message", "", `{"op":"m","source":{"connector":"postgresql","ts_ms":1},"message":{"prefix":"x","content":"AA=="}}`, false, OpSkip, ReasonMessage, "", false},
		{"heartbeat topic", "__debezium-heartbeat.p", "", `{"ts_ms":1}`, false, OpSkip, ReasonHeartbeat, "", false},
		{"heartbeat schema", "p.s.t", "", `{"schema":{"type":"struct","name":"io.debezium.connector.common.Heartbeat"},"payload":{"ts_ms":1}}`, false, OpSkip, ReasonHeartbeat, "", false},
		{"transaction", "p.transaction", "", `{"status":"BEGIN","id":"571","event_count":null,"data_collections":null,"ts_ms":1}`, false, OpSkip, ReasonTxMetadata, "", false},
		{"unwrapped upsert", "p.s.t", "", `{"id":1,"v":"a","__deleted":"false","__op":"c"}`, false, OpUpsert, "", `{"id":1,"v":"a","__op":0}`, false},
		{"unwrapped read", "p.s.t", "", `{"id":1,"v":"a","__op":"r"}`, false, OpUpsert, "", `{"id":1,"v":"a","__op":0}`, true},
		{"unwrapped deleted", "p.s.t", "", `{"id":1,"v":"a","__deleted":"true"}`, false, OpDelete, "", `{"id":1,"v":"a","__op":1}`, false},
		{"addop upsert", "p.s.t", "", `{"id":1,"v":"a","__op":0}`, false, OpUpsert, "", `{"id":1,"v":"a","__op":0}`, false},
		{"addop delete", "p.s.t", "", `{"id":1,"v":"a","__op":1,"__deleted":"true"}`, false, OpDelete, "", `{"id":1,"v":"a","__op":1}`, false},
		{"addop snapshot", "p.s.t", "", `{"id":1,"v":"a"}`, false, OpUpsert, "", `{"id":1,"v":"a","__op":0}`, true},
		{"unknown field ignored", "p.s.t", "", `{"id":1,"zz":2}`, false, OpUpsert, "", `{"id":1,"__op":0}`, true},
		{"debezium 3.x member order", "p.s.t", "", `{"before":null,"after":{"id":2,"v":"x"},"source":{"version":"3.0.8.Final","connector":"postgresql","ts_ms":1,"snapshot":"first_in_data_collection","lsn":5},"transaction":null,"op":"r","ts_ms":1,"ts_us":1000,"ts_ns":1000000}`, false, OpUpsert, "", `{"id":2,"v":"x","__op":0}`, true},
		{"toast placeholder", "p.s.t", "", env("u", `{"id":1,"v":"__debezium_unavailable_value"}`), false, OpUpsert, "", `{"id":1,"__op":0}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &Record{Topic: tt.topic, Key: []byte(tt.key)}
			if !tt.nilValue {
				rec.Value = []byte(tt.value)
			}
			row, ev, err := NewDecoder(tbl, Options{OpColumn: true}).Decode(rec, nil)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if ev.Op != tt.wantOp || ev.Reason != tt.wantReason || string(row) != tt.wantRow || ev.Snapshot != tt.snapshot {
				t.Errorf("got op=%v reason=%q snapshot=%v row=%s\nwant op=%v reason=%q snapshot=%v row=%s", ev.Op, ev.Reason, ev.Snapshot, row, tt.wantOp, tt.wantReason, tt.snapshot, tt.wantRow)
			}
		})
	}
}

// TestUnavailable checks every form of the unchanged-TOAST placeholder.
func TestUnavailable(t *testing.T) {
	forms := []string{
		`"__debezium_unavailable_value"`,
		`"X19kZWJleml1bV91bmF2YWlsYWJsZV92YWx1ZQ=="`,
		`["__debezium_unavailable_value"]`,
		`["X19kZWJleml1bV91bmF2YWlsYWJsZV92YWx1ZQ=="]`,
		`[95,95,100,101,98,101,122,105,117,109,95,117,110,97,118,97,105,108,97,98,108,101,95,118,97,108,117,101]`,
		`["b68a35a7-17ad-35b3-af2a-ae46edb4545a"]`,
		`{"__debezium_unavailable_value":"__debezium_unavailable_value"}`,
		`"{\"__debezium_unavailable_value\":\"__debezium_unavailable_value\"}"`,
	}
	tbl := &schema.Table{Name: "t", Columns: []schema.Column{schema.NewColumn("id", "int", false, true), schema.NewColumn("c", "string", true, false)}}
	for _, f := range forms {
		d := NewDecoder(tbl, Options{})
		row, ev, err := d.Decode(&Record{Topic: "p.s.t", Value: []byte(env("u", `{"id":1,"c":`+f+`}`))}, nil)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if string(row) != `{"id":1}` || len(ev.Unavailable) != 1 || ev.Unavailable[0] != 1 {
			t.Errorf("%s: row %s, unavailable %v; want {\"id\":1} and [1]", f, row, ev.Unavailable)
		}
	}
}

// TestUnknown checks Event.Unknown: the first field of a row that the target
// table has no column for, which the worker takes as a sign of ALTER TABLE.
func TestUnknown(t *testing.T) {
	tbl := &schema.Table{Name: "t", Columns: []schema.Column{
		schema.NewColumn("id", "int", false, true), schema.NewColumn("c", "string", true, false),
		schema.NewColumn("_version", "bigint", false, false)}}
	intField := `{"type":"int32","optional":false,"field":"%s"}`
	tests := []struct {
		name, value, want string
		opts              Options
	}{
		{"every field a column", env("c", `{"id":1,"c":"x"}`), "", Options{}},
		{"a new source column", env("c", `{"id":1,"c":"x","added":2,"later":3}`), "added", Options{}},
		{"unwrap metadata is not unknown", `{"id":1,"c":"x","__deleted":"false","__op":"c"}`, "", Options{}},
		{"an omitted column is not unknown", env("c", `{"id":1,"_version":5}`), "", Options{Omit: []string{"_version"}}},
		{"the before image of a delete", `{"before":{"id":1,"gone":true},"after":null,"source":{"connector":"postgresql","ts_ms":1},"op":"d"}`, "gone", Options{}},
		{"with a schema", framedField("added", strings.ReplaceAll(intField, "%s", "added"), "2"), "added", Options{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := NewDecoder(tbl, tt.opts)
			for range 2 { // the second time from the cached plan
				_, ev, err := d.Decode(&Record{Topic: "p.s.t", Value: []byte(tt.value)}, nil)
				if err != nil {
					t.Fatal(err)
				}
				if ev.Unknown != tt.want {
					t.Errorf("Unknown = %q, want %q", ev.Unknown, tt.want)
				}
			}
		})
	}
}

// TestErrors checks that bad input gives a DecodeError naming the record and
// the field, and never panics.
func TestErrors(t *testing.T) {
	tbl := &schema.Table{Name: "t", Columns: []schema.Column{
		schema.NewColumn("id", "int", false, true), schema.NewColumn("d", "decimal(5,1)", true, false),
		schema.NewColumn("ts", "datetime", true, false), schema.NewColumn("f", "double", true, false)}}
	tests := []struct {
		name, value, field string
		want               error
	}{
		{"malformed", `{"id":`, "", ErrSyntax},
		{"not an object", `[1]`, "", ErrType},
		{"unknown op", `{"schema":{"type":"struct","name":"p.s.t.Envelope"},"payload":{"before":null,"after":{"id":1},"source":{"connector":"postgresql","ts_ms":1},"op":"x"}}`, "op", ErrUnknownOp},
		{"op not a string", `{"schema":{"type":"struct","name":"p.s.t.Envelope"},"payload":{"before":null,"after":{"id":1},"source":{"connector":"postgresql","ts_ms":1},"op":1}}`, "op", ErrUnknownOp},
		{"missing after", `{"before":null,"after":null,"source":{"connector":"postgresql","ts_ms":1},"op":"c"}`, "after", ErrMissingRow},
		{"delete without before or key", `{"before":null,"after":null,"source":{"connector":"postgresql","ts_ms":1},"op":"d"}`, "before", ErrMissingRow},
		{"bad base64", env("c", `{"id":1,"d":"!!!"}`), "after.d", ErrBase64},
		{"decimal too precise", env("c", `{"id":1,"d":"MDk="}`+``), "", nil},
		{"rounding refused", env("c", `{"id":1,"d":1.25}`), "after.d", ErrRange},
		{"ambiguous timestamp", env("c", `{"id":1,"ts":1717581912345678}`), "after.ts", ErrAmbiguous},
		{"NaN into double", env("c", `{"id":1,"f":"NaN"}`), "after.f", ErrType},
		{"string into int", framed(`{"type":"int32","field":"c"}`, `"x"`), "", nil},
		{"bad __deleted", `{"id":1,"__deleted":"maybe"}`, "__deleted", ErrType},
		{"bad addop", `{"id":1,"__op":7}`, "__op", ErrUnknownOp},
		{"bad zoned", framedField("ts", `{"type":"string","name":"io.debezium.time.ZonedTimestamp","field":"ts"}`, `"yesterday"`), "after.ts", ErrType},
		{"wrong type", framedField("ts", `{"type":"int32","name":"io.debezium.time.Date","field":"ts"}`, `"x"`), "after.ts", ErrType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := NewDecoder(tbl, Options{})
			dst := []byte("prefix")
			out, _, err := d.Decode(&Record{Topic: "p.s.t", Partition: 3, Offset: 99, Value: []byte(tt.value)}, dst)
			if tt.want == nil {
				return // must merely not panic
			}
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("err = %v, want a *DecodeError", err)
			}
			if de.Topic != "p.s.t" || de.Partition != 3 || de.Offset != 99 || de.Field != tt.field || !errors.Is(err, tt.want) {
				t.Errorf("err = %#v (%v); want field %q wrapping %v", de, err, tt.field, tt.want)
			}
			if string(out) != "prefix" {
				t.Errorf("dst changed on error: %q", out)
			}
			if !strings.Contains(err.Error(), "p.s.t[3]@99") {
				t.Errorf("message %q does not name the record", err)
			}
		})
	}
}
