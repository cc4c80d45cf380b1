package emulator

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/dolthub/vitess/go/sqltypes"
	querypb "github.com/dolthub/vitess/go/vt/proto/query"

	"github.com/starsink/starsink/schema"
)

// information_schema.columns is answered from the emulator's own table
// definitions, spelled as StarRocks' FE spells them (describeTable in
// FrontendServiceImpl and the types' toMysqlColumnTypeString and
// toMysqlDataTypeString): a catalog reading it sees what it would see
// against StarRocks, and a query costs one table's columns, not every
// table's. A query this does not understand (a function in the select
// list, a WHERE other than equalities joined by AND) goes on to
// go-mysql-server's own information_schema.

var (
	reColumns  = regexp.MustCompile(`(?is)^\s*select\s+(.+?)\s+from\s+information_schema\.columns\b(.*)$`)
	reTail     = regexp.MustCompile(`(?is)^\s*(?:where\s+(.*?))?\s*(?:order\s+by\s+(.*?))?\s*;?\s*$`)
	reEqual    = regexp.MustCompile("(?is)^\\s*`?([a-z_]+)`?\\s*=\\s*'((?:[^'\\\\]|\\\\.|'')*)'\\s*")
	reAnd      = regexp.MustCompile(`(?is)^and\b`)
	reOrderKey = regexp.MustCompile("(?is)^`?([a-z_]+)`?(?:\\s+(asc|desc))?$")
	reIdent    = regexp.MustCompile("^`?([A-Za-z_]+)`?$")
)

// columnsColumns are StarRocks' information_schema.columns in order
// (be/src/exec/schema_scanner/schema_columns_scanner.cpp).
var columnsColumns = []infoColumn{
	{"TABLE_CATALOG", false}, {"TABLE_SCHEMA", false}, {"TABLE_NAME", false}, {"COLUMN_NAME", false},
	{"ORDINAL_POSITION", true}, {"COLUMN_DEFAULT", false}, {"IS_NULLABLE", false}, {"DATA_TYPE", false},
	{"CHARACTER_MAXIMUM_LENGTH", true}, {"CHARACTER_OCTET_LENGTH", true}, {"NUMERIC_PRECISION", true},
	{"NUMERIC_SCALE", true}, {"DATETIME_PRECISION", true}, {"CHARACTER_SET_NAME", false},
	{"COLLATION_NAME", false}, {"COLUMN_TYPE", false}, {"COLUMN_KEY", false}, {"EXTRA", false},
	{"PRIVILEGES", false}, {"COLUMN_COMMENT", false}, {"COLUMN_SIZE", true}, {"DECIMAL_DIGITS", true},
	{"GENERATION_EXPRESSION", false}, {"SRS_ID", true},
}

// infoColumn is a column of an information_schema table; num marks a
// BIGINT one.
type infoColumn struct {
	name string
	num  bool
}

// whereClause is a WHERE of equalities joined by AND, and an ORDER BY.
type whereClause struct {
	eq    map[string]string // lower-case column → value
	order []orderKey
}

type orderKey struct {
	col  string // lower case
	desc bool
}

// parseTail reads what follows FROM: `WHERE a = 'x' AND b = 'y' ORDER BY
// c`, with values quoted as go-sql-driver's interpolation quotes them. ok
// is false for anything else.
func parseTail(rest string) (w whereClause, ok bool) {
	m := reTail.FindStringSubmatch(rest)
	if m == nil {
		return w, false
	}
	w.eq = map[string]string{}
	for cond := strings.TrimSpace(m[1]); cond != ""; {
		e := reEqual.FindStringSubmatch(cond)
		if e == nil {
			return w, false
		}
		w.eq[strings.ToLower(e[1])] = unquote(e[2])
		cond = strings.TrimSpace(cond[len(e[0]):])
		if cond == "" {
			break
		}
		a := reAnd.FindString(cond)
		if a == "" {
			return w, false
		}
		cond = strings.TrimSpace(cond[len(a):])
		if cond == "" {
			return w, false
		}
	}
	if o := strings.TrimSpace(m[2]); o != "" {
		for _, k := range strings.Split(o, ",") {
			km := reOrderKey.FindStringSubmatch(strings.TrimSpace(k))
			if km == nil {
				return w, false
			}
			w.order = append(w.order, orderKey{col: strings.ToLower(km[1]), desc: strings.EqualFold(km[2], "desc")})
		}
	}
	return w, true
}

// unquote undoes backslash escapes and doubled quotes inside '…'.
func unquote(s string) string {
	if !strings.ContainsAny(s, `\'`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c == '\\' || c == '\'') && i+1 < len(s) {
			i++
			c = s[i]
			if s[i-1] == '\\' {
				switch c {
				case 'n':
					c = '\n'
				case 'r':
					c = '\r'
				case '0':
					c = 0
				case 'Z':
					c = 0x1a
				}
			}
		}
		b.WriteByte(c)
	}
	return b.String()
}

// columns answers SELECT … FROM information_schema.columns; ok is false
// when the query is not one it understands.
func (h *handler) columns(selectList, rest string) (res *sqltypes.Result, ok bool, err error) {
	w, ok := parseTail(rest)
	if !ok {
		return nil, false, nil
	}
	var cols []int
	if strings.TrimSpace(selectList) == "*" {
		for i := range columnsColumns {
			cols = append(cols, i)
		}
	} else {
		for _, item := range strings.Split(selectList, ",") {
			m := reIdent.FindStringSubmatch(strings.TrimSpace(item))
			if m == nil {
				return nil, false, nil // an expression: go-mysql-server's
			}
			i := slices.IndexFunc(columnsColumns, func(c infoColumn) bool { return strings.EqualFold(c.name, m[1]) })
			if i < 0 {
				return nil, true, fmt.Errorf("Unknown column '%s' in 'field list'", m[1])
			}
			cols = append(cols, i)
		}
	}
	for k := range w.eq {
		if !slices.ContainsFunc(columnsColumns, func(c infoColumn) bool { return strings.EqualFold(c.name, k) }) {
			return nil, true, fmt.Errorf("Unknown column '%s' in 'where clause'", k)
		}
	}
	for _, o := range w.order {
		if o.col != "table_schema" && o.col != "table_name" && o.col != "column_name" && o.col != "ordinal_position" {
			return nil, false, nil
		}
	}

	type row struct {
		db, table string
		pos       int
		vals      map[string]sqltypes.Value
	}
	var rows []row
	h.s.mu.Lock()
	be := h.s.set.InfoSchema == "be"
	for dbName, d := range h.s.dbs {
		if v, ok := w.eq["table_schema"]; ok && v != dbName {
			continue
		}
		for name, t := range d.tables {
			if v, ok := w.eq["table_name"]; ok && v != name {
				continue
			}
			t.mu.RLock()
			for i := range t.def.Columns {
				vals := columnRow(dbName, name, i, &t.def, be)
				if matches(vals, w.eq) {
					rows = append(rows, row{db: dbName, table: name, pos: i + 1, vals: vals})
				}
			}
			t.mu.RUnlock()
		}
	}
	h.s.mu.Unlock()

	order := w.order
	if len(order) == 0 { // StarRocks answers table by table, columns in order
		order = []orderKey{{col: "table_schema"}, {col: "table_name"}, {col: "ordinal_position"}}
	}
	slices.SortStableFunc(rows, func(a, b row) int {
		for _, o := range order {
			var c int
			switch o.col {
			case "table_schema":
				c = cmp.Compare(a.db, b.db)
			case "table_name":
				c = cmp.Compare(a.table, b.table)
			case "column_name":
				c = cmp.Compare(a.vals["COLUMN_NAME"].ToString(), b.vals["COLUMN_NAME"].ToString())
			case "ordinal_position":
				c = cmp.Compare(a.pos, b.pos)
			}
			if o.desc {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		return 0
	})

	res = &sqltypes.Result{}
	for _, i := range cols {
		f := &querypb.Field{Name: columnsColumns[i].name, Type: querypb.Type_VARCHAR, Charset: 33}
		if columnsColumns[i].num {
			f.Type, f.Charset = querypb.Type_INT64, 63
		}
		res.Fields = append(res.Fields, f)
	}
	for _, r := range rows {
		out := make([]sqltypes.Value, len(cols))
		for j, i := range cols {
			out[j] = r.vals[columnsColumns[i].name]
		}
		res.Rows = append(res.Rows, out)
	}
	res.RowsAffected = uint64(len(res.Rows))
	return res, true, nil
}

// matches applies the WHERE equalities to one row.
func matches(vals map[string]sqltypes.Value, eq map[string]string) bool {
	for k, want := range eq {
		v := vals[strings.ToUpper(k)]
		if v.IsNull() || v.ToString() != want {
			return false
		}
	}
	return true
}

// columnRow is one row of information_schema.columns: the column i of def,
// spelt as the FE's describeTable does, or with be as the BE's
// schema_columns_scanner.cpp (type_to_string) does: decimal(p,s) without a
// space, ARRAY, MAP, STRUCT and VARBINARY as unknown, IS_NULLABLE always
// NO.
func columnRow(db, table string, i int, def *schema.Table, be bool) map[string]sqltypes.Value {
	c := &def.Columns[i]
	null := sqltypes.NULL
	str := sqltypes.NewVarChar
	num := func(n int) sqltypes.Value { return sqltypes.NewInt64(int64(n)) }
	yesNo := "NO"
	if c.Nullable && !be {
		yesNo = "YES"
	}
	colType, dt := columnType(c.Type), dataType(c.Type)
	if be {
		colType, dt = beColumnType(c.Type), beDataType(c.Type)
	}
	key := ""
	if c.Key {
		key = def.Model.String()[:3] // PRI, DUP, UNI, AGG as the FE cuts them
	}
	v := map[string]sqltypes.Value{
		"TABLE_CATALOG": null, "TABLE_SCHEMA": str(db), "TABLE_NAME": str(table), "COLUMN_NAME": str(c.Name),
		"ORDINAL_POSITION": num(i + 1), "COLUMN_DEFAULT": null, "IS_NULLABLE": str(yesNo),
		"DATA_TYPE": str(dt), "CHARACTER_MAXIMUM_LENGTH": null, "CHARACTER_OCTET_LENGTH": null,
		"NUMERIC_PRECISION": null, "NUMERIC_SCALE": null, "DATETIME_PRECISION": null,
		"CHARACTER_SET_NAME": null, "COLLATION_NAME": null, "COLUMN_TYPE": str(colType),
		"COLUMN_KEY": str(key), "EXTRA": str(""), "PRIVILEGES": str(""), "COLUMN_COMMENT": str(""),
		"COLUMN_SIZE": null, "DECIMAL_DIGITS": null, "GENERATION_EXPRESSION": null, "SRS_ID": null,
	}
	switch c.Kind {
	case schema.KindChar, schema.KindVarchar, schema.KindString:
		n := textLength(c.Type)
		v["CHARACTER_MAXIMUM_LENGTH"], v["CHARACTER_OCTET_LENGTH"], v["COLUMN_SIZE"] = num(n), num(3*n), num(n)
	case schema.KindDecimal:
		v["NUMERIC_PRECISION"], v["NUMERIC_SCALE"] = num(c.Precision), num(c.Scale)
		v["COLUMN_SIZE"], v["DECIMAL_DIGITS"] = num(c.Precision), num(c.Scale)
	}
	return v
}

// splitType cuts a StarRocks type into its lower-case base name, its (…)
// arguments and its <…> parameters split at top-level commas.
func splitType(typ string) (base string, args []int, params []string) {
	s := strings.ToLower(strings.TrimSpace(typ))
	base = s
	if i := strings.IndexAny(s, "(<"); i >= 0 {
		base = strings.TrimSpace(s[:i])
		rest := s[i:]
		if rest[0] == '(' {
			if end := strings.IndexByte(rest, ')'); end > 0 {
				for _, a := range strings.Split(rest[1:end], ",") {
					if n, err := strconv.Atoi(strings.TrimSpace(a)); err == nil {
						args = append(args, n)
					}
				}
			}
		} else if end := strings.LastIndexByte(rest, '>'); end > 0 {
			depth, start := 0, 1
			for j := 1; j < end; j++ {
				switch rest[j] {
				case '<', '(':
					depth++
				case '>', ')':
					depth--
				case ',':
					if depth == 0 {
						params = append(params, strings.TrimSpace(rest[start:j]))
						start = j + 1
					}
				}
			}
			params = append(params, strings.TrimSpace(rest[start:end]))
		}
	}
	return base, args, params
}

// textLength is a CHAR's or VARCHAR's length: 1 when not given, as in
// StarRocks, and 65533 for STRING.
func textLength(typ string) int {
	base, args, _ := splitType(typ)
	switch {
	case base == "string":
		return 65533
	case len(args) == 1:
		return args[0]
	}
	return 1
}

// columnType spells COLUMN_TYPE as the FE's toMysqlColumnTypeString:
// BOOLEAN and LARGEINT as the MySQL types closest to them, the rest as
// typeSQL.
func columnType(typ string) string {
	switch base, _, _ := splitType(typ); base {
	case "boolean", "bool":
		return "tinyint(1)"
	case "largeint":
		return "bigint(20) unsigned"
	}
	return typeSQL(typ)
}

// typeSQL spells a type as the FE's Type.toSql: integers with MySQL display
// widths, DECIMAL as decimal(p, s), STRING as varchar(65533), and nested
// types by their elements (an ARRAY of DECIMAL by the element's internal
// name, DECIMAL64(p,s), as ArrayType.toSql does).
func typeSQL(typ string) string {
	base, args, params := splitType(typ)
	if isDecimal(base) {
		p, s := decimalArgs(args)
		return fmt.Sprintf("decimal(%d, %d)", p, s)
	}
	switch base {
	case "boolean", "bool":
		return "boolean"
	case "tinyint":
		return "tinyint(4)"
	case "smallint":
		return "smallint(6)"
	case "int", "integer":
		return "int(11)"
	case "bigint":
		return "bigint(20)"
	case "largeint":
		return "largeint(40)"
	case "char", "varchar", "string":
		if base == "string" {
			base = "varchar"
		}
		return fmt.Sprintf("%s(%d)", base, textLength(typ))
	case "binary", "varbinary":
		if len(args) == 1 {
			return fmt.Sprintf("varbinary(%d)", args[0])
		}
		return "varbinary"
	case "array":
		if len(params) == 1 {
			if eb, ea, _ := splitType(params[0]); isDecimal(eb) {
				p, s := decimalArgs(ea)
				return fmt.Sprintf("array<%s(%d,%d)>", decimalName(p), p, s)
			}
			return "array<" + typeSQL(params[0]) + ">"
		}
	case "map":
		if len(params) == 2 {
			return "map<" + typeSQL(params[0]) + "," + typeSQL(params[1]) + ">"
		}
	case "struct":
		fields := make([]string, len(params))
		for i, f := range params {
			name, ft, _ := strings.Cut(f, " ")
			fields[i] = strings.Trim(name, "`") + " " + typeSQL(ft)
		}
		return "struct<" + strings.Join(fields, ", ") + ">"
	}
	return base
}

// beColumnType spells COLUMN_TYPE as the BE scanner's type_to_string.
func beColumnType(typ string) string {
	base, args, _ := splitType(typ)
	switch {
	case isDecimal(base):
		p, s := decimalArgs(args)
		return fmt.Sprintf("decimal(%d,%d)", p, s)
	case base == "array" || base == "map" || base == "struct" || base == "binary" || base == "varbinary":
		return "unknown"
	}
	return columnType(typ)
}

// beDataType spells DATA_TYPE as the BE scanner's
// to_mysql_data_type_string: unknown for the nested and binary types.
func beDataType(typ string) string {
	switch base, _, _ := splitType(typ); base {
	case "array", "map", "struct", "binary", "varbinary":
		return "unknown"
	}
	return dataType(typ)
}

// dataType spells DATA_TYPE as the FE's toMysqlDataTypeString: the base
// name alone.
func dataType(typ string) string {
	base, _, _ := splitType(typ)
	if isDecimal(base) {
		return "decimal"
	}
	switch base {
	case "boolean", "bool":
		return "tinyint"
	case "largeint":
		return "bigint unsigned"
	case "integer":
		return "int"
	case "string":
		return "varchar"
	case "binary":
		return "varbinary"
	default:
		return base
	}
}

// isDecimal reports whether a base type name is one of the DECIMAL types.
func isDecimal(base string) bool {
	switch base {
	case "decimal", "decimalv2", "decimal32", "decimal64", "decimal128", "decimal256", "numeric":
		return true
	}
	return false
}

// decimalArgs is a DECIMAL's precision and scale, StarRocks' DECIMAL(10, 0)
// when not given.
func decimalArgs(args []int) (p, s int) {
	p, s = 10, 0
	if len(args) >= 1 {
		p = args[0]
	}
	if len(args) >= 2 {
		s = args[1]
	}
	return p, s
}

// decimalName is the decimal type StarRocks stores a precision in.
func decimalName(p int) string {
	switch {
	case p <= 9:
		return "DECIMAL32"
	case p <= 18:
		return "DECIMAL64"
	case p <= 38:
		return "DECIMAL128"
	}
	return "DECIMAL256"
}
