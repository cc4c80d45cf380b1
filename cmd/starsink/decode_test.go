package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
)

func TestDecodeCommand(t *testing.T) {
	value, err := os.ReadFile("../../debezium/testdata/fixtures/insert.value.json")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, topic string
		args        []string
		stdin       []byte
		want        string
	}{
		{"insert", "dip.cdc.public.subway_passengers_copy", nil, value,
			`{"table":"default.subway_passengers_copy","op":"upsert","row":{"use_date":"20240601","line_no":"9호선","station_name":"신논현","pass_in":"12345","pass_out":null,"reg_date":"20240604","__op":0}}`},
		{"raw tombstone", "dip.cdc.public.t", []string{"--envelope", "raw"}, nil, `{"table":"default.t","op":"skip","reason":"tombstone"}`},
		{"unwrapped tombstone", "dip.cdc.public.t", []string{"--envelope", "unwrapped", "--key", "testdata/key.json"}, nil, `{"table":"default.t","op":"delete","row":{"id":7,"__op":1}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			if err := runDecode(context.Background(), append([]string{"--topic", tt.topic}, tt.args...), bytes.NewReader(tt.stdin), &out, &errb); err != nil {
				t.Fatal(err)
			}
			if got := strings.TrimSpace(out.String()); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
	var out bytes.Buffer
	err = runDecode(context.Background(), []string{"--topic", "p.s.t", "--offset", "7", "--envelope", "raw"}, strings.NewReader(`{"op":"x","source":{},"after":{}}`), &out, &out)
	if err == nil || !strings.Contains(err.Error(), "p.s.t[0]@7 field op") {
		t.Errorf("bad op: err = %v", err)
	}
}
