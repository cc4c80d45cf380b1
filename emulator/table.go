package emulator

import (
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/tidwall/gjson"

	"github.com/starsink/starsink/schema"
)

// table is one emulated StarRocks table: rows in insertion order with a
// primary-key hash index, so an upsert or delete is O(1).
type table struct {
	mu     sync.RWMutex
	def    schema.Table
	extra  []colExtra     // per column, beside def.Columns
	keys   []int          // indexes of key columns
	rows   [][]any        // nil entries are deleted rows
	index  map[string]int // encoded key → position in rows
	live   int
	holes  int
	keyBuf []byte
	// lastRows is the row count of the table's last Stream Load, the size
	// the next one's rows are allocated for.
	lastRows atomic.Int64
	// schemaVersion counts schema change jobs; applied counts those
	// applied (a load planned before one remaps its rows).
	schemaVersion, applied int
}

// colExtra is what the emulator keeps of a column beyond schema.Column.
type colExtra struct {
	def *string // DEFAULT, as written; nil when none
	agg string  // aggregate function of an Aggregate Key table's value column
}

func newTable(def schema.Table, extra []colExtra) *table {
	extra = append(extra, make([]colExtra, max(0, len(def.Columns)-len(extra)))...)
	t := &table{def: def, extra: extra, index: map[string]int{}}
	for i, c := range def.Columns {
		if c.Key {
			t.keys = append(t.keys, i)
		}
	}
	return t
}

// rowKey encodes the key columns of row.
func (t *table) rowKey(row []any) string {
	b := t.keyBuf[:0]
	for _, k := range t.keys {
		b = appendValue(b, row[k])
		b = append(b, 0)
	}
	t.keyBuf = b
	return string(b)
}

func appendValue(b []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, "\\N"...)
	case string:
		return append(b, x...)
	case int64:
		return strconv.AppendInt(b, x, 10)
	case float64:
		return strconv.AppendFloat(b, x, 'g', -1, 64)
	case bool:
		return strconv.AppendBool(b, x)
	}
	return fmt.Append(b, v)
}

// view is what a load reads of the table; callers hold t.mu.
func (t *table) view() tableView {
	v := tableView{def: t.def, extra: t.extra, applied: t.applied}
	v.def.Columns = t.def.Columns[:len(t.def.Columns):len(t.def.Columns)]
	return v
}

// upsert inserts a row or merges it into the row of its key: replaced on
// Primary and Unique Key tables, aggregated column by column on Aggregate
// Key tables, appended on Duplicate Key tables.
func (t *table) upsert(row []any) {
	if len(t.keys) == 0 || t.def.Model == schema.ModelDupKeys {
		t.rows = append(t.rows, row)
		t.live++
		return
	}
	k := t.rowKey(row)
	if i, ok := t.index[k]; ok {
		if t.def.Model == schema.ModelAggKeys {
			old := t.rows[i]
			for c := range row {
				if !t.def.Columns[c].Key {
					old[c] = aggregate(t.extra[c].agg, &t.def.Columns[c], old[c], row[c])
				}
			}
			return
		}
		t.rows[i] = row
		return
	}
	t.index[k] = len(t.rows)
	t.rows = append(t.rows, row)
	t.live++
}

// upsertPartial is a partial update: the present columns of an existing
// row change; a missing row is inserted with the absent columns' defaults
// (the declared DEFAULT, else ” or 0 for a NOT NULL column, else NULL).
func (t *table) upsertPartial(row []any, present []bool, defs []any) {
	k := t.rowKey(row)
	if i, ok := t.index[k]; ok {
		old := t.rows[i]
		for c := range row {
			if present[c] {
				old[c] = row[c]
			}
		}
		return
	}
	for c := range row {
		if !present[c] {
			row[c] = defs[c]
			if row[c] == nil && !t.def.Columns[c].Nullable {
				row[c] = zeroValue(&t.def.Columns[c])
			}
		}
	}
	t.index[k] = len(t.rows)
	t.rows = append(t.rows, row)
	t.live++
}

// jsonString is s as a JSON string value, for convert.
func jsonString(s string) gjson.Result {
	return gjson.Result{Type: gjson.String, Str: s, Raw: strconv.Quote(s)}
}

// remap moves a row planned against cols to the table's current columns
// (a schema change finished in between): dropped columns go, added ones
// take their default.
func (t *table) remap(row []any, present []bool, cols []schema.Column) ([]any, []bool) {
	out, pres := make([]any, len(t.def.Columns)), make([]bool, len(t.def.Columns))
	for i := range t.def.Columns {
		j := -1
		for k := range cols {
			if strings.EqualFold(cols[k].Name, t.def.Columns[i].Name) {
				j = k
			}
		}
		if j >= 0 {
			out[i], pres[i] = row[j], present[j]
		} else if t.extra[i].def != nil {
			out[i], _ = convert(&t.def.Columns[i], jsonString(*t.extra[i].def))
		}
	}
	return out, pres
}

// zeroValue is what a partial update stores in a NOT NULL column without
// a default when it inserts a row: an empty string, a zero number.
func zeroValue(c *schema.Column) any {
	switch c.Kind {
	case schema.KindBoolean:
		return false
	case schema.KindTinyInt, schema.KindSmallInt, schema.KindInt, schema.KindBigInt:
		return int64(0)
	case schema.KindFloat, schema.KindDouble:
		return float64(0)
	case schema.KindLargeInt:
		return "0"
	case schema.KindDecimal:
		d, _ := canonicalDecimal("0", c.Precision, c.Scale)
		return d
	case schema.KindDate:
		return "1970-01-01"
	case schema.KindDatetime:
		return "1970-01-01 00:00:00"
	case schema.KindJSON:
		return "null"
	case schema.KindArray:
		return "[]"
	}
	return ""
}

// aggregate merges a value column of an Aggregate Key table as StarRocks'
// aggregate functions do: SUM adds, MAX and MIN keep the extreme, REPLACE
// takes the new value, REPLACE_IF_NOT_NULL the new value unless it is
// NULL; SUM, MAX and MIN ignore NULLs.
func aggregate(fn string, c *schema.Column, old, v any) any {
	switch fn {
	case "REPLACE", "":
		return v
	case "REPLACE_IF_NOT_NULL":
		if v == nil {
			return old
		}
		return v
	}
	if v == nil {
		return old
	}
	if old == nil {
		return v
	}
	switch fn {
	case "SUM":
		switch x := old.(type) {
		case int64:
			return x + v.(int64)
		case float64:
			return x + v.(float64)
		case string: // DECIMAL, LARGEINT
			a, _ := new(big.Rat).SetString(x)
			b, _ := new(big.Rat).SetString(v.(string))
			if a == nil || b == nil {
				return v
			}
			sum := new(big.Rat).Add(a, b)
			if c.Kind == schema.KindLargeInt {
				return sum.FloatString(0)
			}
			return sum.FloatString(c.Scale)
		}
	case "MAX":
		if compareValues(v, old) > 0 {
			return v
		}
		return old
	case "MIN":
		if compareValues(v, old) < 0 {
			return v
		}
		return old
	}
	return v
}

func (t *table) get(row []any) []any {
	if i, ok := t.index[t.rowKey(row)]; ok {
		return t.rows[i]
	}
	return nil
}

func (t *table) delete(row []any) {
	k := t.rowKey(row)
	if i, ok := t.index[k]; ok {
		delete(t.index, k)
		t.rows[i] = nil
		t.live--
		t.holes++
		if t.holes > 1024 && t.holes > len(t.rows)/2 {
			t.compact()
		}
	}
}

func (t *table) compact() {
	out := t.rows[:0]
	for _, r := range t.rows {
		if r != nil {
			out = append(out, r)
		}
	}
	clear(t.rows[len(out):])
	t.rows = out
	t.holes = 0
	t.index = make(map[string]int, len(out))
	for i, r := range out {
		t.index[t.rowKey(r)] = i
	}
}

func (t *table) truncate() {
	t.rows, t.index, t.live, t.holes = nil, map[string]int{}, 0, 0
}

// snapshot returns a copy of the live rows.
func (t *table) snapshot() [][]any {
	t.mu.RLock()
	defer t.mu.RUnlock()
	out := make([][]any, 0, t.live)
	for _, r := range t.rows {
		if r != nil {
			out = append(out, append([]any(nil), r...))
		}
	}
	return out
}

// convert checks a JSON value against a column and returns the stored Go
// value: int64, float64, bool, string (DECIMAL as text with the column's
// scale, DATE/DATETIME canonical, JSON as compact text) or nil.
func convert(c *schema.Column, v gjson.Result) (any, error) {
	if v.Type == gjson.Null || !v.Exists() {
		return nil, nil // the caller checks NOT NULL
	}
	switch c.Kind {
	case schema.KindBoolean:
		switch v.Type {
		case gjson.True:
			return true, nil
		case gjson.False:
			return false, nil
		case gjson.Number:
			return v.Float() != 0, nil
		case gjson.String:
			// formats/json boolean_column.cpp: "1", "0", "true",
			// "false" in any case.
			switch {
			case v.Str == "1" || strings.EqualFold(v.Str, "true"):
				return true, nil
			case v.Str == "0" || strings.EqualFold(v.Str, "false"):
				return false, nil
			}
		}
	case schema.KindTinyInt, schema.KindSmallInt, schema.KindInt, schema.KindBigInt:
		return convertInt(c, v)
	case schema.KindLargeInt:
		s := v.Raw
		if v.Type == gjson.String {
			s = v.Str
		}
		if _, ok := new(big.Int).SetString(s, 10); ok {
			return s, nil
		}
	case schema.KindFloat, schema.KindDouble:
		s := v.Raw
		if v.Type == gjson.String {
			s = v.Str
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return f, nil
		}
	case schema.KindDecimal:
		s := v.Raw
		if v.Type == gjson.String {
			s = v.Str
		}
		d, err := canonicalDecimal(s, c.Precision, c.Scale)
		if err != nil {
			return nil, castError(s)
		}
		return d, nil
	case schema.KindDate:
		if v.Type == gjson.String {
			if t, err := time.Parse("2006-01-02", v.Str); err == nil {
				return t.Format("2006-01-02"), nil
			}
			if t, err := parseDatetime(v.Str); err == nil {
				return t.Format("2006-01-02"), nil
			}
		}
	case schema.KindDatetime:
		if v.Type == gjson.String {
			if t, err := parseDatetime(v.Str); err == nil {
				return formatDatetime(t), nil
			}
		}
	case schema.KindChar, schema.KindVarchar, schema.KindString:
		s := v.Str
		switch v.Type {
		case gjson.String:
		case gjson.True: // binary_column.cpp add_column_with_boolean_value
			s = "1"
		case gjson.False:
			s = "0"
		default:
			s = v.Raw
		}
		if !utf8.ValidString(s) {
			return nil, &convError{msg: fmt.Sprintf("Invalid argument: invalid UTF-8 in column=%s", c.Name)}
		}
		limit := c.Length
		if c.Kind == schema.KindString {
			limit = 65533
		}
		if limit > 0 && len(s) > limit {
			// formats/json binary_column.cpp; the Status prints its code.
			return nil, &convError{msg: fmt.Sprintf("Invalid argument: Value length is beyond the capacity. column=%s, capacity=%d", c.Name, limit)}
		}
		return s, nil
	case schema.KindJSON:
		// add_native_json_column keeps the value as it is: a JSON
		// string stays a string, even one holding JSON text.
		return compactJSON(v.Raw), nil
	case schema.KindBinary:
		if v.Type == gjson.String {
			return v.Str, nil
		}
	case schema.KindArray, schema.KindMap, schema.KindStruct:
		if v.IsArray() || v.IsObject() {
			return compactJSON(v.Raw), nil
		}
		if v.Type == gjson.String && gjson.Valid(v.Str) {
			return compactJSON(v.Str), nil
		}
	default:
		return v.String(), nil
	}
	s := v.Str
	if v.Type != gjson.String {
		s = v.Raw
	}
	return nil, castError(s)
}

// convError is why a value did not convert. A reader error (the JSON
// scanner's, formats/json) is logged with the JSON row; a cast error
// (FileScanner::materialize: DECIMAL, DATE, DATETIME, LARGEINT are read as
// VARCHAR and cast) with the source row and StarRocks' "Value '…' is out
// of range" text, which parseRows builds.
type convError struct {
	msg  string
	cast bool
	src  string // the source text of a cast error
}

func (e *convError) Error() string { return e.msg }

func castError(s string) error {
	return &convError{cast: true, src: s, msg: "cast of '" + truncate(s, 64) + "' failed"}
}

// convertInt reads an integer as formats/json numeric_column.cpp does,
// with its errors.
func convertInt(c *schema.Column, v gjson.Result) (any, error) {
	bits := map[schema.Kind]uint{schema.KindTinyInt: 8, schema.KindSmallInt: 16, schema.KindInt: 32, schema.KindBigInt: 64}[c.Kind]
	fits := func(n int64) bool { return bits == 64 || n >= -(1<<(bits-1)) && n < 1<<(bits-1) }
	overflow := func(val string) error {
		return &convError{msg: fmt.Sprintf("Invalid argument: Value is overflow. column=%s, value=%s", c.Name, val)}
	}
	fromFloat := func(f float64, val string) (any, error) {
		if f < -(1<<63) || f >= 1<<63 || !fits(int64(f)) {
			return nil, overflow(val)
		}
		return int64(f), nil
	}
	switch v.Type {
	case gjson.Number:
		if n, err := strconv.ParseInt(v.Raw, 10, 64); err == nil {
			if !fits(n) {
				return nil, overflow(v.Raw)
			}
			return n, nil
		} else if !strings.ContainsAny(v.Raw, ".eE") {
			return nil, overflow(v.Raw)
		}
		f, _ := strconv.ParseFloat(v.Raw, 64)
		return fromFloat(f, strconv.FormatFloat(f, 'g', -1, 64))
	case gjson.String:
		s := strings.TrimSpace(v.Str)
		if n, err := strconv.ParseInt(s, 10, 64); err == nil && fits(n) {
			return n, nil
		}
		// "Attemp to parse the string as float."
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return fromFloat(f, strconv.FormatFloat(f, 'g', -1, 64))
		}
		return nil, &convError{msg: fmt.Sprintf("Invalid argument: Unable to cast string value to BIGINT. value=%s, column=%s", v.Str, c.Name)}
	}
	return nil, &convError{msg: fmt.Sprintf("Invalid argument: Unsupported value type. Numeric type is required. column=%s", c.Name)}
}

// typeDebug is TypeDescriptor::debug_string: the type as the BE names it
// in error logs.
func typeDebug(c *schema.Column) string {
	switch c.Kind {
	case schema.KindDecimal:
		name := "DECIMAL128"
		switch {
		case c.Precision <= 9:
			name = "DECIMAL32"
		case c.Precision <= 18:
			name = "DECIMAL64"
		}
		return fmt.Sprintf("%s(%d, %d)", name, c.Precision, c.Scale)
	case schema.KindVarchar, schema.KindString:
		return fmt.Sprintf("VARCHAR(%d)", max(c.Length, 65533*btoi(c.Kind == schema.KindString)))
	case schema.KindChar:
		return fmt.Sprintf("CHAR(%d)", c.Length)
	}
	base, _, _ := splitType(c.Type)
	return strings.ToUpper(base)
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// debugItem is a value as Column::debug_item prints it in a row of the
// error log: strings quoted, NULL as NULL, numbers bare.
func debugItem(v any, quoted bool) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case string:
		if quoted {
			return "'" + x + "'"
		}
		return x
	case bool:
		if x {
			return "1"
		}
		return "0"
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	}
	return fmt.Sprint(v)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func compactJSON(s string) string {
	var b strings.Builder
	inStr, esc := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if inStr {
			b.WriteByte(c)
			switch {
			case esc:
				esc = false
			case c == '\\':
				esc = true
			case c == '"':
				inStr = false
			}
			continue
		}
		switch c {
		case ' ', '\n', '\t', '\r':
			continue
		case '"':
			inStr = true
		}
		b.WriteByte(c)
	}
	return b.String()
}

// canonicalDecimal checks text against DECIMAL(p,s) and returns it with
// exactly s fraction digits. More fraction digits than s are rounded half
// up, as StarRocks does; too many integer digits are an error.
func canonicalDecimal(s string, prec, scale int) (string, error) {
	s = strings.TrimSpace(s)
	if out, ok, err := plainDecimal(s, prec, scale); ok {
		return out, err
	}
	return ratDecimal(s, prec, scale)
}

// ratDecimal is canonicalDecimal for any text big.Rat reads.
func ratDecimal(s string, prec, scale int) (string, error) {
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return "", fmt.Errorf("%q is not a decimal", truncate(s, 64))
	}
	out := r.FloatString(scale)
	digits := 0
	for _, ch := range out {
		if ch >= '0' && ch <= '9' {
			digits++
		}
	}
	intDigits := digits - scale
	if strings.HasPrefix(strings.TrimPrefix(out, "-"), "0") {
		intDigits = 0
	}
	if intDigits > prec-scale {
		return "", fmt.Errorf("%s does not fit DECIMAL(%d,%d)", truncate(s, 64), prec, scale)
	}
	if out == "-0" || strings.HasPrefix(out, "-0.") && strings.Trim(out[3:], "0") == "" {
		out = out[1:]
	}
	return out, nil
}

// plainDecimal is canonicalDecimal for the common text, [-]digits[.digits]
// with no more fraction digits than scale, without big.Rat; ok is false
// for anything else (rounding, exponents, a sign of +, a bare point).
func plainDecimal(s string, prec, scale int) (out string, ok bool, err error) {
	i, neg := 0, false
	if i < len(s) && s[i] == '-' {
		i, neg = 1, true
	}
	start := i
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	intPart, frac := s[start:i], ""
	if intPart == "" {
		return "", false, nil
	}
	if i < len(s) {
		if s[i] != '.' {
			return "", false, nil
		}
		fs := i + 1
		for i = fs; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		}
		if i != len(s) || i == fs {
			return "", false, nil
		}
		frac = s[fs:]
	}
	if len(frac) > scale {
		return "", false, nil
	}
	intPart = strings.TrimLeft(intPart, "0")
	if len(intPart) > prec-scale {
		return "", true, fmt.Errorf("%s does not fit DECIMAL(%d,%d)", truncate(s, 64), prec, scale)
	}
	zero := intPart == "" && strings.Trim(frac, "0") == ""
	b := make([]byte, 0, len(intPart)+scale+3)
	if neg && !zero {
		b = append(b, '-')
	}
	if intPart == "" {
		b = append(b, '0')
	}
	b = append(b, intPart...)
	if scale > 0 {
		b = append(b, '.')
		b = append(b, frac...)
		for k := len(frac); k < scale; k++ {
			b = append(b, '0')
		}
	}
	return string(b), true, nil
}

var datetimeLayouts = []string{
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05",
	"2006-01-02T15:04:05Z07:00",
	time.RFC3339Nano,
	"2006-01-02",
}

func parseDatetime(s string) (time.Time, error) {
	for _, l := range datetimeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, nil
		}
	}
	if s == "0000-01-01 00:00:00" {
		return time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC), nil
	}
	return time.Time{}, fmt.Errorf("%q is not a DATETIME", s)
}

func formatDatetime(t time.Time) string {
	if t.Nanosecond()/1000 != 0 {
		return t.Format("2006-01-02 15:04:05.000000")
	}
	return t.Format("2006-01-02 15:04:05")
}
