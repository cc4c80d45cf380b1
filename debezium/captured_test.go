// TestCaptured checks the decoder against messages captured from a live
// Debezium 2.6.2 connector on Kafka Connect 4.0 by the end-to-end suite
// (bash e2e/run.sh --capture-only refreshes them).

package debezium_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/starsink/starsink/debezium"
	"github.com/starsink/starsink/schema"
)

// captureExpect is testdata/captured/<name>.expect.json, written by the
// end-to-end suite (e2e/capture_test.go) from the rows it wrote to PostgreSQL.
type captureExpect struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Offset    int64  `json:"offset"`
	Op        string `json:"op"`
	Columns   []struct {
		Name string `json:"name"`
		Type string `json:"type"`
		Key  bool   `json:"key"`
	} `json:"columns"`
	Row         map[string]*string `json:"row"`
	Unavailable []string           `json:"unavailable"`
	// Envelope is decoder.envelope for the capture ("" : raw, what the
	// captures of raw topics need for their tombstones).
	Envelope  string   `json:"envelope"`
	Unchecked []string `json:"unchecked"`
}

// TestCaptured decodes every message captured from Debezium 2.6.2 on Kafka
// Connect 4.0 and compares the row with what was written to PostgreSQL.
func TestCaptured(t *testing.T) {
	// STARSINK_CAPTURED_DIR points at a fresh capture (the end-to-end
	// suite's own run) instead of the committed one.
	dir := filepath.Join("testdata", "captured")
	if d := os.Getenv("STARSINK_CAPTURED_DIR"); d != "" {
		dir = d
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.expect.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Skip("no captured messages: run bash e2e/run.sh --capture-only")
	}
	sort.Strings(files)
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".expect.json")
		t.Run(name, func(t *testing.T) {
			var x captureExpect
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, &x); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			rec := &debezium.Record{Topic: x.Topic, Partition: x.Partition, Offset: x.Offset}
			rec.Key, _ = os.ReadFile(filepath.Join(dir, name+".key.json"))
			if v, err := os.ReadFile(filepath.Join(dir, name+".value.json")); err == nil {
				rec.Value = v
			}
			tbl := &schema.Table{Database: "subway", Name: x.Topic[strings.LastIndexByte(x.Topic, '.')+1:], Model: schema.ModelPrimaryKeys}
			for _, c := range x.Columns {
				tbl.Columns = append(tbl.Columns, schema.NewColumn(c.Name, c.Type, !c.Key, c.Key))
			}
			envelope := debezium.EnvelopeRaw
			if x.Envelope != "" {
				if envelope, err = debezium.ParseEnvelope(x.Envelope); err != nil {
					t.Fatal(err)
				}
			}
			dec := debezium.NewDecoder(tbl, debezium.Options{OpColumn: true, Envelope: envelope})
			out, ev, err := dec.Decode(rec, nil)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			wantOp := map[string]debezium.Op{"r": debezium.OpUpsert, "c": debezium.OpUpsert, "u": debezium.OpUpsert,
				"d": debezium.OpDelete, "tombstone": debezium.OpSkip}[x.Op]
			if ev.Op != wantOp {
				t.Errorf("op %s decoded as %v, want %v", x.Op, ev.Op, wantOp)
			}
			if x.Op == "tombstone" {
				if len(bytes.TrimSpace(out)) != 0 {
					t.Errorf("tombstone produced a row: %s", out)
				}
				return
			}
			d := json.NewDecoder(bytes.NewReader(out))
			d.UseNumber()
			var got map[string]any
			if err := d.Decode(&got); err != nil {
				t.Fatalf("decoded row is not one JSON object: %v\n%s", err, out)
			}
			for _, c := range x.Unavailable {
				if _, ok := got[c]; ok {
					t.Errorf("%s carries the unavailable placeholder but is in the row: %v", c, got[c])
				}
				if i := tbl.Index(c); !containsInt(ev.Unavailable, i) {
					t.Errorf("%s (column %d) not in Event.Unavailable %v", c, i, ev.Unavailable)
				}
			}
			if len(ev.Unavailable) != len(x.Unavailable) {
				t.Errorf("Event.Unavailable = %v, want the columns %v", ev.Unavailable, x.Unavailable)
			}
			if op, ok := got["__op"]; ok {
				want := map[bool]string{true: "1", false: "0"}[x.Op == "d"]
				if n, _ := op.(json.Number); n.String() != want {
					t.Errorf("__op = %v, want %s", op, want)
				}
			} else {
				t.Errorf("no __op in the row with Options.OpColumn: %s", out)
			}
			for col, want := range x.Row {
				if contains(x.Unchecked, col) {
					continue
				}
				v, ok := got[col]
				if !ok {
					t.Errorf("%s: missing from the decoded row %s", col, out)
					continue
				}
				if !same(want, v) {
					t.Errorf("%s: decoded %v (%T), want %s", col, v, v, show(want))
				}
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func containsInt(list []int, v int) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func show(v *string) string {
	if v == nil {
		return "null"
	}
	return strconv.Quote(*v)
}

// same compares a decoded JSON value with the expected text, allowing
// renderings that load the same StarRocks value: numbers as JSON numbers or
// strings, trailing zeros of decimals and fractions, true/false as 1/0,
// JSON text as a string or as nested JSON, CHAR padding.
func same(want *string, got any) bool {
	if want == nil || got == nil {
		return want == nil && got == nil
	}
	w := *want
	var g string
	switch v := got.(type) {
	case string:
		g = v
	case json.Number:
		g = v.String()
	case bool:
		g = map[bool]string{true: "1", false: "0"}[v]
	default:
		b, _ := json.Marshal(v)
		g = string(b)
	}
	if w == g || strings.TrimRight(w, " ") == strings.TrimRight(g, " ") || trimFrac(w) == trimFrac(g) {
		return true
	}
	if wf, err := strconv.ParseFloat(w, 64); err == nil {
		if gf, err := strconv.ParseFloat(g, 64); err == nil {
			return wf == gf || (wf-gf)*(wf-gf) <= 1e-12*wf*wf
		}
	}
	var wj, gj any
	if json.Unmarshal([]byte(w), &wj) == nil && json.Unmarshal([]byte(g), &gj) == nil {
		a, _ := json.Marshal(wj)
		b, _ := json.Marshal(gj)
		return bytes.Equal(a, b)
	}
	return false
}

// trimFrac drops a 'T' separator, a 'Z' suffix and trailing fractional
// zeros: "2024-06-05T01:05:12.500000Z" → "2024-06-05 01:05:12.5".
func trimFrac(v string) string {
	v = strings.TrimSuffix(strings.Replace(v, "T", " ", 1), "Z")
	if strings.Contains(v, ".") {
		v = strings.TrimSuffix(strings.TrimRight(v, "0"), ".")
	}
	return v
}
