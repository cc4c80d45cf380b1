package sink

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/starsink/starsink/config"
	"github.com/starsink/starsink/schema"
	"github.com/starsink/starsink/streamload"
)

// fakeSR is a StarRocks stand-in at the Loader seam: it remembers which
// labels landed and when, and can hold loads until released.
type fakeSR struct {
	mu      sync.Mutex
	states  map[string]string // label → VISIBLE, ABORTED
	landed  []string          // labels in landing order
	calls   int
	hold    chan struct{} // non-nil: loads wait for it (or their ctx)
	started chan string   // a load began (label)
	// landOnCancel: a cancelled load had sent its body whole, and
	// StarRocks commits it anyway.
	landOnCancel bool
	// refuse returns the error for a batch's body (nil: it loads).
	refuse   func(body string) error
	lookups  int
	afterRev bool // set by tests: a load that lands now is a zombie
	zombies  int
}

func newFakeSR() *fakeSR {
	return &fakeSR{states: map[string]string{}, started: make(chan string, 100)}
}

func (f *fakeSR) Load(ctx context.Context, b *Batch) error {
	f.mu.Lock()
	f.calls++
	hold, refuse := f.hold, f.refuse
	f.mu.Unlock()
	f.started <- b.Label
	if hold != nil {
		select {
		case <-hold:
		case <-ctx.Done():
			if f.landOnCancel {
				f.land(b.Label)
			} else {
				f.mu.Lock()
				f.states[b.Label] = "ABORTED"
				f.mu.Unlock()
			}
			return &streamload.LoadError{Status: "canceled", Err: ctx.Err()}
		}
	}
	if refuse != nil {
		var body strings.Builder
		for _, p := range b.Body() {
			body.Write(p)
		}
		if err := refuse(body.String()); err != nil {
			return err
		}
	}
	f.land(b.Label)
	return nil
}

func (f *fakeSR) land(label string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.states[label] = "VISIBLE"
	f.landed = append(f.landed, label)
	if f.afterRev {
		f.zombies++
	}
}

func (f *fakeSR) LoadState(_ context.Context, _, label string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lookups++
	if s := f.states[label]; s != "" {
		return s, nil
	}
	return "UNKNOWN", nil
}

// fenceRig is a worker without Kafka whose tables load into a fakeSR;
// marks are recorded, and partitions 0 and 1 of batchTopic (and of
// "other.topic", feeding a second table) are owned.
type fenceRig struct {
	w     *Worker
	sr    *fakeSR
	mu    sync.Mutex
	marks []string // "topic[p]=offset"
}

func newFenceRig(t *testing.T) *fenceRig {
	t.Helper()
	rig := &fenceRig{w: batchWorker(t), sr: newFakeSR()}
	w := rig.w
	w.loader = rig.sr
	w.sem = make(chan struct{}, 4)
	w.fatal = make(chan error, 1)
	w.loadCtx, w.cancelLoads = context.WithCancel(context.Background())
	t.Cleanup(w.cancelLoads)
	w.own = newOwner()
	w.rewinds = map[string]map[int32]int64{}
	w.own.assign(map[string][]int32{batchTopic: {0, 1}, "other.topic": {0}})
	w.topics, w.tables, w.parts = map[string]*tableState{}, map[string]*tableState{}, map[string]map[int32]struct{}{}
	w.mark = func(m map[string]map[int32]kgo.EpochOffset) {
		rig.mu.Lock()
		defer rig.mu.Unlock()
		for topic, ps := range m {
			for p, o := range ps {
				rig.marks = append(rig.marks, fmt.Sprintf("%s[%d]=%d", topic, p, o.Offset))
			}
		}
	}
	w.cfg.Commit.RevokeTimeout = 50 * time.Millisecond
	w.cfg.Kafka.RebalanceTimeout = 5 * time.Second
	w.cfg.Shutdown.GracePeriod = 50 * time.Millisecond
	rig.table(t, batchTopic, "subway_passengers_copy")
	return rig
}

// table starts the loader of a table fed by topic.
func (rig *fenceRig) table(t *testing.T, topic, name string) *tableState {
	t.Helper()
	def := batchTable(schema.ModelPrimaryKeys)
	def.Name = name
	ts, err := newTableState(rig.w, def, config.TableOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rig.w.tables[ts.name], rig.w.topics[topic] = ts, ts
	go ts.run()
	return ts
}

// add batches one record of the insert fixture (nil value: a tombstone).
func (rig *fenceRig) add(t *testing.T, topic string, p int32, off int64, value []byte) {
	t.Helper()
	rig.w.mu.Lock()
	defer rig.w.mu.Unlock()
	if err := add(rig.w.topics[topic], &kgo.Record{Topic: topic, Partition: p, Offset: off, Value: value}); err != nil {
		t.Fatal(err)
	}
}

func (rig *fenceRig) flush(topic string) {
	rig.w.mu.Lock()
	defer rig.w.mu.Unlock()
	rig.w.topics[topic].flush("test")
}

func (rig *fenceRig) marked() []string {
	rig.mu.Lock()
	defer rig.mu.Unlock()
	return append([]string(nil), rig.marks...)
}

// within fails the test if fn has not returned after d (a hang guard, not
// a timing assertion).
func within(t *testing.T, d time.Duration, what string, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { fn(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("%s did not return", what)
	}
}

// TestShutdownDoesNotCommitPastCancelledLoad: a load outlives the grace
// period and is cancelled without landing; the batch queued behind it has
// no rows (a tombstone). Nothing of the partition may be marked past the
// cancelled batch, and Run reports the unclean stop.
func TestShutdownDoesNotCommitPastCancelledLoad(t *testing.T) {
	rig := newFenceRig(t)
	rig.sr.hold = make(chan struct{}) // never released
	rig.add(t, batchTopic, 0, 0, fixture(t, "insert.value.json"))
	rig.flush(batchTopic)
	<-rig.sr.started
	rig.add(t, batchTopic, 0, 1, nil) // tombstone
	var err error
	within(t, 10*time.Second, "shutdown", func() { err = rig.w.shutdown(nil) })
	if err == nil {
		t.Error("shutdown reported a clean stop with a load cancelled")
	}
	if m := rig.marked(); len(m) != 0 {
		t.Errorf("marked %v past a load that did not land", m)
	}
}

// TestRevokeSettlesRunningLoadBeforeReturning: a load still running when
// commit.revoke_timeout ends is cancelled and its label settled before the
// revoke returns, so it cannot land after the next owner loaded newer
// rows; its late mark is dropped.
func TestRevokeSettlesRunningLoadBeforeReturning(t *testing.T) {
	for _, lands := range []bool{false, true} {
		t.Run(fmt.Sprintf("lands=%v", lands), func(t *testing.T) {
			rig := newFenceRig(t)
			rig.sr.hold = make(chan struct{})
			rig.sr.landOnCancel = lands
			rig.add(t, batchTopic, 0, 0, fixture(t, "insert.value.json"))
			rig.flush(batchTopic)
			<-rig.sr.started
			within(t, 10*time.Second, "revoke", func() {
				rig.w.onRevoked(context.Background(), nil, map[string][]int32{batchTopic: {0}})
			})
			rig.sr.mu.Lock()
			rig.sr.afterRev = true
			rig.sr.mu.Unlock()
			close(rig.sr.hold) // whatever was still waiting would land now
			rig.w.mu.Lock()
			ts := rig.w.topics[batchTopic]
			rig.w.mu.Unlock()
			if !rig.w.waitIdle([]*tableState{ts}, time.Now().Add(5*time.Second)) {
				t.Fatal("table still busy")
			}
			rig.sr.mu.Lock()
			zombies, lookups := rig.sr.zombies, rig.sr.lookups
			rig.sr.mu.Unlock()
			if zombies != 0 {
				t.Errorf("%d loads landed after the revoke returned", zombies)
			}
			if lookups == 0 {
				t.Error("the cancelled load's label was not looked up")
			}
			if m := rig.marked(); len(m) != 0 {
				t.Errorf("marked %v for a revoked partition", m)
			}
			select {
			case err := <-rig.w.fatal:
				t.Errorf("worker stopped: %v", err)
			default:
			}
		})
	}
}

// TestRevokeWaitsOnlyForRevokedTables: a revoke of one topic's partition
// does not wait for (or cancel) the load of a table fed by another topic.
func TestRevokeWaitsOnlyForRevokedTables(t *testing.T) {
	rig := newFenceRig(t)
	rig.w.cfg.Commit.RevokeTimeout = time.Hour
	rig.table(t, "other.topic", "other")
	rig.sr.hold = make(chan struct{})
	rig.add(t, "other.topic", 0, 0, fixture(t, "insert.value.json"))
	rig.flush("other.topic")
	<-rig.sr.started
	within(t, 10*time.Second, "revoke of an idle table's partition", func() {
		rig.w.onRevoked(context.Background(), nil, map[string][]int32{batchTopic: {0}})
	})
	close(rig.sr.hold)
	other := rig.w.topics["other.topic"]
	if !rig.w.waitIdle([]*tableState{other}, time.Now().Add(5*time.Second)) {
		t.Fatal("other table still busy")
	}
	if m := rig.marked(); len(m) != 1 || m[0] != "other.topic[0]=1" {
		t.Errorf("marks %v, want the other table's load marked", m)
	}
}

// TestLostPartitionBatchesNeverLoad: on a lost assignment the open and
// queued batches of the lost partitions are dropped, never loaded, and the
// running one is cancelled and settled.
func TestLostPartitionBatchesNeverLoad(t *testing.T) {
	rig := newFenceRig(t)
	rig.sr.hold = make(chan struct{})
	rig.add(t, batchTopic, 0, 0, fixture(t, "insert.value.json"))
	rig.flush(batchTopic)
	<-rig.sr.started
	rig.add(t, batchTopic, 0, 1, fixture(t, "update.value.json"))
	rig.flush(batchTopic)                                         // queued
	rig.add(t, batchTopic, 0, 2, fixture(t, "insert.value.json")) // open
	within(t, 10*time.Second, "lost", func() {
		rig.w.onLost(context.Background(), nil, map[string][]int32{batchTopic: {0, 1}})
	})
	close(rig.sr.hold)
	rig.w.mu.Lock()
	ts := rig.w.topics[batchTopic]
	open := ts.cur
	rig.w.mu.Unlock()
	if !rig.w.waitIdle([]*tableState{ts}, time.Now().Add(5*time.Second)) {
		t.Fatal("table still busy")
	}
	if open != nil {
		t.Error("the open batch of a lost partition was kept")
	}
	rig.sr.mu.Lock()
	calls, landed := rig.sr.calls, rig.sr.landed
	rig.sr.mu.Unlock()
	if calls != 1 || len(landed) != 0 {
		t.Errorf("%d loads, landed %v: want only the running load, cancelled", calls, landed)
	}
	if m := rig.marked(); len(m) != 0 {
		t.Errorf("marked %v for lost partitions", m)
	}
}

// TestMixedBatchOfRevokedPartitionNotLoaded: a table fed by two
// partitions holds a queued batch of both when one is given up: the batch
// is not loaded, and since it holds rows of the partition still owned,
// that partition is read again from the batch's first offset (the open
// batch holding it dropped), never marked past them.
func TestMixedBatchOfRevokedPartitionNotLoaded(t *testing.T) {
	rig := newFenceRig(t)
	rig.sr.hold = make(chan struct{})
	rig.add(t, batchTopic, 1, 0, fixture(t, "insert.value.json"))
	rig.flush(batchTopic)
	<-rig.sr.started
	rig.add(t, batchTopic, 0, 0, fixture(t, "insert.value.json"))
	rig.add(t, batchTopic, 1, 1, fixture(t, "update.value.json"))
	rig.flush(batchTopic)
	rig.add(t, batchTopic, 1, 2, fixture(t, "update.value.json")) // open
	rig.w.own.drop(map[string][]int32{batchTopic: {0}})           // lost under it
	close(rig.sr.hold)
	ts := rig.w.topics[batchTopic]
	if !rig.w.waitIdle([]*tableState{ts}, time.Now().Add(5*time.Second)) {
		t.Fatal("table still busy")
	}
	rig.sr.mu.Lock()
	calls := rig.sr.calls
	rig.sr.mu.Unlock()
	if calls != 1 {
		t.Errorf("%d loads: the mixed batch was loaded", calls)
	}
	select {
	case err := <-rig.w.fatal:
		t.Errorf("worker stopped: %v", err)
	default:
	}
	rig.w.mu.Lock()
	rewinds, open := fmt.Sprint(rig.w.rewinds), ts.cur
	rig.w.mu.Unlock()
	if want := fmt.Sprintf("map[%s:map[1:1]]", batchTopic); rewinds != want {
		t.Errorf("rewinds %s, want %s", rewinds, want)
	}
	if open != nil {
		t.Error("the open batch of the rewound partition was kept")
	}
	if m := rig.marked(); len(m) != 1 || m[0] != batchTopic+"[1]=1" {
		t.Errorf("marks %v, want only the first batch's", m)
	}
}

// TestFlushAfterTimedOutRevoke: a revoke whose wait timed out, then more
// flushes and waits, as the poll loop goes on (a shared WaitGroup reused
// while a timed-out Wait still ran panicked here).
func TestFlushAfterTimedOutRevoke(t *testing.T) {
	rig := newFenceRig(t)
	ts := rig.w.topics[batchTopic]
	for i := range 20 {
		rig.sr.mu.Lock()
		rig.sr.hold = make(chan struct{})
		hold := rig.sr.hold
		rig.sr.mu.Unlock()
		rig.add(t, batchTopic, 1, int64(2*i), fixture(t, "insert.value.json"))
		rig.flush(batchTopic)
		<-rig.sr.started
		if rig.w.waitIdle([]*tableState{ts}, time.Now()) {
			t.Fatal("idle while a load is held")
		}
		rig.add(t, batchTopic, 1, int64(2*i+1), fixture(t, "update.value.json"))
		rig.flush(batchTopic)
		close(hold)
		if !rig.w.waitIdle([]*tableState{ts}, time.Now().Add(5*time.Second)) {
			t.Fatal("table still busy")
		}
	}
}

// TestRewindAppliedBeforeNextRecords: the poll loop moves a rewound
// partition's consume position back, if it still owns it, and skips the
// records of it that the poll brought (fetched before the rewind).
func TestRewindAppliedBeforeNextRecords(t *testing.T) {
	rig := newFenceRig(t)
	w := rig.w
	var set string
	w.setOffsets = func(m map[string]map[int32]kgo.EpochOffset) { set = fmt.Sprint(m) }
	w.rewinds[batchTopic] = map[int32]int64{1: 5}
	w.rewinds["gone.topic"] = map[int32]int64{0: 3} // not owned: skipped, not set
	w.mu.Lock()
	w.skip = w.applyRewinds()
	key, val := change("c", 1)
	fetches := kgo.Fetches{{Topics: []kgo.FetchTopic{{Topic: batchTopic, Partitions: []kgo.FetchPartition{
		{Partition: 1, Records: []*kgo.Record{{Topic: batchTopic, Partition: 1, Offset: 9, Key: key, Value: val}}},
		{Partition: 0, Records: []*kgo.Record{{Topic: batchTopic, Partition: 0, Offset: 4, Key: key, Value: val}}},
	}}}}}
	err := w.process(context.Background(), fetches)
	cur := w.topics[batchTopic].cur
	w.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("map[%s:map[1:{-1 5}]]", batchTopic); set != want {
		t.Errorf("SetOffsets(%s), want %s", set, want)
	}
	if cur == nil || describeRanges(cur.Ranges) != batchTopic+"[0]@4-4" {
		t.Errorf("open batch %v, want only partition 0's record", cur)
	}
	if len(w.rewinds) != 0 {
		t.Errorf("rewinds %v left after applying", w.rewinds)
	}
}

// A batch that did not load starts at the partition's last mark, behind the
// client's fetch position: the rewind (SetOffsets through a real group
// client, after a poll) brings its records back first (the kept partition
// of fault-schedule seed 14).
func TestRewindReadsAgainFromTheLastMark(t *testing.T) {
	const topic = "rewind.topic"
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, topic))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	prod, err := kgo.NewClient(kgo.SeedBrokers(cluster.ListenAddrs()...), kgo.DefaultProduceTopic(topic))
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	for i := range 10 {
		if err := prod.ProduceSync(ctx, &kgo.Record{Value: []byte(strconv.Itoa(i))}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(cluster.ListenAddrs()...), kgo.ConsumerGroup("rewind"), kgo.ConsumeTopics(topic),
		kgo.AutoCommitMarks(), kgo.BlockRebalanceOnPoll(), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var got int
	for got < 10 && ctx.Err() == nil {
		got += cl.PollRecords(ctx, 100).NumRecords()
		cl.AllowRebalance()
	}
	// Records 0-4 loaded and marked; the batch of 5-9 was not loaded.
	cl.MarkCommitOffsets(map[string]map[int32]kgo.EpochOffset{topic: {0: {Epoch: -1, Offset: 5}}})
	w := &Worker{log: zap.NewNop(), setOffsets: cl.SetOffsets, rewinds: map[string]map[int32]int64{topic: {0: 5}}}
	w.applyRewinds()
	pctx, pcancel := context.WithTimeout(ctx, 10*time.Second)
	defer pcancel()
	fs := cl.PollRecords(pctx, 100)
	cl.AllowRebalance()
	if recs := fs.Records(); len(recs) == 0 || recs[0].Offset != 5 {
		var offs []int64
		for _, r := range recs {
			offs = append(offs, r.Offset)
		}
		t.Fatalf("after the rewind to 5 the poll returned offsets %v, want 5 first", offs)
	}
}
