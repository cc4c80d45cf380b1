package sink

import (
	"context"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"
)

// onRevoked flushes what is buffered, waits for the loads (at most
// commit.revoke_timeout) and commits, so the next owner starts where this
// one stopped.
func (w *Worker) onRevoked(ctx context.Context, cl *kgo.Client, revoked map[string][]int32) {
	w.mu.Lock()
	w.flushAll("revoke")
	w.mu.Unlock()
	if !w.drain(w.cfg.Commit.RevokeTimeout) {
		w.log.Error("revoke: loads still running after commit.revoke_timeout; their records stay uncommitted and the next owner replays them")
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := cl.CommitMarkedOffsets(cctx); err != nil {
		w.m.commits.WithLabelValues("error").Inc()
		w.log.Warn("commit on revoke failed", zap.Error(err))
	} else {
		w.m.commits.WithLabelValues("ok").Inc()
		w.committed.Add(1)
	}
	w.mu.Lock()
	for topic, ps := range revoked {
		for _, p := range ps {
			w.m.lag.DeleteLabelValues(topic, strconv.Itoa(int(p)))
			delete(w.parts[topic], p)
		}
	}
	w.mu.Unlock()
	w.log.Info("partitions revoked", zap.Any("partitions", revoked))
}

// onLost: the partitions already belong to another member, so nothing is
// committed; buffered rows still load (Primary Key loads are idempotent).
func (w *Worker) onLost(ctx context.Context, cl *kgo.Client, lost map[string][]int32) {
	w.mu.Lock()
	w.flushAll("revoke")
	w.mu.Unlock()
	w.drain(w.cfg.Commit.RevokeTimeout)
	w.log.Warn("partitions lost", zap.Any("partitions", lost))
}

// drain waits for every queued and running load, at most timeout.
func (w *Worker) drain(timeout time.Duration) bool {
	done := make(chan struct{})
	go func() { w.outstanding.Wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-time.After(timeout):
		return false
	}
}
