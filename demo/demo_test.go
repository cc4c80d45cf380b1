package demo

import (
	"bytes"
	"context"
	"testing"
)

// TestDemoSmall runs the whole demo at a small size, with and without
// schemas: every phase must converge exactly.
func TestDemoSmall(t *testing.T) {
	for _, schemaless := range []bool{false, true} {
		var out bytes.Buffer
		res, err := Run(context.Background(), Options{Rows: 2000, Schemaless: schemaless, Out: &out})
		if err != nil {
			t.Fatalf("schemaless=%v: %v\n%s", schemaless, err, out.String())
		}
		if len(res.Phases) != 4 {
			t.Errorf("phases: %+v", res.Phases)
		}
		t.Log(out.String())
	}
}
