package streamload

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// MaxJSONBody is the largest JSON body StarRocks accepts by default:
// be/src/http/action/stream_load.cpp StreamLoadAction::_on_header refuses
// a JSON load whose Content-Length (the compressed size, for a compressed
// body) is above streaming_load_max_batch_size_mb (be.conf, 100) MiB,
// "The size of this batch exceed the max size [104857600] of json type
// data …", unless ignore_json_size is set, which starsink never sends.
const MaxJSONBody = 100 << 20

// Format is the body format of a load.
type Format uint8

const (
	// FormatJSON is a JSON array of row objects, sent with
	// strip_outer_array=true.
	FormatJSON Format = iota
	// FormatCSV is rows separated by Request.CSVRowDelimiter, fields by
	// Request.CSVColumnSeparator (see AppendCSVField).
	FormatCSV
)

// String returns the value of the format header.
func (f Format) String() string {
	if f == FormatCSV {
		return "csv"
	}
	return "json"
}

// Request is one Stream Load of one batch into one table.
type Request struct {
	DB, Table string
	// Label identifies the batch; every retry reuses it (see Label).
	Label  string
	Format Format
	// Columns is the columns header, "__op" included when the rows carry it.
	Columns []string
	// Body is the whole batch. The client never copies or modifies it and
	// does not keep it after Load returns.
	Body []byte
	// BodyParts is the batch in consecutive parts, for a caller that builds
	// it in pieces: they are sent one after the other, never joined (the
	// same terms as Body). Set Body or BodyParts, not both.
	BodyParts [][]byte
	// Compression is "", "gzip", "lz4_frame" or "zstd". StarRocks accepts
	// compressed JSON since v3.2.7.
	Compression string

	PartialUpdate     bool
	PartialUpdateMode string        // "row" or "column"; empty leaves StarRocks' default
	MergeCondition    string        // a non-key column; Primary Key tables only
	Timeout           time.Duration // the job's timeout header, in whole seconds
	TimeZone          string

	// CSVColumnSeparator and CSVRowDelimiter default to "\t" and "\n".
	// Non-printable bytes are sent in StarRocks' \xNN form.
	CSVColumnSeparator, CSVRowDelimiter string

	// Headers are extra headers (per-table options from config). A header
	// the client owns (see ReservedHeader: label, columns, format,
	// strict_mode, max_filter_ratio, …) is refused, case-insensitively.
	Headers map[string]string
}

// Every load carries strict_mode: true and no max_filter_ratio (StarRocks'
// default, 0). Without strict mode StarRocks stores a value that does not
// fit its column (a string longer than its VARCHAR, a DECIMAL with too many
// integer digits) as NULL and reports Success
// (formats/json/nullable_column.cpp, invalid_as_null = !strict_mode); with
// it the row is filtered and, with a ratio of 0, the load fails: the batch
// is refused as data, never silently altered.

// validate checks what must be present before anything is sent.
func (r *Request) validate() error {
	switch {
	case r == nil:
		return fmt.Errorf("streamload: nil request")
	case r.DB == "" || r.Table == "":
		return fmt.Errorf("streamload: request needs DB and Table (got %q.%q)", r.DB, r.Table)
	case !ValidLabel(r.Label):
		return fmt.Errorf("streamload: label %q: must match [-_A-Za-z0-9]{1,%d}", r.Label, MaxLabelLen)
	case r.Body != nil && r.BodyParts != nil:
		return fmt.Errorf("streamload: request has both Body and BodyParts")
	}
	for k := range r.Headers {
		if reason, ok := ReservedHeader(k); ok {
			return fmt.Errorf("streamload: header %q: %s", k, reason)
		}
	}
	if strings.Contains(r.CSVColumnSeparator, `\`) || strings.Contains(r.CSVRowDelimiter, `\`) {
		return fmt.Errorf("streamload: CSV separators must not contain a backslash (StarRocks reads it as \\xNN or as the escape character)")
	}
	switch r.Compression {
	case "", "gzip", "lz4_frame", "zstd":
	default:
		return fmt.Errorf("streamload: compression %q: want gzip, lz4_frame or zstd", r.Compression)
	}
	return nil
}

// parts returns the body as parts.
func (r *Request) parts() [][]byte {
	switch {
	case r.BodyParts != nil:
		return r.BodyParts
	case r.Body != nil:
		return [][]byte{r.Body}
	}
	return nil
}

func (r *Request) bodyLen() int {
	if r.BodyParts != nil {
		return partsLen(r.BodyParts)
	}
	return len(r.Body)
}

// header builds the load headers of r (without Authorization and Expect).
func (r *Request) header(txn bool) http.Header {
	h := make(http.Header, 16)
	set := func(k, v string) { h[k] = []string{v} } // lower-case keys, as StarRocks documents them
	set("label", r.Label)
	if txn {
		set("db", r.DB)
		set("table", r.Table)
	}
	set("format", r.Format.String())
	if r.Format == FormatJSON {
		set("strip_outer_array", "true")
	} else {
		if r.CSVColumnSeparator != "" {
			set("column_separator", hexEscape(r.CSVColumnSeparator))
		}
		if r.CSVRowDelimiter != "" {
			set("row_delimiter", hexEscape(r.CSVRowDelimiter))
		}
	}
	if len(r.Columns) > 0 {
		set("columns", strings.Join(r.Columns, ","))
	}
	if r.Compression != "" {
		set("compression", r.Compression)
	}
	if r.PartialUpdate {
		set("partial_update", "true")
		if r.PartialUpdateMode != "" {
			set("partial_update_mode", r.PartialUpdateMode)
		}
	}
	if r.MergeCondition != "" {
		set("merge_condition", r.MergeCondition)
	}
	if r.Timeout > 0 {
		s := int64((r.Timeout + time.Second - 1) / time.Second)
		set("timeout", strconv.FormatInt(s, 10))
	}
	set("strict_mode", "true")
	if r.TimeZone != "" {
		set("timezone", r.TimeZone)
	}
	for k, v := range r.Headers {
		set(strings.ToLower(k), v)
	}
	return h
}

// hexEscape writes non-printable bytes of a separator as \xNN, the form the
// column_separator and row_delimiter headers take.
func hexEscape(s string) string {
	plain := true
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			plain = false
			break
		}
	}
	if plain {
		return s
	}
	const hexdig = "0123456789abcdef"
	b := make([]byte, 0, len(s)*4)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == 0x7f {
			b = append(b, '\\', 'x', hexdig[c>>4], hexdig[c&0xf])
			continue
		}
		b = append(b, c)
	}
	return string(b)
}
