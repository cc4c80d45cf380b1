package streamload

import "io"

// partsReader reads a body held in consecutive parts as one stream.
type partsReader struct {
	parts [][]byte
	off   int // into parts[0]
}

func newPartsReader(parts [][]byte) *partsReader { return &partsReader{parts: parts} }

func (r *partsReader) Read(p []byte) (int, error) {
	for len(r.parts) > 0 {
		rest := r.parts[0][r.off:]
		if len(rest) == 0 {
			r.parts, r.off = r.parts[1:], 0
			continue
		}
		n := copy(p, rest)
		r.off += n
		return n, nil
	}
	return 0, io.EOF
}

// WriteTo hands each part to w whole, without an intermediate buffer.
func (r *partsReader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for len(r.parts) > 0 {
		rest := r.parts[0][r.off:]
		r.parts, r.off = r.parts[1:], 0
		if len(rest) == 0 {
			continue
		}
		n, err := w.Write(rest)
		total += int64(n)
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

func partsLen(parts [][]byte) int {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	return n
}
