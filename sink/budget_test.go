package sink

import (
	"fmt"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/starsink/starsink/config"
	"github.com/starsink/starsink/schema"
)

// TestBudgetFlushesOpenBatches: open batches fill batch.buffer_memory
// (counted in chunk capacity) while their bodies are far below
// batch.max_bytes: reaching the budget flushes them, so loads free the
// memory rather than fetching staying paused until batch.max_age.
func TestBudgetFlushesOpenBatches(t *testing.T) {
	w := batchWorker(t)
	w.cfg.Batch.MaxRows = 100000
	w.cfg.Batch.BufferMemory = 64 << 10
	cl, err := kgo.NewClient(kgo.SeedBrokers("127.0.0.1:1"))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	w.cl, w.parts = cl, map[string]map[int32]struct{}{}
	ts, err := newTableState(w, batchTable(schema.ModelPrimaryKeys), config.TableOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w.tables = map[string]*tableState{ts.name: ts}
	for i := 0; w.buffered.Load() < w.cfg.Batch.BufferMemory; i++ {
		if err := add(ts, &kgo.Record{Topic: batchTopic, Offset: int64(i), Value: station(fmt.Sprint("s", i))}); err != nil {
			t.Fatal(err)
		}
	}
	if ts.cur.BodyLen() >= int(w.cfg.Batch.MaxBytes) {
		t.Fatalf("body %d bytes: the test wants one below max_bytes", ts.cur.BodyLen())
	}
	w.budget()
	if len(ts.queue) != 1 || ts.queue[0].reason != "budget" {
		t.Fatalf("%d batches queued at the budget, want the open one flushed", len(ts.queue))
	}
}

// TestFilteredRowsCounted: rows StarRocks filtered out of a loaded batch
// (max_filter_ratio > 0) are counted in starsink_rows_filtered_total.
func TestFilteredRowsCounted(t *testing.T) {
	rig := newFenceRig(t)
	rig.w.loader = filteringLoader{rig.sr}
	rig.add(t, batchTopic, 0, 0, station("a"))
	rig.add(t, batchTopic, 0, 1, station("b"))
	rig.flush(batchTopic)
	ts := rig.w.topics[batchTopic]
	if !rig.w.waitIdle([]*tableState{ts}, timeAfter(5)) {
		t.Fatal("table still busy")
	}
	var m dto.Metric
	if err := rig.w.m.rowsFiltered.WithLabelValues(ts.name).Write(&m); err != nil {
		t.Fatal(err)
	}
	if got := m.GetCounter().GetValue(); got != 1 {
		t.Errorf("%s = %v, want 1", MetricRowsFiltered, got)
	}
}
