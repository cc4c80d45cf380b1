package sink

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/starsink/starsink/config"
	"github.com/starsink/starsink/streamload"
)

// station is a change of one row, keyed by its station.
func station(name string) []byte {
	return []byte(`{"before":null,"after":{"use_date":"20240601","line_no":"1","station_name":"` + name +
		`","pass_in":"AQ==","pass_out":null,"reg_date":"20240604"},"source":{"connector":"postgresql","ts_ms":1,"lsn":1},"op":"c"}`)
}

// dlqRig is a fenceRig with a dead-letter topic whose records are kept.
func dlqRig(t *testing.T, maxFailures int) (*fenceRig, func() []int64) {
	rig := newFenceRig(t)
	var mu sync.Mutex
	var offsets []int64
	rig.w.dlq = newDLQ(nil, config.Errors{DLQMaxFailures: maxFailures, DLQWindow: 10000}, "g", rig.w.records.Load)
	rig.w.dlq.produce = func(_ context.Context, r *kgo.Record) error {
		mu.Lock()
		defer mu.Unlock()
		for _, h := range r.Headers {
			if h.Key == "__connect.errors.offset" {
				var o int64
				fmt.Sscan(string(h.Value), &o)
				offsets = append(offsets, o)
			}
		}
		return nil
	}
	return rig, func() []int64 { mu.Lock(); defer mu.Unlock(); return append([]int64(nil), offsets...) }
}

// TestDataRefusalDeadLettersOnlyRefusedRecords: StarRocks refuses a batch
// of 40 rows as data because of two of them: the batch is bisected, the
// two are dead-lettered (under errors.dlq_max_failures 10, which the whole
// batch would trip), the 38 others load, and the batch's offsets are marked.
func TestDataRefusalDeadLettersOnlyRefusedRecords(t *testing.T) {
	rig, dead := dlqRig(t, 10)
	rig.sr.refuse = func(body string) error {
		if strings.Contains(body, `"bad`) {
			return &streamload.LoadError{Status: "Fail", Message: "too many filtered rows", ErrorURL: "http://be/api/_load_error_log?file=x"}
		}
		return nil
	}
	for i := range 40 {
		name := fmt.Sprint("s", i)
		if i == 7 || i == 30 {
			name = fmt.Sprint("bad", i)
		}
		rig.add(t, batchTopic, 0, int64(i), station(name))
	}
	rig.flush(batchTopic)
	ts := rig.w.topics[batchTopic]
	if !rig.w.waitIdle([]*tableState{ts}, time.Now().Add(10*time.Second)) {
		t.Fatal("table still busy")
	}
	select {
	case err := <-rig.w.fatal:
		t.Fatalf("worker stopped: %v", err)
	default:
	}
	if got := dead(); fmt.Sprint(got) != "[7 30]" {
		t.Errorf("dead-lettered offsets %v, want [7 30]", got)
	}
	if got := rig.w.Stats().RowsLoaded; got != 38 {
		t.Errorf("%d rows loaded, want 38", got)
	}
	if m := rig.marked(); len(m) != 1 || m[0] != batchTopic+"[0]=40" {
		t.Errorf("marks %v, want the batch's", m)
	}
}

// TestUnavailableStopsWithoutDeadLettering: with errors.tolerance=all, a
// retryable failure that outlasted the retries (StarRocks unavailable),
// or a refusal of the load itself (no error log of refused rows), is not
// the records' fault: nothing is dead-lettered or marked, and the worker
// stops.
func TestUnavailableStopsWithoutDeadLettering(t *testing.T) {
	for _, refusal := range []*streamload.LoadError{
		{Status: "transport", Message: "connection refused", Retryable: true},
		{Status: "Fail", Message: "Access denied; you need (at least one of) the INSERT privilege(s)"},
	} {
		t.Run(refusal.Message, func(t *testing.T) { unavailable(t, refusal) })
	}
}

func unavailable(t *testing.T, refusal error) {
	rig, dead := dlqRig(t, 100)
	rig.sr.refuse = func(string) error { return refusal }
	for i := range 5 {
		rig.add(t, batchTopic, 0, int64(i), station(fmt.Sprint("s", i)))
	}
	rig.flush(batchTopic)
	select {
	case <-rig.w.fatal:
	case <-time.After(10 * time.Second):
		t.Fatal("the worker goes on")
	}
	if got := dead(); len(got) != 0 {
		t.Errorf("dead-lettered %v", got)
	}
	if m := rig.marked(); len(m) != 0 {
		t.Errorf("marked %v", m)
	}
}

// filteringLoader loads like its fakeSR and reports one row filtered.
type filteringLoader struct{ *fakeSR }

func (f filteringLoader) Load(ctx context.Context, b *Batch) error {
	err := f.fakeSR.Load(ctx, b)
	b.Filtered = 1
	return err
}

func timeAfter(seconds int) time.Time { return time.Now().Add(time.Duration(seconds) * time.Second) }

// TestStreamLoaderStrictMode: every load carries strict_mode: true, so a
// value StarRocks cannot convert is refused, never stored as NULL.
func TestStreamLoaderStrictMode(t *testing.T) {
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		got = r.Header.Get("strict_mode")
		io.Copy(io.Discard, r.Body)
		rw.Write([]byte(`{"Status":"Success","NumberTotalRows":1,"NumberLoadedRows":1}`))
	}))
	defer srv.Close()
	c, err := streamload.New(streamload.Config{FEURLs: []string{srv.URL}, User: "u"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	b := &Batch{DB: "d", Table: "t", Label: "l", Columns: []string{"a"}}
	b.body.write([]byte(`[{"a":1}]`))
	if err := (&StreamLoader{Client: c}).Load(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	if got != "true" {
		t.Errorf("strict_mode header %q, want true", got)
	}
}
