package ddl

import (
	"encoding/json"
	"testing"
)

func field(t *testing.T, js string) *Field {
	t.Helper()
	f, err := ParseSchema([]byte(js))
	if err != nil {
		t.Fatal(err)
	}
	if f.Name == "" {
		f.Name = "c"
	}
	return f
}

// TestMap states the StarRocks type of every Debezium type starsink
// knows, for a value column and, where it differs, for a key column.
func TestMap(t *testing.T) {
	cases := []struct {
		name, schema string
		want, key    string // key "" = same as want
		inexact      bool
	}{
		{"boolean", `{"type":"boolean"}`, "BOOLEAN", "", false},
		{"int8", `{"type":"int8"}`, "TINYINT", "", false},
		{"int16", `{"type":"int16"}`, "SMALLINT", "", false},
		{"int32", `{"type":"int32"}`, "INT", "", false},
		{"int64", `{"type":"int64"}`, "BIGINT", "", false},
		{"float", `{"type":"float"}`, "FLOAT", "VARCHAR(32)", false},
		{"double", `{"type":"double"}`, "DOUBLE", "VARCHAR(32)", false},
		{"varchar(100) in bytes", `{"type":"string","parameters":{"__debezium.source.column.type":"VARCHAR","__debezium.source.column.length":"100"}}`, "VARCHAR(400)", "", false},
		{"bpchar(3)", `{"type":"string","parameters":{"__debezium.source.column.type":"BPCHAR","__debezium.source.column.length":"3"}}`, "VARCHAR(12)", "", false},
		{"varchar past the longest VARCHAR", `{"type":"string","parameters":{"__debezium.source.column.type":"VARCHAR","__debezium.source.column.length":"300000"}}`, "VARCHAR(1048576)", "", true},
		{"text: PostgreSQL's length is no limit", `{"type":"string","parameters":{"__debezium.source.column.type":"TEXT","__debezium.source.column.length":"2147483647"}}`, "VARCHAR(1048576)", "", true},
		{"string without source type", `{"type":"string"}`, "VARCHAR(1048576)", "", true},
		{"decimal(13,0)", `{"type":"bytes","name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":"0","connect.decimal.precision":"13"}}`, "DECIMAL(13, 0)", "VARCHAR(15)", false},
		{"decimal(10,2) from propagated length", `{"type":"bytes","name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":"2","__debezium.source.column.type":"NUMERIC","__debezium.source.column.length":"10","__debezium.source.column.scale":"2"}}`, "DECIMAL(10, 2)", "VARCHAR(12)", false},
		{"decimal(38,10)", `{"type":"bytes","name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":"10","connect.decimal.precision":"38"}}`, "DECIMAL(38, 10)", "VARCHAR(40)", false},
		{"decimal(50,5) is text", `{"type":"bytes","name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":"5","connect.decimal.precision":"50"}}`, "VARCHAR(52)", "", true},
		{"money: scale, no precision", `{"type":"bytes","name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":"2"}}`, "DECIMAL(38, 2)", "VARCHAR(40)", true},
		{"numeric without precision", `{"type":"struct","name":"io.debezium.data.VariableScaleDecimal","fields":[{"type":"int32","field":"scale"},{"type":"bytes","field":"value"}]}`, "DECIMAL(38, 9)", "VARCHAR(1048576)", true},
		{"date", `{"type":"int32","name":"io.debezium.time.Date"}`, "DATE", "", false},
		{"connect date", `{"type":"int32","name":"org.apache.kafka.connect.data.Date"}`, "DATE", "", false},
		{"time", `{"type":"int32","name":"io.debezium.time.Time"}`, "VARCHAR(15)", "", false},
		{"micro time", `{"type":"int64","name":"io.debezium.time.MicroTime"}`, "VARCHAR(15)", "", false},
		{"zoned time", `{"type":"string","name":"io.debezium.time.ZonedTime"}`, "VARCHAR(32)", "", false},
		{"timestamp", `{"type":"int64","name":"io.debezium.time.Timestamp"}`, "DATETIME", "", false},
		{"micro timestamp", `{"type":"int64","name":"io.debezium.time.MicroTimestamp"}`, "DATETIME", "", false},
		{"nano timestamp", `{"type":"int64","name":"io.debezium.time.NanoTimestamp"}`, "DATETIME", "", false},
		{"zoned timestamp", `{"type":"string","name":"io.debezium.time.ZonedTimestamp"}`, "DATETIME", "", false},
		{"interval numeric", `{"type":"int64","name":"io.debezium.time.MicroDuration"}`, "BIGINT", "", false},
		{"interval string", `{"type":"string","name":"io.debezium.time.Interval"}`, "VARCHAR(64)", "", false},
		{"json", `{"type":"string","name":"io.debezium.data.Json"}`, "JSON", "VARCHAR(1048576)", false},
		{"uuid", `{"type":"string","name":"io.debezium.data.Uuid"}`, "VARCHAR(36)", "", false},
		{"bits(12)", `{"type":"bytes","name":"io.debezium.data.Bits","parameters":{"length":"12"}}`, "VARCHAR(12)", "", false},
		{"enum: longest label in bytes", `{"type":"string","name":"io.debezium.data.Enum","parameters":{"allowed":"작음,medium,큰것입니다"}}`, "VARCHAR(15)", "", false},
		{"bytea: hex text", `{"type":"bytes"}`, "VARCHAR(1048576)", "", true},
		{"binary(16): hex text", `{"type":"bytes","parameters":{"__debezium.source.column.type":"BINARY","__debezium.source.column.length":"16"}}`, "VARCHAR(32)", "", false},
		{"int array", `{"type":"array","items":{"type":"int32","optional":true}}`, "ARRAY<INT>", "error", false},
		{"varchar(10) array", `{"type":"array","items":{"type":"string","optional":true,"parameters":{"__debezium.source.column.type":"VARCHAR","__debezium.source.column.length":"10"}}}`, "ARRAY<VARCHAR(40)>", "error", false},
		{"numeric(5,2) array", `{"type":"array","items":{"type":"bytes","name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":"2","connect.decimal.precision":"5"}}}`, "ARRAY<DECIMAL(5, 2)>", "error", false},
		{"hstore map", `{"type":"map","keys":{"type":"string"},"values":{"type":"string","optional":true}}`, "JSON", "error", false},
		{"geometry", `{"type":"struct","name":"io.debezium.data.geometry.Geometry","fields":[{"type":"bytes","field":"wkb"}]}`, "JSON", "error", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := field(t, c.schema)
			m, err := Map(f, false)
			if err != nil {
				t.Fatalf("value column: %v", err)
			}
			if m.Type != c.want || (m.Inexact != "") != c.inexact {
				t.Errorf("value column: got %s (inexact %q), want %s (inexact %v)", m.Type, m.Inexact, c.want, c.inexact)
			}
			if !m.Nullable || m.Key {
				t.Errorf("value column: nullable %v key %v, want a nullable non-key column", m.Nullable, m.Key)
			}
			wantKey := c.key
			if wantKey == "" {
				wantKey = c.want
			}
			k, err := Map(f, true)
			if wantKey == "error" {
				if err == nil {
					t.Errorf("key column: got %s, want an error", k.Type)
				}
				return
			}
			if err != nil {
				t.Fatalf("key column: %v", err)
			}
			if k.Type != wantKey || k.Nullable || !k.Key {
				t.Errorf("key column: got %s nullable %v, want %s NOT NULL", k.Type, k.Nullable, wantKey)
			}
		})
	}
}

// TestMapRefuses names what cannot be mapped.
func TestMapRefuses(t *testing.T) {
	for _, js := range []string{
		`{"type":"bytes","name":"org.apache.kafka.connect.data.Decimal"}`,
		`{"type":"array"}`,
		`{"type":"quaternion"}`,
	} {
		if m, err := Map(field(t, js), false); err == nil {
			t.Errorf("%s: got %s, want an error", js, m.Type)
		}
	}
}

// FuzzReadSource feeds arbitrary keys and values to the schema reader:
// it may refuse them, never panic.
func FuzzReadSource(f *testing.F) {
	f.Add([]byte(`{"schema":{"type":"struct","fields":[{"type":"int32","field":"id"}]},"payload":{"id":1}}`),
		[]byte(`{"schema":{"type":"struct","fields":[{"type":"struct","field":"after","fields":[{"type":"string","field":"a"}]},{"type":"string","field":"op"},{"type":"struct","field":"source","fields":[]}]},"payload":{}}`))
	f.Add([]byte(`{"id":1}`), []byte(`{"before":null,"after":{"id":1,"a":"x"},"op":"c","source":{}}`))
	f.Add([]byte(nil), []byte(`{"schema":{"type":"array","items":{"type":"int8"}},"payload":[1]}`))
	f.Fuzz(func(t *testing.T, key, value []byte) {
		src, err := ReadSource(Record{Key: key, Value: value}, SourceOptions{})
		if err != nil {
			return
		}
		for i := range src.Columns {
			_, _ = Map(&src.Columns[i], false)
		}
		for i := range src.Key {
			_, _ = Map(&src.Key[i], true)
		}
		_, _ = json.Marshal(src)
	})
}
