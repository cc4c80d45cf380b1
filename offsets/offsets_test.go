package offsets

import (
	"errors"
	"fmt"
	"testing"
)

func TestOfPicksATablesPartitions(t *testing.T) {
	parts := []Partition{
		{Topic: "a.public.orders", Partition: 0, Table: "shop.orders"},
		{Topic: "a.public.orders", Partition: 1, Table: "shop.orders"},
		{Topic: "b.public.orders", Partition: 0, Table: "archive.orders"},
		{Topic: "a.public.items", Partition: 0, Table: "shop.items"},
		{Topic: "a.public.unmapped", Partition: 0},
	}
	tests := []struct {
		table   string
		want    string // topic/partition list
		wantErr string
	}{
		{"shop.orders", "[a.public.orders/0 a.public.orders/1]", ""},
		{"items", "[a.public.items/0]", ""},
		{"orders", "", "table orders is ambiguous: archive.orders, shop.orders; name it as db.table"},
		{"shop.nothing", "[]", ""},
		{"", "[]", ""},
	}
	for _, tt := range tests {
		t.Run(tt.table, func(t *testing.T) {
			got, err := Of(parts, tt.table)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			names := []string{}
			for _, p := range got {
				names = append(names, fmt.Sprintf("%s/%d", p.Topic, p.Partition))
			}
			if s := fmt.Sprint(names); s != tt.want {
				t.Errorf("got %s, want %s", s, tt.want)
			}
		})
	}
}

func TestPlanKeepsTargetsWithinEachPartition(t *testing.T) {
	parts := []Partition{
		{Topic: "t", Partition: 0, Committed: 40, Start: 30, End: 100},
		{Topic: "t", Partition: 1, Committed: -1, Start: 0, End: 5},
	}
	tests := []struct {
		name string
		to   To
		want string // to/note per partition
	}{
		{"earliest", Earliest(), "[30/ 0/]"},
		{"latest", Latest(), "[100/ 5/]"},
		{"offset within both", AtOffset(4), "[30/4 is before the start 4/]"},
		{"offset past one end", AtOffset(50), "[50/ 5/50 is past the end]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			moves, err := Plan(t.Context(), nil, parts, tt.to)
			if err != nil {
				t.Fatal(err)
			}
			got := []string{}
			for _, m := range moves {
				got = append(got, fmt.Sprintf("%d/%s", m.To, m.Note))
			}
			if s := fmt.Sprint(got); s != tt.want {
				t.Errorf("got %s, want %s", s, tt.want)
			}
		})
	}
	if _, err := Plan(t.Context(), nil, nil, Earliest()); !errors.Is(err, ErrNoPartitions) {
		t.Errorf("no partitions: %v, want ErrNoPartitions", err)
	}
}
