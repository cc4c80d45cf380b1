package mapping

import (
	"errors"
	"testing"

	"github.com/starsink/starsink/config"
)

// FuzzResolve: any topic, rule table and template either resolves to a
// usable name or fails with an error, never a panic.
func FuzzResolve(f *testing.F) {
	f.Add("prod.eu.public.stops", `(.*)\.public\.(.*)`, "$2_{schema}", "{prefix}_{table}")
	f.Add("t", "x", "${1}", "{topic}")
	f.Fuzz(func(t *testing.T, topic, re, table, tmpl string) {
		m, err := New(config.Mapping{Rules: []config.Rule{{Regex: re, Table: table}}, Template: tmpl}, "db")
		if err != nil {
			return
		}
		got, err := m.Resolve(topic)
		if err != nil {
			var ue *UnmappedError
			_ = errors.As(err, &ue)
			return
		}
		if got.Table == "" || got.Database == "" || checkIdent(got.Table) != nil {
			t.Fatalf("Resolve(%q) = %+v", topic, got)
		}
	})
}
