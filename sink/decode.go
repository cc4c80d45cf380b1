package sink

import (
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/starsink/starsink/debezium"
)

// minShare is the fewest records a decode lane is given: below it, starting
// a goroutine costs more than it saves.
const minShare = 256

// decoded is one fetched record and what decoding it gave, in fetch order.
type decoded struct {
	r   *kgo.Record
	t   *tableState // nil: the topic has no table (err says why)
	err error       // resolving the table or decoding
	ev  debezium.Event
	// The row is lanes[lane].buf[start:end]; ev.Unavailable is
	// lanes[lane].ints[ustart:uend] (kept apart: a lane's buffers grow).
	lane, start, end, ustart, uend int
	gen                            int // the table's schema generation it was decoded under
}

// lane is one decoding goroutine's output buffers, reused from poll to poll.
type lane struct {
	buf  []byte
	ints []int
}

// decode decodes recs, split into contiguous shares over the worker's
// lanes, each with its own decoder per table. A decoder's caches (schema
// plans) only save work, so which lane decodes a record does not change its
// row; the rows are then added to batches in fetch order, one by one.
func (w *Worker) decode(recs []decoded) {
	k := min(len(w.lanes), len(recs)/minShare)
	if k <= 1 {
		w.decodeShare(0, recs)
		return
	}
	share := (len(recs) + k - 1) / k
	var wg sync.WaitGroup
	for i := 1; i < k; i++ {
		lo, hi := i*share, min(len(recs), (i+1)*share)
		if lo < hi {
			wg.Go(func() { w.decodeShare(i, recs[lo:hi]) })
		}
	}
	w.decodeShare(0, recs[:share])
	wg.Wait()
}

// decodeShare decodes recs with the decoders of lane i into its buffers.
func (w *Worker) decodeShare(i int, recs []decoded) {
	l := &w.lanes[i]
	l.buf, l.ints = l.buf[:0], l.ints[:0]
	for j := range recs {
		d := &recs[j]
		if d.t == nil {
			continue
		}
		r := d.r
		rec := debezium.Record{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, Key: r.Key, Value: r.Value}
		start := len(l.buf)
		l.buf, d.ev, d.err = d.t.decs[i].Decode(&rec, l.buf)
		d.gen = d.t.gen
		d.lane, d.start, d.end = i, start, len(l.buf)
		d.ustart = len(l.ints)
		l.ints = append(l.ints, d.ev.Unavailable...)
		d.uend = len(l.ints)
		d.ev.Unavailable = nil
	}
}

// release drops lane buffers that one poll of outsized rows grew, once
// their rows are batched.
func (w *Worker) release() {
	for i := range w.lanes {
		if cap(w.lanes[i].buf) > 64<<20 {
			w.lanes[i].buf = nil
		}
	}
}
