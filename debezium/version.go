package debezium

// The version of a change: one number that orders every change of a key
// however it reached Kafka, used by the versioned mode and by the version
// guard (merge_condition). docs/architecture.md, "The version of a change",
// has the definition's argument, what it guarantees and what it does not.
//
//	streamed change      version = position                    in [1, 2^62)
//	snapshot row         version = position - 2^62             in [-2^62, 0)
//
// position is, for PostgreSQL, the LSN of the change's WAL record
// (source.lsn; sequence[1] when lsn is null, as for incremental-snapshot
// rows, whose sequence holds the stream's position when the chunk was
// emitted); for MySQL, the binlog file's index and the position of the row
// in it: index<<32 | (pos + row), where pos is the rows event's position
// and row the row's index in the event (a row takes at least one byte of
// its event, so pos + row stays below the next event's position). Every
// snapshot row (initial, blocking or incremental) ranks below every
// streamed change, and snapshot rows among themselves by the position of
// their snapshot.

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"
)

// ErrNoVersion: the message carries no source position to take the
// change's version from. Event.VersionErr is a *VersionError wrapping it.
var ErrNoVersion = errors.New("no source position to version the change by")

// VersionError says why a change has no version: the field that is missing
// or unreadable, and what to do. It names no record: the common cases are
// shared values, so that decoding a topic without positions allocates
// nothing; the caller that refuses the record adds its topic, partition and
// offset.
type VersionError struct {
	Field  string // e.g. "source.lsn", "__lsn"
	Reason string
}

func (e *VersionError) Error() string {
	f := e.Field
	if f == "" {
		f = "(value)"
	}
	return "field " + f + ": " + ErrNoVersion.Error() + ": " + e.Reason
}

func (e *VersionError) Unwrap() error { return ErrNoVersion }

const (
	maxPosition  = 1 << 62  // positions are below it
	snapshotBase = -1 << 62 // snapshot rows: position + snapshotBase
)

// noPosition is the reason of a change without any position field.
const noPosition = "the change has no lsn, sequence or binlog position (with ExtractNewRecordState add them with add.fields=op,lsn,source.ts_ms for PostgreSQL, op,file,pos,row for MySQL)"

// Shared VersionErr values of the common cases (see VersionError).
var (
	errNoSourcePosition = &VersionError{Field: "source.lsn", Reason: noPosition}
	errTombstone        = &VersionError{Reason: "a tombstone has none" + noPositionDelete}
	errNullPayload      = &VersionError{Field: "payload", Reason: "a null payload has none" + noPositionDelete}
)

const noPositionDelete = " (with ExtractNewRecordState use delete.tombstone.handling.mode=rewrite and add.fields=op,lsn,source.ts_ms so that deletes carry one; with decoder.envelope=auto a tombstone seen before any change event of the table is taken for an unwrapped delete: set decoder.envelope=raw if the topic holds Debezium envelopes)"

// setVersion sets ev.Version, or ev.VersionErr, from the position fields of
// a change: source's members (raw) or an unwrapped row's add.fields. lsn
// is p.lsn already read as an integer (ev.LSN).
func (d *Decoder) setVersion(ev *Event, p *position, raw bool, lsn int64) {
	snap, span, err := snapshotOf(p.snapshot, ev.Snapshot)
	if ev.Snapshot {
		ev.Span = span
	}
	if err != nil {
		ev.VersionErr = &VersionError{Field: d.metaName(raw, "snapshot"), Reason: err.Error()}
		return
	}
	var pos int64
	var field string
	if notNull(p.lsn) && p.lsn[0] != '"' && lsn > 0 && lsn < maxPosition {
		pos = lsn // the common case, read once
	} else if pos, field, err = positionOf(p); err != nil {
		if err == errNone {
			if raw {
				ev.VersionErr = errNoSourcePosition
			} else {
				ev.VersionErr = d.errNoMetaPosition
			}
			return
		}
		ev.VersionErr = &VersionError{Field: d.metaName(raw, field), Reason: err.Error()}
		return
	}
	if snap {
		pos += snapshotBase
	}
	ev.Version = pos
}

// metaName is the name of a position field in the message: source.<f>, or
// the add.fields name of an unwrapped row.
func (d *Decoder) metaName(raw bool, f string) string {
	if raw {
		return "source." + f
	}
	return d.prefix + f
}

// errNone: the message has no position field at all.
var errNone = errors.New(noPosition)

// snapshotOf reads source.snapshot: snap is true for the rows of an
// initial, blocking or incremental snapshot (a read, op r, is a snapshot
// row whatever the field says), span says which kind the field names.
func snapshotOf(field string, read bool) (snap bool, span Span, err error) {
	if field == "" || field == "null" {
		return read, SpanUnknown, nil
	}
	switch field {
	case `"false"`, "false":
		return read, SpanUnknown, nil
	case `"incremental"`:
		return true, SpanIncremental, nil
	case `"true"`, "true", `"first"`, `"first_in_data_collection"`:
		return true, SpanFull, nil
	case `"last"`, `"last_in_data_collection"`:
		return true, SpanFullLast, nil
	}
	return false, SpanUnknown, fmt.Errorf("unknown snapshot marker %s", field)
}

// positionOf reads a change's source position (see the file comment) and
// names the field it could not read.
func positionOf(p *position) (int64, string, error) {
	switch {
	case notNull(p.lsn) || notNull(p.sequence): // PostgreSQL
		if notNull(p.lsn) {
			return checkPosition(p.lsn, "lsn")
		}
		seq := gjson.Parse(p.sequence)
		if seq.Type != gjson.String {
			return 0, "sequence", fmt.Errorf("sequence %s is not Debezium's JSON text", shown([]byte(p.sequence)))
		}
		cur := gjson.Get(seq.Str, "1")
		if cur.Type != gjson.String {
			return 0, "sequence", fmt.Errorf("sequence %s holds no current LSN", shown([]byte(p.sequence)))
		}
		return checkPosition(cur.Str, "sequence")
	case notNull(p.file) || notNull(p.pos): // MySQL
		return mysqlPosition(p)
	}
	return 0, "lsn", errNone
}

func notNull(span string) bool { return span != "" && span != "null" }

// checkPosition reads a position (an integer, bare or in a string) and
// checks it is in [1, 2^62).
func checkPosition(s, field string) (int64, string, error) {
	s = strings.Trim(s, `"`)
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || n >= maxPosition {
		return 0, field, fmt.Errorf("%s %s is not a position in [1, 2^62)", field, shown([]byte(s)))
	}
	return n, field, nil
}

// mysqlPosition packs a MySQL binlog coordinate: the index of the binlog
// file (mysql-bin.000003 → 3) in the upper 30 bits, pos + row in the lower
// 32.
func mysqlPosition(p *position) (int64, string, error) {
	file := gjson.Parse(p.file).Str
	dot := strings.LastIndexByte(file, '.')
	idx, err := strconv.ParseInt(file[dot+1:], 10, 64)
	if dot < 0 || err != nil || idx < 0 || idx >= 1<<30 {
		return 0, "file", fmt.Errorf("binlog file %s has no index below 2^30", shown([]byte(p.file)))
	}
	pos, err := strconv.ParseInt(p.pos, 10, 64)
	if err != nil || pos < 0 {
		return 0, "pos", fmt.Errorf("binlog pos %s is not a position", shown([]byte(p.pos)))
	}
	var row int64
	if notNull(p.row) {
		if row, err = strconv.ParseInt(p.row, 10, 64); err != nil || row < 0 {
			return 0, "row", fmt.Errorf("binlog row %s is not a row number", shown([]byte(p.row)))
		}
	}
	if pos+row >= 1<<32 {
		return 0, "pos", fmt.Errorf("binlog pos %d + row %d is beyond 2^32", pos, row)
	}
	v := idx<<32 | (pos + row)
	if v == 0 {
		return 0, "pos", errors.New("binlog position 0")
	}
	return v, "pos", nil
}
