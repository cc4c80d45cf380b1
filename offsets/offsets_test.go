package offsets

import (
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
