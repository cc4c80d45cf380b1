package streamload

import (
	"bytes"
	"strings"
	"testing"
	"testing/iotest"
)

func TestPartsReader(t *testing.T) {
	tests := []struct {
		name  string
		parts [][]byte
	}{
		{"none", nil},
		{"empty parts", [][]byte{nil, {}, nil}},
		{"one", [][]byte{[]byte("[1,2,3]")}},
		{"several with empties", [][]byte{[]byte("["), nil, []byte("1,"), {}, []byte("2,3"), []byte("]")}},
		{"large", [][]byte{bytes.Repeat([]byte("a"), 70000), []byte(","), bytes.Repeat([]byte("b"), 5000)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := bytes.Join(tt.parts, nil)
			if got := partsLen(tt.parts); got != len(want) {
				t.Errorf("partsLen = %d, want %d", got, len(want))
			}
			// Read in every way iotest knows (small reads, one byte at a time, …).
			if err := iotest.TestReader(newPartsReader(tt.parts), want); err != nil {
				t.Error(err)
			}
			var sb strings.Builder
			n, err := newPartsReader(tt.parts).WriteTo(&sb)
			if err != nil || n != int64(len(want)) || sb.String() != string(want) {
				t.Errorf("WriteTo = %d, %v: %q", n, err, sb.String())
			}
		})
	}
}
