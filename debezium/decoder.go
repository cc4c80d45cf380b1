// Package debezium decodes Debezium PostgreSQL change events written by
// Kafka Connect's JsonConverter into rows for StarRocks Stream Load.
//
// One Decoder serves one target table and one goroutine. Decode validates
// and walks a record's value in one pass with its own scanner (scan.go; no
// unmarshalling into maps, gjson only for the insides of structured
// values), decides the operation, and appends the row as one JSON object to
// the caller's buffer, with every value already in the canonical form
// StarRocks accepts:
//
//   - integers as JSON numbers, copied digit for digit (int64 beyond 2^53 is
//     never routed through a float64);
//   - decimals as JSON strings with exactly the column's scale ("1234.56");
//   - dates "YYYY-MM-DD"; timestamps "YYYY-MM-DD HH:MM:SS[.ffffff]" (zoned
//     timestamps converted to Options.TimeZone, default UTC); times
//     "HH:MM:SS[.ffffff]";
//   - JSON documents as JSON into JSON columns, as text elsewhere; UUIDs,
//     enums and other strings as strings; arrays as JSON arrays; NULL as null.
//
// Inputs understood: envelopes with and without schemas (Options.Framing);
// raw envelopes (op r, c, u → upsert of after; d → delete keyed by before, or
// by the Kafka key when before is absent; t → OpTruncate; m → skip); values
// unwrapped by ExtractNewRecordState (__deleted, __op c/u/d/r) and by
// StarRocks' AddOpFieldForDebeziumRecord (__op 0/1, none on snapshot rows);
// heartbeats and transaction metadata (skipped with a reason). Whether a
// value is an envelope or an unwrapped row is decided by Options.Envelope
// (decoder.envelope), or by the value schema's name, never by a row's field
// names alone (see EnvelopeAuto). Tombstones and null payloads of unwrapped
// topics are deletes by the Kafka key; a raw topic's tombstone, which
// follows the delete event, is skipped.
//
// Every rendered value is checked against its column (fit.go): a value
// StarRocks would store as NULL (a string longer than its VARCHAR in bytes,
// a number beyond its type, a date outside 0000-01-01 .. 9999-12-31) is
// refused with ErrRange; dates beyond the range (PostgreSQL's ±infinity, BC
// dates) are loaded as the range's ends only with Options.OutOfRangeDates.
// A delete row gives every non-key column its before image lacks a zero
// value, since StarRocks filters NULL in NOT NULL columns of delete rows.
// Event.Version orders a key's changes (version.go).
//
// Without schemas, a value's meaning comes from the target column's type:
//
//   - DECIMAL: a string is base64 of the unscaled value with the column's
//     scale (decimal.handling.mode=precise), unless Options.DecimalHandling
//     is "string"; a number is taken as written (decimal.format=NUMERIC or
//     decimal.handling.mode=double); {"scale","value"} is a
//     VariableScaleDecimal;
//   - DATE: an integer is days since 1970-01-01; a string is kept;
//   - DATETIME: an integer needs Options.SchemalessTimestamp ("ms", "us" or
//     "ns"), because Debezium writes ms or µs depending on the column's
//     precision; without it the decoder fails and names the setting; a string
//     is an ISO-8601 timestamp and is converted;
//   - JSON: a string holding a JSON document is loaded as that document.
//
// The unchanged-TOAST placeholder (Options.Placeholder, in each of the
// type-specific forms Debezium writes) is never rendered: the column is left
// out of the row and reported in Event.Unavailable so the caller can load a
// partial update. A new row holding it (op c or r) is refused with
// ErrUnavailable: there is no stored row to complete.
//
// The metadata fields ExtractNewRecordState writes (__deleted, and
// add.fields with Options.FieldsPrefix: __op, __lsn, __source_ts_ms, …) are
// never rendered as columns; any other field is a column value. Message
// fields with no column in the target table are not loaded, as StarRocks
// ignores unknown keys in JSON loads, and the first is reported in
// Event.Unknown.
package debezium

import (
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/tidwall/gjson"

	"github.com/starsink/starsink/schema"
)

// Op is what a record asks of the target table.
type Op uint8

const (
	OpSkip     Op = iota // nothing to load; Event.Reason says why
	OpUpsert             // insert or update the rendered row
	OpDelete             // delete the row with the rendered key
	OpTruncate           // the source table was truncated
)

func (o Op) String() string {
	switch o {
	case OpSkip:
		return "skip"
	case OpUpsert:
		return "upsert"
	case OpDelete:
		return "delete"
	case OpTruncate:
		return "truncate"
	}
	return "Op(" + strconv.Itoa(int(o)) + ")"
}

// Reasons for skipped records.
const (
	ReasonTombstone   = "tombstone"
	ReasonNullPayload = "null payload"
	ReasonHeartbeat   = "heartbeat"
	ReasonTxMetadata  = "transaction metadata"
	ReasonMessage     = "logical decoding message"
)

// Header is a Kafka record header.
type Header struct {
	Key   string
	Value []byte
}

// Record is one Kafka record, as the decoder needs it.
type Record struct {
	Topic     string
	Partition int32
	Offset    int64
	Key       []byte
	Value     []byte // nil for a tombstone
	Headers   []Header
}

// Event is the outcome of decoding one record.
type Event struct {
	Op     Op
	Reason string // why an OpSkip record is skipped
	// Unavailable lists the indexes (into the target table's Columns, or
	// into the message's fields when the decoder has no table) of columns
	// whose value is the unchanged-TOAST placeholder. Owned by the decoder:
	// valid until the next Decode.
	Unavailable []int
	// Unknown is the first field of the row that the target table has no
	// column for (such fields are not loaded, as StarRocks ignores unknown
	// keys); "" when every field has one. The worker reads the table's
	// schema again when it sees one: a column added with ALTER TABLE.
	Unknown  string
	Snapshot bool  // a snapshot read (op r, or AddOpField's missing __op)
	LSN      int64 // source.lsn when present
	TsMs     int64 // source.ts_ms when present (the same as SourceTS)
	// SourceTS is the source's commit time in unix milliseconds
	// (source.ts_ms, or __source_ts_ms in an unwrapped row); 0 when absent.
	SourceTS int64
	// Version orders the changes of one key however they reached Kafka
	// (docs/architecture.md, "The version of a change"): the source
	// position of a streamed change, below every streamed change for a
	// snapshot row. 0 with VersionErr (a *VersionError wrapping
	// ErrNoVersion, naming the field) when the message carries no position
	// to take it from; callers that need it refuse the record, naming it.
	Version    int64
	VersionErr error
	// Span is the kind of snapshot a snapshot row belongs to, as
	// source.snapshot (or the unwrapped row's snapshot field) says;
	// SpanUnknown for streamed changes and reads whose message does not
	// say.
	Span Span
}

// Span is the kind of snapshot a snapshot row belongs to.
type Span uint8

const (
	// SpanUnknown: not a snapshot row, or its message does not say
	// (snapshot absent, null or "false").
	SpanUnknown Span = iota
	// SpanFull: a row of a full (initial or blocking) snapshot, which reads
	// every row of the table at one position: true, first,
	// first_in_data_collection.
	SpanFull
	// SpanFullLast: a full snapshot's last row of its table: last,
	// last_in_data_collection.
	SpanFullLast
	// SpanIncremental: an incremental snapshot's chunk row: incremental.
	SpanIncremental
)

// Framing says whether values carry JsonConverter's schema envelope.
type Framing uint8

const (
	// FramingAuto treats a value whose top-level object has exactly the
	// members "schema" and "payload" as framed, anything else as a payload.
	FramingAuto       Framing = iota
	FramingSchema             // value.converter.schemas.enable=true
	FramingSchemaless         // value.converter.schemas.enable=false
)

// ParseFraming reads "auto", "schema" or "schemaless".
func ParseFraming(s string) (Framing, error) {
	switch s {
	case "", "auto":
		return FramingAuto, nil
	case "schema", "schemas", "true":
		return FramingSchema, nil
	case "schemaless", "false":
		return FramingSchemaless, nil
	}
	return FramingAuto, fmt.Errorf("unknown framing %q (want auto, schema or schemaless)", s)
}

// Envelope says what a topic's values are: Debezium's change envelope
// ({before, after, source, op}) or rows unwrapped by ExtractNewRecordState.
type Envelope uint8

const (
	// EnvelopeAuto decides per value. With a schema, its name does: a
	// Debezium envelope's is "<prefix>.<schema>.<table>.Envelope", an
	// unwrapped row's anything else. Without one, a value is an envelope
	// only when it looks like nothing but one (isRawShape): op is one of
	// c, u, d, r, t, m; source is an object holding Debezium's connector
	// and ts_ms; before and after, when present, are objects or null. A
	// table whose own columns are named op, source, before and after is
	// taken for an envelope only if its row has all of that shape; set
	// EnvelopeUnwrapped (decoder.envelope) for such tables, and set the
	// envelope explicitly wherever it is known.
	EnvelopeAuto      Envelope = iota
	EnvelopeRaw                // decoder.envelope=raw: every value is an envelope
	EnvelopeUnwrapped          // decoder.envelope=unwrapped: every value is a row
)

// ParseEnvelope reads "auto", "raw" or "unwrapped".
func ParseEnvelope(s string) (Envelope, error) {
	switch s {
	case "", "auto":
		return EnvelopeAuto, nil
	case "raw":
		return EnvelopeRaw, nil
	case "unwrapped":
		return EnvelopeUnwrapped, nil
	}
	return EnvelopeAuto, fmt.Errorf("unknown envelope %q (want auto, raw or unwrapped)", s)
}

// DefaultFieldsPrefix is ExtractNewRecordState's add.fields.prefix.
const DefaultFieldsPrefix = "__"

// DefaultPlaceholder is Debezium's unavailable.value.placeholder.
const DefaultPlaceholder = "__debezium_unavailable_value"

// Options configure a Decoder. The zero value is usable.
type Options struct {
	Framing  Framing
	Envelope Envelope // decoder.envelope
	// FieldsPrefix is ExtractNewRecordState's add.fields.prefix: the prefix
	// of the metadata fields it adds to unwrapped rows ("" means "__").
	FieldsPrefix string
	TimeZone     *time.Location // zoned timestamps are rendered in this zone; nil = UTC
	// Omit names target columns the decoder never fills from a message
	// field (the caller writes them itself, as the versioned mode's version
	// and deleted columns).
	Omit []string
	// OpColumn appends "__op":0 (upsert) or "__op":1 (delete) to each row,
	// as Stream Load expects for Primary Key tables.
	OpColumn bool
	// Placeholder is the connector's unavailable.value.placeholder.
	Placeholder string
	// DecimalHandling is the connector's decimal.handling.mode, used for
	// schemaless string values in DECIMAL columns: "precise" (default,
	// base64) or "string".
	DecimalHandling string
	// OutOfRangeDates says what happens to dates and timestamps StarRocks
	// cannot hold (decoder.out_of_range_dates): DatesFail (default) or
	// DatesClamp.
	OutOfRangeDates OutOfRangeDates
	// SchemalessTimestamp is the unit of integer timestamps in schemaless
	// values: "ms", "us" or "ns". Empty: such values are an error.
	SchemalessTimestamp string
}

// ErrSyntax and the other sentinel errors classify DecodeError.Err.
var (
	ErrSyntax      = errors.New("malformed JSON")
	ErrUnknownOp   = errors.New("unknown op")
	ErrMissingRow  = errors.New("missing row")
	ErrType        = errors.New("value does not fit the column")
	ErrBase64      = errors.New("undecodable base64")
	ErrAmbiguous   = errors.New("ambiguous schemaless value")
	ErrUnsupported = errors.New("unsupported value")
	// ErrRange: the value is of the column's type but beyond what the
	// column holds (a string longer than its VARCHAR, a number beyond its
	// range, a date outside 0000-01-01 .. 9999-12-31), which StarRocks
	// would load as NULL.
	ErrRange = errors.New("value out of the column's range")
	// ErrUnavailable: a new row (op c or r, or the create of a primary-key
	// change) holds the unchanged-TOAST placeholder; see unavailableNewRow.
	ErrUnavailable = errors.New("unchanged-TOAST placeholder in a new row")
)

// DecodeError says which record and which field could not be decoded.
type DecodeError struct {
	Topic     string
	Partition int32
	Offset    int64
	Field     string
	Err       error
}

func (e *DecodeError) Error() string {
	f := e.Field
	if f == "" {
		f = "(value)"
	}
	return fmt.Sprintf("decode %s[%d]@%d field %s: %v", e.Topic, e.Partition, e.Offset, f, e.Err)
}

func (e *DecodeError) Unwrap() error { return e.Err }

// Decoder turns records of one topic into rows of one table. It is not safe
// for concurrent use; use one per goroutine.
type Decoder struct {
	table *schema.Table
	opts  Options
	loc   *time.Location

	ph    string // placeholder forms, precomputed
	phB64 string
	phArr []string // raw JSON arrays/objects that mean "unavailable"

	plans     []*plan    // cache of field plans, keyed by row-schema text
	free      plan       // schemaless plan (learned from field order)
	si        schemaInfo // what the last value schema said
	unavail   []int
	unknown   string // the first field of the row with no column (Event.Unknown)
	scratch   []byte
	stack     []byte         // scanValue's container stack
	members   [2][3][]member // envelope member lists, reused (see envelopeAt)
	keyFields []member       // a Kafka key's members (deletes keyed by it)
	keyCols   []bool         // per table column: part of the key
	prefix    string         // add.fields.prefix
	// A delete row's fill-in (fillDelete): per table column its zero
	// value ("" : never filled) and its label, and whether this row has it.
	zeros, labels []string
	filled        []bool
	deleting      bool
	// fitted is set by value when what it rendered fits the column by
	// construction (a date it formatted, a decimal whose digits it
	// counted), so that render skips the check of fits.
	fitted bool
	// keysSeen counts the key columns render wrote for the current row;
	// nKeys is the table's number of key columns.
	keysSeen, nKeys int
	// errNoMetaPosition is the VersionErr of an unwrapped row without
	// position fields, named with the decoder's add.fields prefix.
	errNoMetaPosition *VersionError
	// sawRaw is set once this decoder has decoded a raw envelope: with
	// EnvelopeAuto, a tombstone is then the one Debezium writes after a
	// delete (skipped), not an unwrapped delete.
	sawRaw bool
}

// NewDecoder returns a decoder for rows of table (nil: render every field of
// the message, typed by its Debezium schema when present).
func NewDecoder(table *schema.Table, opts Options) *Decoder {
	d := &Decoder{table: table, opts: opts, loc: opts.TimeZone}
	if d.loc == nil {
		d.loc = time.UTC
	}
	d.prefix = opts.FieldsPrefix
	if d.prefix == "" {
		d.prefix = DefaultFieldsPrefix
	}
	d.errNoMetaPosition = &VersionError{Field: d.prefix + "lsn", Reason: noPosition}
	d.ph = opts.Placeholder
	if d.ph == "" {
		d.ph = DefaultPlaceholder
	}
	d.phB64 = base64.StdEncoding.EncodeToString([]byte(d.ph))
	arr := []byte{'['}
	for i := 0; i < len(d.ph); i++ {
		if i > 0 {
			arr = append(arr, ',')
		}
		arr = strconv.AppendInt(arr, int64(d.ph[i]), 10)
	}
	arr = append(arr, ']')
	d.phArr = []string{
		`["` + d.ph + `"]`,
		`["` + d.phB64 + `"]`,
		string(arr),
		`["` + nameUUIDFromBytes([]byte(d.ph)) + `"]`,
		`{"` + d.ph + `":"` + d.ph + `"}`,
	}
	if table != nil {
		n := len(table.Columns)
		d.keyCols, d.filled = make([]bool, n), make([]bool, n)
		d.zeros, d.labels = make([]string, n), make([]string, n)
		for i := range table.Columns {
			c := &table.Columns[i]
			d.keyCols[i] = c.Key
			if c.Key {
				d.nKeys++
			}
			d.labels[i] = string(append(appendEscaped([]byte{'"'}, c.Name), '"', ':'))
			if !slices.Contains(opts.Omit, c.Name) { // the caller writes those
				d.zeros[i] = zeroValue(c)
			}
		}
	}
	return d
}

// Table returns the decoder's target table (nil when it has none).
func (d *Decoder) Table() *schema.Table { return d.table }

// str views b as a string without copying; the string must not outlive b.
func str(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// Decode decodes rec and, for OpUpsert and OpDelete, appends the row to dst
// as one JSON object. On error dst is returned unchanged.
func (d *Decoder) Decode(rec *Record, dst []byte) ([]byte, Event, error) {
	d.unavail, d.unknown, d.deleting, d.keysSeen = d.unavail[:0], "", false, 0
	defer d.forget()
	ev := Event{}
	if rec.Value == nil {
		if d.tombstoneDeletes() {
			// ExtractNewRecordState's delete.tombstone.handling.mode=tombstone
			// (3.x's default): the delete itself, keyed by the Kafka key.
			ev.Op, ev.VersionErr = OpDelete, errTombstone
			return d.deleteFromKey(rec, dst, ev)
		}
		ev.Reason = ReasonTombstone
		return dst, ev, nil
	}
	if isHeartbeatTopic(rec.Topic) {
		ev.Reason = ReasonHeartbeat
		return dst, ev, nil
	}
	root, payload, sch, env, cached, ok := d.frame(str(rec.Value))
	if !ok {
		return dst, ev, d.fail(rec, "", ErrSyntax)
	}
	si := d.schemaInfo(sch, cached)
	if !root.IsObject() {
		if root.Type == gjson.Null {
			return d.nullPayload(rec, dst, si)
		}
		return dst, ev, d.fail(rec, "", fmt.Errorf("%w: value is %s, not an object", ErrType, typeName(root)))
	}
	if payload.Type == gjson.Null {
		return d.nullPayload(rec, dst, si)
	}
	if !payload.IsObject() {
		return dst, ev, d.fail(rec, "payload", fmt.Errorf("%w: payload is %s, not an object", ErrType, typeName(payload)))
	}
	if si.heartbeat {
		ev.Reason = ReasonHeartbeat
		return dst, ev, nil
	}
	if si.tx || isTxMetadata(rec.Topic, payload) {
		ev.Reason = ReasonTxMetadata
		return dst, ev, nil
	}

	// The envelope's members, as the scanner found them.
	var opv, before, after gjson.Result
	if env.op != "" {
		opv = resultOf(env.op)
	}
	if env.before != "" {
		before = resultOf(env.before)
	}
	if env.after != "" {
		after = resultOf(env.after)
	}
	if d.isRaw(si, &env, opv, before, after) {
		d.sawRaw = true
		return d.decodeEnvelope(rec, dst, si, &env, opv, before, after)
	}
	return d.decodeUnwrapped(rec, dst, payload, &env, si)
}

// tombstoneDeletes reports whether a tombstone (a null Kafka value) is a
// delete. A raw topic's tombstone follows the delete event of its key and
// is skipped; on an unwrapped topic it is the delete. With EnvelopeAuto the
// decoder cannot tell until it has seen the topic's change events: a
// tombstone it meets first is taken for a delete, which on a raw topic
// deletes a row the preceding delete event removed already, while the
// other guess would lose an unwrapped topic's delete.
func (d *Decoder) tombstoneDeletes() bool {
	switch d.opts.Envelope {
	case EnvelopeRaw:
		return false
	case EnvelopeUnwrapped:
		return true
	}
	return !d.sawRaw
}

// SawRaw reports whether the decoder has decoded a raw Debezium envelope:
// with EnvelopeAuto, its tombstones are then skipped rather than deletes.
// A caller decoding one topic with several decoders (or replacing them)
// can carry what one learnt over to the records another decoded.
func (d *Decoder) SawRaw() bool { return d.sawRaw }

// nullPayload decodes a value that is JSON null or {"schema":…,"payload":
// null}: what ExtractNewRecordState writes for a delete with
// delete.handling.mode=none (or delete.tombstone.handling.mode=tombstone
// when the converter frames nulls). Debezium's envelopes are never null,
// so it is a delete by the Kafka key unless the configuration or the
// schema says the topic holds envelopes.
func (d *Decoder) nullPayload(rec *Record, dst []byte, si *schemaInfo) ([]byte, Event, error) {
	if d.opts.Envelope == EnvelopeRaw || d.opts.Envelope == EnvelopeAuto && si.envelope {
		return dst, Event{Reason: ReasonNullPayload}, nil
	}
	return d.deleteFromKey(rec, dst, Event{Op: OpDelete, VersionErr: errNullPayload})
}

// rawOps are the op values of Debezium's envelopes.
func rawOp(op string) bool {
	switch op {
	case "c", "u", "d", "r", "t", "m":
		return true
	}
	return false
}

// isRaw decides whether a value is a Debezium envelope or an unwrapped row:
// by the configuration, else by the value schema's name, else by the
// value's shape (see EnvelopeAuto).
func (d *Decoder) isRaw(si *schemaInfo, env *envelope, opv, before, after gjson.Result) bool {
	switch d.opts.Envelope {
	case EnvelopeRaw:
		return true
	case EnvelopeUnwrapped:
		return false
	}
	if si.name != "" {
		return si.envelope
	}
	rowOrNull := func(r gjson.Result) bool { return !r.Exists() || r.Type == gjson.Null || r.IsObject() }
	return opv.Type == gjson.String && rawOp(opv.Str) &&
		env.source != "" && env.src.connector != "" && env.src.tsMs != "" &&
		rowOrNull(before) && rowOrNull(after)
}

// envelope holds the spans of a raw envelope's members, found while the
// payload is validated ("" when absent).
type envelope struct {
	op, source, before, after string
	src                       position // source's members
	// The members of the object itself (an unwrapped row), of before and
	// of after (the last of each, as e.before and e.after), noted in the
	// same pass so that render does not parse the row again.
	fields, beforeFields, afterFields []member
}

// envelopeAt returns an empty envelope whose member lists reuse the
// decoder's buffers of slot (0: the value itself, 1: its payload).
func (d *Decoder) envelopeAt(slot int) envelope {
	b := &d.members[slot]
	return envelope{fields: b[0][:0], beforeFields: b[1][:0], afterFields: b[2][:0]}
}

// keep hands the member lists of e, grown, back to the buffers of slot,
// where forget clears them once the record is decoded.
func (d *Decoder) keep(e *envelope, slot int) {
	d.members[slot] = [3][]member{e.fields, e.beforeFields, e.afterFields}
}

// forget clears the member lists: a member points into its record's value,
// and a decoder must not keep the client's fetch buffers alive (one per
// table decoder: with 100 tables that doubled the memory and the GC's work).
func (d *Decoder) forget() {
	for i := range d.members {
		for j := range d.members[i] {
			clear(d.members[i][j])
			d.members[i][j] = d.members[i][j][:0]
		}
	}
}

// reset empties e's member lists for another pass, clearing what they held.
func (e *envelope) reset() {
	clear(e.fields)
	clear(e.beforeFields)
	clear(e.afterFields)
	*e = envelope{fields: e.fields[:0], beforeFields: e.beforeFields[:0], afterFields: e.afterFields[:0]}
}

// member validates the value of member key of an envelope candidate,
// starting at raw[vs], and notes it; source's lsn and ts_ms are noted in the
// same pass.
func (d *Decoder) member(e *envelope, raw, key string, vs int) (int, bool) {
	var end int
	var esc, ok bool
	switch obj := vs < len(raw) && raw[vs] == '{'; {
	case obj && key == "source":
		e.src = position{}
		end, ok = scanObject(raw, vs, func(k string, svs int) (int, bool) {
			se, _, ok := scanMember(raw, svs, &d.stack)
			e.src.set(k, raw[svs:se])
			return se, ok
		})
	case obj && key == "after":
		clear(e.afterFields)
		e.afterFields = e.afterFields[:0]
		end, ok = scanMembers(raw, vs, &e.afterFields, &d.stack)
	case obj && key == "before":
		clear(e.beforeFields)
		e.beforeFields = e.beforeFields[:0]
		end, ok = scanMembers(raw, vs, &e.beforeFields, &d.stack)
	default:
		end, esc, ok = scanMember(raw, vs, &d.stack)
	}
	if ok {
		e.set(key, raw[vs:end])
		e.fields = append(e.fields, member{key: key, val: raw[vs:end], esc: esc})
	}
	return end, ok
}

// setFirst keeps the first value a field had, as gjson's Get finds it.
func setFirst(dst *string, v string) {
	if *dst == "" {
		*dst = v
	}
}

// position holds the spans of the fields a change's version and commit
// time are read from: source's members in a raw envelope, their copies
// that ExtractNewRecordState's add.fields writes into an unwrapped row.
type position struct {
	connector, tsMs, snapshot, sequence string
	lsn                                 string // PostgreSQL
	file, pos, row                      string // MySQL
}

// set notes a source member (the first of each name, as gjson's Get). It
// runs for every member of every source block: it tells the names apart by
// length first, then by one comparison.
func (p *position) set(k, v string) {
	var dst *string
	switch len(k) {
	case 3:
		switch k {
		case "lsn":
			dst = &p.lsn
		case "pos":
			dst = &p.pos
		case "row":
			dst = &p.row
		}
	case 4:
		if k == "file" {
			dst = &p.file
		}
	case 5:
		if k == "ts_ms" {
			dst = &p.tsMs
		}
	case 8:
		switch k {
		case "snapshot":
			dst = &p.snapshot
		case "sequence":
			dst = &p.sequence
		}
	case 9:
		if k == "connector" {
			dst = &p.connector
		}
	}
	if dst != nil && *dst == "" {
		*dst = v
	}
}

func (e *envelope) set(key, v string) {
	switch key {
	case "op":
		e.op = v
	case "source":
		e.source = v
	case "before":
		e.before = v
	case "after":
		e.after = v
	}
}

// frame validates a record value and splits it, by the configured framing,
// into its payload and schema, in one pass: the top-level members and the
// payload's members are walked by the validating scanner, which notes the
// envelope members on the way. A schema that is byte for byte the one d.si
// was built from is skipped by comparison instead of being scanned, and
// reported as cached: with schemas on, most of a Debezium message is that
// repeated schema.
func (d *Decoder) frame(raw string) (root, payload, sch gjson.Result, env envelope, cached, ok bool) {
	i := skipWS(raw, 0)
	if i >= len(raw) || raw[i] != '{' {
		if !validJSON(raw, &d.stack) {
			return root, payload, sch, env, false, false
		}
		root = gjson.Parse(raw)
		return root, root, sch, env, false, true
	}
	top, inner := d.envelopeAt(0), d.envelopeAt(1) // members of the value itself, of its payload
	defer func() { d.keep(&top, 0); d.keep(&inner, 1) }()
	var schRaw, payloadRaw string
	var hasSch, hasPayload bool
	n := 0
	end, ok := scanObject(raw, i, func(key string, vs int) (int, bool) {
		n++
		var e int
		var ok, hit bool
		if key == "payload" {
			inner.reset() // the last payload member is the one read
		}
		switch {
		case d.opts.Framing == FramingSchemaless:
			return d.member(&top, raw, key, vs)
		case key == "schema" && d.si.raw != "" && strings.HasPrefix(raw[vs:], d.si.raw):
			e, ok, hit = vs+len(d.si.raw), true, true
		case key == "payload" && vs < len(raw) && raw[vs] == '{':
			e, ok = scanObject(raw, vs, func(k string, ivs int) (int, bool) {
				return d.member(&inner, raw, k, ivs)
			})
		default:
			e, ok = d.member(&top, raw, key, vs)
		}
		if !ok {
			return e, false
		}
		if hit || key == "payload" && raw[vs] == '{' {
			// Not seen by member: still a member of the value itself.
			esc := raw[vs] == '"' && strings.IndexByte(raw[vs:e], '\\') >= 0
			top.fields = append(top.fields, member{key: key, val: raw[vs:e], esc: esc})
		}
		switch key {
		case "schema":
			schRaw, hasSch, cached = raw[vs:e], true, hit
		case "payload":
			payloadRaw, hasPayload = raw[vs:e], true
		}
		return e, true
	})
	if !ok || skipWS(raw, end) != len(raw) {
		return root, payload, sch, env, false, false
	}
	root = gjson.Parse(raw)
	if d.opts.Framing == FramingSchema || d.opts.Framing == FramingAuto && n == 2 && hasSch && hasPayload {
		if hasSch {
			sch = gjson.Parse(schRaw)
		}
		if hasPayload {
			payload = gjson.Parse(payloadRaw)
		}
		return root, payload, sch, inner, cached && hasSch, true
	}
	return root, root, gjson.Result{}, top, false, true
}

// schemaInfo is what a value schema says, derived once per distinct schema
// text: Debezium repeats the same schema in every record of a table.
type schemaInfo struct {
	raw           string
	name          string // the value schema's name ("" when it has none)
	envelope      bool   // the name is a Debezium envelope's (….Envelope)
	heartbeat, tx bool
	before, after *plan // raw envelope: the row schemas
	row           *plan // unwrapped value: the row schema itself
}

// noSchema is the (read-only) schemaInfo of values without a schema.
var noSchema schemaInfo

func (d *Decoder) schemaInfo(sch gjson.Result, cached bool) *schemaInfo {
	if !sch.Exists() {
		return &noSchema
	}
	if cached || d.si.raw == sch.Raw && d.si.raw != "" {
		return &d.si
	}
	name := sch.Get("name").Str
	si := schemaInfo{
		raw:       string([]byte(sch.Raw)), // own copy: Raw points into the record
		name:      name,
		envelope:  hasSuffix(name, ".Envelope"),
		heartbeat: name == "io.debezium.connector.common.Heartbeat",
		tx:        hasSuffix(name, ".TransactionMetadataValue"),
	}
	// Both readings are planned: which one applies is decided per value
	// (isRaw), and a row may have columns named before and after.
	sch.Get("fields").ForEach(func(_, f gjson.Result) bool {
		switch f.Get("field").Str {
		case "before":
			if f.Get("type").Str == "struct" {
				si.before = d.planFor(f)
			}
		case "after":
			if f.Get("type").Str == "struct" {
				si.after = d.planFor(f)
			}
		}
		return true
	})
	si.row = d.planFor(sch)
	d.si = si
	return &d.si
}

func (d *Decoder) decodeEnvelope(rec *Record, dst []byte, si *schemaInfo, env *envelope, opv, before, after gjson.Result) ([]byte, Event, error) {
	ev := Event{LSN: intOf(env.src.lsn), TsMs: intOf(env.src.tsMs)}
	ev.SourceTS = ev.TsMs
	if opv.Type != gjson.String {
		return dst, ev, d.fail(rec, "op", fmt.Errorf("%w: op is %s", ErrUnknownOp, typeName(opv)))
	}
	var part string
	switch opv.Str {
	case "r":
		ev.Op, ev.Snapshot, part = OpUpsert, true, "after"
	case "c", "u":
		ev.Op, part = OpUpsert, "after"
	case "d":
		ev.Op, part = OpDelete, "before"
	case "t":
		ev.Op = OpTruncate
		d.setVersion(&ev, &env.src, true, ev.LSN)
		return dst, ev, nil
	case "m":
		ev.Reason = ReasonMessage
		return dst, ev, nil
	default:
		return dst, ev, d.fail(rec, "op", fmt.Errorf("%w %q", ErrUnknownOp, opv.Str))
	}
	d.setVersion(&ev, &env.src, true, ev.LSN)
	row, p := after, si.after
	if part == "before" {
		row, p = before, si.before
	}
	if !row.IsObject() {
		if ev.Op == OpDelete && (row.Type == gjson.Null || !row.Exists()) {
			// REPLICA IDENTITY DEFAULT/NOTHING: the Kafka key names the row.
			return d.deleteFromKey(rec, dst, ev)
		}
		return dst, ev, d.fail(rec, part, fmt.Errorf("%w: %s is %s on op %q", ErrMissingRow, part, typeName(row), opv.Str))
	}
	var err error
	fields := env.afterFields
	if part == "before" {
		fields = env.beforeFields
	}
	start := len(dst)
	if ev.Op == OpDelete {
		d.beginDelete()
	}
	dst, err = d.render(rec, dst, part, fields, p)
	if err != nil {
		return dst, ev, err
	}
	if k := d.missingKey(fields); k != "" {
		return dst[:start], ev, d.fail(rec, part+"."+k, fmt.Errorf("%w: the %s image has no key column %s", ErrMissingRow, part, k))
	}
	if d.deleting {
		dst = d.fillDelete(dst)
	}
	if len(d.unavail) > 0 && (opv.Str == "c" || opv.Str == "r" || hasHeader(rec, headerOldKey)) {
		return dst[:start], ev, d.unavailableNewRow(rec, part, opv.Str)
	}
	ev.Unavailable, ev.Unknown = d.unavail, d.unknown
	return d.closeRow(dst, ev.Op), ev, nil
}

// headerOldKey is the header Debezium puts on the create event of a
// primary-key change (RelationalChangeRecordEmitter.PK_UPDATE_OLDKEY_FIELD).
const headerOldKey = "__debezium.oldkey"

func hasHeader(rec *Record, key string) bool {
	for i := range rec.Headers {
		if rec.Headers[i].Key == key {
			return true
		}
	}
	return false
}

// unavailableNewRow is the refusal of a new row holding the unchanged-TOAST
// placeholder. Debezium emits one for the new key of an UPDATE that
// changed a primary key of a row with unchanged TOAST columns, on a table
// with REPLICA IDENTITY DEFAULT: the change becomes a delete of the old key
// (header __debezium.newkey) and a create of the new key (header
// __debezium.oldkey) whose TOAST columns hold the placeholder, because the
// WAL's new tuple does not repeat an unchanged TOAST value and its old
// tuple holds only the key. Loading the create as a partial update would
// insert a row whose TOAST columns are NULL or their defaults: there is no
// row under the new key to keep them from.
//
// Carrying the values over from the old row is not possible in general:
// no message holds them (with REPLICA IDENTITY DEFAULT the delete's before
// image has only the key columns), so they would have to be read back from
// StarRocks, from the row under the old key, before its delete is applied;
// but the delete and the create carry different keys, may sit in different
// partitions, decoded by different goroutines and loaded in different
// batches in either order, and the stored row may itself lag the source.
// With REPLICA IDENTITY FULL the problem does not arise: the old tuple
// holds every column (PostgreSQL writes TOASTed values into it in full),
// and Debezium 2.6 (PostgresChangeRecordEmitter.columnValues, through
// cachedOldToastedValues) puts the old values in place of the unchanged
// ones, so the create carries the real values.
func (d *Decoder) unavailableNewRow(rec *Record, part, op string) error {
	col := d.unavail[0]
	name := strconv.Itoa(col)
	if d.table != nil && col < len(d.table.Columns) {
		name = d.table.Columns[col].Name
	}
	what := "the row"
	if op != "" {
		what = "op " + op
	}
	if hasHeader(rec, headerOldKey) {
		what += " with header " + headerOldKey + " (the new key of a primary-key change)"
	}
	field := name
	if part != "" {
		field = part + "." + name
	}
	return d.fail(rec, field, fmt.Errorf("%w: %s holds Debezium's unavailable-value placeholder in %d column(s), %s first: the source did not send their values (unchanged TOAST values of a row whose key changed), and a new row cannot be completed from the one it replaces. Set REPLICA IDENTITY FULL on the source table (ALTER TABLE … REPLICA IDENTITY FULL), then reload the row",
		ErrUnavailable, what, len(d.unavail), name))
}

// parsed returns the value of a span frame noted ("" : missing).
func parsed(span string) gjson.Result {
	if span == "" {
		return gjson.Result{}
	}
	return gjson.Parse(span)
}

// unwrapMeta is the metadata of an unwrapped row: the spans of the fields
// ExtractNewRecordState (__deleted, add.fields) and StarRocks'
// AddOpFieldForDebeziumRecord (__op) write, the first of each.
type unwrapMeta struct {
	deleted, op string
	pos         position
}

// meta reads an unwrapped row's metadata fields. add.fields names a
// source field bare (lsn → __lsn) or qualified (source.ts_ms →
// __source_ts_ms); a bare ts_ms is the envelope's processing time, not the
// commit time, and is not read.
func (d *Decoder) meta(fields []member) unwrapMeta {
	var m unwrapMeta
	p0 := d.prefix[0]
	for i := range fields {
		k, v := fields[i].key, fields[i].val
		if len(k) <= len(d.prefix) || k[0] != p0 && k[0] != '_' {
			continue
		}
		switch k {
		case "__deleted":
			setFirst(&m.deleted, v)
			continue
		case "__op":
			setFirst(&m.op, v)
			continue
		}
		if !strings.HasPrefix(k, d.prefix) {
			continue
		}
		switch n := k[len(d.prefix):]; {
		case n == "op":
			setFirst(&m.op, v)
		case strings.HasPrefix(n, "source_"):
			m.pos.set(n[len("source_"):], v)
		case n != "ts_ms":
			m.pos.set(n, v)
		}
	}
	return m
}

// isMeta reports whether a field of a row is Debezium metadata rather than a
// column: __deleted, StarRocks' __op, or a field ExtractNewRecordState's
// add.fields writes (prefix add.fields.prefix, "__" by default): an
// envelope field (op, ts_ms, ts_us, ts_ns), a transaction field (id,
// total_order, data_collection_order), a source field of the PostgreSQL or
// MySQL connector named bare (lsn → __lsn), or any field qualified by its
// struct (source.ts_ms → __source_ts_ms, transaction.id →
// __transaction_id). Any other field, "__"-named or not, is a column value.
// Renamed fields (add.fields=lsn:version) cannot be told from columns.
func (d *Decoder) isMeta(name string) bool {
	if name == "__deleted" || name == "__op" {
		return true
	}
	if !strings.HasPrefix(name, d.prefix) {
		return false
	}
	n := name[len(d.prefix):]
	if strings.HasPrefix(n, "source_") || strings.HasPrefix(n, "transaction_") {
		return true
	}
	switch n {
	case "op", "ts_ms", "ts_us", "ts_ns", // the envelope's
		"id", "total_order", "data_collection_order", // transaction's
		"version", "connector", "name", "snapshot", "db", "sequence", "schema", "table", // source's, common
		"txId", "lsn", "xmin", // PostgreSQL's
		"server_id", "gtid", "file", "pos", "row", "thread", "query": // MySQL's
		return true
	}
	return false
}

func (d *Decoder) decodeUnwrapped(rec *Record, dst []byte, payload gjson.Result, env *envelope, si *schemaInfo) ([]byte, Event, error) {
	m := d.meta(env.fields)
	ev := Event{Op: OpUpsert, TsMs: intOf(m.pos.tsMs), LSN: intOf(m.pos.lsn)}
	ev.SourceTS = ev.TsMs
	if del := parsed(m.deleted); del.Exists() && del.Type != gjson.Null {
		switch {
		case del.Type == gjson.String && del.Str == "true", del.Type == gjson.True:
			ev.Op = OpDelete
		case del.Type == gjson.String && del.Str == "false", del.Type == gjson.False:
		default:
			return dst, ev, d.fail(rec, "__deleted", fmt.Errorf("%w: __deleted is %s", ErrType, del.Raw))
		}
	}
	op := parsed(m.op)
	switch {
	case !op.Exists() || op.Type == gjson.Null:
		if ev.Op == OpUpsert {
			// AddOpFieldForDebeziumRecord leaves snapshot rows without __op.
			ev.Snapshot = m.deleted == ""
		}
	case op.Type == gjson.String:
		switch op.Str {
		case "c", "u":
		case "r":
			ev.Snapshot = true
		case "d":
			ev.Op = OpDelete
		case "t":
			ev.Op = OpTruncate
			d.setVersion(&ev, &m.pos, false, ev.LSN)
			return dst, ev, nil
		default:
			return dst, ev, d.fail(rec, "__op", fmt.Errorf("%w %q", ErrUnknownOp, op.Str))
		}
	case op.Type == gjson.Number:
		switch op.Raw {
		case "0":
		case "1":
			ev.Op = OpDelete
		default:
			return dst, ev, d.fail(rec, "__op", fmt.Errorf("%w %s (AddOpField writes 0 or 1)", ErrUnknownOp, op.Raw))
		}
	default:
		return dst, ev, d.fail(rec, "__op", fmt.Errorf("%w: __op is %s", ErrUnknownOp, typeName(op)))
	}
	d.setVersion(&ev, &m.pos, false, ev.LSN)
	var err error
	start := len(dst)
	if ev.Op == OpDelete {
		d.beginDelete()
	}
	dst, err = d.render(rec, dst, "", env.fields, si.row)
	if err != nil {
		return dst, ev, err
	}
	if k := d.missingKey(env.fields); k != "" {
		return dst[:start], ev, d.fail(rec, k, fmt.Errorf("%w: the row has no key column %s (if the topic holds Debezium envelopes, set decoder.envelope=raw)", ErrMissingRow, k))
	}
	if d.deleting {
		dst = d.fillDelete(dst)
	}
	if len(d.unavail) > 0 && ev.Op == OpUpsert && (op.Str == "c" || op.Str == "r" || hasHeader(rec, headerOldKey)) {
		// AddOpField's __op 0 does not tell a create from an update: the
		// header does, for the creates that matter.
		return dst[:start], ev, d.unavailableNewRow(rec, "", op.Str)
	}
	ev.Unavailable, ev.Unknown = d.unavail, d.unknown
	return d.closeRow(dst, ev.Op), ev, nil
}

// deleteFromKey renders a delete row from the Kafka key's fields.
func (d *Decoder) deleteFromKey(rec *Record, dst []byte, ev Event) ([]byte, Event, error) {
	if len(rec.Key) == 0 {
		field := "before"
		if rec.Value == nil {
			field = "key" // a tombstone
		}
		return dst, ev, d.fail(rec, field, fmt.Errorf("%w: delete without a row image and without a Kafka key (use REPLICA IDENTITY FULL or a primary key)", ErrMissingRow))
	}
	kraw := str(rec.Key)
	if !gjson.Valid(kraw) {
		return dst, ev, d.fail(rec, "key", ErrSyntax)
	}
	k := gjson.Parse(kraw)
	var ks gjson.Result
	if k.Get("payload").IsObject() && k.Get("schema").Exists() {
		ks, k = k.Get("schema"), k.Get("payload")
	}
	if !k.IsObject() {
		return dst, ev, d.fail(rec, "key", fmt.Errorf("%w: key is %s, not an object", ErrType, typeName(k)))
	}
	var kp *plan
	if ks.Exists() {
		kp = d.planFor(ks)
	}
	d.keyFields = d.keyFields[:0]
	if _, ok := scanMembers(k.Raw, 0, &d.keyFields, &d.stack); !ok {
		return dst, ev, d.fail(rec, "key", ErrSyntax) // validated above: not reached
	}
	var err error
	d.beginDelete()
	start := len(dst)
	dst, err = d.render(rec, dst, "key", d.keyFields, kp)
	if err != nil {
		return dst, ev, err
	}
	if k := d.missingKey(d.keyFields); k != "" {
		return dst[:start], ev, d.fail(rec, "key."+k, fmt.Errorf("%w: the Kafka key has no key column %s", ErrMissingRow, k))
	}
	if d.deleting {
		dst = d.fillDelete(dst)
	}
	ev.Unknown = d.unknown
	return d.closeRow(dst, ev.Op), ev, nil
}

func (d *Decoder) closeRow(dst []byte, op Op) []byte {
	if d.opts.OpColumn {
		if dst[len(dst)-1] != '{' {
			dst = append(dst, ',')
		}
		if op == OpDelete {
			dst = append(dst, `"__op":1`...)
		} else {
			dst = append(dst, `"__op":0`...)
		}
	}
	return append(dst, '}')
}

func (d *Decoder) fail(rec *Record, field string, err error) error {
	return &DecodeError{Topic: rec.Topic, Partition: rec.Partition, Offset: rec.Offset, Field: field, Err: err}
}

func isHeartbeatTopic(topic string) bool {
	const p = "__debezium-heartbeat"
	return len(topic) >= len(p) && topic[:len(p)] == p
}

func isTxMetadata(topic string, payload gjson.Result) bool {
	if !hasSuffix(topic, ".transaction") {
		return false
	}
	st := payload.Get("status").Str
	return (st == "BEGIN" || st == "END") && payload.Get("id").Exists()
}

func hasSuffix(s, suf string) bool { return len(s) >= len(suf) && s[len(s)-len(suf):] == suf }

func typeName(r gjson.Result) string {
	switch {
	case !r.Exists():
		return "missing"
	case r.IsObject():
		return "an object"
	case r.IsArray():
		return "an array"
	}
	switch r.Type {
	case gjson.Null:
		return "null"
	case gjson.String:
		return "a string"
	case gjson.Number:
		return "a number"
	case gjson.True, gjson.False:
		return "a boolean"
	}
	return "unknown"
}
