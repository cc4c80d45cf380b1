package streamload

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"sync"

	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// Compressed bodies are built once per Load into a pooled buffer that every
// attempt re-reads, so retries and the FE→BE redirect never compress twice
// and the request keeps a Content-Length. Encoders are pooled too.

var (
	bufPool  = sync.Pool{New: func() any { return new(bytes.Buffer) }}
	gzipPool = sync.Pool{New: func() any { w, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed); return w }}
	lz4Pool  = sync.Pool{New: func() any { return lz4.NewWriter(nil) }}
	zstdPool = sync.Pool{New: func() any {
		w, _ := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))
		return w
	}}
)

// maxPooledBuf keeps very large buffers out of the pool.
const maxPooledBuf = 64 << 20

// compress returns body compressed with algo ("" returns body itself) and a
// function that returns the buffer to its pool once no attempt needs it.
func compress(algo string, body [][]byte) ([][]byte, func(), error) {
	if algo == "" {
		return body, func() {}, nil
	}
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	release := func() {
		if buf.Cap() <= maxPooledBuf {
			bufPool.Put(buf)
		}
	}
	var err error
	switch algo {
	case "gzip":
		w := gzipPool.Get().(*gzip.Writer)
		w.Reset(buf)
		err = writeClose(w, body)
		gzipPool.Put(w)
	case "lz4_frame":
		w := lz4Pool.Get().(*lz4.Writer)
		w.Reset(buf)
		err = writeClose(w, body)
		lz4Pool.Put(w)
	case "zstd":
		w := zstdPool.Get().(*zstd.Encoder)
		w.Reset(buf)
		err = writeClose(w, body)
		zstdPool.Put(w)
	default:
		err = fmt.Errorf("unsupported compression %q", algo)
	}
	if err != nil {
		release()
		return nil, func() {}, fmt.Errorf("%s: %w", algo, err)
	}
	return [][]byte{buf.Bytes()}, release, nil
}

func writeClose(w io.WriteCloser, body [][]byte) error {
	for _, p := range body {
		if _, err := w.Write(p); err != nil {
			return err
		}
	}
	return w.Close()
}
