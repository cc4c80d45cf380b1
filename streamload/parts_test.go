package streamload

import (
	"bytes"
	"errors"
	"io"
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

// The transport may read a request body after the request ended (a
// connection torn down after the peer closed it without answering), while
// the caller already reuses the body's buffers. Once the request is over,
// no reader touches the parts again: it fails instead of reading a buffer
// being rewritten (before, a part cut short under a reader panicked with
// "slice bounds out of range").
func TestBodyRevokedWhenTheRequestEnds(t *testing.T) {
	for _, how := range []string{"Read", "WriteTo"} {
		t.Run(how, func(t *testing.T) {
			parts := [][]byte{[]byte(`[{"id":1},`), []byte(`{"id":2}]`)}
			b := &bodies{parts: parts}
			r := b.reader()
			head := make([]byte, 4)
			if n, err := r.Read(head); n != 4 || err != nil {
				t.Fatalf("read %d, %v", n, err)
			}
			b.revoke()
			parts[0] = parts[0][:0] // the caller reuses its buffer
			var err error
			switch how {
			case "Read":
				_, err = r.Read(head)
			case "WriteTo":
				_, err = r.(io.WriterTo).WriteTo(io.Discard)
			}
			if !errors.Is(err, errBodyRevoked) {
				t.Fatalf("%s after the request ended: %v, want errBodyRevoked", how, err)
			}
		})
	}
}
