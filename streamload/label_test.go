package streamload

import (
	"strings"
	"testing"
)

func TestLabel(t *testing.T) {
	r := []OffsetRange{{Topic: "pg.public.orders", Partition: 3, First: 100, Last: 199}, {Topic: "pg.public.orders", Partition: 0, First: 7, Last: 9}}
	got := Label("starsink", "orders", r)
	const wantPrefix = "starsink-orders-pg_public_orders-0-7_9-pg_public_orders-3-100_199-"
	if !strings.HasPrefix(got, wantPrefix) || len(got) != len(wantPrefix)+12 {
		t.Errorf("Label = %q, want %q + 12 hex", got, wantPrefix)
	}
	if again := Label("starsink", "orders", []OffsetRange{r[1], r[0]}); again != got {
		t.Errorf("order matters: %q != %q", again, got)
	}
	if len(r) != 2 || r[0].Partition != 3 {
		t.Errorf("Label reordered its input")
	}
}

func TestLabelDistinctAndValid(t *testing.T) {
	long := strings.Repeat("very.long.topic.name.", 10)
	var many []OffsetRange
	for p := range int32(64) {
		many = append(many, OffsetRange{Topic: "t", Partition: p, First: 1e12, Last: 1e12 + int64(p)})
	}
	cases := []struct {
		prefix, table string
		ranges        []OffsetRange
	}{
		{"p", "a.b", []OffsetRange{{Topic: "x", First: 1, Last: 2}}},
		{"p", "a_b", []OffsetRange{{Topic: "x", First: 1, Last: 2}}},
		{"p", "t", []OffsetRange{{Topic: "x", First: 1, Last: 2}}},
		{"p", "t", []OffsetRange{{Topic: "x", First: 1, Last: 3}}},
		{"p", "t", []OffsetRange{{Topic: "x", Partition: 1, First: 1, Last: 2}}},
		{"q", "t", []OffsetRange{{Topic: "x", First: 1, Last: 2}}},
		{"p", "t", []OffsetRange{{Topic: long, First: 1, Last: 2}}},
		{"p", "t", []OffsetRange{{Topic: long, First: 1, Last: 3}}},
		{"p", "t", many},
		{"p", "t", many[:63]},
		{"", "表", nil},
		{"p", "t", []OffsetRange{{Topic: "x", First: -1, Last: -1}}},
	}
	seen := map[string]int{}
	for i, c := range cases {
		l := Label(c.prefix, c.table, c.ranges)
		if !ValidLabel(l) {
			t.Errorf("case %d: invalid label %q (%d bytes)", i, l, len(l))
		}
		if j, dup := seen[l]; dup {
			t.Errorf("cases %d and %d share label %q", j, i, l)
		}
		seen[l] = i
	}
	if l := Label("p", "t", many); !strings.HasPrefix(l, "p-t-t-0-1000000000000_1000000000000-t-1-") || len(l) != MaxLabelLen {
		t.Errorf("long label %q (%d) does not keep its head", l, len(l))
	}
}

func TestValidLabel(t *testing.T) {
	for s, want := range map[string]bool{"a": true, "a-b_c:1": true, "": false, "a b": false, "a.b": false,
		strings.Repeat("x", 128): true, strings.Repeat("x", 129): false, "é": false} {
		if ValidLabel(s) != want {
			t.Errorf("ValidLabel(%q) != %v", s, want)
		}
	}
}

func FuzzLabel(f *testing.F) {
	f.Add("starsink", "orders", "pg.public.orders", int32(0), int64(0), int64(10))
	f.Fuzz(func(t *testing.T, prefix, table, topic string, p int32, first, last int64) {
		l := Label(prefix, table, []OffsetRange{{Topic: topic, Partition: p, First: first, Last: last}})
		if !ValidLabel(l) {
			t.Fatalf("invalid label %q", l)
		}
	})
}
