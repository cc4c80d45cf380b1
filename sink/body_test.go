package sink

import (
	"bytes"
	"testing"
)

func TestBody(t *testing.T) {
	row := bytes.Repeat([]byte("r"), 575)
	tests := []struct {
		name   string
		bytes  int // single bytes written first (writeByte)
		rows   int // then rows of 575 B (write)
		chunks int // 4, 16, 64, 256 KiB, then 1 MiB each
	}{
		{"empty", 0, 0, 0},
		{"one row", 1, 1, 1},
		{"fills the first chunk exactly", minChunk, 0, 1},
		{"one byte more", minChunk + 1, 0, 2},
		{"spans the growing chunks", 1, 700, 5}, // 402,501 B: 340 KiB, then 1 MiB
		{"many 1 MiB chunks", 1, 5000, 7},       // 2,875,001 B: 340 KiB, then 3 MiB
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b body
			var want []byte
			for range tt.bytes {
				b.writeByte('[')
				want = append(want, '[')
			}
			for range tt.rows {
				b.write(row)
				want = append(want, row...)
			}
			parts := b.Parts()
			if got := bytes.Join(parts, nil); !bytes.Equal(got, want) {
				t.Fatalf("parts join to %d bytes, want %d", len(got), len(want))
			}
			if b.Len() != len(want) || len(parts) != tt.chunks {
				t.Errorf("Len %d in %d chunks, want %d in %d", b.Len(), len(parts), len(want), tt.chunks)
			}
			held := 0
			for i, c := range b.chunks {
				if size := minChunk << (min(i, chunkClasses-1) * chunkGrowth); cap(*c) != size {
					t.Errorf("chunk %d holds %d, want %d", i, cap(*c), size)
				}
				held += cap(*c)
			}
			if b.cap != held {
				t.Errorf("cap %d, chunks hold %d", b.cap, held)
			}
			b.release()
			if b.Len() != 0 || b.cap != 0 || len(b.Parts()) != 0 {
				t.Errorf("after release: Len %d cap %d parts %d", b.Len(), b.cap, len(b.Parts()))
			}
			b.write([]byte("[1]")) // reusable after release
			if got := bytes.Join(b.Parts(), nil); string(got) != "[1]" {
				t.Errorf("reused body holds %q", got)
			}
		})
	}
}

// BenchmarkBody builds a 100,000-row body of subway-sized rows, the way a
// batch is built, and releases it.
func BenchmarkBody(b *testing.B) {
	row := bytes.Repeat([]byte("r"), 200)
	var body body
	b.SetBytes(100000 * int64(len(row)+1))
	b.ReportAllocs()
	for b.Loop() {
		body.writeByte('[')
		for i := range 100000 {
			if i > 0 {
				body.writeByte(',')
			}
			body.write(row)
		}
		body.writeByte(']')
		body.release()
	}
}
