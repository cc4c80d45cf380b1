// TestCapturedMatrix decodes the messages the end-to-end suite captured
// from each cell of its matrix (Debezium release × raw or unwrapped topics ×
// values with or without schemas), so that a decoder change that breaks one
// source configuration fails here, without the real stack.

package debezium_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/starsink/starsink/debezium"
	"github.com/starsink/starsink/schema"
)

// matrixCell is testdata/captured/<cell>/cell.json: the connector settings
// the messages come from and starsink's decoder settings for them.
type matrixCell struct {
	Cell      string            `json:"cell"`
	Debezium  string            `json:"debezium"`
	Connector map[string]string `json:"connector"`
	Decoder   map[string]string `json:"decoder"` // decoder.* keys of starsink's configuration
}

// matrixExpect is a captured record's expect.json in a cell folder.
type matrixExpect struct {
	captureExpect
	Decoded string `json:"decoded"` // upsert, delete or skip
}

// pendingCaptures are the records the decoder cannot decode yet, by
// <cell>/<record> with a "*" for any cell part, and why. A pending case
// that passes fails the test, so the list shrinks as the decoder grows.
var pendingCaptures = map[string]string{}

func TestCapturedMatrix(t *testing.T) {
	root := filepath.Join("testdata", "captured")
	if d := os.Getenv("STARSINK_CAPTURED_DIR"); d != "" {
		root = d
	}
	cells, err := filepath.Glob(filepath.Join(root, "*", "cell.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(cells) == 0 {
		t.Skip("no captured cells: run bash e2e/run.sh --capture-only --full <cells>")
	}
	sort.Strings(cells)
	for _, cf := range cells {
		dir := filepath.Dir(cf)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			var cell matrixCell
			readJSON(t, cf, &cell)
			opts := matrixOptions(t, cell)
			files, _ := filepath.Glob(filepath.Join(dir, "*.expect.json"))
			if len(files) == 0 {
				t.Fatalf("%s: no captured records beside cell.json", dir)
			}
			for _, f := range files {
				name := strings.TrimSuffix(filepath.Base(f), ".expect.json")
				t.Run(name, func(t *testing.T) {
					var x matrixExpect
					readJSON(t, f, &x)
					problems := decodeCaptured(t, dir, name, x, opts)
					reason := pendingCaptures[filepath.Base(dir)+"/"+name]
					switch {
					case len(problems) > 0 && reason != "":
						t.Skipf("pending: %s; today: %s", reason, strings.Join(problems, "; "))
					case len(problems) > 0:
						for _, p := range problems {
							t.Error(p)
						}
					case reason != "":
						t.Errorf("decodes now: remove it from pendingCaptures (%s)", reason)
					}
				})
			}
		})
	}
}

// matrixOptions turns a cell's decoder settings into decoder Options, as
// the worker does with starsink's configuration.
func matrixOptions(t *testing.T, c matrixCell) debezium.Options {
	t.Helper()
	opts := debezium.Options{OpColumn: true}
	for k, v := range c.Decoder {
		switch k {
		case "framing":
			f, err := debezium.ParseFraming(v)
			if err != nil {
				t.Fatalf("%s: %v", c.Cell, err)
			}
			opts.Framing = f
		case "envelope":
			env, err := debezium.ParseEnvelope(v)
			if err != nil {
				t.Fatalf("%s: %v", c.Cell, err)
			}
			opts.Envelope = env
		case "fields_prefix":
			opts.FieldsPrefix = v
		case "schemaless_timestamp":
			opts.SchemalessTimestamp = v
		case "decimal_handling":
			opts.DecimalHandling = v
		case "placeholder":
			opts.Placeholder = v
		default:
			t.Fatalf("%s: decoder.%s is not mapped to debezium.Options here", c.Cell, k)
		}
	}
	return opts
}

// decodeCaptured decodes one captured record and lists what differs from
// its expectation.
func decodeCaptured(t *testing.T, dir, name string, x matrixExpect, opts debezium.Options) []string {
	rec := &debezium.Record{Topic: x.Topic, Partition: x.Partition, Offset: x.Offset}
	rec.Key, _ = os.ReadFile(filepath.Join(dir, name+".key.json"))
	if v, err := os.ReadFile(filepath.Join(dir, name+".value.json")); err == nil {
		rec.Value = v
	}
	tbl := &schema.Table{Database: "e2e", Name: x.Topic[strings.LastIndexByte(x.Topic, '.')+1:], Model: schema.ModelPrimaryKeys}
	for _, c := range x.Columns {
		tbl.Columns = append(tbl.Columns, schema.NewColumn(c.Name, c.Type, !c.Key, c.Key))
	}
	out, ev, err := debezium.NewDecoder(tbl, opts).Decode(rec, nil)
	if err != nil {
		return []string{fmt.Sprintf("Decode: %v", err)}
	}
	wantOp := map[string]debezium.Op{"upsert": debezium.OpUpsert, "delete": debezium.OpDelete, "skip": debezium.OpSkip}[x.Decoded]
	if ev.Op != wantOp {
		return []string{fmt.Sprintf("op %s (%s) decoded as %v (%s), want %s", x.Op, x.Decoded, ev.Op, ev.Reason, wantOp)}
	}
	if wantOp == debezium.OpSkip {
		if len(bytes.TrimSpace(out)) != 0 {
			return []string{fmt.Sprintf("a skipped record produced a row: %s", out)}
		}
		return nil
	}
	d := json.NewDecoder(bytes.NewReader(out))
	d.UseNumber()
	var got map[string]any
	if err := d.Decode(&got); err != nil {
		return []string{fmt.Sprintf("decoded row is not one JSON object: %v\n%s", err, out)}
	}
	var problems []string
	for _, c := range x.Unavailable {
		if _, ok := got[c]; ok {
			problems = append(problems, fmt.Sprintf("%s carries the unavailable placeholder but is in the row: %v", c, got[c]))
		}
		if i := tbl.Index(c); !containsInt(ev.Unavailable, i) {
			problems = append(problems, fmt.Sprintf("%s (column %d) not in Event.Unavailable %v", c, i, ev.Unavailable))
		}
	}
	if len(ev.Unavailable) != len(x.Unavailable) {
		problems = append(problems, fmt.Sprintf("Event.Unavailable = %v, want the columns %v", ev.Unavailable, x.Unavailable))
	}
	wantDel := map[bool]string{true: "1", false: "0"}[wantOp == debezium.OpDelete]
	if n, _ := got["__op"].(json.Number); n.String() != wantDel {
		problems = append(problems, fmt.Sprintf("__op = %v, want %s", got["__op"], wantDel))
	}
	for col, want := range x.Row {
		key := false
		for _, c := range x.Columns {
			key = key || c.Name == col && c.Key
		}
		// a delete needs its key; the rest of its row is not loaded
		if contains(x.Unchecked, col) || wantOp == debezium.OpDelete && !key {
			continue
		}
		v, ok := got[col]
		if !ok {
			problems = append(problems, fmt.Sprintf("%s: missing from the decoded row %s", col, out))
			continue
		}
		if !same(want, v) {
			problems = append(problems, fmt.Sprintf("%s: decoded %v (%T), want %s", col, v, v, show(want)))
		}
	}
	return problems
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
