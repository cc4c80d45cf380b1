package ddl

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/starsink/starsink/schema"
)

// StarRocks limits the mapping keeps to (StarRocks' ScalarType:
// MAX_VARCHAR_LENGTH, the decimal128 precision).
const (
	// MaxVarchar is the longest VARCHAR, in bytes. STRING is shorter:
	// VARCHAR(65533).
	MaxVarchar = 1048576
	// MaxDecimalPrecision is the widest DECIMAL starsink creates.
	MaxDecimalPrecision = 38
	// BytesPerChar is the UTF-8 bytes starsink reserves for one source
	// character: StarRocks counts VARCHAR lengths in bytes, PostgreSQL and
	// MySQL (utf8mb4) in characters of up to 4 bytes.
	BytesPerChar = 4
	// UnknownDecimal is the type of a decimal whose precision the source
	// does not state (PostgreSQL numeric without precision: Debezium's
	// VariableScaleDecimal): 29 integer digits and 9 fraction digits. A value
	// with more fraction digits is refused by the decoder (it never rounds).
	UnknownDecimal = "DECIMAL(38, 9)"
)

// Mapped is the StarRocks column a Connect field maps to.
type Mapped struct {
	// Column is the column as StarRocks would print it once created
	// (Type in DDL spelling, e.g. "VARCHAR(400)", "DECIMAL(13, 0)").
	schema.Column
	// Source describes the source type: the propagated source type when
	// the schema carries it ("VARCHAR(100)"), else the Connect type and
	// semantic name.
	Source string
	// Inexact says why the type is a choice rather than exact (the source
	// did not state a length or precision); "" when exact.
	Inexact string
	// SourceNullable says the source field is optional (the Column itself
	// is nullable whenever it is not a key column).
	SourceNullable bool
}

// Map maps one Connect field to a StarRocks column. key says the column
// is part of the table's key: StarRocks refuses DECIMAL, CHAR, FLOAT,
// DOUBLE, JSON and complex types in a Primary Key, so those become VARCHARs
// wide enough for their text (as Flink CDC does for DECIMAL). Non-key columns are
// always nullable: a delete that carries only the key (REPLICA IDENTITY
// DEFAULT) leaves the other columns NULL, and StarRocks filters rows with
// NULL in a NOT NULL column.
func Map(f *Field, key bool) (Mapped, error) {
	typ, inexact, err := mapType(f, key)
	if err != nil {
		return Mapped{}, fmt.Errorf("field %s: %w", f.Name, err)
	}
	m := Mapped{Column: schema.NewColumn(f.Name, typ, !key, key), Source: sourceType(f), Inexact: inexact, SourceNullable: f.Optional}
	return m, nil
}

// sourceType describes a field's source type for messages.
func sourceType(f *Field) string {
	if t := f.Params[ParamSourceType]; t != "" {
		s := t
		if l := f.Params[ParamSourceLength]; l != "" && l != "2147483647" {
			s += "(" + l
			if sc := f.Params[ParamSourceScale]; sc != "" && sc != "0" {
				s += "," + sc
			}
			s += ")"
		}
		return s
	}
	if f.Semantic != "" {
		return f.Type + " " + f.Semantic
	}
	if f.Type == "array" && f.Items != nil {
		return "array<" + sourceType(f.Items) + ">"
	}
	return f.Type
}

// textTypes are the propagated source types whose length counts characters.
var textTypes = map[string]bool{
	"VARCHAR": true, "CHAR": true, "BPCHAR": true, "CHARACTER": true, "CHARACTER VARYING": true,
	"NVARCHAR": true, "NCHAR": true, "VARCHAR2": true, "NVARCHAR2": true, "NATIONAL CHAR": true,
	"NATIONAL VARCHAR": true, "TINYTEXT": true, "TEXT": true, "MEDIUMTEXT": true, "LONGTEXT": true,
}

// binaryTypes are the propagated source types whose length counts bytes.
var binaryTypes = map[string]bool{"BINARY": true, "VARBINARY": true, "RAW": true}

func param(f *Field, name string) (int, bool) {
	s, ok := f.Params[name]
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

// varchar returns VARCHAR(n) for n bytes, the widest VARCHAR beyond it.
func varchar(n int) (typ, inexact string) {
	if n <= 0 {
		n = 1
	}
	if n > MaxVarchar {
		return fmt.Sprintf("VARCHAR(%d)", MaxVarchar), fmt.Sprintf("source holds up to %d bytes, more than StarRocks' longest VARCHAR", n)
	}
	return fmt.Sprintf("VARCHAR(%d)", n), ""
}

func unknownText(what string) (typ, inexact string, err error) {
	return fmt.Sprintf("VARCHAR(%d)", MaxVarchar), what + ": the longest VARCHAR", nil
}

func mapType(f *Field, key bool) (typ, inexact string, err error) {
	srcType := strings.ToUpper(strings.TrimSpace(f.Params[ParamSourceType]))
	srcLen, hasLen := param(f, ParamSourceLength)
	switch f.Semantic {
	case "org.apache.kafka.connect.data.Decimal":
		scale, ok := param(f, "scale")
		if !ok {
			return "", "", fmt.Errorf("decimal without a scale parameter")
		}
		prec, ok := param(f, "connect.decimal.precision")
		if !ok && hasLen && srcLen > 0 && srcLen < 1000 {
			prec, ok = srcLen, true
		}
		switch {
		case !ok: // PostgreSQL money: a scale and no precision
			if key {
				return "VARCHAR(40)", "decimal precision unknown", nil
			}
			return fmt.Sprintf("DECIMAL(%d, %d)", MaxDecimalPrecision, scale), "decimal precision unknown", nil
		case prec < scale:
			prec = scale
		}
		if key || prec > MaxDecimalPrecision {
			// Text of a DECIMAL: digits, a sign and a point.
			t, in := varchar(prec + 2)
			if prec > MaxDecimalPrecision && in == "" {
				in = fmt.Sprintf("DECIMAL(%d, %d) is wider than StarRocks' DECIMAL(%d): kept as text", prec, scale, MaxDecimalPrecision)
			}
			return t, in, nil
		}
		return fmt.Sprintf("DECIMAL(%d, %d)", prec, scale), "", nil
	case "io.debezium.data.VariableScaleDecimal":
		if key {
			return unknownText("decimal precision unknown")
		}
		return UnknownDecimal, "decimal precision unknown (VariableScaleDecimal)", nil
	case "io.debezium.time.Date", "org.apache.kafka.connect.data.Date", "io.debezium.time.IsoDate":
		return "DATE", "", nil
	case "io.debezium.time.Time", "org.apache.kafka.connect.data.Time", "io.debezium.time.MicroTime",
		"io.debezium.time.NanoTime":
		return "VARCHAR(15)", "", nil // StarRocks has no TIME: "HH:MM:SS.ffffff"
	case "io.debezium.time.ZonedTime", "io.debezium.time.IsoTime":
		return "VARCHAR(32)", "", nil // "HH:MM:SS.fffffffff+hh:mm" at most
	case "io.debezium.time.Timestamp", "org.apache.kafka.connect.data.Timestamp", "io.debezium.time.MicroTimestamp",
		"io.debezium.time.NanoTimestamp", "io.debezium.time.ZonedTimestamp", "io.debezium.time.IsoTimestamp":
		return "DATETIME", "", nil
	case "io.debezium.time.MicroDuration", "io.debezium.time.NanoDuration":
		return "BIGINT", "", nil
	case "io.debezium.time.Interval":
		return "VARCHAR(64)", "", nil
	case "io.debezium.time.Year":
		return "SMALLINT", "", nil
	case "io.debezium.data.Json":
		if key {
			return unknownText("JSON text")
		}
		return "JSON", "", nil
	case "io.debezium.data.Uuid":
		return "VARCHAR(36)", "", nil
	case "io.debezium.data.Bits":
		if n, ok := param(f, "length"); ok && n > 0 {
			t, in := varchar(n) // one '0' or '1' per bit
			return t, in, nil
		}
		return unknownText("bit string length unknown")
	case "io.debezium.data.Enum", "io.debezium.data.EnumSet":
		allowed := f.Params["allowed"]
		if allowed == "" {
			return unknownText("enum labels unknown")
		}
		n := 0
		for _, l := range strings.Split(allowed, ",") {
			if f.Semantic == "io.debezium.data.EnumSet" {
				n += len(l) + 1
			} else {
				n = max(n, len(l))
			}
		}
		t, in := varchar(n)
		return t, in, nil
	case "io.debezium.data.Xml", "io.debezium.data.Ltree":
		return unknownText("text length unknown")
	case "io.debezium.data.geometry.Point", "io.debezium.data.geometry.Geometry", "io.debezium.data.geometry.Geography",
		"io.debezium.data.SparseVector":
		if key {
			return "", "", fmt.Errorf("%s cannot be a key column", f.Semantic)
		}
		return "JSON", "", nil
	}
	switch f.Type {
	case "boolean":
		return "BOOLEAN", "", nil
	case "int8":
		return "TINYINT", "", nil
	case "int16":
		return "SMALLINT", "", nil
	case "int32":
		return "INT", "", nil
	case "int64":
		return "BIGINT", "", nil
	case "float", "float32":
		if key {
			return "VARCHAR(32)", "", nil
		}
		return "FLOAT", "", nil
	case "double", "float64":
		if key {
			return "VARCHAR(32)", "", nil
		}
		return "DOUBLE", "", nil
	case "string":
		if hasLen && textTypes[srcType] && srcLen > 0 && srcLen < 2147483647 {
			t, in := varchar(srcLen * BytesPerChar)
			return t, in, nil
		}
		return unknownText("text length unknown")
	case "bytes":
		// The decoder writes bytes as hex text: two characters a byte.
		if hasLen && binaryTypes[srcType] && srcLen > 0 {
			t, in := varchar(2 * srcLen)
			return t, in, nil
		}
		return unknownText("binary length unknown")
	case "array":
		if key {
			return "", "", fmt.Errorf("an array cannot be a key column")
		}
		if f.Items == nil {
			return "", "", fmt.Errorf("array without items")
		}
		et, in, err := mapType(f.Items, false)
		if err != nil {
			return "", "", err
		}
		return "ARRAY<" + et + ">", in, nil
	case "map", "struct":
		if key {
			return "", "", fmt.Errorf("a %s cannot be a key column", f.Type)
		}
		return "JSON", "", nil
	case "":
		return "", "", fmt.Errorf("no type (the value has no schema)")
	}
	return "", "", fmt.Errorf("unsupported type %q", f.Type)
}
