package emulator

import (
	"fmt"
	"time"
)

// FaultKind names a transient answer StarRocks gives a Stream Load, each
// with StarRocks' own text.
type FaultKind string

const (
	// FaultShuttingDown: a stopping BE (StreamLoadAction::_on_header,
	// process_exit_in_progress), checked before the transaction begins:
	// no label is registered.
	FaultShuttingDown FaultKind = "shutting_down"
	// FaultNoBackend: the FE finds no live BE (LoadAction), HTTP 200
	// FAILED, no redirect, no label.
	FaultNoBackend FaultKind = "no_backend"
	// FaultCommitUnknown: the BE's commit RPC to the FE failed
	// (StreamLoadExecutor commit_txn_internal, thrift RPC error); the FE did
	// commit, so a retry with the same label meets Label Already Exists
	// FINISHED.
	FaultCommitUnknown FaultKind = "commit_unknown"
	// FaultCompactionScore: shared-data commit refused
	// (LakeTableTxnStateListener, CommitFailedException); ABORTED.
	FaultCompactionScore FaultKind = "compaction_score"
	// FaultTooManyVersions: the 3.x DeltaWriter text; ABORTED.
	FaultTooManyVersions FaultKind = "too_many_versions"
	// FaultHTTPLimit: the BE's http concurrency limiter (StreamLoadAction
	// on_header), before any transaction: no label.
	FaultHTTPLimit FaultKind = "http_limit"
	// FaultMemLimit: a load memory tracker over its limit
	// (MemTracker::err_msg); ABORTED.
	FaultMemLimit FaultKind = "mem_limit"
	// FaultPublishTimeout: committed, not visible in time (FE
	// loadTxnCommitImpl, 3.x text); the rows are applied.
	FaultPublishTimeout FaultKind = "publish_timeout"
)

// FaultKinds lists every kind, for flags and the control endpoint.
var FaultKinds = []FaultKind{FaultShuttingDown, FaultNoBackend, FaultCommitUnknown, FaultCompactionScore,
	FaultTooManyVersions, FaultHTTPLimit, FaultMemLimit, FaultPublishTimeout}

// Fault injects one transient answer into a share of loads.
type Fault struct {
	Kind FaultKind `json:"kind"`
	// Rate is the share of loads answered so (0 to 1). With For set, 0
	// means every load.
	Rate float64 `json:"rate"`
	// For limits the fault to a span from when it is set (a BE answering
	// "Service is shutting down" for 90 s); 0 is until replaced.
	For   Duration `json:"for"`
	until time.Time
}

func (f Fault) valid() error {
	for _, k := range FaultKinds {
		if f.Kind == k {
			if f.Rate < 0 || f.Rate > 1 {
				return fmt.Errorf("fault %s: rate %v not in [0,1]", f.Kind, f.Rate)
			}
			return nil
		}
	}
	return fmt.Errorf("unknown fault kind %q", f.Kind)
}

// pickFault draws the fault a load meets at a stage, or "". Callers hold
// s.mu.
func (s *Server) pickFault(now time.Time, kinds ...FaultKind) FaultKind {
	for _, f := range s.answers {
		match := false
		for _, k := range kinds {
			match = match || f.Kind == k
		}
		if !match || !f.until.IsZero() && now.After(f.until) {
			continue
		}
		rate := f.Rate
		if rate == 0 && !f.until.IsZero() {
			rate = 1
		}
		if rate > 0 && s.rnd.Float64() < rate {
			return f.Kind
		}
	}
	return ""
}

// faultMessage is StarRocks' text for a fault.
func faultMessage(k FaultKind, txnID int64, host string) string {
	switch k {
	case FaultShuttingDown:
		return "Service is shutting down, please retry later!"
	case FaultNoBackend:
		return "class com.starrocks.common.DdlException: No backend alive."
	case FaultCommitUnknown:
		// The cause is the thrift error's text; its exact wording depends
		// on the failure (a timeout here).
		return fmt.Sprintf("Commit transaction fail cause failed to call frontend service, FE address=%s:9020, reason: THRIFT_EAGAIN (timed out), Transaction status unknown, you can retry with same label.", host)
	case FaultCompactionScore:
		return fmt.Sprintf("Failed to load data into partition %d, because of too large compaction score, current/limit: 2001.0/2000. You can reduce the loading job concurrency, or increase compaction concurrency", 10000+txnID%1000)
	case FaultTooManyVersions:
		return fmt.Sprintf("Failed to load data into tablet %d, because of too many versions, current/limit: 1001/1000. You can reduce the loading job concurrency, or increase loading data batch size. If you are loading data with Routine Load, you can increase FE configs routine_load_task_consume_second and max_routine_load_batch_size,", 10000+txnID%1000)
	case FaultHTTPLimit:
		return "Stream Load exceed http cuncurrent limit 47, please try again later" // be_http_num_workers 48 - 1
	case FaultMemLimit:
		return fmt.Sprintf("Memory of load exceed limit. Backend: %s, Used: 2147483712, Limit: 2147483648. Mem usage has exceed the limit of load", host)
	case FaultPublishTimeout:
		return "Publish timeout. The data will be visible after a while"
	}
	return string(k)
}
