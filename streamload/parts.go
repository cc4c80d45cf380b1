package streamload

import (
	"errors"
	"io"
	"sync"
)

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

// bodies hands the transport readers over a request body and takes the
// body back from all of them once the request is over. net/http may still
// read a request body after RoundTrip returned (its writeLoop "depending
// on the implementation may do so in a separate goroutine even after
// RoundTrip returns"), for instance while a connection the peer closed
// without answering is torn down; the caller reuses the body's buffers
// once Load returned. After revoke, no reader touches the parts: a read in
// progress finishes first (revoke waits for it), later ones fail.
type bodies struct {
	parts   [][]byte
	mu      sync.Mutex
	revoked bool
}

var errBodyRevoked = errors.New("streamload: request body read after its request ended")

// reader returns a new reader over the body.
func (b *bodies) reader() io.ReadCloser {
	return &guardedParts{r: newPartsReader(b.parts), b: b}
}

// revoke ends every reader's access to the parts.
func (b *bodies) revoke() {
	b.mu.Lock()
	b.revoked = true
	b.mu.Unlock()
}

// guardedParts reads the parts while its bodies is not revoked.
type guardedParts struct {
	r *partsReader
	b *bodies
}

func (g *guardedParts) Read(p []byte) (int, error) {
	g.b.mu.Lock()
	defer g.b.mu.Unlock()
	if g.b.revoked {
		return 0, errBodyRevoked
	}
	return g.r.Read(p)
}

// WriteTo hands the parts to w one at a time, each under the lock.
func (g *guardedParts) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for {
		g.b.mu.Lock()
		if g.b.revoked {
			g.b.mu.Unlock()
			return total, errBodyRevoked
		}
		if len(g.r.parts) == 0 {
			g.b.mu.Unlock()
			return total, nil
		}
		rest := g.r.parts[0][g.r.off:]
		g.r.parts, g.r.off = g.r.parts[1:], 0
		n, err := w.Write(rest)
		g.b.mu.Unlock()
		total += int64(n)
		if err != nil {
			return total, err
		}
	}
}

func (g *guardedParts) Close() error { return nil }
