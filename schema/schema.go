// Package schema describes StarRocks tables as starsink sees them: the
// columns, their types and the table model.
//
// It is the vocabulary shared by the decoder (which renders values for a
// column's type), the Stream Load client (which reads a table's schema over
// the MySQL protocol) and the worker (which decides how deletes and partial
// updates are loaded). It has no dependencies so every package can import it.
package schema

import (
	"fmt"
	"strconv"
	"strings"
)

// Model is a StarRocks table model (information_schema.tables_config
// TABLE_MODEL).
type Model uint8

const (
	ModelUnknown     Model = iota
	ModelPrimaryKeys       // PRIMARY_KEYS: upsert and delete by __op
	ModelDupKeys           // DUP_KEYS: append only
	ModelUniqueKeys        // UNIQUE_KEYS: replace by key, no deletes by __op
	ModelAggKeys           // AGG_KEYS: aggregate by key
)

var modelNames = [...]string{"UNKNOWN", "PRIMARY_KEYS", "DUP_KEYS", "UNIQUE_KEYS", "AGG_KEYS"}

// String returns the name StarRocks uses in information_schema.tables_config.
func (m Model) String() string {
	if int(m) < len(modelNames) {
		return modelNames[m]
	}
	return "Model(" + strconv.Itoa(int(m)) + ")"
}

// ParseModel reads a TABLE_MODEL value. StarRocks' FE fills it with the
// KeysType's name (PRIMARY_KEYS, DUP_KEYS, UNIQUE_KEYS, AGG_KEYS:
// InformationSchemaDataSource.genNormalTableConfigInfo); its documentation
// lists PRI_KEYS and UNQ_KEYS instead, so those are read too, as are the
// words of the DDL (PRIMARY, UNIQUE, DUPLICATE, AGGREGATE).
func ParseModel(s string) (Model, error) {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "PRIMARY_KEYS", "PRI_KEYS", "PRIMARY":
		return ModelPrimaryKeys, nil
	case "UNIQUE_KEYS", "UNQ_KEYS", "UNI_KEYS", "UNIQUE":
		return ModelUniqueKeys, nil
	case "DUP_KEYS", "DUPLICATE_KEYS", "DUPLICATE":
		return ModelDupKeys, nil
	case "AGG_KEYS", "AGGREGATE_KEYS", "AGGREGATE":
		return ModelAggKeys, nil
	}
	return ModelUnknown, fmt.Errorf("unknown table model %q", s)
}

// Kind is the family of a StarRocks column type; it decides how a value is
// rendered.
type Kind uint8

const (
	KindUnknown Kind = iota
	KindBoolean
	KindTinyInt
	KindSmallInt
	KindInt
	KindBigInt
	KindLargeInt
	KindFloat
	KindDouble
	KindDecimal
	KindDate
	KindDatetime
	KindChar
	KindVarchar
	KindString
	KindJSON
	KindBinary // BINARY / VARBINARY
	KindArray
	KindMap
	KindStruct
)

var kindNames = [...]string{"unknown", "boolean", "tinyint", "smallint", "int", "bigint", "largeint",
	"float", "double", "decimal", "date", "datetime", "char", "varchar", "string", "json", "varbinary",
	"array", "map", "struct"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// IsInteger reports whether values of k are whole numbers.
func (k Kind) IsInteger() bool { return k >= KindTinyInt && k <= KindLargeInt }

// IsText reports whether values of k are character strings.
func (k Kind) IsText() bool { return k == KindChar || k == KindVarchar || k == KindString }

// Column is one column of a StarRocks table.
type Column struct {
	Name string
	// Type is the full column type as StarRocks prints it (COLUMN_TYPE),
	// e.g. "decimal(13,0)", "varchar(100)", "array<int(11)>".
	Type      string
	Kind      Kind
	Precision int // DECIMAL precision; 0 when not a decimal
	Scale     int // DECIMAL scale; 0 when not a decimal
	Length    int // CHAR/VARCHAR length in bytes; 0 when unknown or not text
	// Nullable reports whether the column accepts NULL. The catalog reads
	// it from information_schema.columns and, where that answers NO for
	// every column (StarRocks' BE scanner always does), from SHOW FULL
	// COLUMNS; when neither says, it stays false: a column is taken as NOT
	// NULL unless StarRocks said it is nullable.
	Nullable bool
	Key      bool // part of the table's key (primary, duplicate, unique or aggregate)
	// Agg is the aggregate function of a value column of an Aggregate Key
	// table as StarRocks names it (AggregateType.toSql): SUM, MIN, MAX,
	// REPLACE, REPLACE_IF_NOT_NULL, HLL_UNION, BITMAP_UNION,
	// PERCENTILE_UNION, …; "" for key columns and for tables of the other
	// models.
	Agg string
}

// Aggregate functions of Aggregate Key value columns (Column.Agg).
const (
	AggSum              = "SUM"
	AggMin              = "MIN"
	AggMax              = "MAX"
	AggReplace          = "REPLACE"
	AggReplaceIfNotNull = "REPLACE_IF_NOT_NULL"
)

// Table is a StarRocks table's schema.
type Table struct {
	Database string
	Name     string
	Model    Model
	Columns  []Column // in table order; key columns come first
}

// Index returns the position of the named column, or -1. Names compare
// case-insensitively, as StarRocks column names do.
func (t *Table) Index(name string) int {
	for i := range t.Columns {
		if strings.EqualFold(t.Columns[i].Name, name) {
			return i
		}
	}
	return -1
}

// KeyColumns returns the names of the key columns in key order.
func (t *Table) KeyColumns() []string {
	var keys []string
	for _, c := range t.Columns {
		if c.Key {
			keys = append(keys, c.Name)
		}
	}
	return keys
}

// AllReplace reports whether t is an Aggregate Key table whose every
// value column aggregates with REPLACE: loading a change into it replaces
// the row of its key, as on a Unique Key table (a delete still cannot be
// loaded). It is false for any other model, and for an Aggregate Key table
// with a SUM, MIN, MAX, REPLACE_IF_NOT_NULL (which ignores NULLs), … column,
// or one whose function is not known, where loading every change of a row
// would not leave the row's last state. A table of key columns only is
// all-REPLACE: a load keeps one row per key.
func (t *Table) AllReplace() bool {
	if t.Model != ModelAggKeys {
		return false
	}
	for _, c := range t.Columns {
		if !c.Key && c.Agg != AggReplace {
			return false
		}
	}
	return true
}

// QualifiedName returns "db.table".
func (t *Table) QualifiedName() string { return t.Database + "." + t.Name }

// ParseType reads a StarRocks column type such as "DECIMAL(13, 0)",
// "varchar(100)", "datetime", "ARRAY<INT>" or "decimal128(38,9)" into its
// kind, precision, scale and length. Unknown types give KindUnknown and no
// error, so a caller can decide whether it matters.
func ParseType(typ string) (kind Kind, precision, scale, length int) {
	s := strings.ToLower(strings.TrimSpace(typ))
	base, args := s, ""
	if i := strings.IndexAny(s, "(<"); i >= 0 {
		base, args = strings.TrimSpace(s[:i]), s[i:]
	}
	nums := func() []int {
		if !strings.HasPrefix(args, "(") {
			return nil
		}
		end := strings.IndexByte(args, ')')
		if end < 0 {
			return nil
		}
		var out []int
		for _, p := range strings.Split(args[1:end], ",") {
			n, err := strconv.Atoi(strings.TrimSpace(p))
			if err != nil {
				return nil
			}
			out = append(out, n)
		}
		return out
	}
	switch base {
	case "boolean", "bool":
		return KindBoolean, 0, 0, 0
	case "tinyint":
		if n := nums(); len(n) == 1 && n[0] == 1 {
			return KindBoolean, 0, 0, 0 // StarRocks spells BOOLEAN so in information_schema.columns
		}
		return KindTinyInt, 0, 0, 0
	case "smallint":
		return KindSmallInt, 0, 0, 0
	case "int", "integer":
		return KindInt, 0, 0, 0
	case "bigint":
		if strings.HasSuffix(s, "unsigned") {
			return KindLargeInt, 0, 0, 0 // LARGEINT in information_schema.columns
		}
		return KindBigInt, 0, 0, 0
	case "largeint":
		return KindLargeInt, 0, 0, 0
	case "float":
		return KindFloat, 0, 0, 0
	case "double":
		return KindDouble, 0, 0, 0
	case "decimal", "decimalv2", "decimal32", "decimal64", "decimal128", "decimal256", "numeric":
		p, sc := 10, 0 // StarRocks' default for a bare DECIMAL
		if n := nums(); len(n) >= 1 {
			p = n[0]
			if len(n) >= 2 {
				sc = n[1]
			}
		}
		return KindDecimal, p, sc, 0
	case "date":
		return KindDate, 0, 0, 0
	case "datetime", "timestamp":
		return KindDatetime, 0, 0, 0
	case "char":
		l := 1
		if n := nums(); len(n) == 1 {
			l = n[0]
		}
		return KindChar, 0, 0, l
	case "varchar":
		l := 1 // StarRocks' default, as for CHAR
		if n := nums(); len(n) == 1 {
			l = n[0]
		}
		return KindVarchar, 0, 0, l
	case "string", "text":
		return KindString, 0, 0, 0
	case "json", "jsonb":
		return KindJSON, 0, 0, 0
	case "binary", "varbinary", "blob":
		return KindBinary, 0, 0, 0
	case "array":
		return KindArray, 0, 0, 0
	case "map":
		return KindMap, 0, 0, 0
	case "struct":
		return KindStruct, 0, 0, 0
	}
	return KindUnknown, 0, 0, 0
}

// NewColumn builds a Column from a name and a StarRocks type string.
func NewColumn(name, typ string, nullable, key bool) Column {
	k, p, s, l := ParseType(typ)
	return Column{Name: name, Type: typ, Kind: k, Precision: p, Scale: s, Length: l, Nullable: nullable, Key: key}
}
