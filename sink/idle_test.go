package sink

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/starsink/starsink/config"
	"github.com/starsink/starsink/schema"
)

// TestFlushIdle: an idle poll flushes a table's open batch at once, but a
// table at most once per max_age; later rows wait for their batch's age.
func TestFlushIdle(t *testing.T) {
	w := batchWorker(t)
	w.cfg.Batch.MaxAge = time.Hour
	ts, err := newTableState(w, batchTable(schema.ModelPrimaryKeys), config.TableOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w.tables = map[string]*tableState{ts.name: ts}
	steps := []struct {
		name    string
		add     bool // a record arrives before the idle poll
		batches int  // batches queued after it
	}{
		{name: "nothing open", batches: 0},
		{name: "first idle poll flushes", add: true, batches: 1},
		{name: "second within max_age waits", add: true, batches: 1},
		{name: "still waits", batches: 1},
	}
	for i, st := range steps {
		if st.add {
			if err := add(ts, &kgo.Record{Topic: batchTopic, Offset: int64(i), Value: fixture(t, "insert.value.json")}); err != nil {
				t.Fatal(err)
			}
		}
		w.flushIdle()
		if len(ts.queue) != st.batches {
			t.Fatalf("%s: %d batches queued, want %d", st.name, len(ts.queue), st.batches)
		}
	}
	ts.idleAt = time.Now().Add(-time.Hour) // max_age has passed since
	w.flushIdle()
	if len(ts.queue) != 2 || ts.queue[1].reason != "idle" {
		t.Fatalf("%d batches queued after max_age, want 2 (the second flushed as idle)", len(ts.queue))
	}
}
