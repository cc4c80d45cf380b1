package mapping

import (
	"errors"
	"strings"
	"testing"

	"github.com/starsink/starsink/config"
)

func TestResolve(t *testing.T) {
	cfg := config.Mapping{
		Topic2Table: map[string]string{
			"legacy_orders":       "orders",
			"pg.public.customers": "crm.customers",
		},
		Rules: []config.Rule{
			{Regex: `pg\.audit\.(.*)`, Table: "audit_$1", Database: "audit"},
			{Regex: `(?P<src>erp)\.([a-z]+)\.(.*)`, Table: "${src}_{schema}_$3"},
		},
		Template: "{schema}_{table}",
		Tables: map[string]config.TableOptions{
			"crm.customers":    {Deletes: "skip"},
			"public_stops":     {Headers: map[string]string{"max_filter_ratio": "0.1"}},
			"other.orders":     {Mode: "versioned"},
			"analytics.orders": {Mode: "upsert"},
		},
	}
	m, err := New(cfg, "analytics")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		topic string
		want  Target
	}{
		{"legacy_orders", Target{Database: "analytics", Table: "orders", Options: config.TableOptions{Mode: "upsert"}}},
		{"pg.public.customers", Target{Database: "crm", Table: "customers", Options: config.TableOptions{Deletes: "skip"}}},
		{"pg.audit.log", Target{Database: "audit", Table: "audit_log"}},
		{"erp.sales.invoices", Target{Database: "analytics", Table: "erp_sales_invoices"}},
		// the prefix holds dots: the last two segments are schema and table
		{"prod.eu.subway.public.stops", Target{Database: "analytics", Table: "public_stops", Options: config.TableOptions{Headers: map[string]string{"max_filter_ratio": "0.1"}}}},
		{"a.b", Target{Database: "analytics", Table: "a_b"}},
		// rules are anchored: this does not match pg\.audit\.(.*)
		{"xpg.audit.log", Target{Database: "analytics", Table: "audit_log"}},
	}
	for _, tt := range tests {
		t.Run(tt.topic, func(t *testing.T) {
			got, err := m.Resolve(tt.topic)
			if err != nil {
				t.Fatal(err)
			}
			if got.Database != tt.want.Database || got.Table != tt.want.Table ||
				got.Options.Mode != tt.want.Options.Mode || got.Options.Deletes != tt.want.Options.Deletes ||
				len(got.Options.Headers) != len(tt.want.Options.Headers) {
				t.Fatalf("Resolve(%q) = %+v, want %+v", tt.topic, got, tt.want)
			}
		})
	}
}

func TestSegments(t *testing.T) {
	tests := []struct {
		topic string
		want  segments
	}{
		{"p.s.t", segments{"p", "s", "t", "p.s.t"}},
		{"a.b.c.s.t", segments{"a.b.c", "s", "t", "a.b.c.s.t"}},
		{"s.t", segments{"", "s", "t", "s.t"}},
		{"t", segments{"", "", "t", "t"}},
	}
	for _, tt := range tests {
		if got := segmentsOf(tt.topic); got != tt.want {
			t.Errorf("segmentsOf(%q) = %+v, want %+v", tt.topic, got, tt.want)
		}
	}
}

func TestUnmapped(t *testing.T) {
	tests := []struct {
		name   string
		cfg    config.Mapping
		topic  string
		reason string
	}{
		{"no template", config.Mapping{Topic2Table: map[string]string{"a": "b"}}, "c", ""},
		{"template needs prefix", config.Mapping{Template: "{prefix}_{table}"}, "public.orders", "{prefix}"},
		{"template makes a dotted name", config.Mapping{Template: "{topic}"}, "pg.public.orders", "not allowed"},
		{"rule needs schema", config.Mapping{Rules: []config.Rule{{Regex: "x.*", Table: "{schema}_t"}}}, "xyz", "{schema}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := New(tt.cfg, "db")
			if err != nil {
				t.Fatal(err)
			}
			_, err = m.Resolve(tt.topic)
			var ue *UnmappedError
			if !errors.As(err, &ue) {
				t.Fatalf("Resolve(%q) error = %v, want *UnmappedError", tt.topic, err)
			}
			if ue.Topic != tt.topic || !strings.Contains(ue.Error(), tt.reason) {
				t.Fatalf("got %v (topic %q), want topic %q and reason containing %q", ue, ue.Topic, tt.topic, tt.reason)
			}
		})
	}
}

func TestCheckReportsAll(t *testing.T) {
	m, err := New(config.Mapping{Topic2Table: map[string]string{"a": "ta"}}, "db")
	if err != nil {
		t.Fatal(err)
	}
	err = m.Check([]string{"a", "b", "c"})
	if err == nil || !strings.Contains(err.Error(), "topic b") || !strings.Contains(err.Error(), "topic c") || strings.Contains(err.Error(), "topic a") {
		t.Fatalf("Check = %v, want errors for b and c only", err)
	}
	if err := m.Check([]string{"a"}); err != nil {
		t.Fatalf("Check(a) = %v", err)
	}
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  config.Mapping
		want string
	}{
		{"bad regex", config.Mapping{Rules: []config.Rule{{Regex: "(", Table: "t"}}}, "mapping.rules[0].regex"},
		{"empty rule table", config.Mapping{Rules: []config.Rule{{Regex: "x"}}}, "mapping.rules[0].table: required"},
		{"unknown name", config.Mapping{Template: "{db}_{table}"}, "mapping.template: unknown name {db}"},
		{"unclosed", config.Mapping{Template: "{table"}, "unclosed"},
		{"bad exact table", config.Mapping{Topic2Table: map[string]string{"t": "a.b.c"}}, "mapping.topic2table[t]"},
		{"empty db", config.Mapping{Topic2Table: map[string]string{"t": ".b"}}, "empty database"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg, "db")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func BenchmarkResolve(b *testing.B) {
	m, err := New(config.Mapping{
		Rules:    []config.Rule{{Regex: `pg\.audit\.(.*)`, Table: "audit_$1"}},
		Template: "{schema}_{table}",
	}, "db")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Resolve("prod.subway.public.stations"); err != nil {
			b.Fatal(err)
		}
	}
}
