package streamload

import (
	"strings"
	"testing"
)

func TestLabel(t *testing.T) {
	r := []OffsetRange{{Topic: "pg.public.orders", Partition: 3, First: 100, Last: 199}, {Topic: "pg.public.orders", Partition: 0, First: 7, Last: 9}}
	got := Label("starsink", "orders", r)
	// Pinned: a batch retried across an upgrade keeps its label, so a zero
	// topic ID must give the labels of versions that knew no IDs.
	const want = "starsink-orders-pg_public_orders-0-7_9-pg_public_orders-3-100_199-b8dad5524b22"
	if got != want {
		t.Errorf("Label = %q, want %q", got, want)
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
	for s, want := range map[string]bool{"a": true, "a-b_c1": true, "a:b": false, "": false, "a b": false, "a.b": false,
		strings.Repeat("x", 128): true, strings.Repeat("x", 129): false, "é": false} {
		if ValidLabel(s) != want {
			t.Errorf("ValidLabel(%q) != %v", s, want)
		}
	}
}

func TestLabelTopicID(t *testing.T) {
	id := func(b byte) (a [16]byte) {
		for i := range a {
			a[i] = b + byte(i)
		}
		return a
	}
	long := strings.Repeat("t", 100)
	tests := []struct {
		name     string
		table    string
		ranges   []OffsetRange
		wantHead string // the readable part, up to the hash
	}{
		{name: "no topic ID", table: "orders", ranges: []OffsetRange{{Topic: "pg.o", Partition: 1, First: 5, Last: 9}},
			wantHead: "s-orders-pg_o-1-5_9-"},
		{name: "topic ID shown after the topic", table: "orders",
			ranges:   []OffsetRange{{Topic: "pg.o", TopicID: id(0xa0), Partition: 1, First: 5, Last: 9}},
			wantHead: "s-orders-pg_o-a0a1a2a3-1-5_9-"},
		{name: "IDs dropped from the readable part when it does not fit", table: "orders",
			ranges:   []OffsetRange{{Topic: long, TopicID: id(1), First: 5, Last: 9}},
			wantHead: "s-orders-" + long + "-0-5_9-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := Label("s", tt.table, tt.ranges)
			if !ValidLabel(l) || !strings.HasPrefix(l, tt.wantHead) || len(l) != len(tt.wantHead)+12 {
				t.Errorf("Label = %q, want %q + 12 hex", l, tt.wantHead)
			}
		})
	}
}

// A topic deleted and re-created starts its offsets again under a new ID:
// its batches must not reuse the old topic's labels, whatever else fits.
func TestLabelRecreatedTopicGetsNewLabel(t *testing.T) {
	for _, topic := range []string{"pg.public.orders", strings.Repeat("x", 249)} {
		old := []OffsetRange{{Topic: topic, TopicID: [16]byte{1}, Partition: 0, First: 0, Last: 99}}
		recreated := []OffsetRange{{Topic: topic, TopicID: [16]byte{2}, Partition: 0, First: 0, Last: 99}}
		unknown := []OffsetRange{{Topic: topic, Partition: 0, First: 0, Last: 99}}
		a, b, c := Label("starsink", "orders", old), Label("starsink", "orders", recreated), Label("starsink", "orders", unknown)
		if a == b || a == c || b == c {
			t.Errorf("topic of %d bytes: labels %q, %q, %q not distinct", len(topic), a, b, c)
		}
	}
}

func FuzzLabel(f *testing.F) {
	f.Add("starsink", "orders", "pg.public.orders", []byte{}, int32(0), int64(0), int64(10), "pg.public.items", int32(1))
	f.Add("p", "表", "t", []byte{0xde, 0xad, 0xbe, 0xef}, int32(-1), int64(-1), int64(1<<62), "t", int32(-1))
	f.Fuzz(func(t *testing.T, prefix, table, topic string, id []byte, p int32, first, last int64, topic2 string, p2 int32) {
		var tid [16]byte
		copy(tid[:], id)
		a := OffsetRange{Topic: topic, TopicID: tid, Partition: p, First: first, Last: last}
		b := OffsetRange{Topic: topic2, Partition: p2, First: last, Last: first}
		l := Label(prefix, table, []OffsetRange{a, b})
		if !ValidLabel(l) {
			t.Fatalf("invalid label %q", l)
		}
		if again := Label(prefix, table, []OffsetRange{a, b}); again != l {
			t.Fatalf("not deterministic: %q then %q", l, again)
		}
		if swapped := Label(prefix, table, []OffsetRange{b, a}); swapped != l {
			t.Fatalf("range order matters: %q and %q", l, swapped)
		}
		other := a
		other.TopicID[15] ^= 1
		if Label(prefix, table, []OffsetRange{other, b}) == l {
			t.Fatalf("topic ID %x and %x share label %q", a.TopicID, other.TopicID, l)
		}
	})
}
