package sink

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"
)

// Ownership and fencing. A partition's rows may be loaded and its offsets
// marked only while this member owns it, and only under the assignment the
// rows were fetched in: after a revoke or a lost assignment, no load of
// this member for those partitions may land later, since the next owner
// replays them and may already have loaded newer images of the same keys.
//
//   - owner numbers every assignment of a partition (its generation); a batch
//     records the generation of each partition it holds, and the loader
//     checks them right before each load and before marking: a batch of a
//     partition no longer owned (or owned again under a new assignment) is
//     dropped, never loaded, and its marks are dropped.
//   - A revoke flushes and waits (commit.revoke_timeout) only for the tables
//     the revoked partitions feed. Loads still running then are cancelled
//     and settled: their labels are looked up with get_load_state until
//     final, so the revoke returns only when each is known to have landed or
//     not. If that cannot be known within kafka.rebalance_timeout, the worker
//     stops (Run returns an error), as Kafka Connect kills a task.
//   - A lost assignment drops the batches of the lost partitions at once
//     (open, queued and running: cancelled and settled the same way).
//
// A member frozen past its session timeout (SIGSTOP, a long GC pause) does
// not know it lost its partitions until it runs again, and a load it had
// started may land then: no check closes that window. The version guard
// (mapping.version_column; docs/architecture.md) does.

// tp is a topic partition.
type tp struct {
	topic string
	part  int32
}

// owner tracks the partitions this member owns, each with the generation
// of its assignment. A nil owner owns everything (a worker without a
// consumer group, in tests).
type owner struct {
	mu   sync.Mutex
	gens map[tp]uint64
	next uint64
}

func newOwner() *owner { return &owner{gens: map[tp]uint64{}} }

// assign records newly assigned partitions, each under a new generation.
func (o *owner) assign(m map[string][]int32) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for topic, ps := range m {
		for _, p := range ps {
			o.next++
			o.gens[tp{topic, p}] = o.next
		}
	}
}

// drop forgets revoked or lost partitions.
func (o *owner) drop(m map[string][]int32) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for topic, ps := range m {
		for _, p := range ps {
			delete(o.gens, tp{topic, p})
		}
	}
}

// gen returns the generation of the partition's assignment; 0: not owned.
func (o *owner) gen(topic string, p int32) uint64 {
	if o == nil {
		return 1
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.gens[tp{topic, p}]
}

// holds reports whether every range of b is owned under the generation it
// was fetched in (all), and whether any is (any).
func (o *owner) holds(b *Batch) (all, any bool) {
	if o == nil {
		return true, len(b.Ranges) > 0
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	all = true
	for i, rg := range b.Ranges {
		if g := o.gens[tp{rg.Topic, rg.Partition}]; g != 0 && g == b.gens[i] {
			any = true
		} else {
			all = false
		}
	}
	return all, any
}

// onAssigned records the partitions this member now owns.
func (w *Worker) onAssigned(_ context.Context, _ *kgo.Client, assigned map[string][]int32) {
	w.own.assign(assigned)
	w.pauseAssigned(assigned)
	w.mu.Lock()
	if w.epochDue == nil {
		w.epochDue = map[string]bool{}
	}
	for topic := range assigned {
		w.epochDue[topic] = true // epoch.go: a member of another epoch may have loaded them
	}
	w.mu.Unlock()
	w.log.Info("partitions assigned", zap.Any("partitions", assigned))
}

// onRevoked flushes the tables the revoked partitions feed, waits for
// their loads (at most commit.revoke_timeout), fences what is still
// running, and commits, so the next owner starts where this one stopped
// and no load of this member for those partitions lands after it.
func (w *Worker) onRevoked(ctx context.Context, cl *kgo.Client, revoked map[string][]int32) {
	if w.closing.Load() {
		// Leaving the group at the end of shutdown, which already waited,
		// fenced and committed: nothing may load or mark any more.
		w.own.drop(revoked)
		w.forget(revoked)
		return
	}
	start := time.Now()
	w.mu.Lock()
	tables := w.tablesOf(revoked)
	for _, t := range tables {
		if t.cur != nil {
			t.flush("revoke")
		}
	}
	w.mu.Unlock()
	// Only the batches queued so far can hold the revoked partitions'
	// records (see process): wait for those, not for later ones.
	if !w.waitIdle(tables, start.Add(w.cfg.Commit.RevokeTimeout)) {
		w.log.Warn("revoke: loads still running after commit.revoke_timeout: cancelling and settling them",
			zap.Duration("revoke_timeout", w.cfg.Commit.RevokeTimeout), zap.Any("partitions", revoked))
		w.own.drop(revoked)
		w.fence(tables, revoked, start.Add(w.cfg.Kafka.RebalanceTimeout))
	}
	w.own.drop(revoked)
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	if err := w.commitMarked(cctx); err != nil {
		w.log.Warn("commit on revoke failed", zap.Error(err))
	}
	cancel()
	w.forget(revoked)
	w.log.Info("partitions revoked", zap.Any("partitions", revoked), zap.Duration("duration", time.Since(start)))
}

// onLost: the partitions already belong to another member, which replays
// them. Nothing of them is loaded or committed any more: their open and
// queued batches are dropped, and their running loads cancelled and
// settled.
func (w *Worker) onLost(_ context.Context, _ *kgo.Client, lost map[string][]int32) {
	start := time.Now()
	w.own.drop(lost)
	w.mu.Lock()
	tables := w.tablesOf(lost)
	for _, t := range tables {
		if t.cur != nil && t.cur.holdsAny(lost) {
			b := t.cur
			t.cur = nil
			t.discard(b, "lost", true)
			t.release(b)
		}
	}
	w.mu.Unlock()
	w.fence(tables, lost, start.Add(w.cfg.Kafka.RebalanceTimeout))
	w.forget(lost)
	w.log.Warn("partitions lost: their batches dropped, the next owner replays them", zap.Any("partitions", lost))
}

// fence cancels the running loads of tables that hold any of parts (nil:
// all), drops their queued batches that do, and waits until the cancelled
// loads are settled, at most until deadline; past it the worker stops.
func (w *Worker) fence(tables []*tableState, parts map[string][]int32, deadline time.Time) bool {
	targets := make(map[*tableState]uint64, len(tables))
	for _, t := range tables {
		if seq := t.fence(parts, deadline); seq > 0 {
			targets[t] = seq
		}
	}
	if w.waitFor(targets, deadline) {
		return true
	}
	names := make([]string, 0, len(tables))
	for _, t := range tables {
		names = append(names, t.name)
	}
	w.fail(fmt.Errorf("sink: loads of %v could not be cancelled and settled within kafka.rebalance_timeout (%s): stopping, so that no load of partitions this member gave up lands later",
		names, w.cfg.Kafka.RebalanceTimeout))
	return false
}

// tablesOf returns the tables the partitions' topics feed (nil: all).
// Called under w.mu.
func (w *Worker) tablesOf(parts map[string][]int32) []*tableState {
	var ts []*tableState
	if parts == nil {
		for _, t := range w.tables {
			ts = append(ts, t)
		}
	} else {
		for topic := range parts {
			if t := w.topics[topic]; t != nil && !slices.Contains(ts, t) {
				ts = append(ts, t)
			}
		}
	}
	slices.SortFunc(ts, func(a, b *tableState) int { return strings.Compare(a.name, b.name) })
	return ts
}

// forget drops the lag gauges and pause counts of partitions given up.
func (w *Worker) forget(parts map[string][]int32) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for topic, ps := range parts {
		for _, p := range ps {
			w.m.lag.DeleteLabelValues(topic, strconv.Itoa(int(p)))
			delete(w.parts[topic], p)
		}
	}
	w.forgetStatus(parts)
}

// waitIdle waits until every batch the tables had queued when it was
// called has left its queue (loaded, failed or dropped), at most until
// deadline. Batches queued meanwhile are not waited for.
func (w *Worker) waitIdle(tables []*tableState, deadline time.Time) bool {
	targets := make(map[*tableState]uint64, len(tables))
	for _, t := range tables {
		t.qmu.Lock()
		targets[t] = t.seq
		t.qmu.Unlock()
	}
	return w.waitFor(targets, deadline)
}

// waitFor waits until each table's batches up to its target have left its
// queue, at most until deadline. Each table signals its own progress (a
// channel closed when it moves), so a wait that timed out leaves nothing
// behind that a later flush could trip on.
func (w *Worker) waitFor(targets map[*tableState]uint64, deadline time.Time) bool {
	timer := time.NewTimer(max(0, time.Until(deadline)))
	defer timer.Stop()
	for t, target := range targets {
		for {
			t.qmu.Lock()
			done, progress := t.done, t.progress
			t.qmu.Unlock()
			if done >= target {
				break
			}
			select {
			case <-progress:
			case <-timer.C:
				return false
			}
		}
	}
	return true
}

// fence cancels the running load if it holds any of parts (nil: all) and
// drops the queued batches that do; the running load is then settled by
// the table's loader (see load), by deadline. It returns the number of the
// cancelled batch (0: none) for the caller to wait for.
func (t *tableState) fence(parts map[string][]int32, deadline time.Time) (cancelled uint64) {
	t.qmu.Lock()
	t.settleBy = deadline
	start := 0
	if t.running != nil {
		start = 1
		if parts == nil || t.running.holdsAny(parts) {
			t.cancelRun()
			cancelled = t.running.seq
		}
	}
	var dropped []*Batch
	keep := t.queue[:start]
	for _, b := range t.queue[start:] {
		if parts == nil || b.holdsAny(parts) {
			dropped = append(dropped, b)
		} else {
			keep = append(keep, b)
		}
	}
	clear(t.queue[len(keep):])
	t.queue = keep
	t.advance()
	t.qmu.Unlock()
	for _, b := range dropped {
		t.discard(b, "fenced", false)
		t.release(b)
	}
	return cancelled
}

// discard reports a batch that will not be loaded (the caller releases
// it). Its records stay uncommitted. If it holds partitions this member
// still owns (a batch mixing them with partitions given up), those must be
// loaded again before anything after them is marked: see rewind. locked
// says the caller holds w.mu.
func (t *tableState) discard(b *Batch, why string, locked bool) {
	w := t.w
	w.m.batches.WithLabelValues(t.name, "dropped").Inc()
	w.log.Warn("batch dropped: the partitions' next owner replays it", zap.String("table", t.name), zap.String("label", b.Label),
		zap.Int("rows", b.Rows), zap.String("why", why), zap.Any("partitions", b.Ranges))
	if _, any := w.own.holds(b); any {
		t.rewind(b, why, locked)
	}
}

// rewind makes the partitions of b this member still owns load again from
// b's first offsets: b did not load (dropped, or cancelled without
// landing), and nothing after its rows may be marked. The table's queued
// and open batches holding those partitions are dropped, and the poll loop
// moves the partitions' consume position back before its next records
// (applyRewinds), so they are fetched and batched again. During shutdown
// the table stops marking instead and the worker reports it. locked says
// the caller holds w.mu.
func (t *tableState) rewind(b *Batch, why string, locked bool) {
	w := t.w
	if w.stopping.Load() || w.rewinds == nil {
		t.failed.Store(true)
		err := fmt.Errorf("sink: a batch of %s (label %s, %s) was not loaded (%s) while it holds partitions this member still owns: stopping without committing them",
			t.name, b.Label, describeRanges(b.Ranges), why)
		if w.stopping.Load() {
			err = fmt.Errorf("%w: %w", ErrUnfinishedAtShutdown, err)
		}
		w.fail(err)
		return
	}
	if !locked {
		w.mu.Lock()
		defer w.mu.Unlock()
	}
	from := map[tp]int64{}
	note := func(x *Batch) {
		for i, rg := range x.Ranges {
			if w.own.gen(rg.Topic, rg.Partition) != x.gens[i] {
				continue // given up: the next owner's
			}
			k := tp{rg.Topic, rg.Partition}
			if f, ok := from[k]; !ok || rg.First < f {
				from[k] = rg.First
			}
		}
	}
	note(b)
	holds := func(x *Batch) bool {
		for _, rg := range x.Ranges {
			if _, ok := from[tp{rg.Topic, rg.Partition}]; ok {
				return true
			}
		}
		return false
	}
	// Batches after b that hold its partitions go too (their marks would
	// pass the hole), and with them any partition they hold.
	t.qmu.Lock()
	start := 0
	if t.running != nil {
		start = 1
	}
	var dropped []*Batch
	keep := t.queue[:start]
	for _, x := range t.queue[start:] {
		if x != b && holds(x) {
			note(x)
			dropped = append(dropped, x)
		} else {
			keep = append(keep, x)
		}
	}
	clear(t.queue[len(keep):])
	t.queue = keep
	t.advance()
	t.qmu.Unlock()
	if t.cur != nil && holds(t.cur) {
		note(t.cur)
		dropped = append(dropped, t.cur)
		t.cur = nil
	}
	for k, off := range from {
		if w.rewinds[k.topic] == nil {
			w.rewinds[k.topic] = map[int32]int64{}
		}
		if cur, ok := w.rewinds[k.topic][k.part]; !ok || off < cur {
			w.rewinds[k.topic][k.part] = off
		}
	}
	w.log.Warn("batch not loaded while it holds partitions still owned: they are read again from its first offsets",
		zap.String("table", t.name), zap.String("label", b.Label), zap.String("why", why), zap.Any("partitions", b.Ranges), zap.Int("later_batches_dropped", len(dropped)))
	for _, x := range dropped {
		w.m.batches.WithLabelValues(t.name, "dropped").Inc()
		t.release(x)
	}
}

// applyRewinds moves the consume position of partitions to be read again
// (rewind) back, for those still owned, and returns them: this poll's
// records of them were fetched before the rewind and are skipped. Called
// by the poll loop under w.mu, after a poll and before AllowRebalance, so
// no rebalance runs meanwhile (franz-go's SetOffsets asks for that).
func (w *Worker) applyRewinds() map[tp]bool {
	if len(w.rewinds) == 0 {
		return nil
	}
	skip := map[tp]bool{}
	set := map[string]map[int32]kgo.EpochOffset{}
	for topic, ps := range w.rewinds {
		for p, off := range ps {
			skip[tp{topic, p}] = true
			if w.own.gen(topic, p) == 0 {
				continue
			}
			if set[topic] == nil {
				set[topic] = map[int32]kgo.EpochOffset{}
			}
			set[topic][p] = kgo.EpochOffset{Epoch: -1, Offset: off}
		}
	}
	clear(w.rewinds)
	if len(set) > 0 && w.setOffsets != nil {
		w.setOffsets(set)
		w.log.Info("partitions read again from the first offset not loaded", zap.Any("offsets", set))
	}
	return skip
}

// release returns a batch that left the table to the pool and its memory
// to the budget.
func (t *tableState) release(b *Batch) {
	t.w.buffered.Add(-b.bytes)
	putBatch(b)
}

// holdsAny reports whether b holds a range of any of parts.
func (b *Batch) holdsAny(parts map[string][]int32) bool {
	for _, rg := range b.Ranges {
		if slices.Contains(parts[rg.Topic], rg.Partition) {
			return true
		}
	}
	return false
}

// errSettle is why a cancelled load could not be settled.
var errSettle = errors.New("label state not final")

// settle finds out whether a cancelled load landed: it looks its label up
// (get_load_state) until the state is final, at most until deadline.
// VISIBLE and COMMITTED (and FINISHED) landed; ABORTED, CANCELLED and
// UNKNOWN (StarRocks never saw the label) did not.
func (t *tableState) settle(b *Batch, deadline time.Time) (bool, error) {
	ls, ok := t.w.loader.(LoadStater)
	if !ok {
		return false, fmt.Errorf("%w: the loader cannot look labels up", errSettle)
	}
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	pause := 50 * time.Millisecond
	var last error
	for {
		state, err := ls.LoadState(ctx, b.DB, b.Label)
		switch {
		case err != nil:
			last = err
		case state == "VISIBLE" || state == "COMMITTED" || state == "FINISHED":
			return true, nil
		case state == "ABORTED" || state == "CANCELLED" || state == "UNKNOWN":
			return false, nil
		default:
			last = fmt.Errorf("%w: %s", errSettle, state)
		}
		select {
		case <-ctx.Done():
			return false, fmt.Errorf("label %s: %w (last: %v)", b.Label, ctx.Err(), last)
		case <-time.After(pause):
		}
		pause = min(2*pause, time.Second)
	}
}
