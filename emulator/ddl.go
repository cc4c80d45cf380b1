package emulator

import (
	"fmt"
	"strings"
	"unicode"

	"github.com/starsink/starsink/schema"
)

// A statement the emulator's DDL understands.
type stmt struct {
	kind        string // "create database", "create table", "drop table", "drop database", "truncate", "alter table", "create view", "drop view", "use"
	db, name    string
	ifNotExists bool
	ifExists    bool
	table       schema.Table
	extras      []colExtra // per column of table
	clauses     []alterClause
	viewSQL     string // CREATE VIEW: the SELECT
}

// indexWordAS finds the first AS keyword outside quotes and parentheses
// in a CREATE VIEW (the view's column list comes before it).
func indexWordAS(sql string) int {
	depth := 0
	var quote byte
	for i := 0; i+1 < len(sql); i++ {
		c := sql[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"' || c == '`':
			quote = c
		case c == '(':
			depth++
		case c == ')':
			depth--
		case depth == 0 && (c == 'a' || c == 'A') && (sql[i+1] == 's' || sql[i+1] == 'S') &&
			i > 0 && isSpace(sql[i-1]) && (i+2 == len(sql) || isSpace(sql[i+2])):
			return i
		}
	}
	return -1
}

func isSpace(c byte) bool { return c == ' ' || c == '\n' || c == '\t' || c == '\r' }

// alterClause reads ADD COLUMN def | ADD COLUMN (def, …) | DROP COLUMN c
// | MODIFY COLUMN def, each with an optional FIRST / AFTER c (ignored:
// the emulator keeps columns in creation order).
func (p *parser) alterClause() ([]alterClause, error) {
	position := func() {
		if p.is("first") {
			return
		}
		if p.is("after") {
			p.next()
		}
	}
	switch {
	case p.is("add", "column"), p.is("add"):
		if p.peek() == "(" {
			p.next()
			var out []alterClause
			for {
				c, x, err := p.column()
				if err != nil {
					return nil, err
				}
				out = append(out, alterClause{op: "add", column: c, extra: x})
				if sep := p.next(); sep == ")" {
					return out, nil
				} else if sep != "," {
					return nil, fmt.Errorf("expected , or ) near %q", sep)
				}
			}
		}
		c, x, err := p.column()
		if err != nil {
			return nil, err
		}
		position()
		return []alterClause{{op: "add", column: c, extra: x}}, nil
	case p.is("drop", "column"), p.is("drop"):
		return []alterClause{{op: "drop", name: ident(p.next())}}, nil
	case p.is("modify", "column"), p.is("modify"):
		c, x, err := p.column()
		if err != nil {
			return nil, err
		}
		position()
		return []alterClause{{op: "modify", column: c, extra: x}}, nil
	}
	return nil, fmt.Errorf("only ALTER TABLE … ADD COLUMN, DROP COLUMN and MODIFY COLUMN are supported, not %q", p.peek())
}

// tokens splits SQL into identifiers, numbers, quoted strings and symbols.
func tokens(sql string) ([]string, error) {
	var out []string
	r := []rune(sql)
	for i := 0; i < len(r); {
		c := r[i]
		switch {
		case unicode.IsSpace(c):
			i++
		case c == '-' && i+1 < len(r) && r[i+1] == '-':
			for i < len(r) && r[i] != '\n' {
				i++
			}
		case c == '`':
			j := i + 1
			for j < len(r) && r[j] != '`' {
				j++
			}
			if j >= len(r) {
				return nil, fmt.Errorf("unterminated identifier")
			}
			out = append(out, "`"+string(r[i+1:j]))
			i = j + 1
		case c == '\'' || c == '"':
			j := i + 1
			for j < len(r) && r[j] != c {
				if r[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(r) {
				return nil, fmt.Errorf("unterminated string")
			}
			out = append(out, "'"+string(r[i+1:j]))
			i = j + 1
		case unicode.IsLetter(c) || unicode.IsDigit(c) || c == '_':
			j := i
			for j < len(r) && (unicode.IsLetter(r[j]) || unicode.IsDigit(r[j]) || r[j] == '_') {
				j++
			}
			out = append(out, string(r[i:j]))
			i = j
		default:
			out = append(out, string(c))
			i++
		}
	}
	return out, nil
}

type parser struct {
	t []string
	i int
}

func (p *parser) peek() string {
	if p.i < len(p.t) {
		return p.t[p.i]
	}
	return ""
}

func (p *parser) next() string { s := p.peek(); p.i++; return s }

func (p *parser) is(words ...string) bool {
	for k, w := range words {
		if p.i+k >= len(p.t) || !strings.EqualFold(p.t[p.i+k], w) {
			return false
		}
	}
	p.i += len(words)
	return true
}

func (p *parser) expect(w string) error {
	if !p.is(w) {
		return fmt.Errorf("expected %q near %q", w, p.peek())
	}
	return nil
}

func ident(s string) string { return strings.TrimPrefix(s, "`") }

// name reads [db.]name.
func (p *parser) name() (db, name string) {
	name = ident(p.next())
	if p.peek() == "." {
		p.next()
		db, name = name, ident(p.next())
	}
	return db, name
}

// parseDDL parses one StarRocks DDL statement.
func parseDDL(sql string) (*stmt, error) {
	t, err := tokens(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(sql), ";")))
	if err != nil {
		return nil, err
	}
	p := &parser{t: t}
	s := &stmt{}
	switch {
	case p.is("use"):
		s.kind = "use"
		s.db = ident(p.next())
	case p.is("create", "database"):
		s.kind = "create database"
		s.ifNotExists = p.is("if", "not", "exists")
		s.db = ident(p.next())
	case p.is("drop", "database"):
		s.kind = "drop database"
		s.ifExists = p.is("if", "exists")
		s.db = ident(p.next())
	case p.is("drop", "table"):
		s.kind = "drop table"
		s.ifExists = p.is("if", "exists")
		s.db, s.name = p.name()
	case p.is("truncate", "table"):
		s.kind = "truncate"
		s.db, s.name = p.name()
	case p.is("alter", "table"):
		s.kind = "alter table"
		s.db, s.name = p.name()
		for {
			c, err := p.alterClause()
			if err != nil {
				return nil, err
			}
			s.clauses = append(s.clauses, c...)
			if p.peek() != "," {
				break
			}
			p.next()
		}
		if p.is("properties") {
			if err := p.skipParens(); err != nil {
				return nil, err
			}
		}
		if p.peek() != "" {
			return nil, fmt.Errorf("unexpected %q in ALTER TABLE", p.peek())
		}
	case p.is("create", "view"), p.is("create", "or", "replace", "view"):
		s.kind = "create view"
		s.ifNotExists = p.is("if", "not", "exists")
		s.db, s.name = p.name()
		// The select text after AS, as written.
		i := indexWordAS(sql)
		if i < 0 {
			return nil, fmt.Errorf("CREATE VIEW %s: AS SELECT … expected", s.name)
		}
		s.viewSQL = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(sql[i+2:]), ";"))
	case p.is("drop", "view"):
		s.kind = "drop view"
		s.ifExists = p.is("if", "exists")
		s.db, s.name = p.name()
	case p.is("create", "table"):
		s.kind = "create table"
		s.ifNotExists = p.is("if", "not", "exists")
		s.db, s.name = p.name()
		if err := p.createTable(s); err != nil {
			return nil, fmt.Errorf("CREATE TABLE %s: %w", s.name, err)
		}
	default:
		return nil, fmt.Errorf("unsupported statement %q", truncate(sql, 60))
	}
	return s, nil
}

// aggFuncs are the aggregate functions a value column of an Aggregate
// Key table can declare (AggregateType).
var aggFuncs = []string{"SUM", "MAX", "MIN", "REPLACE", "REPLACE_IF_NOT_NULL", "HLL_UNION", "BITMAP_UNION", "PERCENTILE_UNION"}

// column reads `name TYPE [agg] [NOT NULL|NULL] [DEFAULT x] [COMMENT 'x']`.
func (p *parser) column() (schema.Column, colExtra, error) {
	var x colExtra
	name := ident(p.next())
	typ, err := p.typ()
	if err != nil {
		return schema.Column{}, x, fmt.Errorf("column %s: %w", name, err)
	}
	for _, f := range aggFuncs {
		if p.is(f) {
			x.agg = f
		}
	}
	nullable := true
	for {
		switch {
		case p.is("not", "null"):
			nullable = false
		case p.is("null"):
		case p.is("default"):
			v := p.next()
			switch {
			case strings.HasPrefix(v, "'"):
				v = v[1:]
				x.def = &v
			case v == "-":
				v = "-" + p.next()
				x.def = &v
			case strings.EqualFold(v, "null"):
			case strings.EqualFold(v, "current_timestamp"):
				if p.peek() == "(" {
					p.skipParens()
				}
			default:
				x.def = &v
			}
		case p.is("comment"):
			p.next()
		case p.is("auto_increment"):
		default:
			c := schema.NewColumn(name, typ, nullable, false)
			c.Agg = x.agg
			if c.Kind == schema.KindUnknown {
				return c, x, fmt.Errorf("column %s: unsupported type %s", name, typ)
			}
			return c, x, nil
		}
	}
}

// typ reads a type with its arguments: DECIMAL(13, 0), ARRAY<INT>, VARCHAR(10).
func (p *parser) typ() (string, error) {
	base := strings.ToLower(p.next())
	if base == "" {
		return "", fmt.Errorf("missing type")
	}
	var b strings.Builder
	b.WriteString(base)
	for _, pair := range [...][2]string{{"(", ")"}, {"<", ">"}} { // DECIMAL(13, 0), ARRAY<INT>
		if p.peek() != pair[0] {
			continue
		}
		prev := base
		for depth := 0; ; {
			tok := p.next()
			if tok == "" {
				return "", fmt.Errorf("unterminated type")
			}
			if isWord(prev) && isWord(tok) { // STRUCT<a INT>: keep the field name apart
				b.WriteByte(' ')
			}
			b.WriteString(strings.ToLower(tok))
			prev = tok
			if tok == pair[0] {
				depth++
			} else if tok == pair[1] {
				if depth--; depth == 0 {
					break
				}
			}
		}
	}
	return b.String(), nil
}

// isWord reports whether a token is a name or a number, not punctuation.
func isWord(tok string) bool {
	if tok == "" {
		return false
	}
	c := tok[0]
	return c == '_' || c == '`' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

func (p *parser) list() ([]string, error) {
	if err := p.expect("("); err != nil {
		return nil, err
	}
	var out []string
	for {
		out = append(out, ident(p.next()))
		switch p.next() {
		case ",":
		case ")":
			return out, nil
		default:
			return nil, fmt.Errorf("bad column list")
		}
	}
}

func (p *parser) createTable(s *stmt) error {
	if err := p.expect("("); err != nil {
		return err
	}
	var inlineKey []string
	for {
		if p.is("primary", "key") || p.is("index") {
			keys, err := p.list()
			if err != nil {
				return err
			}
			inlineKey = keys
		} else {
			c, x, err := p.column()
			if err != nil {
				return err
			}
			s.table.Columns = append(s.table.Columns, c)
			s.extras = append(s.extras, x)
		}
		sep := p.next()
		if sep == ")" {
			break
		}
		if sep != "," {
			return fmt.Errorf("expected , or ) near %q", sep)
		}
	}
	s.table.Model = schema.ModelDupKeys
	var keys []string
	keysGiven := false
	for p.peek() != "" {
		switch {
		case p.is("engine", "="):
			if e := p.next(); !strings.EqualFold(e, "olap") {
				return fmt.Errorf("ENGINE=%s is not supported (only OLAP)", e)
			}
		case p.is("primary", "key"):
			s.table.Model, keysGiven = schema.ModelPrimaryKeys, true
		case p.is("duplicate", "key"):
			s.table.Model, keysGiven = schema.ModelDupKeys, true
		case p.is("unique", "key"):
			s.table.Model, keysGiven = schema.ModelUniqueKeys, true
		case p.is("aggregate", "key"):
			s.table.Model, keysGiven = schema.ModelAggKeys, true
		case p.is("comment"):
			p.next()
			continue
		case p.is("distributed", "by", "hash"):
			if _, err := p.list(); err != nil {
				return err
			}
			continue
		case p.is("distributed", "by", "random"):
			continue
		case p.is("buckets"):
			p.next()
			continue
		case p.is("partition", "by"):
			// RANGE(c) (PARTITION …), LIST, date_trunc('day', c), or a
			// bare column list: skipped up to the next clause.
			for {
				switch w := strings.ToLower(p.peek()); {
				case w == "(":
					if err := p.skipParens(); err != nil {
						return err
					}
					continue
				case w == "" || w == "distributed" || w == "order" || w == "properties" || w == "comment":
				default:
					p.next()
					continue
				}
				break
			}
			continue
		case p.is("order", "by"), p.is("properties"):
			if err := p.skipParens(); err != nil {
				return err
			}
			continue
		default:
			return fmt.Errorf("unexpected %q", p.peek())
		}
		if keysGiven && keys == nil && p.peek() == "(" {
			k, err := p.list()
			if err != nil {
				return err
			}
			keys = k
		}
	}
	if keys == nil && inlineKey != nil {
		keys, s.table.Model = inlineKey, schema.ModelPrimaryKeys
	}
	if keys == nil && len(s.table.Columns) > 0 {
		keys = []string{s.table.Columns[0].Name} // StarRocks picks a duplicate key itself
	}
	// Key columns must come first and in key order.
	for i, k := range keys {
		j := s.table.Index(k)
		if j < 0 {
			return fmt.Errorf("key column %s is not a column", k)
		}
		if j != i {
			return fmt.Errorf("key columns must be the first columns, in key order: %s is column %d", k, j+1)
		}
		s.table.Columns[j].Key = true
		if s.table.Model == schema.ModelPrimaryKeys {
			s.table.Columns[j].Nullable = false
		}
	}
	return nil
}

// skipParens skips a parenthesised group (PROPERTIES (…), PARTITION BY …).
func (p *parser) skipParens() error {
	for p.peek() != "" && p.peek() != "(" {
		p.next()
	}
	depth := 0
	for {
		tok := p.next()
		switch tok {
		case "":
			return fmt.Errorf("unterminated parentheses")
		case "(":
			depth++
		case ")":
			depth--
			if depth == 0 {
				return nil
			}
		}
	}
}
