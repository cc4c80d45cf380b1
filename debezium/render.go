package debezium

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/starsink/starsink/schema"
)

// sem is the Debezium/Kafka Connect semantic type of a field, from its
// schema's "name" (or, for plain types, its "type").
type sem uint8

const (
	semNone sem = iota // unknown: decide from the value and the column
	semInt
	semFloat
	semBool
	semString
	semBytes
	semDecimal       // org.apache.kafka.connect.data.Decimal
	semVarDecimal    // io.debezium.data.VariableScaleDecimal
	semDate          // io.debezium.time.Date, connect Date: days
	semTimeMs        // io.debezium.time.Time, connect Time: ms after midnight
	semTimeUs        // MicroTime
	semTimeNs        // NanoTime
	semTsMs          // io.debezium.time.Timestamp, connect Timestamp
	semTsUs          // MicroTimestamp
	semTsNs          // NanoTimestamp
	semZonedTs       // ZonedTimestamp (ISO string)
	semZonedTime     // ZonedTime (string)
	semJSON          // io.debezium.data.Json
	semBits          // io.debezium.data.Bits
	semArray         // array (element in plan.elem)
	semStruct        // other structs (geometry…): rendered as JSON
	semMap           // maps (hstore map mode)
	semMicroDuration // MicroDuration: µs as a number
)

// What a field's col holds when it is not a column index.
const (
	colSkip    = -1 // unwrap metadata or an omitted column: never loaded
	colNoTable = -2 // the decoder has no table: rendered under the field's own name
	colMissing = -3 // the target table has no such column: not loaded, reported (Event.Unknown)
)

// field is the plan for one message field.
type field struct {
	name  string
	label string // `"column":`, the rendered key, escaped once here instead of per row
	col   int    // index in the target table's columns, or colSkip, colNoTable, colMissing
	sem   sem
	elem  sem // element semantic of an array
	scale int // Decimal scale from the schema
}

// plan is the field list of one row schema.
type plan struct {
	key    string // the row schema's JSON text ("" for the schemaless plan)
	fields []field
}

func semOf(f gjson.Result) sem {
	switch f.Get("name").Str {
	case "org.apache.kafka.connect.data.Decimal":
		return semDecimal
	case "io.debezium.data.VariableScaleDecimal":
		return semVarDecimal
	case "io.debezium.time.Date", "org.apache.kafka.connect.data.Date":
		return semDate
	case "io.debezium.time.Time", "org.apache.kafka.connect.data.Time":
		return semTimeMs
	case "io.debezium.time.MicroTime":
		return semTimeUs
	case "io.debezium.time.NanoTime":
		return semTimeNs
	case "io.debezium.time.Timestamp", "org.apache.kafka.connect.data.Timestamp":
		return semTsMs
	case "io.debezium.time.MicroTimestamp":
		return semTsUs
	case "io.debezium.time.NanoTimestamp":
		return semTsNs
	case "io.debezium.time.ZonedTimestamp", "io.debezium.time.IsoTimestamp":
		return semZonedTs
	case "io.debezium.time.IsoDate":
		return semString // "2024-06-05"; a date column checks it
	case "io.debezium.time.ZonedTime", "io.debezium.time.IsoTime":
		return semZonedTime
	case "io.debezium.data.Json":
		return semJSON
	case "io.debezium.data.Bits":
		return semBits
	case "io.debezium.time.MicroDuration", "io.debezium.time.NanoDuration":
		return semMicroDuration
	}
	switch f.Get("type").Str {
	case "int8", "int16", "int32", "int64":
		return semInt
	case "float", "double", "float32", "float64":
		return semFloat
	case "boolean":
		return semBool
	case "string":
		return semString
	case "bytes":
		return semBytes
	case "array":
		return semArray
	case "struct":
		return semStruct
	case "map":
		return semMap
	}
	return semNone
}

// planFor returns the cached plan for a row schema, building it once.
func (d *Decoder) planFor(rowSchema gjson.Result) *plan {
	key := rowSchema.Raw
	for _, p := range d.plans {
		if p.key == key {
			return p
		}
	}
	p := &plan{key: string([]byte(key))} // own copy: Raw points into the record
	rowSchema.Get("fields").ForEach(func(_, f gjson.Result) bool {
		name := f.Get("field").Str
		fl := d.field(name)
		fl.sem = semOf(f)
		if fl.sem == semDecimal {
			fl.scale, _ = strconv.Atoi(f.Get("parameters.scale").Str)
		}
		if fl.sem == semBits {
			fl.scale, _ = strconv.Atoi(f.Get("parameters.length").Str)
		}
		if fl.sem == semArray {
			items := f.Get("items")
			fl.elem = semOf(items)
			if fl.elem == semDecimal {
				fl.scale, _ = strconv.Atoi(items.Get("parameters.scale").Str)
			}
		}
		p.fields = append(p.fields, fl)
		return true
	})
	if len(d.plans) >= 16 { // schemas change rarely; keep the newest few
		d.plans = d.plans[1:]
	}
	d.plans = append(d.plans, p)
	return p
}

// column returns the target column index of a message field, or colSkip,
// colNoTable or colMissing.
func (d *Decoder) column(name string) int {
	if d.isMeta(name) {
		return colSkip // unwrap metadata
	}
	if d.table == nil {
		return colNoTable
	}
	i := d.table.Index(name)
	switch {
	case i < 0:
		return colMissing
	case slices.Contains(d.opts.Omit, d.table.Columns[i].Name):
		return colSkip
	}
	return i
}

// field is the plan entry of a message field, typed later by its schema or
// its column. name may point into a record: the entry keeps its own copy.
func (d *Decoder) field(name string) field {
	f := field{name: string([]byte(name)), col: d.column(name)}
	out := name
	if f.col >= 0 {
		out = d.table.Columns[f.col].Name
	}
	f.label = string(append(appendEscaped([]byte{'"'}, out), '"', ':'))
	return f
}

// lookup finds the plan entry of a message field; i is the expected position.
func lookup(p *plan, i int, name string) *field {
	if i < len(p.fields) && p.fields[i].name == name {
		return &p.fields[i]
	}
	for j := range p.fields {
		if p.fields[j].name == name {
			return &p.fields[j]
		}
	}
	return nil
}

// render appends the fields of row (members of one validated object) as a
// JSON object (without the closing brace), typed by plan p (nil: no schema,
// typed by the target columns).
func (d *Decoder) render(rec *Record, dst []byte, where string, row []member, p *plan) ([]byte, error) {
	if p == nil {
		p = &d.free
	}
	start := len(dst)
	dst = append(dst, '{')
	first := true
	for i := range row {
		name := row[i].key
		f := lookup(p, i, name)
		if f == nil {
			// A field the schema does not list (or the first sight of a
			// schemaless field): typed from the column.
			p.fields = append(p.fields, d.field(name))
			f = &p.fields[len(p.fields)-1]
		}
		if f.col == colSkip {
			continue
		}
		if f.col == colMissing {
			if d.unknown == "" {
				d.unknown = f.name // the plan's own copy
			}
			continue
		}
		var col *schema.Column
		if f.col >= 0 {
			col = &d.table.Columns[f.col]
			if col.Key {
				d.keysSeen++
			}
		}
		v := row[i].result()
		if d.unavailable(v) {
			idx := f.col
			if idx < 0 {
				idx = i
			}
			d.unavail = append(d.unavail, idx)
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = append(dst, f.label...)
		mark := len(dst)
		var err error
		if d.deleting && col != nil {
			d.filled[f.col] = true
			if v.Type == gjson.Null && !col.Key && d.zeros[f.col] != "" {
				dst = append(dst, d.zeros[f.col]...) // see fillDelete
				continue
			}
		}
		d.fitted = false
		dst, err = d.value(dst, v, f.sem, f.elem, f.scale, col)
		if err == nil && col != nil && !d.fitted {
			err = fits(dst[mark:], col)
		}
		if err != nil {
			fieldName := name
			if where != "" {
				fieldName = where + "." + name
			}
			return dst[:start], d.fail(rec, fieldName, err)
		}
	}
	return dst, nil
}

// unavailable reports whether v is the unchanged-TOAST placeholder in one of
// the forms Debezium writes for it.
func (d *Decoder) unavailable(v gjson.Result) bool {
	switch v.Type {
	case gjson.String:
		if len(v.Str) == len(d.ph) {
			return v.Str == d.ph
		}
		if len(v.Str) == len(d.phB64) {
			return v.Str == d.phB64
		}
		return len(v.Str) == len(d.phArr[4]) && v.Str == d.phArr[4] // hstore in json mode
	case gjson.JSON:
		for _, s := range d.phArr {
			if len(v.Raw) == len(s) && v.Raw == s {
				return true
			}
		}
	}
	return false
}

// nameUUIDFromBytes is Java's UUID.nameUUIDFromBytes (MD5, version 3): the
// form the placeholder takes in uuid[] columns.
func nameUUIDFromBytes(b []byte) string {
	h := md5.Sum(b)
	h[6] = h[6]&0x0f | 0x30
	h[8] = h[8]&0x3f | 0x80
	var buf [36]byte
	hex.Encode(buf[0:8], h[0:4])
	buf[8] = '-'
	hex.Encode(buf[9:13], h[4:6])
	buf[13] = '-'
	hex.Encode(buf[14:18], h[6:8])
	buf[18] = '-'
	hex.Encode(buf[19:23], h[8:10])
	buf[23] = '-'
	hex.Encode(buf[24:], h[10:])
	return string(buf[:])
}

// appendEscaped appends s as the inside of a JSON string.
func appendEscaped(dst []byte, s string) []byte {
	const hexd = "0123456789abcdef"
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c == '\n':
			dst = append(dst, '\\', 'n')
		case c == '\r':
			dst = append(dst, '\\', 'r')
		case c == '\t':
			dst = append(dst, '\\', 't')
		case c < 0x20:
			dst = append(dst, '\\', 'u', '0', '0', hexd[c>>4], hexd[c&0xf])
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

func errType(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrType}, a...)...)
}

// zeroValue is the value a delete row carries in a column its before image
// lacks: one that passes the checks of fits and is not NULL ("" : the
// column's type is unknown, and it is left out).
func zeroValue(c *schema.Column) string {
	switch k := c.Kind; {
	case k == schema.KindBoolean:
		return "false"
	case k.IsInteger(), k == schema.KindFloat, k == schema.KindDouble:
		return "0"
	case k == schema.KindDecimal:
		return `"0"`
	case k == schema.KindDate:
		return `"1970-01-01"`
	case k == schema.KindDatetime:
		return `"1970-01-01 00:00:00"`
	case k.IsText(), k == schema.KindBinary:
		return `""`
	case k == schema.KindJSON, k == schema.KindMap, k == schema.KindStruct:
		return "{}"
	case k == schema.KindArray:
		return "[]"
	}
	return ""
}

// fillDelete completes a delete row: every non-key column the row image
// lacked, or held as null, is given a zero value of its type.
//
// StarRocks fills the columns a JSON row lacks with NULL and filters a row
// with NULL in a NOT NULL column, delete rows included
// (OlapTableSink::_validate_data; shared/reference F8), so a key-only
// delete (REPLICA IDENTITY DEFAULT, or a delete built from the Kafka key)
// fails the whole load on a table with a NOT NULL value column. A delete
// stores nothing of the row but its key, so any value does; a zero value is
// given to every such column, not only to the NOT NULL ones, because the
// NOT NULL answer cannot be trusted: information_schema.columns read
// through the BE scanner says IS_NULLABLE=NO for every column (F10). In the
// versioned mode, where a delete is an appended row, the zero values are
// stored in the delete marker, whose other columns no reader uses.
func (d *Decoder) fillDelete(dst []byte) []byte {
	for i := range d.filled {
		if d.filled[i] || d.zeros[i] == "" || d.keyCols[i] {
			continue
		}
		if dst[len(dst)-1] != '{' {
			dst = append(dst, ',')
		}
		dst = append(dst, d.labels[i]...)
		dst = append(dst, d.zeros[i]...)
	}
	return dst
}

// beginDelete prepares render for a delete row (see fillDelete).
func (d *Decoder) beginDelete() {
	d.deleting = d.table != nil
	clear(d.filled)
}

// missingKey returns the first key column of a Primary Key table that the
// row just rendered lacks ("" when it has them all). StarRocks would fill
// it with NULL and filter the row, failing the whole load; a row without
// its key is more likely a value the decoder took for the wrong envelope.
func (d *Decoder) missingKey(row []member) string {
	if d.table == nil || d.table.Model != schema.ModelPrimaryKeys || d.keysSeen >= d.nKeys {
		return ""
	}
	for i := range d.table.Columns {
		c := &d.table.Columns[i]
		if !c.Key {
			continue
		}
		found := false
		for j := range row {
			if strings.EqualFold(row[j].key, c.Name) {
				found = true
				break
			}
		}
		if !found {
			return c.Name
		}
	}
	return ""
}
