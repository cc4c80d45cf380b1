// Package ddl plans, creates and evolves StarRocks tables from the Kafka
// Connect schemas Debezium writes: the type mapping (Map), the plan of one
// topic against its existing table (Plan: the DDL it would run and every
// difference, classed), and the create-and-evolve API the worker calls
// (Manager: EnsureTable, Evolve), which waits for StarRocks' asynchronous
// schema changes.
//
// Nothing here is on the hot path: it runs once per table, and again when a
// record's schema has a field its table lacks.
//
// How the worker calls it (one Manager per worker, built from
// OpenExecutor, the worker's streamload.Catalog, cfg.Mapping,
// SourceOptionsFor(cfg.Decoder) and the worker's Registerer):
//
//   - A table's first sight, when Catalog.Table answers
//     streamload.ErrTableNotFound: EnsureTable(ctx, target, rec.Key,
//     rec.Value) with the first record of the topic that has a value; on
//     created, read the schema again and go on; on false (create_tables
//     off) keep today's error. A *Error stops the worker like a missing
//     table does.
//   - A record with a field its table lacks, once the schema read again
//     (starrocks.schema_refresh_interval) still lacks it, and a record the
//     decoder refuses with debezium.ErrRange (a widened source type):
//     Evolve(ctx, target, table, rec.Key, rec.Value). When it returns
//     changes, read the schema again and decode the record again (the
//     worker's schema-change path: flush the open batch, new decoder);
//     when it returns none, the record's fate is unchanged.
//
// Both block their caller while StarRocks applies the change (at most
// ManagerConfig.Timeout); loads of other tables are not affected.
package ddl

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/starsink/starsink/config"
)

// Field is one node of a Kafka Connect schema as JsonConverter writes it
// (`"schema"` of a record with schemas.enable=true): a struct's field, an
// array's items, or a whole row.
type Field struct {
	Name     string            `json:"field"`    // the member name ("" for a top-level schema or items)
	Type     string            `json:"type"`     // boolean, int8…int64, float, double, string, bytes, array, map, struct
	Optional bool              `json:"optional"` // nullable
	Semantic string            `json:"name"`     // semantic type: io.debezium.time.Date, org.apache.kafka.connect.data.Decimal, …
	Params   map[string]string `json:"parameters"`
	Fields   []Field           `json:"fields"` // struct members, in order
	Items    *Field            `json:"items"`  // array element
}

// The parameters column.propagate.source.type (and datatype.propagate.source.type)
// adds to a field's schema.
const (
	ParamSourceType   = "__debezium.source.column.type"
	ParamSourceLength = "__debezium.source.column.length"
	ParamSourceScale  = "__debezium.source.column.scale"
)

// ParseSchema reads a JsonConverter schema node.
func ParseSchema(raw []byte) (*Field, error) {
	var f Field
	if err := json.Unmarshal(raw, &f); err != nil {
		return nil, fmt.Errorf("ddl: schema: %w", err)
	}
	if f.Type == "" {
		return nil, errors.New("ddl: schema: no type")
	}
	return &f, nil
}

// Member returns the struct member named name, or nil.
func (f *Field) Member(name string) *Field {
	for i := range f.Fields {
		if f.Fields[i].Name == name {
			return &f.Fields[i]
		}
	}
	return nil
}

// IsEnvelope reports whether f is a Debezium change envelope rather than
// an unwrapped row: by its schema name (<prefix>.<schema>.<table>.Envelope),
// or, for a schema without a name, by its before/after, op and source
// members.
func (f *Field) IsEnvelope() bool {
	if f.Type != "struct" {
		return false
	}
	if f.Semantic != "" {
		return strings.HasSuffix(f.Semantic, ".Envelope")
	}
	return f.Member("after") != nil && f.Member("op") != nil && f.Member("source") != nil
}

// SourceOptions say how to read a record, as decoder.envelope and
// decoder.fields_prefix do for the decoder.
type SourceOptions struct {
	// Envelope: "raw" (Debezium envelopes: the row is `after`), "unwrapped"
	// (ExtractNewRecordState rows) or "auto"/"" (decided by the value
	// schema's name, or by the envelope's members without schemas).
	Envelope string
	// FieldsPrefix is ExtractNewRecordState's add.fields.prefix ("" = "__").
	FieldsPrefix string
}

// SourceOptionsFor takes the options from the decoder section.
func SourceOptionsFor(d config.Decoder) SourceOptions {
	return SourceOptions{Envelope: d.Envelope, FieldsPrefix: d.FieldsPrefix}
}

func (o SourceOptions) prefix() string {
	if o.FieldsPrefix == "" {
		return "__"
	}
	return o.FieldsPrefix
}

// isMeta reports whether a field of an unwrapped row is metadata the
// decoder never loads rather than a column: __deleted, StarRocks' __op,
// or a field ExtractNewRecordState's add.fields writes (the prefix, then
// an envelope, transaction or source field name, or one qualified by its
// struct). Any other field, "__"-named or not, is a column, as in the
// decoder (debezium.Decoder.isMeta).
func (o SourceOptions) isMeta(name string) bool {
	if name == "__deleted" || name == "__op" {
		return true
	}
	p := o.prefix()
	if !strings.HasPrefix(name, p) {
		return false
	}
	n := name[len(p):]
	if strings.HasPrefix(n, "source_") || strings.HasPrefix(n, "transaction_") {
		return true
	}
	switch n {
	case "op", "ts_ms", "ts_us", "ts_ns",
		"id", "total_order", "data_collection_order",
		"version", "connector", "name", "snapshot", "db", "sequence", "schema", "table",
		"txId", "lsn", "xmin",
		"server_id", "gtid", "file", "pos", "row", "thread", "query":
		return true
	}
	return false
}

// columns returns a row's fields that become columns: all of an
// envelope's row, an unwrapped row's but its metadata.
func (o SourceOptions) columns(fields []Field, envelope bool) []Field {
	out := make([]Field, 0, len(fields))
	for _, c := range fields {
		if !envelope && o.isMeta(c.Name) {
			continue
		}
		out = append(out, c)
	}
	return out
}

// Record is what the planner knows of a topic's latest record: the raw key
// and value bytes, as Kafka holds them.
type Record struct {
	Key, Value []byte
}

// Source is a topic's row as its latest record describes it.
type Source struct {
	// Key lists the key fields in key order (the record key's schema, or the
	// members of a schemaless key). Empty when the record has no key.
	Key []Field
	// Columns are the row's fields in order. A field's Type is "" when the
	// value has no schema (only the name is known).
	Columns []Field
	// Typed reports whether the value carried a schema.
	Typed bool
	// KeyTyped reports whether the key carried a schema.
	KeyTyped bool
	// Envelope reports whether the value was a raw Debezium envelope.
	Envelope bool
}

// ReadSource reads a record's key and value: with JsonConverter schemas
// (schemas.enable=true) the types are known; without, only the names (the
// key payload's members, the `after` or row members). A null value (a
// tombstone) tells nothing: ErrNoValue.
func ReadSource(rec Record, opts SourceOptions) (*Source, error) {
	src := &Source{}
	if len(strings.TrimSpace(string(rec.Value))) == 0 || strings.TrimSpace(string(rec.Value)) == "null" {
		return nil, ErrNoValue
	}
	schema, payload, err := split(rec.Value)
	if err != nil {
		return nil, fmt.Errorf("ddl: value: %w", err)
	}
	switch {
	case schema != nil:
		f, err := ParseSchema(schema)
		if err != nil {
			return nil, fmt.Errorf("ddl: value: %w", err)
		}
		src.Typed = true
		switch opts.Envelope {
		case "raw":
			src.Envelope = true
		case "unwrapped":
		default:
			src.Envelope = f.IsEnvelope()
		}
		row := f
		if src.Envelope {
			if row = f.Member("after"); row == nil {
				return nil, errors.New("ddl: value: a raw envelope's schema has no after member")
			}
		}
		if row.Type != "struct" {
			return nil, fmt.Errorf("ddl: value: row schema is a %s, not a struct", row.Type)
		}
		src.Columns = opts.columns(row.Fields, src.Envelope)
	default:
		names, env, err := payloadNames(payload, opts.Envelope)
		if err != nil {
			return nil, fmt.Errorf("ddl: value: %w", err)
		}
		src.Envelope = env
		fields := make([]Field, len(names))
		for i, n := range names {
			fields[i] = Field{Name: n}
		}
		src.Columns = opts.columns(fields, env)
	}
	if len(strings.TrimSpace(string(rec.Key))) == 0 {
		return src, nil
	}
	kschema, kpayload, err := split(rec.Key)
	if err != nil {
		return nil, fmt.Errorf("ddl: key: %w", err)
	}
	if kschema != nil {
		f, err := ParseSchema(kschema)
		if err != nil {
			return nil, fmt.Errorf("ddl: key: %w", err)
		}
		if f.Type != "struct" {
			return nil, fmt.Errorf("ddl: key: schema is a %s, not a struct", f.Type)
		}
		src.Key, src.KeyTyped = f.Fields, true
		return src, nil
	}
	var obj orderedObject
	if err := json.Unmarshal(kpayload, &obj); err != nil {
		return nil, fmt.Errorf("ddl: key: not a JSON object: %w", err)
	}
	for _, n := range obj.names {
		src.Key = append(src.Key, Field{Name: n})
	}
	return src, nil
}

// ErrNoValue is returned for a record without a value (a tombstone): it has
// no schema to read.
var ErrNoValue = errors.New("ddl: record has no value (a tombstone)")

// split separates JsonConverter's {"schema":…,"payload":…} framing; a value
// without it is all payload (schema nil).
func split(b []byte) (schema, payload json.RawMessage, err error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil {
		return nil, nil, fmt.Errorf("not a JSON object: %w", err)
	}
	s, hasS := top["schema"]
	p, hasP := top["payload"]
	if len(top) == 2 && hasS && hasP {
		if string(s) == "null" {
			return nil, p, nil
		}
		return s, p, nil
	}
	return nil, b, nil
}

// payloadNames returns the row member names of a schemaless payload: the
// envelope's `after` (or `before` for a delete), else the members.
func payloadNames(payload []byte, mode string) (names []string, envelope bool, err error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(payload, &top); err != nil || top == nil {
		return nil, false, fmt.Errorf("payload is not a JSON object")
	}
	_, hasOp := top["op"]
	_, hasSource := top["source"]
	row := payload
	if mode == "raw" || mode != "unwrapped" && hasOp && hasSource {
		envelope = true
		row = top["after"]
		if len(row) == 0 || string(row) == "null" {
			row = top["before"]
		}
		if len(row) == 0 || string(row) == "null" {
			return nil, true, errors.New("envelope has neither after nor before")
		}
	}
	var obj orderedObject
	if err := json.Unmarshal(row, &obj); err != nil {
		return nil, envelope, fmt.Errorf("row is not a JSON object: %w", err)
	}
	return obj.names, envelope, nil
}

// orderedObject keeps a JSON object's member names in order.
type orderedObject struct{ names []string }

func (o *orderedObject) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(strings.NewReader(string(b)))
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return errors.New("not an object")
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		name, _ := tok.(string)
		o.names = append(o.names, name)
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return err
		}
	}
	return nil
}
