package emulator

import (
	"fmt"
	"strconv"
	"strings"
	"unsafe"

	"github.com/tidwall/gjson"

	"github.com/starsink/starsink/schema"
)

// tableView is what a load reads of a table: its schema and the
// emulator's own column attributes (defaults, aggregate functions).
type tableView struct {
	def     schema.Table
	extra   []colExtra
	applied int // the table's schema changes applied when it was read
}

// Slot kinds of a columns-header entry besides a table column's index.
const (
	slotOp      = -1 // __op
	slotIgnored = -2 // a name the table lacks: read into nothing (F6)
)

// loadPlan is what the FE's planning (Load.initColumns,
// streamLoadPut) makes of the headers against a table.
type loadPlan struct {
	specs  []colSpec
	idx    []int  // per spec: table column, slotOp or slotIgnored
	listed []bool // per table column: named by the header
	defs   []any  // per table column: its default as stored (nil: none or NULL)
	mc     int    // merge_condition column, -1 none
	view   *tableView
}

// planLoad checks the headers against the table as StarRocks' FE does and
// answers its errors (each fails the load before a row is read).
func planLoad(v *tableView, o loadOptions) (*loadPlan, error) {
	def := &v.def
	p := &loadPlan{view: v, specs: append([]colSpec(nil), o.columns...), listed: make([]bool, len(def.Columns)), defs: make([]any, len(def.Columns)), mc: -1}
	if len(p.specs) == 0 {
		for _, c := range def.Columns {
			p.specs = append(p.specs, colSpec{name: c.Name})
		}
	}
	pk := def.Model == schema.ModelPrimaryKeys
	if o.partial && !pk {
		// StreamLoadPlanner.plan, before the partial columns are read.
		return nil, fmt.Errorf("Only primary key table support partial update")
	}
	seen := map[string]bool{}
	p.idx = make([]int, len(p.specs))
	for i, cs := range p.specs {
		low := strings.ToLower(cs.name)
		if seen[low] {
			return nil, fmt.Errorf("Duplicate column: %s", cs.name)
		}
		seen[low] = true
		if low == "__op" {
			// Load.initColumns: __op is a slot of Primary Key tables
			// only; elsewhere it is a name the table lacks.
			p.idx[i] = slotOp
			if !pk {
				p.idx[i] = slotIgnored
				continue
			}
			if cs.expr != "" {
				// A constant: 'upsert'/'delete' become 0/1, an integer
				// stays, anything else is refused.
				switch {
				case cs.konst == nil:
				case strings.HasPrefix(cs.expr, "'"):
					switch op := strings.ToLower(*cs.konst); op {
					case "upsert", "delete":
						k := map[string]string{"upsert": "0", "delete": "1"}[op]
						p.specs[i].konst = &k
					default:
						return nil, fmt.Errorf("load op type string not supported: %s", op)
					}
				}
				if cs.konst == nil && !isIdent(cs.expr) {
					return nil, fmt.Errorf("const load op type column should only be upsert(0)/delete(1)")
				}
			}
			continue
		}
		// Load.initColumns: a name that is not a table column gets a
		// non-materialized slot; its values are read into nothing.
		if p.idx[i] = def.Index(cs.name); p.idx[i] < 0 {
			p.idx[i] = slotIgnored
			continue
		}
		p.listed[p.idx[i]] = true
	}
	if pk && o.format == "JSON" && !seen["__op"] {
		// Load.initColumns: "stream load json will automatically check
		// __op field in json object".
		p.specs = append(p.specs[:len(p.specs):len(p.specs)], colSpec{name: "__op"})
		p.idx = append(p.idx, slotOp)
	}
	for k, c := range def.Columns {
		if k < len(v.extra) && v.extra[k].def != nil {
			val, err := convert(&def.Columns[k], gjson.Result{Type: gjson.String, Str: *v.extra[k].def, Raw: strconv.Quote(*v.extra[k].def)})
			if err == nil {
				p.defs[k] = val
			}
		}
		if p.listed[k] {
			continue
		}
		switch {
		case o.partial && c.Key:
			// Load.getPartialUpateColumns
			return nil, fmt.Errorf("key column %s not in partial update columns", c.Name)
		case o.partial:
		case !c.Nullable && (k >= len(v.extra) || v.extra[k].def == nil):
			return nil, fmt.Errorf("Column has no default value. column: %s", c.Name)
		}
	}
	if o.mergeCond != "" {
		// Load.checkMergeCondition, against the partial update's columns
		// or the table's.
		if !pk {
			return nil, fmt.Errorf("Conditional update only support primary key table %s", def.Name)
		}
		mc := def.Index(o.mergeCond)
		if mc < 0 || o.partial && !p.listed[mc] {
			return nil, fmt.Errorf("Merge condition column %s does not exist. If you are doing partial update with condition update, please check condition column is in the given update columns. Otherwise please check condition column is in table %s", o.mergeCond, def.Name)
		}
		if def.Columns[mc].Key {
			return nil, fmt.Errorf("Merge condition column %s should not be primary key!", o.mergeCond)
		}
		p.mc = mc
	}
	return p, nil
}

// parseRows turns a body into ops in file order; rows that do not fit are
// returned as reasons (the filtered rows), one line each as StarRocks
// writes its error log ("Error: … Row: …").
//
// A value that does not convert (a string longer than its VARCHAR in
// bytes, a DECIMAL with too many integer digits, an integer out of range,
// an unparsable or out-of-range date) is NULL unless strict: the scanners
// read with invalid_as_null = !strict_mode (formats/json
// add_adaptive_nullable_column, FileScanner::materialize). A NULL in a
// NOT NULL column then filters the row (OlapTableSink::_validate_data),
// delete rows included.
//
// rowsHint is the number of rows expected (the table's last load), to size
// ops at once.
func parseRows(v *tableView, p *loadPlan, body []byte, o loadOptions, rowsHint int) (ops []op, reasons []string, total int64, err error) {
	def := &v.def
	ops = make([]op, 0, rowsHint)
	specs, idx := p.specs, p.idx
	// Rows are cut from slabs of slabRows rows: two allocations per row
	// were a tenth of a load's cost.
	const slabRows = 1024
	var vals []any
	var pres []bool
	reject := func(msg, src string) {
		reasons = append(reasons, "Error: "+msg+". Row: "+truncate(src, 200))
	}
	var firstCast *convError
	castCol := -1
	build := func(src string, get func(i int, cs colSpec) (gjson.Result, bool)) {
		total++
		n := len(def.Columns)
		if len(vals) < n {
			vals, pres = make([]any, slabRows*n), make([]bool, slabRows*n)
		}
		o2 := op{row: vals[:n:n], present: pres[:n:n], size: len(src)}
		vals, pres = vals[n:], pres[n:]
		firstCast, castCol = nil, -1
		for i, cs := range specs {
			if idx[i] == slotIgnored {
				continue
			}
			v, ok := get(i, cs)
			if cs.konst != nil {
				v, ok = gjson.Result{Type: gjson.String, Str: *cs.konst, Raw: strconv.Quote(*cs.konst)}, true
			}
			if idx[i] == slotOp {
				// A TINYINT slot: 1 deletes (TOpType.DELETE); 0, NULL and
				// any other number upsert (other numbers: not confirmed).
				if !ok || v.Type == gjson.Null {
					continue
				}
				n, cerr := convert(&opColumn, v)
				if cerr != nil && o.strict {
					reject(cerr.Error(), src)
					return
				}
				o2.delete = n == int64(1)
				continue
			}
			if !ok {
				continue
			}
			c := &def.Columns[idx[i]]
			val, cerr := convert(c, v)
			if cerr != nil {
				if o.strict {
					ce, _ := cerr.(*convError)
					if ce == nil || !ce.cast {
						// The reader's error comes first, with the JSON row.
						reject(cerr.Error(), src)
						return
					}
					if firstCast == nil {
						firstCast, castCol = ce, idx[i]
					}
				}
				val = nil // non-strict: a failed conversion loads NULL
			}
			o2.row[idx[i]] = val
			o2.present[idx[i]] = true
		}
		if firstCast != nil {
			// FileScanner::materialize, strict mode: the source row.
			reject(fmt.Sprintf("Value ''%s'' is out of range. The type of '%s' is %s", firstCast.src, def.Columns[castCol].Name,
				typeDebug(&def.Columns[castCol])), sourceRow(def, specs, idx, get))
			return
		}
		for k := range def.Columns {
			c := &def.Columns[k]
			if !p.listed[k] && !o.partial {
				o2.row[k], o2.present[k] = p.defs[k], true
			}
			if p.listed[k] {
				o2.present[k] = true // a listed key the row lacks is NULL
			}
			if o2.present[k] && o2.row[k] == nil && !c.Nullable {
				// OlapTableSink::_validate_data: the row as loaded.
				reject(fmt.Sprintf("NULL value in non-nullable column '%s'", c.Name), destRow(def, o2.row))
				return
			}
		}
		ops = append(ops, o2)
	}
	switch o.format {
	case "JSON":
		if !gjson.ValidBytes(body) {
			return nil, nil, 0, fmt.Errorf("The input JSON is invalid")
		}
		// The body is never modified once read: gjson reads it in place
		// (ParseBytes would copy it whole) and stored strings point into it.
		root := gjson.Parse(unsafe.String(unsafe.SliceData(body), len(body)))
		// Simple mode reads each object once, its members matched to the
		// columns by name (the first of a repeated name wins, as with a
		// lookup); jsonpaths mode looks each path up.
		byName := make(map[string]int, len(specs))
		for i := len(specs) - 1; i >= 0; i-- {
			byName[specs[i].name] = i
		}
		got := make([]gjson.Result, len(specs))
		one := func(obj gjson.Result) {
			if !obj.IsObject() {
				total++
				reject("A JSON row must be an object", obj.Raw)
				return
			}
			if o.jsonPaths != nil {
				build(obj.Raw, func(i int, cs colSpec) (gjson.Result, bool) {
					if i >= len(o.jsonPaths) {
						return gjson.Result{}, false
					}
					v := obj.Get(strings.TrimPrefix(strings.TrimPrefix(o.jsonPaths[i], "$."), "$"))
					return v, v.Exists()
				})
				return
			}
			clear(got)
			obj.ForEach(func(k, v gjson.Result) bool {
				if i, ok := byName[k.Str]; ok && !got[i].Exists() {
					got[i] = v
				}
				return true
			})
			build(obj.Raw, func(i int, _ colSpec) (gjson.Result, bool) { return got[i], got[i].Exists() })
		}
		switch {
		case root.IsArray() && o.stripOuter:
			root.ForEach(func(_, v gjson.Result) bool { one(v); return true })
		case root.IsArray():
			return nil, nil, 0, fmt.Errorf("JSON data is an array, strip_outer_array must be set true")
		default:
			one(root)
		}
	case "CSV":
		fieldsWanted := 0
		for _, cs := range specs {
			if cs.konst == nil {
				fieldsWanted++
			}
		}
		for _, line := range strings.Split(strings.TrimSuffix(string(body), o.rowSep), o.rowSep) {
			if line == "" && len(body) == 0 {
				break
			}
			fields := strings.Split(line, o.colSep)
			if len(fields) != fieldsWanted {
				total++
				reject(fmt.Sprintf("Value count does not match column count. Expect %d, but got %d", fieldsWanted, len(fields)), line)
				continue
			}
			build(line, func(i int, cs colSpec) (gjson.Result, bool) {
				pos := 0
				for k := 0; k < i; k++ {
					if specs[k].konst == nil {
						pos++
					}
				}
				f := fields[pos]
				if f == `\N` {
					return gjson.Result{Type: gjson.Null, Raw: "null"}, true
				}
				return gjson.Result{Type: gjson.String, Str: f, Raw: strconv.Quote(f)}, true
			})
		}
	}
	return ops, reasons, total, nil
}

// readAsVarchar reports whether the JSON reader reads a column's values as
// VARCHAR (cast later) or as text: their debug items are quoted.
func readAsVarchar(c *schema.Column) bool {
	switch c.Kind {
	case schema.KindBoolean, schema.KindTinyInt, schema.KindSmallInt, schema.KindInt, schema.KindBigInt,
		schema.KindFloat, schema.KindDouble:
		return false
	}
	return true
}

// sourceRow is Chunk::debug_row of the scanner's source chunk: the
// header's slots in order, as read.
func sourceRow(def *schema.Table, specs []colSpec, idx []int, get func(i int, cs colSpec) (gjson.Result, bool)) string {
	var b strings.Builder
	b.WriteByte('[')
	first := true
	for i, cs := range specs {
		if idx[i] == slotIgnored {
			continue
		}
		if !first {
			b.WriteString(", ")
		}
		first = false
		v, ok := get(i, cs)
		if cs.konst != nil {
			v, ok = gjson.Result{Type: gjson.String, Str: *cs.konst}, true
		}
		switch {
		case idx[i] == slotOp && !ok:
			b.WriteString("0") // the JSON reader fills a missing __op with 0
		case !ok || v.Type == gjson.Null:
			b.WriteString("NULL")
		case idx[i] == slotOp || !readAsVarchar(&def.Columns[idx[i]]):
			val, err := convert(&schema.Column{Kind: schema.KindBigInt, Type: "bigint"}, v)
			if idx[i] >= 0 {
				val, err = convert(&def.Columns[idx[i]], v)
			}
			if err != nil {
				val = nil
			}
			b.WriteString(debugItem(val, false))
		default:
			s := v.Str
			if v.Type != gjson.String {
				s = v.Raw
			}
			b.WriteString("'" + s + "'")
		}
	}
	b.WriteByte(']')
	return b.String()
}

// destRow is Chunk::debug_row of the row the sink validates: the table's
// columns as loaded.
func destRow(def *schema.Table, row []any) string {
	var b strings.Builder
	b.WriteByte('[')
	for k, v := range row {
		if k > 0 {
			b.WriteString(", ")
		}
		c := &def.Columns[k]
		b.WriteString(debugItem(v, c.Kind == schema.KindChar || c.Kind == schema.KindVarchar || c.Kind == schema.KindString))
	}
	b.WriteByte(']')
	return b.String()
}

// opColumn is the __op slot: TINYINT.
var opColumn = schema.Column{Name: "__op", Type: "tinyint", Kind: schema.KindTinyInt, Nullable: true}

// isIdent reports whether an expression of the columns header is a plain
// name (a mapping from another field), not a constant or a call.
func isIdent(s string) bool {
	s = strings.Trim(s, "`")
	if s == "" {
		return false
	}
	for _, c := range s {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return !(s[0] >= '0' && s[0] <= '9')
}
