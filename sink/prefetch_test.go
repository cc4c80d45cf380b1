package sink

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/starsink/starsink/mapping"
	"github.com/starsink/starsink/schema"
)

// slowSchemas answers every table but "missing" after a pause, counting the
// reads of each table and the most that ran at once.
type slowSchemas struct {
	mu          sync.Mutex
	reads       map[string]int
	now, most   int
	pause       time.Duration
	missingName string
}

func (s *slowSchemas) Table(_ context.Context, db, table string) (*schema.Table, error) {
	s.mu.Lock()
	s.reads[table]++
	s.now++
	s.most = max(s.most, s.now)
	s.mu.Unlock()
	time.Sleep(s.pause)
	s.mu.Lock()
	s.now--
	s.mu.Unlock()
	if table == s.missingName {
		return nil, errors.New("no such table")
	}
	tbl := batchTable(schema.ModelPrimaryKeys)
	tbl.Database, tbl.Name = db, table
	return tbl, nil
}

// TestPrefetchSchemas: the tables a poll meets for the first time are read
// side by side, at most catalogParallel at once, each exactly once; a table
// whose read fails is read again by table() and its error reported there.
func TestPrefetchSchemas(t *testing.T) {
	w := batchWorker(t)
	w.cfg.Mapping.Template = "{table}"
	var err error
	if w.mapper, err = mapping.New(w.cfg.Mapping, "subway"); err != nil {
		t.Fatal(err)
	}
	src := &slowSchemas{reads: map[string]int{}, pause: 20 * time.Millisecond, missingName: "t7"}
	w.schemas, w.topics, w.tables, w.prefetched = src, map[string]*tableState{}, map[string]*tableState{}, map[string]*schema.Table{}
	var stop context.CancelFunc
	w.loadCtx, stop = context.WithCancel(context.Background())
	defer stop() // ends each table's loader goroutine

	var topics []kgo.FetchTopic
	for i := range 10 {
		topics = append(topics, kgo.FetchTopic{Topic: fmt.Sprintf("dip.cdc.public.t%d", i),
			Partitions: []kgo.FetchPartition{{Records: []*kgo.Record{{Value: []byte("{}")}}}}})
	}
	fetches := kgo.Fetches{{Topics: topics}}
	w.prefetchSchemas(context.Background(), fetches)
	if src.most < 2 || src.most > catalogParallel {
		t.Errorf("at most %d reads ran at once, want 2..%d", src.most, catalogParallel)
	}
	for i := range 10 {
		ts, err := w.table(context.Background(), fmt.Sprintf("dip.cdc.public.t%d", i))
		switch name := fmt.Sprintf("t%d", i); {
		case name == src.missingName:
			if err == nil || !strings.Contains(err.Error(), "no such table") || src.reads[name] != 2 {
				t.Errorf("%s: err %v after %d reads, want the read's error after a second read", name, err, src.reads[name])
			}
		case err != nil || ts == nil || ts.def.Name != name || src.reads[name] != 1:
			t.Errorf("%s: table %v, err %v, %d reads; want its table from one read", name, ts, err, src.reads[name])
		}
	}
	// Known tables are not read again.
	w.prefetchSchemas(context.Background(), fetches)
	if src.reads["t0"] != 1 {
		t.Errorf("t0 read %d times after a second poll, want 1", src.reads["t0"])
	}
}
