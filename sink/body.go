package sink

import "sync"

// A batch body is built in chunks taken from pools, not in one slice that
// grows: appending to a body of many MiB copied it over and over, and each
// new body was a fresh large allocation the runtime had to zero (together
// 10–20% of the worker's CPU in the harness profiles; docs/performance.md).
// Chunks go back to their pool when the batch is loaded and the next batch
// takes them, warm. The body is sent as its chunks, never joined
// (streamload.Request.BodyParts).
//
// Chunk sizes grow from 4 KiB to 1 MiB, so a batch of a few rows holds
// 4 KiB and a large one wastes at most part of its last 1 MiB chunk.
const (
	minChunk    = 4 << 10
	maxChunk    = 1 << 20
	chunkGrowth = 2 // each chunk is 1<<chunkGrowth times the last, up to maxChunk
)

// chunkClasses is the number of chunk sizes: 4 KiB, 16 KiB, … 1 MiB.
var chunkClasses = func() int {
	n := 1
	for s := minChunk; s < maxChunk; s <<= chunkGrowth {
		n++
	}
	return n
}()

// chunkPools[i] holds *[]byte of capacity minChunk<<(i*chunkGrowth).
var chunkPools = func() []sync.Pool {
	p := make([]sync.Pool, chunkClasses)
	for i := range p {
		size := minChunk << (i * chunkGrowth)
		p[i].New = func() any { b := make([]byte, 0, size); return &b }
	}
	return p
}()

// body is a batch body in chunks. The zero value is empty.
type body struct {
	chunks []*[]byte
	parts  [][]byte // the chunks as the request sends them (see parts)
	n      int      // bytes written
	cap    int      // capacity of the chunks held
}

// grow adds an empty chunk, the next size up.
func (b *body) grow() {
	class := min(len(b.chunks), chunkClasses-1)
	c := chunkPools[class].Get().(*[]byte)
	*c = (*c)[:0]
	b.chunks = append(b.chunks, c)
	b.cap += cap(*c)
}

// write appends p.
func (b *body) write(p []byte) {
	for len(p) > 0 {
		if len(b.chunks) == 0 || len(*b.chunks[len(b.chunks)-1]) == cap(*b.chunks[len(b.chunks)-1]) {
			b.grow()
		}
		c := b.chunks[len(b.chunks)-1]
		n := copy((*c)[len(*c):cap(*c)], p)
		*c = (*c)[:len(*c)+n]
		b.n += n
		p = p[n:]
	}
}

// writeByte appends one byte.
func (b *body) writeByte(x byte) {
	if len(b.chunks) == 0 || len(*b.chunks[len(b.chunks)-1]) == cap(*b.chunks[len(b.chunks)-1]) {
		b.grow()
	}
	c := b.chunks[len(b.chunks)-1]
	*c = append(*c, x)
	b.n++
}

// Parts returns the written bytes as consecutive slices of the chunks
// (valid until release).
func (b *body) Parts() [][]byte {
	b.parts = b.parts[:0]
	for _, c := range b.chunks {
		b.parts = append(b.parts, *c)
	}
	return b.parts
}

// Len is the number of bytes written.
func (b *body) Len() int { return b.n }

// release returns the chunks to their pools and empties b.
func (b *body) release() {
	for i, c := range b.chunks {
		chunkPools[min(i, chunkClasses-1)].Put(c)
		b.chunks[i] = nil
	}
	clear(b.parts)
	b.chunks, b.parts, b.n, b.cap = b.chunks[:0], b.parts[:0], 0, 0
}

// copyTo writes b's bytes [start, end) to dst.
func (b *body) copyTo(dst *body, start, end int) {
	off := 0
	for _, c := range b.chunks {
		cs := *c
		if lo, hi := max(start-off, 0), min(end-off, len(cs)); lo < hi {
			dst.write(cs[lo:hi])
		}
		if off += len(cs); off >= end {
			return
		}
	}
}
