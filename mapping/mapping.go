// Package mapping decides which StarRocks table each Kafka topic loads
// into, and with which per-table options.
//
// A topic is resolved in this order:
//
//  1. the exact map (mapping.topic2table, the Java connector's
//     starrocks.topic2table.map);
//  2. the rules, in order: the first whose regex matches the whole topic
//     names the table, with $1… groups and the {…} names below;
//  3. the template.
//
// Debezium names topics <prefix>.<schema>.<table>, where the prefix
// (topic.prefix) may itself contain dots, so the last two segments are the
// schema and the table and the rest is the prefix. Templates and rule
// tables may use {prefix}, {schema}, {table} and {topic}. A resolved name
// of the form db.table names its database; otherwise the rule's database
// or the default database applies.
package mapping

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/starsink/starsink/config"
)

// Target is where a topic's rows go. Options are mapping.tables'
// entry for "db.table", else for "table", else zero: an empty field means
// the global setting (starrocks.format, starrocks.properties) or the
// documented default (deletes "apply", mode "upsert").
type Target struct {
	Database string
	Table    string
	Options  config.TableOptions
}

// UnmappedError is returned for a topic that no map entry, rule or
// template names a table for. It is a configuration error: the worker
// must not drop the topic's records.
type UnmappedError struct {
	Topic  string
	Reason string // why the template did not apply, if it did not
}

func (e *UnmappedError) Error() string {
	msg := "topic " + e.Topic + ": no StarRocks table: add it to mapping.topic2table, a mapping.rules entry or mapping.template"
	if e.Reason != "" {
		msg += " (" + e.Reason + ")"
	}
	return msg
}

// Mapper resolves topics to targets. It is immutable after New and safe
// for concurrent use.
type Mapper struct {
	exact     map[string]name
	rules     []rule
	template  tmpl
	defaultDB string
	tables    map[string]config.TableOptions
}

type name struct{ db, table string }

type rule struct {
	re    *regexp.Regexp
	table string // raw: $1 groups expand first, then the {…} names
	db    string
}

// New compiles cfg. defaultDB is starrocks.database, used when neither
// the entry nor its rule names a database.
func New(cfg config.Mapping, defaultDB string) (*Mapper, error) {
	m := &Mapper{
		exact:     make(map[string]name, len(cfg.Topic2Table)),
		defaultDB: defaultDB,
		tables:    cfg.Tables,
	}
	var errs []error
	for topic, table := range cfg.Topic2Table {
		n, err := splitName(table)
		if err != nil {
			errs = append(errs, fmt.Errorf("mapping.topic2table[%s]: %w", topic, err))
			continue
		}
		m.exact[topic] = n
	}
	for i, r := range cfg.Rules {
		re, err := regexp.Compile(`^(?:` + r.Regex + `)$`)
		if err != nil {
			errs = append(errs, fmt.Errorf("mapping.rules[%d].regex: %w", i, err))
			continue
		}
		if r.Table == "" {
			errs = append(errs, fmt.Errorf("mapping.rules[%d].table: required", i))
			continue
		}
		// ${name} groups expand before the {…} names: hide them here.
		if _, err := parseTemplate(groupRef.ReplaceAllString(r.Table, "x")); err != nil {
			errs = append(errs, fmt.Errorf("mapping.rules[%d].table: %w", i, err))
			continue
		}
		m.rules = append(m.rules, rule{re: re, table: r.Table, db: r.Database})
	}
	if cfg.Template != "" {
		t, err := parseTemplate(cfg.Template)
		if err != nil {
			errs = append(errs, fmt.Errorf("mapping.template: %w", err))
		}
		m.template = t
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return m, nil
}

// Resolve returns the target of topic, or an *UnmappedError. The worker
// calls it once per new topic and caches the result.
func (m *Mapper) Resolve(topic string) (Target, error) {
	if n, ok := m.exact[topic]; ok {
		return m.target(n, ""), nil
	}
	seg := segmentsOf(topic)
	for _, r := range m.rules {
		idx := r.re.FindStringSubmatchIndex(topic)
		if idx == nil {
			continue
		}
		expanded := string(r.re.ExpandString(nil, r.table, topic, idx))
		t, err := parseTemplate(expanded)
		if err != nil {
			return Target{}, fmt.Errorf("topic %s: rule %s: %w", topic, r.re, err)
		}
		s, missing := t.expand(seg)
		if missing != "" {
			return Target{}, &UnmappedError{Topic: topic, Reason: fmt.Sprintf("rule %s uses {%s}, which the topic does not have", r.re, missing)}
		}
		n, err := splitName(s)
		if err != nil {
			return Target{}, fmt.Errorf("topic %s: rule %s: %w", topic, r.re, err)
		}
		return m.target(n, r.db), nil
	}
	if m.template == nil {
		return Target{}, &UnmappedError{Topic: topic}
	}
	s, missing := m.template.expand(seg)
	if missing != "" {
		return Target{}, &UnmappedError{Topic: topic, Reason: fmt.Sprintf("mapping.template uses {%s}, which the topic does not have", missing)}
	}
	n, err := splitName(s)
	if err != nil {
		return Target{}, &UnmappedError{Topic: topic, Reason: "mapping.template: " + err.Error()}
	}
	return m.target(n, ""), nil
}

// Check resolves every listed topic at start-up and reports all failures
// at once, so a missing mapping stops the worker before it consumes.
func (m *Mapper) Check(topics []string) error {
	var errs []error
	for _, t := range topics {
		if _, err := m.Resolve(t); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (m *Mapper) target(n name, ruleDB string) Target {
	db := n.db
	if db == "" {
		db = ruleDB
	}
	if db == "" {
		db = m.defaultDB
	}
	t := Target{Database: db, Table: n.table}
	if o, ok := m.tables[db+"."+n.table]; ok {
		t.Options = o
	} else if o, ok := m.tables[n.table]; ok {
		t.Options = o
	}
	return t
}

var groupRef = regexp.MustCompile(`\$\{\w+\}`)

// segments are a topic's template names.
type segments struct{ prefix, schema, table, topic string }

// segmentsOf splits <prefix>.<schema>.<table>: the last two segments are
// the schema and the table, the rest (dots included) is the prefix.
func segmentsOf(topic string) segments {
	s := segments{topic: topic}
	rest := topic
	if i := strings.LastIndexByte(rest, '.'); i >= 0 {
		s.table, rest = rest[i+1:], rest[:i]
	} else {
		s.table = rest
		return s
	}
	if i := strings.LastIndexByte(rest, '.'); i >= 0 {
		s.schema, s.prefix = rest[i+1:], rest[:i]
	} else {
		s.schema = rest
	}
	return s
}

// tmpl is a parsed template: literal text and {name} references.
type tmpl []part

type part struct {
	lit string
	ref string // "" for a literal
}

func parseTemplate(s string) (tmpl, error) {
	var t tmpl
	for s != "" {
		i := strings.IndexByte(s, '{')
		if i < 0 {
			t = append(t, part{lit: s})
			break
		}
		if i > 0 {
			t = append(t, part{lit: s[:i]})
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			return nil, fmt.Errorf("unclosed { in %q", s)
		}
		ref := s[i+1 : i+j]
		switch ref {
		case "prefix", "schema", "table", "topic":
		default:
			return nil, fmt.Errorf("unknown name {%s} (want {prefix}, {schema}, {table} or {topic})", ref)
		}
		t = append(t, part{ref: ref})
		s = s[i+j+1:]
	}
	return t, nil
}

// expand fills t from seg; missing names a reference that is empty.
func (t tmpl) expand(seg segments) (s, missing string) {
	var b strings.Builder
	for _, p := range t {
		if p.ref == "" {
			b.WriteString(p.lit)
			continue
		}
		var v string
		switch p.ref {
		case "prefix":
			v = seg.prefix
		case "schema":
			v = seg.schema
		case "table":
			v = seg.table
		case "topic":
			v = seg.topic
		}
		if v == "" {
			return "", p.ref
		}
		b.WriteString(v)
	}
	return b.String(), ""
}

// splitName reads "table" or "db.table" and checks both are usable
// StarRocks identifiers.
func splitName(s string) (name, error) {
	var n name
	if i := strings.IndexByte(s, '.'); i >= 0 {
		n.db, n.table = s[:i], s[i+1:]
		if n.db == "" {
			return n, fmt.Errorf("table %q: empty database", s)
		}
		if err := checkIdent(n.db); err != nil {
			return n, fmt.Errorf("database %q: %w", n.db, err)
		}
	} else {
		n.table = s
	}
	if err := checkIdent(n.table); err != nil {
		return n, fmt.Errorf("table %q: %w", n.table, err)
	}
	return n, nil
}

// checkIdent rejects names StarRocks cannot take unquoted in a Stream
// Load URL path: empty, '.', '/', '`', whitespace or control characters.
func checkIdent(s string) error {
	if s == "" {
		return errors.New("empty name")
	}
	for _, r := range s {
		if r == '.' || r == '/' || r == '`' || r == '?' || r == '#' || r == '%' || r <= ' ' || r == 0x7f {
			return fmt.Errorf("character %q is not allowed", r)
		}
	}
	return nil
}
