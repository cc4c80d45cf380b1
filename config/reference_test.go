package config

import (
	"flag"
	"os"
	"reflect"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite docs/configuration.md from Options")

const (
	docPath   = "../docs/configuration.md"
	beginMark = "<!-- BEGIN GENERATED: go test ./config -run TestReferenceDoc -update -->\n"
	endMark   = "<!-- END GENERATED -->\n"
)

// TestReferenceDoc keeps docs/configuration.md equal to Options.
func TestReferenceDoc(t *testing.T) {
	b, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	i, j := strings.Index(doc, beginMark), strings.Index(doc, endMark)
	if i < 0 || j < i {
		t.Fatalf("%s: generated section markers missing", docPath)
	}
	want := doc[:i+len(beginMark)] + Reference() + doc[j:]
	if *update {
		if err := os.WriteFile(docPath, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if doc != want {
		t.Fatalf("%s is out of date: run go test ./config -run TestReferenceDoc -update", docPath)
	}
	for _, k := range Keys() {
		if !strings.Contains(doc, "`"+k+"`") {
			t.Errorf("%s does not mention %s", docPath, k)
		}
	}
}

// TestOptionsCoverConfig checks that Options and Config hold the same
// keys, in the same order.
func TestOptionsCoverConfig(t *testing.T) {
	var opts []string
	for _, o := range Options {
		opts = append(opts, o.Key)
	}
	if keys := Keys(); !reflect.DeepEqual(opts, keys) {
		t.Fatalf("Options and Config differ:\noptions: %v\nconfig:  %v", opts, keys)
	}
	for _, o := range Options {
		if o.Doc == "" {
			t.Errorf("%s: no doc", o.Key)
		}
		f := fieldByKey[o.Key]
		if o.Size && f.typ.Kind() != reflect.Int64 && f.typ.Kind() != reflect.Int32 {
			t.Errorf("%s: Size on a %s", o.Key, f.typ)
		}
	}
}

// TestEnvNamesUnambiguous checks the environment rule: no two keys share
// a variable, and no key's variable looks like an entry of a map option.
func TestEnvNamesUnambiguous(t *testing.T) {
	seen := map[string]string{}
	for _, k := range Keys() {
		n := EnvName(k)
		if other, ok := seen[n]; ok {
			t.Errorf("%s and %s share %s", k, other, n)
		}
		seen[n] = k
		if key, _, ok := envMapEntry(n); ok {
			t.Errorf("%s (%s) is read as an entry of %s", n, k, key)
		}
	}
}
