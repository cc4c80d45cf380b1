package streamload

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrTableNotFound is returned (wrapped) by Catalog.Table when the table
// does not exist.
var ErrTableNotFound = errors.New("streamload: table not found")

// LoadError is a failed load. Callers decide with errors.As and Retryable,
// never by matching strings.
//
// What a LoadError returned by Client.Load means for the caller:
//
//   - Retryable=false: StarRocks refused the data (too many filtered rows,
//     unknown table or column, access denied, a body too large, …).
//     Sending the same batch again gives the same answer. The caller may
//     dead-letter the batch's records (errors.tolerance=all) or stop.
//   - Retryable=true: StarRocks was unavailable (a BE restarting, no
//     backend alive, too many versions, a transport error, …) for the whole
//     retry budget (Config.RetryFor, or the MaxRetries cap): Load retried
//     with the same label for Elapsed over Attempts attempts, and Status and
//     Message are those of the last answer. The data was never judged, so
//     the caller must not dead-letter it: it stops without committing the
//     batch's offsets, and a restart loads the same batch with the same
//     label. A Retryable error is also returned when ctx ends mid-retry.
type LoadError struct {
	// Table is the qualified "db.table"; Label the batch's label.
	Table, Label string
	// Status is StarRocks' Status ("Fail", …), or "HTTP <code>" or
	// "transport" when no Stream Load answer was read.
	Status string
	// Message is StarRocks' message, followed by the head of the error log
	// at ErrorURL when there is one.
	Message  string
	ErrorURL string
	// Retryable reports whether sending the same batch again with the same
	// label may succeed (see above: from Load, it means the retry budget is
	// spent while StarRocks stayed unavailable).
	Retryable bool
	// Attempts is how many times Load sent the batch, and Elapsed the time
	// from the first attempt to the error (both zero on errors not returned
	// by Load).
	Attempts int
	Elapsed  time.Duration
	// Err is the underlying cause, if any.
	Err error
}

// Error describes the failure; it never holds credentials.
func (e *LoadError) Error() string {
	var b strings.Builder
	b.WriteString("streamload: load")
	if e.Table != "" {
		b.WriteString(" into ")
		b.WriteString(e.Table)
	}
	if e.Label != "" {
		b.WriteString(" (label ")
		b.WriteString(e.Label)
		b.WriteString(")")
	}
	b.WriteString(" failed")
	if e.Status != "" {
		b.WriteString(": ")
		b.WriteString(e.Status)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " (last of %d attempts over %s)", e.Attempts, e.Elapsed.Round(time.Millisecond))
	}
	if e.Retryable {
		b.WriteString(" (retryable)")
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *LoadError) Unwrap() error { return e.Err }

// IsRetryable reports whether err is a retryable LoadError.
func IsRetryable(err error) bool {
	var le *LoadError
	return errors.As(err, &le) && le.Retryable
}

// retryPhrases are StarRocks' own words for "send the same label again"
// (lower case). They win over permanentMarkers: the rest of such a message
// quotes a cause (a thrift error text) that may contain any word.
//   - "service is shutting down, please retry later": BE stopping,
//     be/src/http/action/stream_load.cpp StreamLoadAction::_on_header and
//     be/src/runtime/stream_load/stream_load_executor.cpp
//     execute_plan_fragment.
//   - "transaction status unknown, you can retry with same label": BE
//     stream_load_executor.cpp commit_txn_internal, a thrift RPC error while
//     committing ("Commit transaction fail cause …").
//   - "please try again later": stream_load.cpp on_header, "Stream Load
//     exceed http cuncurrent limit N, please try again later" (sic).
var retryPhrases = []string{
	"please retry later",
	"you can retry with same label",
	"please try again later",
}

// transientMarkers are substrings (lower case) of StarRocks messages for
// conditions that pass: retrying the same label may succeed. Anything else
// that StarRocks answers with Fail is taken as permanent (data quality,
// schema, privileges), so the worker stops instead of looping. The texts
// they match are pinned by testdata fixtures in TestClassify.
var transientMarkers = []string{
	// BE delta_writer.cpp: 3.x "Failed to load data into tablet N, because
	// of too many versions, current/limit: X/Y. …"; 2.5 "Too many versions.
	// tablet_id: …".
	"too many versions",
	// FE LakeTableTxnStateListener.preCommit (shared-data): "Failed to load
	// data into partition N, because of too large compaction score,
	// current/limit: X/Y. …".
	"too large compaction score",
	"too many running",
	"too many txn",
	"too_many_tasks",
	"running txn num",
	// FE DatabaseTransactionMgr.checkRunningTxnExceedLimit: "current
	// running txns on db N is X, larger than limit Y".
	"running txns",
	"is unavailable",
	"not available",
	"unavailable",
	"backend not found",
	"no available backend",
	"alive backend",
	// FE LoadAction / NodeSelector: "No backend alive." and "No backend or
	// compute node alive." (a moment with no live BE: a restart).
	"no backend alive",
	"no backend or compute node alive",
	"be is down",
	"is down",
	"memory limit",
	"mem limit",
	"memory exceed",
	"exceed memory",
	"exceeded the limit",
	"exceed limit",
	// BE allocation failures: "Mem usage has exceed the limit of BE" (bare,
	// be/src/exec/*), and MemTracker::err_msg "… Mem usage has exceed the
	// limit of BE|load|single query|query pool".
	"mem usage has exceed",
	"timeout",
	"timed out",
	"time out",
	"rpc failed",
	"rpc error",
	"connection refused",
	"connection reset",
	"broken pipe",
	"network error",
	"service unavailable",
	"try again",
	"busy",
	"leader changed",
	"not master",
	"not leader",
	"publish",
}

// permanentMarkers win over transientMarkers: a message naming a data,
// schema or privilege problem is permanent even if it also says "timeout"
// or "exceed limit". StarRocks refusing the data is the one failure the
// caller may dead-letter.
var permanentMarkers = []string{
	"too many filtered rows",
	"filtered rows",
	"access denied",
	"unknown column",
	"unknown table",
	"unknown database",
	"does not exist",
	"not exist",
	"parse",
	"invalid",
	"schema",
	// BE stream_load.cpp _on_header: "The size of this batch exceed the
	// max size [104857600] of json type data …" (streaming_load_max_batch_size_mb)
	// and "body size N exceed limit: M, … streaming_load_max_mb": the same
	// body is refused every time.
	"exceed the max size",
	"body size",
}

// transientMessage reports whether a Fail message names a passing condition.
func transientMessage(msg string) bool {
	m := strings.ToLower(msg)
	for _, r := range retryPhrases {
		if strings.Contains(m, r) {
			return true
		}
	}
	for _, p := range permanentMarkers {
		if strings.Contains(m, p) {
			return false
		}
	}
	for _, t := range transientMarkers {
		if strings.Contains(m, t) {
			return true
		}
	}
	return false
}
