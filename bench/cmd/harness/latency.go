package main

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/starsink/starsink/bench/internal/tables"
	"github.com/starsink/starsink/internal/subway"
)

// latency measures produce→load-acknowledged latency at a fixed rate over nt
// tables (topics of 3 partitions, rows produced round-robin), with the
// emulator in count-only mode.
//
// The k-th paced row's produce time is when the harness handed it to the
// producer; its ack time is the first poll (every 5 ms) of the emulator's
// counters at which RowsLoaded ≥ warm-up + k + 1. Rows of one table are
// loaded in batches in consumption order, so with one table the k-th
// acknowledged row stands for the k-th produced one; the error is at most
// the spread of one batch across the 3 partitions, and the poll adds ≤ 5 ms.
// With several tables, loaded independently, it is the same estimate with
// an error of up to one batch age between tables.
func latency(ctx context.Context, o *options, nt int, schemas bool, rate int, d time.Duration) (p50, p99 time.Duration, err error) {
	brokers, _, done, err := kafkaFor(o)
	if err != nil {
		return 0, 0, err
	}
	defer done()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers), kgo.ProducerLinger(0))
	if err != nil {
		return 0, 0, fmt.Errorf("producer: %w", err)
	}
	defer cl.Close()
	if err := resetTopics(ctx, kadm.NewClient(cl), nt); err != nil {
		return 0, 0, err
	}
	emu, ss, begin, err := launch(o, brokers, nt, schemas, "count-only", o.latencyFlush)
	if err != nil {
		return 0, 0, err
	}
	defer stop(emu)
	defer stop(ss)
	ev := subway.NewEvents(schemas)
	send := func(i int) {
		r := subway.Generate(subway.Passengers, i, 0)
		cl.Produce(ctx, &kgo.Record{Topic: tables.Topic(i % nt), Key: ev.Key(nil, subway.Passengers, r),
			Value: ev.Value(nil, subway.Passengers, "c", nil, r)}, nil)
	}
	const warm = 1000
	for i := 0; i < warm; i++ {
		send(i)
	}
	if _, _, err := waitLoaded(ss, begin, warm); err != nil {
		return 0, 0, fmt.Errorf("warm-up: %w", err)
	}
	n := int(float64(rate) * d.Seconds())
	type sample struct {
		t      time.Time
		loaded int64
	}
	var (
		mu      sync.Mutex
		samples []sample
		stopped = make(chan struct{})
		polled  = make(chan struct{})
	)
	go func() {
		defer close(polled)
		for {
			st, err := emuStats()
			if err == nil {
				mu.Lock()
				samples = append(samples, sample{time.Now(), st.RowsLoaded})
				mu.Unlock()
				if st.RowsLoaded >= int64(warm+n) {
					return
				}
			}
			select {
			case <-stopped:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	sent := make([]time.Time, n)
	t0 := time.Now()
	interval := time.Second / time.Duration(rate)
	for k := 0; k < n; k++ {
		if wait := time.Until(t0.Add(time.Duration(k) * interval)); wait > 0 {
			time.Sleep(wait)
		}
		sent[k] = time.Now()
		send(warm + k)
	}
	select {
	case <-polled:
	case <-time.After(2 * time.Minute):
		close(stopped)
		<-polled
		return 0, 0, fmt.Errorf("not every paced row was acknowledged")
	}
	lat := make([]time.Duration, 0, n)
	j := 0
	for k := 0; k < n; k++ {
		for j < len(samples) && samples[j].loaded < int64(warm+k+1) {
			j++
		}
		if j == len(samples) {
			break
		}
		lat = append(lat, samples[j].t.Sub(sent[k]))
	}
	sort.Slice(lat, func(a, b int) bool { return lat[a] < lat[b] })
	if len(lat) == 0 {
		return 0, 0, fmt.Errorf("no latency sample")
	}
	return lat[len(lat)/2], lat[len(lat)*99/100], nil
}
