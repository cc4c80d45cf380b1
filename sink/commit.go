package sink

import (
	"context"
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Committing. A batch's offsets are marked (last+1 of each partition) once
// it is in StarRocks; franz-go commits marks every commit.interval
// (AutoCommitMarks), and the worker commits them on revoke and on
// shutdown. Marks are dropped for partitions this member does not own
// under the assignment the batch's rows were fetched in: a late mark would
// put a revoked partition back among the client's uncommitted offsets and
// the old member would commit an offset for a partition it no longer owns.

// markBatch marks b's offsets, for the partitions still owned under the
// generation its rows were fetched in. Ownership cannot change between the
// check and the mark: both happen under the owner's lock, which a revoke
// or a lost assignment takes to drop partitions.
func (w *Worker) markBatch(b *Batch) {
	if w.mark == nil {
		return
	}
	var offsets map[string]map[int32]kgo.EpochOffset
	add := func(i int) {
		rg := b.Ranges[i]
		if offsets == nil {
			offsets = make(map[string]map[int32]kgo.EpochOffset, 1)
		}
		if offsets[rg.Topic] == nil {
			offsets[rg.Topic] = map[int32]kgo.EpochOffset{}
		}
		offsets[rg.Topic][rg.Partition] = kgo.EpochOffset{Epoch: -1, Offset: rg.Last + 1}
	}
	o := w.own
	if o == nil {
		for i := range b.Ranges {
			add(i)
		}
		w.mark(offsets)
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	for i, rg := range b.Ranges {
		if g := o.gens[tp{rg.Topic, rg.Partition}]; g != 0 && g == b.gens[i] {
			add(i)
		}
	}
	if offsets != nil {
		w.mark(offsets)
	}
}

// commitMarked commits what is marked; the caller bounds ctx.
func (w *Worker) commitMarked(ctx context.Context) error {
	if w.commit == nil {
		return nil
	}
	if err := w.commit(ctx); err != nil {
		w.m.commits.WithLabelValues("error").Inc()
		return err
	}
	w.m.commits.WithLabelValues("ok").Inc()
	w.committed.Add(1)
	return nil
}

// ErrUnfinishedAtShutdown is wrapped by the error of a shutdown that left
// loads unfinished (past shutdown.grace_period, or fenced while holding
// partitions still owned): their records stay uncommitted, for the next
// owner to load. Nothing is lost; the stop was not clean.
var ErrUnfinishedAtShutdown = errors.New("sink: loads unfinished at shutdown, their records left uncommitted")

// lostGroup reports whether a commit was refused because this member's
// generation is over (the group rebalanced without it, or evicted it): the
// offsets stay as the group last committed them, for the next owner.
func lostGroup(err error) bool {
	return errors.Is(err, kerr.IllegalGeneration) || errors.Is(err, kerr.UnknownMemberID) ||
		errors.Is(err, kerr.RebalanceInProgress) || errors.Is(err, kerr.FencedInstanceID) ||
		errors.Is(err, kerr.StaleMemberEpoch)
}
