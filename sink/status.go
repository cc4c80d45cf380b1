package sink

import (
	"errors"
	"slices"
	"sort"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/starsink/starsink/status"
	"github.com/starsink/starsink/streamload"
)

// The worker's side of the operations package (status/): GET /status
// (Status), pause and resume of one table (PauseTable, ResumeTable),
// freshness (Freshness, fed through w.tracker from the load goroutines)
// and the progress lines of a catch-up (pollDone). Nothing here runs per
// record except SourceTimes.Add in addRow.

// The handlers in http.go switch on through these interfaces.
var (
	_ status.Source = (*Worker)(nil)
	_ status.Pauser = (*Worker)(nil)
)

// fetchPos is what the last fetch of a partition said: its high watermark
// and the records left after the last one fetched.
type fetchPos struct{ end, lag int64 }

// track returns the worker's tracker; a Worker not built by New (in
// tests) gets one of its own, registered nowhere.
func (w *Worker) track() *status.Tracker {
	w.trackOnce.Do(func() {
		if w.tracker == nil {
			w.tracker = status.NewTracker(prometheus.NewRegistry(), nil)
		}
	})
	return w.tracker
}

// Freshness returns the worker's freshness metrics (GET /status reads the
// tables' lag in seconds from it).
func (w *Worker) Freshness() *status.Freshness { return w.track().Freshness }

// Status implements status.Source: a copy of the worker's view, taken
// under its locks. It asks Kafka nothing: the group metadata, committed
// offsets and fetch positions are the client's and the worker's own.
func (w *Worker) Status() status.Member {
	m := status.Member{Group: w.cfg.Kafka.GroupID, Generation: -1, Time: time.Now()}
	if w.cfg.Kafka.GroupID != "" {
		m.MemberID, m.Generation = w.cl.GroupMetadata()
	}
	// Read before taking w.mu: CommittedOffsets takes the client's group
	// lock, and nothing waits for a client lock while holding w.mu here.
	committed := w.cl.CommittedOffsets() // the client's copy: no request
	owned := w.own.partitions()
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.statusLocked(m, committed, owned)
}

// statusLocked completes m from the worker's tables. Called under w.mu.
func (w *Worker) statusLocked(m status.Member, committed map[string]map[int32]kgo.EpochOffset, owned map[string][]int32) status.Member {
	byTable := map[string]*status.Table{}
	table := func(name string) *status.Table {
		tb := byTable[name]
		if tb == nil {
			tb = &status.Table{Name: name, State: status.StateIdle, Partitions: []status.Partition{}}
			byTable[name] = tb
		}
		return tb
	}
	topics := make([]string, 0, len(owned))
	for topic := range owned {
		topics = append(topics, topic)
	}
	sort.Strings(topics)
	for _, topic := range topics {
		ps := slices.Clone(owned[topic])
		slices.Sort(ps)
		m.Assigned = append(m.Assigned, status.TopicPartitions{Topic: topic, Partitions: ps})
		name := w.tableName(topic)
		if name == "" {
			continue // unmapped: its records are rejected, no table to show
		}
		tb := table(name)
		for _, p := range ps {
			sp := status.Partition{Topic: topic, Partition: p, Committed: -1, End: -1, Lag: -1}
			if o, ok := committed[topic][p]; ok && o.Offset >= 0 {
				sp.Committed = o.Offset
			}
			if fp, ok := w.positions[tp{topic, p}]; ok {
				sp.End, sp.Lag = fp.end, fp.lag
			}
			tb.Partitions = append(tb.Partitions, sp)
		}
	}
	for name, t := range w.tables {
		if _, ok := byTable[name]; !ok && !w.pausedByOperator(name) && !w.stoppedBy[name] && !t.failed.Load() {
			continue // its partitions were revoked: another member loads it
		}
		tb := table(name)
		t.qmu.Lock()
		busy := len(t.queue) > 0 || t.running != nil
		t.qmu.Unlock()
		if busy || t.cur != nil {
			tb.State = status.StateLoading
		}
	}
	for name, tb := range byTable {
		switch t := w.tables[name]; {
		case t != nil && t.failed.Load() || w.stoppedBy[name]:
			tb.State, tb.Reason = status.StateFailed, "stopped on an error: nothing after it is loaded or committed (see last_error)"
		case w.pausedByOperator(name):
			tb.State, tb.Reason = status.StatePaused, "paused by an operator"
		case w.paused:
			tb.State, tb.Reason = status.StatePaused, "buffer budget full (batch.buffer_memory): fetching paused until the loads free memory"
		}
		w.track().Fill(tb)
		if tb.State == status.StateFailed && tb.LastError != nil {
			tb.Reason = tb.LastError.Message
		}
		m.Tables = append(m.Tables, *tb)
	}
	sort.Slice(m.Tables, func(a, b int) bool { return m.Tables[a].Name < m.Tables[b].Name })
	return m
}

// tableName returns the "db.table" topic loads into, "" when it is
// unmapped. Called under w.mu.
func (w *Worker) tableName(topic string) string {
	if t := w.topics[topic]; t != nil {
		return t.name
	}
	return w.targetName(topic)
}

// targetName is tableName from the mapping alone (no lock).
func (w *Worker) targetName(topic string) string {
	if w.mapper == nil {
		return "" // a Worker not built by New (tests)
	}
	target, err := w.mapper.Resolve(topic)
	if err != nil {
		return ""
	}
	return target.Database + "." + target.Table
}

// PauseTable implements status.Pauser: it stops fetching the table's
// assigned partitions (and those assigned later, see pauseAssigned)
// without leaving the group. The open batch loads and is committed at its
// usual trigger. Partition pauses are apart from the buffer budget's topic
// pauses: franz-go keeps them separately, so the budget's
// ResumeFetchTopics leaves a paused table paused.
func (w *Worker) PauseTable(name string) error {
	w.mu.Lock()
	loaded := w.tables[name] != nil
	w.mu.Unlock()
	w.pmu.Lock()
	defer w.pmu.Unlock()
	// Read under pmu: a partition assigned after this read is paused by
	// pauseAssigned, which waits for pmu and then sees the pause.
	parts := w.partsOf(name)
	if len(parts) == 0 && !loaded && !w.userPaused[name] {
		return &status.UnknownTableError{Table: name}
	}
	if w.userPaused == nil {
		w.userPaused = map[string]bool{}
	}
	if !w.userPaused[name] {
		w.log.Info("table paused", zap.String("table", name), zap.Any("partitions", parts))
	}
	w.userPaused[name] = true
	if len(parts) > 0 {
		w.cl.PauseFetchPartitions(parts)
	}
	return nil
}

// ResumeTable implements status.Pauser: it resumes fetching every
// partition of the table's topics the pause stopped, assigned or not.
func (w *Worker) ResumeTable(name string) error {
	w.mu.Lock()
	loaded := w.tables[name] != nil
	w.mu.Unlock()
	w.pmu.Lock()
	defer w.pmu.Unlock()
	if !w.userPaused[name] {
		if !loaded && len(w.partsOf(name)) == 0 {
			return &status.UnknownTableError{Table: name}
		}
		return nil
	}
	delete(w.userPaused, name)
	resume := map[string][]int32{}
	for topic, ps := range w.cl.PauseFetchPartitions(nil) {
		if w.targetName(topic) == name {
			resume[topic] = ps
		}
	}
	if len(resume) > 0 {
		w.cl.ResumeFetchPartitions(resume)
	}
	w.log.Info("table resumed", zap.String("table", name), zap.Any("partitions", resume))
	return nil
}

// partsOf returns the assigned partitions of the topics that load into
// name. Called under pmu.
func (w *Worker) partsOf(name string) map[string][]int32 {
	parts := map[string][]int32{}
	for topic, ps := range w.assigned {
		if w.targetName(topic) == name {
			for p := range ps {
				parts[topic] = append(parts[topic], p)
			}
		}
	}
	return parts
}

// pauseAssigned records newly assigned partitions (w.assigned) and pauses
// those of paused tables, so that a rebalance does not resume a table an
// operator paused. It runs in the rebalance callback and takes no lock
// but pmu: the poll loop may hold w.mu, and a load the owner's lock, while
// they wait on the client.
func (w *Worker) pauseAssigned(assigned map[string][]int32) {
	w.pmu.Lock()
	defer w.pmu.Unlock()
	if w.assigned == nil {
		w.assigned = map[string]map[int32]struct{}{}
	}
	for topic, ps := range assigned {
		if w.assigned[topic] == nil {
			w.assigned[topic] = map[int32]struct{}{}
		}
		for _, p := range ps {
			w.assigned[topic][p] = struct{}{}
		}
	}
	if len(w.userPaused) == 0 {
		return
	}
	parts := map[string][]int32{}
	for topic, ps := range assigned {
		if w.userPaused[w.targetName(topic)] {
			parts[topic] = ps
		}
	}
	if len(parts) > 0 {
		w.cl.PauseFetchPartitions(parts)
		w.log.Info("newly assigned partitions of paused tables paused", zap.Any("partitions", parts))
	}
}

// pausedByOperator reports whether name is paused by an operator.
func (w *Worker) pausedByOperator(name string) bool {
	w.pmu.Lock()
	defer w.pmu.Unlock()
	return w.userPaused[name]
}

// tableFailed records that a record of t stops the worker. Called under
// w.mu.
func (w *Worker) tableFailed(t *tableState, e status.Error) {
	if w.stoppedBy == nil {
		w.stoppedBy = map[string]bool{}
	}
	w.stoppedBy[t.name] = true
	w.track().Failed(t.name, e)
}

// forgetStatus drops what the worker keeps of partitions given up, and
// the tracker's series of tables none of whose partitions it still owns.
// Called under w.mu, after own.drop.
func (w *Worker) forgetStatus(parts map[string][]int32) {
	w.pmu.Lock()
	for topic, ps := range parts {
		for _, p := range ps {
			delete(w.assigned[topic], p)
		}
		if len(w.assigned[topic]) == 0 {
			delete(w.assigned, topic)
		}
	}
	w.pmu.Unlock()
	gone := map[string]bool{}
	for topic, ps := range parts {
		for _, p := range ps {
			delete(w.positions, tp{topic, p})
		}
		if name := w.tableName(topic); name != "" {
			gone[name] = true
		}
	}
	if len(gone) == 0 || w.closing.Load() {
		return // a stopping worker keeps its history for a last /status
	}
	for topic := range w.own.partitions() {
		delete(gone, w.tableName(topic))
	}
	for name := range gone {
		w.track().Forget(name)
	}
}

// fetchedAt records what a fetch said of a partition. Called under w.mu.
func (w *Worker) fetchedAt(p *kgo.FetchTopicPartition, lag int64) {
	if w.positions == nil {
		w.positions = map[tp]fetchPos{}
	}
	w.positions[tp{p.Topic, p.Partition}] = fetchPos{end: p.HighWatermark, lag: lag}
}

// pollDone feeds the progress log once per poll: rows loaded so far and
// the records left over the owned partitions; and keeps the tables' names
// by bare name for retried. Called under w.mu.
func (w *Worker) pollDone() {
	if m := w.qualified.Load(); m == nil || len(*m) != len(w.tables) {
		q := make(map[string]string, len(w.tables))
		for name, t := range w.tables {
			if prev, ok := q[t.def.Name]; !ok || name < prev {
				q[t.def.Name] = name
			}
		}
		w.qualified.Store(&q)
	}
	if w.progress == nil {
		return
	}
	var lag int64
	for _, fp := range w.positions {
		lag += fp.lag
	}
	w.progress.Poll(w.rowsLoaded.Load(), lag)
}

// owner.partitions returns the owned partitions by topic (a copy).
func (o *owner) partitions() map[string][]int32 {
	out := map[string][]int32{}
	if o == nil {
		return out
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	for k := range o.gens {
		out[k.topic] = append(out[k.topic], k.part)
	}
	return out
}

// retried counts a Stream Load retry for the tracker. The streamload
// client names the table without its database: the name is looked up in
// the map pollDone keeps, without a lock (the load goroutine must not
// wait for the poll loop).
func (w *Worker) retried(table string) {
	name := table
	if m := w.qualified.Load(); m != nil {
		if q, ok := (*m)[table]; ok {
			name = q
		}
	}
	w.track().Retried(name)
}

// trackLoaded tells the tracker a batch is in StarRocks.
func (t *tableState) trackLoaded(b *Batch, start time.Time) {
	if b.Rows == 0 {
		return
	}
	st := b.status
	if st == "" {
		st = "Success"
	}
	now := time.Now()
	t.w.track().Loaded(t.name, status.Load{Label: b.Label, Rows: int64(b.Rows), DurationSeconds: now.Sub(start).Seconds(),
		Status: st, Message: b.message, At: now}, b.src)
}

// trackFailed tells the tracker a batch failed for good.
func (t *tableState) trackFailed(b *Batch, start time.Time, err error) {
	now := time.Now()
	l := status.Load{Label: b.Label, Rows: int64(b.Rows), DurationSeconds: now.Sub(start).Seconds(), Status: "Fail", At: now}
	var le *streamload.LoadError
	if errors.As(err, &le) {
		l.Status, l.Message = le.Status, le.Message
	}
	e := status.Error{Message: err.Error(), Offset: -1, At: now}
	if len(b.Ranges) == 1 {
		e.Topic, e.Partition = b.Ranges[0].Topic, b.Ranges[0].Partition
	}
	t.w.track().LoadFailed(t.name, l, e)
}

// recordError is err about record r, for the tracker.
func recordError(r *kgo.Record, err error) status.Error {
	return status.Error{Message: err.Error(), Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, At: time.Now()}
}
