package ddl

import (
	"fmt"
	"sort"
	"strings"

	"github.com/starsink/starsink/config"
	"github.com/starsink/starsink/schema"
)

// Class grades a difference between a topic's source and its table.
type Class string

const (
	// ClassError: a value can be refused, NULLed or altered, or the worker
	// would stop.
	ClassError Class = "error"
	// ClassWarning: nothing is altered, but something is not loaded or not
	// known.
	ClassWarning Class = "warning"
	// ClassOK: the column holds every value of its source type.
	ClassOK Class = "ok"
)

// Difference is one finding of a plan.
type Difference struct {
	Class   Class  `json:"class"`
	Column  string `json:"column,omitempty"`
	Message string `json:"message"`
}

// Kinds of Change, also the kind label of starsink_ddl_total.
const (
	KindCreateTable  = "create_table"
	KindCreateView   = "create_view"
	KindAddColumn    = "add_column"
	KindModifyColumn = "modify_column"
)

// Change is one DDL statement a plan would run.
type Change struct {
	Kind   string `json:"kind"`
	Column string `json:"column,omitempty"`
	SQL    string `json:"sql"`
}

// Options are the table options that change a plan.
type Options struct {
	// Versioned: the table stores versioned inserts (Duplicate Key, with
	// VersionColumn and DeletedColumn, and the latest-row view).
	Versioned                    bool
	VersionColumn, DeletedColumn string
	// GuardColumn is the version guard column of a Primary Key table
	// (merge_condition), BIGINT; "" = none.
	GuardColumn string
	// Properties are the created table's PROPERTIES.
	Properties map[string]string
	// CreateTables: a missing table is created by the worker (a warning
	// rather than an error).
	CreateTables bool
}

// OptionsFor gathers the plan options of a mapped table: its mapping.tables
// entry and the global mapping keys. A version_column on a table that is
// not versioned is its version guard column.
func OptionsFor(t config.TableOptions, m config.Mapping) Options {
	o := Options{Properties: m.TableProperties, CreateTables: m.CreateTables}
	if t.Versioned() {
		o.Versioned = true
		o.VersionColumn, o.DeletedColumn = t.VersionColumns()
	} else if t.VersionColumn != "" {
		o.GuardColumn = t.VersionColumn
	}
	return o
}

// TablePlan is what starsink would do for one topic's table.
type TablePlan struct {
	Database string `json:"database"`
	Table    string `json:"table"`
	Exists   bool   `json:"exists"`
	// Columns are the columns the source maps to (key columns first), as
	// the table would be created; empty without schemas.
	Columns []Mapped `json:"-"`
	// DDL: CREATE TABLE (and the versioned view) when the table is
	// missing; otherwise the ALTERs mapping.evolve would run.
	DDL         []Change     `json:"ddl"`
	Differences []Difference `json:"differences"`
	// Unknown says what the plan cannot know (no schemas, a tombstone).
	Unknown []string `json:"unknown,omitempty"`
}

// HasErrors reports whether any difference is an error.
func (p *TablePlan) HasErrors() bool {
	for _, d := range p.Differences {
		if d.Class == ClassError {
			return true
		}
	}
	return false
}

func (p *TablePlan) add(c Class, col, format string, a ...any) {
	p.Differences = append(p.Differences, Difference{Class: c, Column: col, Message: fmt.Sprintf(format, a...)})
}

// Plan compares a topic's source (from its latest record; nil when the
// topic has none) with its StarRocks table (nil when missing) and returns
// the DDL starsink would run and every difference, classed.
func Plan(db, table string, src *Source, existing *schema.Table, opts Options) *TablePlan {
	p := &TablePlan{Database: db, Table: table, Exists: existing != nil}
	if src == nil {
		p.Unknown = append(p.Unknown, "the topic has no record with a value: nothing to compare")
		if existing == nil {
			p.add(missingClass(opts), "", "table %s.%s does not exist, and the topic holds no record to create it from", db, table)
		}
		return p
	}
	if !src.Typed {
		p.Unknown = append(p.Unknown, "the records carry no schema (schemas.enable=false): types, lengths and nullability are unknown; only column names are compared")
	}
	if len(src.Key) == 0 {
		c := ClassError
		if opts.Versioned || existing != nil && existing.Model != schema.ModelPrimaryKeys {
			c = ClassWarning
		}
		p.add(c, "", "the records have no key: a Primary Key table cannot be updated from them")
	}
	var cols []Mapped
	if src.Typed {
		var errs []Difference
		cols, errs = Desired(src, opts)
		p.Columns = cols
		p.Differences = append(p.Differences, errs...)
	}
	if n := keyBytes(cols); n > PrimaryKeyLimit && !opts.Versioned && (existing == nil || existing.Model == schema.ModelPrimaryKeys) {
		p.add(ClassWarning, "", "the key can take up to %d bytes: StarRocks refuses a load whose encoded key is longer than the BE's primary_key_limit_size (%d bytes by default)", n, PrimaryKeyLimit)
	}
	if existing == nil {
		p.add(missingClass(opts), "", "table %s.%s does not exist: %s", db, table, missingHint(opts))
		switch {
		case !src.Typed:
			p.Unknown = append(p.Unknown, "no DDL without schemas")
		case len(src.Key) == 0 && !opts.Versioned:
			p.Unknown = append(p.Unknown, "no DDL: a Primary Key table needs the record key's fields")
		default:
			p.DDL = CreateDDL(db, table, cols, keyNames(src), opts)
			for _, c := range cols {
				if c.Inexact != "" {
					p.add(ClassWarning, c.Name, "%s: %s", c.Type, c.Inexact)
				}
			}
		}
		return p
	}
	compareTable(p, src, cols, existing, opts)
	return p
}

// PrimaryKeyLimit is StarRocks' default primary_key_limit_size (be.conf):
// a load with a longer encoded key fails (PrimaryKeyEncoder::encode_exceed_limit).
const PrimaryKeyLimit = 128

// keyBytes is the most bytes the key columns can take.
func keyBytes(cols []Mapped) int {
	n := 0
	for _, c := range cols {
		if !c.Key {
			continue
		}
		switch c.Kind {
		case schema.KindBoolean, schema.KindTinyInt:
			n++
		case schema.KindSmallInt:
			n += 2
		case schema.KindInt, schema.KindDate:
			n += 4
		case schema.KindBigInt, schema.KindDatetime:
			n += 8
		case schema.KindLargeInt:
			n += 16
		default:
			n += textBytes(c)
		}
	}
	return n
}

func missingClass(o Options) Class {
	if o.CreateTables {
		return ClassWarning
	}
	return ClassError
}

func missingHint(o Options) string {
	if o.CreateTables {
		return "mapping.create_tables creates it before the first load"
	}
	return "loads would fail; run the DDL or set mapping.create_tables: true"
}

func keyNames(src *Source) []string {
	out := make([]string, len(src.Key))
	for i, k := range src.Key {
		out[i] = k.Name
	}
	return out
}

// Desired maps a typed source to the table's columns: key columns first in
// key order (StarRocks wants them so), then the other columns in source
// order, then the versioned mode's or the version guard's columns. Fields
// that cannot be mapped are returned as errors and left out.
func Desired(src *Source, opts Options) ([]Mapped, []Difference) {
	var (
		out  []Mapped
		errs []Difference
	)
	isKey := make(map[string]bool, len(src.Key))
	for _, k := range src.Key {
		isKey[strings.ToLower(k.Name)] = true
		f := &k
		for i := range src.Columns { // the value's field may carry more parameters
			if strings.EqualFold(src.Columns[i].Name, k.Name) {
				f = &src.Columns[i]
				break
			}
		}
		m, err := Map(f, true)
		if err != nil {
			errs = append(errs, Difference{Class: ClassError, Column: k.Name, Message: err.Error()})
			continue
		}
		m.SourceNullable = f.Optional
		out = append(out, m)
	}
	for i := range src.Columns {
		f := &src.Columns[i]
		if isKey[strings.ToLower(f.Name)] || isExtra(f.Name, opts) {
			continue
		}
		m, err := Map(f, false)
		if err != nil {
			errs = append(errs, Difference{Class: ClassError, Column: f.Name, Message: err.Error()})
			continue
		}
		m.SourceNullable = f.Optional
		out = append(out, m)
	}
	for _, e := range extras(opts) {
		out = append(out, e)
	}
	return out, errs
}

// isExtra reports whether name is a column starsink fills itself: message
// fields with those names are never loaded into them.
func isExtra(name string, o Options) bool {
	for _, e := range extras(o) {
		if strings.EqualFold(e.Name, name) {
			return true
		}
	}
	return false
}

// extras are the columns starsink fills itself.
func extras(o Options) []Mapped {
	switch {
	case o.Versioned:
		return []Mapped{
			{Column: schema.NewColumn(o.VersionColumn, "BIGINT", false, false), Source: "the change's version (source.lsn; 0 for snapshot reads)"},
			{Column: schema.NewColumn(o.DeletedColumn, "BOOLEAN", false, false), Source: "true for deletes"},
		}
	case o.GuardColumn != "":
		return []Mapped{{Column: schema.NewColumn(o.GuardColumn, "BIGINT", true, false), Source: "the change's version (version guard)"}}
	}
	return nil
}

// Quote quotes a StarRocks identifier.
func Quote(name string) string { return "`" + strings.ReplaceAll(name, "`", "``") + "`" }

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = Quote(n)
	}
	return strings.Join(q, ", ")
}

func columnDef(m Mapped) string {
	null := " NULL"
	if !m.Nullable {
		null = " NOT NULL"
	}
	return Quote(m.Name) + " " + m.Type + null
}

// CreateDDL returns the statements that create the table: a Primary Key
// table (a Duplicate Key table and its latest-row view in versioned mode)
// distributed by hash of the key with StarRocks' automatic bucketing (no
// BUCKETS clause), with opts.Properties.
func CreateDDL(db, table string, cols []Mapped, keys []string, opts Options) []Change {
	var b strings.Builder
	b.WriteString("CREATE TABLE IF NOT EXISTS " + Quote(db) + "." + Quote(table) + " (\n")
	for i, c := range cols {
		b.WriteString("  " + columnDef(c))
		if i < len(cols)-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString(")\n")
	model := "PRIMARY KEY"
	if opts.Versioned {
		model = "DUPLICATE KEY"
	}
	b.WriteString(model + " (" + quoteList(keys) + ")\n")
	b.WriteString("DISTRIBUTED BY HASH (" + quoteList(keys) + ")")
	if len(opts.Properties) > 0 {
		names := make([]string, 0, len(opts.Properties))
		for n := range opts.Properties {
			names = append(names, n)
		}
		sort.Strings(names)
		b.WriteString("\nPROPERTIES (")
		for i, n := range names {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%q = %q", n, opts.Properties[n])
		}
		b.WriteString(")")
	}
	out := []Change{{Kind: KindCreateTable, SQL: b.String()}}
	if opts.Versioned {
		out = append(out, Change{Kind: KindCreateView, SQL: viewDDL(db, table, cols, keys, opts)})
	}
	return out
}

// ViewName is the latest-row view of a versioned table: the table's name
// without a "_versions" suffix, then "_latest".
func ViewName(table string) string { return strings.TrimSuffix(table, "_versions") + "_latest" }

func viewDDL(db, table string, cols []Mapped, keys []string, o Options) string {
	var names []string
	for _, c := range cols {
		if !strings.EqualFold(c.Name, o.VersionColumn) && !strings.EqualFold(c.Name, o.DeletedColumn) {
			names = append(names, c.Name)
		}
	}
	return "CREATE VIEW IF NOT EXISTS " + Quote(db) + "." + Quote(ViewName(table)) + " AS\n" +
		"SELECT " + quoteList(names) + " FROM (\n" +
		"  SELECT *, ROW_NUMBER() OVER (PARTITION BY " + quoteList(keys) + " ORDER BY " + Quote(o.VersionColumn) + " DESC) AS `__rn`\n" +
		"  FROM " + Quote(db) + "." + Quote(table) + ") `latest`\n" +
		"WHERE `__rn` = 1 AND NOT " + Quote(o.DeletedColumn)
}

// AddColumnDDL is the ALTER that adds a mapped column (always nullable:
// StarRocks needs a default for a NOT NULL column added to a table with rows).
func AddColumnDDL(db, table string, m Mapped) Change {
	return Change{Kind: KindAddColumn, Column: m.Name,
		SQL: "ALTER TABLE " + Quote(db) + "." + Quote(table) + " ADD COLUMN " + Quote(m.Name) + " " + m.Type + " NULL"}
}

// ModifyColumnDDL is the ALTER that gives an existing column a wider type,
// keeping its nullability.
func ModifyColumnDDL(db, table string, col schema.Column, typ string) Change {
	null := " NULL"
	if !col.Nullable {
		null = " NOT NULL"
	}
	return Change{Kind: KindModifyColumn, Column: col.Name,
		SQL: "ALTER TABLE " + Quote(db) + "." + Quote(table) + " MODIFY COLUMN " + Quote(col.Name) + " " + typ + null}
}

// compareTable fills p's differences and evolve DDL for an existing table.
func compareTable(p *TablePlan, src *Source, cols []Mapped, t *schema.Table, opts Options) {
	db, table := p.Database, p.Table
	// Model and key.
	switch {
	case opts.Versioned && t.Model == schema.ModelPrimaryKeys:
		p.add(ClassError, "", "mode versioned needs a table that appends (Duplicate Key), not a Primary Key table")
	case !opts.Versioned && t.Model != schema.ModelPrimaryKeys && t.Model != schema.ModelUnknown:
		p.add(ClassWarning, "", "a %s table: updates append rows and deletes stop the worker unless mapping.tables.%s.deletes is skip (or mode: versioned)", t.Model, table)
	}
	if len(src.Key) > 0 {
		want, have := keyNames(src), t.KeyColumns()
		if !equalFold(want, have) {
			p.add(ClassError, "", "key differs: the records are keyed by (%s), the table by (%s)", strings.Join(want, ", "), strings.Join(have, ", "))
		}
	}
	// Source columns.
	seen := make(map[string]bool, len(t.Columns))
	if !src.Typed {
		cols = extras(opts) // the columns starsink fills are known without schemas
		for _, f := range src.Columns {
			if i := t.Index(f.Name); i >= 0 {
				seen[strings.ToLower(t.Columns[i].Name)] = true
				p.add(ClassOK, f.Name, "present (type not known)")
			} else if !isExtra(f.Name, opts) {
				p.add(ClassWarning, f.Name, "source column missing from the table: not loaded")
			}
		}
	}
	for _, m := range cols {
		i := t.Index(m.Name)
		extra := isExtra(m.Name, opts)
		if i < 0 {
			if extra {
				p.add(ClassError, m.Name, "the table lacks the %s column (%s) starsink fills", m.Type, m.Source)
			} else {
				p.add(ClassWarning, m.Name, "source column (%s) missing from the table: not loaded", m.Source)
			}
			p.DDL = append(p.DDL, AddColumnDDL(db, table, m))
			continue
		}
		dst := t.Columns[i]
		seen[strings.ToLower(dst.Name)] = true
		if extra {
			compareExtra(p, m, dst, opts)
			continue
		}
		c, msg, widen := Holds(dst, m)
		if c == ClassOK && m.SourceNullable && !dst.Nullable {
			c, msg = ClassError, fmt.Sprintf("source column is nullable, the table's %s is NOT NULL: rows with NULL are filtered", dst.Type)
		} else if c == ClassOK && !dst.Nullable && !dst.Key && t.Model == schema.ModelPrimaryKeys {
			c, msg = ClassWarning, fmt.Sprintf("NOT NULL value column: a delete carrying only the key (REPLICA IDENTITY DEFAULT) is filtered")
		}
		p.add(c, m.Name, "%s", msg)
		if widen != "" {
			if dst.Key {
				p.add(ClassWarning, m.Name, "a key column: starsink never alters key columns (StarRocks restricts their schema changes): widening it means recreating the table")
			} else {
				p.DDL = append(p.DDL, ModifyColumnDDL(db, table, dst, widen))
			}
		}
	}
	// Table columns the source lacks.
	for _, c := range t.Columns {
		if seen[strings.ToLower(c.Name)] {
			continue
		}
		msg := "no source column: loaded as NULL or its default"
		if !c.Nullable {
			msg = "NOT NULL and no source column: rows are filtered unless it has a default"
		}
		p.add(ClassWarning, c.Name, "%s", msg)
	}
}

func compareExtra(p *TablePlan, m Mapped, dst schema.Column, o Options) {
	ok := dst.Kind == schema.KindBigInt || dst.Kind == schema.KindLargeInt
	if strings.EqualFold(m.Name, o.DeletedColumn) && o.Versioned {
		ok = dst.Kind == schema.KindBoolean || dst.Kind.IsInteger()
	}
	if !ok {
		p.add(ClassError, m.Name, "starsink fills it with %s; the table's %s cannot hold it", m.Source, dst.Type)
		return
	}
	p.add(ClassOK, m.Name, "%s: %s", dst.Type, m.Source)
}

func equalFold(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !strings.EqualFold(a[i], b[i]) {
			return false
		}
	}
	return true
}
