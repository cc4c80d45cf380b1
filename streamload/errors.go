package streamload

import (
	"errors"
	"strings"
)

// ErrTableNotFound is returned (wrapped) by Catalog.Table when the table
// does not exist.
var ErrTableNotFound = errors.New("streamload: table not found")

// LoadError is a failed load. Callers decide with errors.As and Retryable,
// never by matching strings.
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
	// label may succeed.
	Retryable bool
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

// transientMarkers are substrings (lower case) of StarRocks messages for
// conditions that pass: retrying the same label may succeed. Anything else
// that StarRocks answers with Fail is taken as permanent (data quality,
// schema, privileges), so the worker stops instead of looping.
var transientMarkers = []string{
	"too many versions",
	"too many running",
	"too many txn",
	"too_many_tasks",
	"running txn num",
	"running txns",
	"is unavailable",
	"not available",
	"unavailable",
	"backend not found",
	"no available backend",
	"alive backend",
	"be is down",
	"is down",
	"memory limit",
	"mem limit",
	"memory exceed",
	"exceed memory",
	"exceeded the limit",
	"exceed limit",
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

// permanentMarkers win over transientMarkers: a message naming a data or
// schema problem is permanent even if it also says "timeout".
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
}

// transientMessage reports whether a Fail message names a passing condition.
func transientMessage(msg string) bool {
	m := strings.ToLower(msg)
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
