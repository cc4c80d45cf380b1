package debezium

import (
	"errors"
	"strings"
	"testing"

	"github.com/starsink/starsink/schema"
)

// TestUnavailableNewRow checks that a new row holding the unchanged-TOAST
// placeholder (the create half of a primary-key change on a table with
// REPLICA IDENTITY DEFAULT) is refused with the reason and the fix, while
// an update holding it still loads as a partial update.
func TestUnavailableNewRow(t *testing.T) {
	tbl := &schema.Table{Name: "t", Model: schema.ModelPrimaryKeys, Columns: []schema.Column{
		schema.NewColumn("id", "int", false, true), schema.NewColumn("doc", "string", true, false)}}
	const ph = `"__debezium_unavailable_value"`
	oldKey := []Header{{Key: "__debezium.oldkey", Value: []byte(`{"id":1}`)}}
	tests := []struct {
		name    string
		value   string
		headers []Header
		field   string // "" : loads as a partial update
	}{
		{"raw create", env("c", `{"id":2,"doc":`+ph+`}`), oldKey, "after.doc"},
		{"raw create without the header", env("c", `{"id":2,"doc":`+ph+`}`), nil, "after.doc"},
		{"raw snapshot read", env("r", `{"id":2,"doc":`+ph+`}`), nil, "after.doc"},
		{"raw update with the old key header", env("u", `{"id":2,"doc":`+ph+`}`), oldKey, "after.doc"},
		{"raw update", env("u", `{"id":2,"doc":`+ph+`}`), nil, ""},
		{"unwrapped create", `{"id":2,"doc":` + ph + `,"__op":"c"}`, nil, "doc"},
		{"AddOpField create, known by its header", `{"id":2,"doc":` + ph + `,"__op":0}`, oldKey, "doc"},
		{"AddOpField update", `{"id":2,"doc":` + ph + `,"__op":0}`, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &Record{Topic: "p.s.t", Partition: 0, Offset: 8, Value: []byte(tt.value), Headers: tt.headers}
			row, ev, err := NewDecoder(tbl, Options{OpColumn: true}).Decode(rec, []byte("x"))
			if tt.field == "" {
				if err != nil || string(row) != `x{"id":2,"__op":0}` || len(ev.Unavailable) != 1 {
					t.Fatalf("got %s %v %v; want a partial update of id", row, ev.Unavailable, err)
				}
				return
			}
			var de *DecodeError
			if !errors.As(err, &de) || !errors.Is(err, ErrUnavailable) || de.Field != tt.field {
				t.Fatalf("err = %v, want ErrUnavailable for %s", err, tt.field)
			}
			if string(row) != "x" {
				t.Errorf("dst changed on error: %q", row)
			}
			if !strings.Contains(err.Error(), "REPLICA IDENTITY FULL") {
				t.Errorf("the error does not give the fix: %v", err)
			}
		})
	}
}
