package streamload

import "strings"

// reservedHeaders are the Stream Load and HTTP headers the client sets
// itself, or whose only safe value is the one it sends, with the reason a
// configuration may not set them. Keys are lower case.
var reservedHeaders = map[string]string{
	"label":               "starsink sets the label itself (deterministic per batch, see docs/architecture.md)",
	"columns":             "starsink sets the column list from the table's schema and the rows it renders",
	"format":              "starsink always loads the JSON rows it renders",
	"strip_outer_array":   "starsink frames the body as a JSON array and sets it to match",
	"jsonpaths":           "rows are rendered with column names as keys; jsonpaths would remap them",
	"json_root":           "rows are rendered at the top level",
	"partial_update":      "starsink sends partial updates itself, for rows with unavailable (TOAST) values",
	"partial_update_mode": "set it per table with mapping.tables.<table>.partial_update_mode",
	"merge_condition":     "set it per table with mapping.tables.<table>.merge_condition",
	"enable_merge_commit": "merge commit loads under labels StarRocks picks and answers before the data is visible, so a batch's label and its success no longer match",
	"strict_mode":         "starsink always sends strict_mode: true, so a value that does not fit its column fails the load instead of being stored as NULL",
	"max_filter_ratio":    "it must stay 0 so that no row is dropped silently (rows StarRocks refuses go to the dead-letter topic or stop the worker)",
	"where":               "a where filter drops the rows it does not select silently",
	"ignore_json_size":    "batch.max_bytes keeps JSON bodies under StarRocks' 100 MiB limit (streaming_load_max_batch_size_mb); lifting the check only moves the failure into the BE's memory",
	"compression":         "set it with starrocks.compression",
	"timeout":             "set it with starrocks.load_timeout",
	"db":                  "starsink sets the database of a transaction load itself",
	"table":               "starsink sets the table of a transaction load itself",
	"row_delimiter":       "starsink loads JSON rows (a CSV load takes it from Request.CSVRowDelimiter)",
	"column_separator":    "starsink loads JSON rows (a CSV load takes it from Request.CSVColumnSeparator)",
	// HTTP headers of the exchange itself.
	"authorization":     "the client sends HTTP Basic auth from starrocks.user and starrocks.password",
	"expect":            "the client always sends Expect: 100-continue",
	"content-length":    "the client sets the body's length",
	"transfer-encoding": "the client sends a Content-Length, never a chunked body",
	"content-encoding":  "set compression with starrocks.compression",
	"host":              "the client sets the host of the FE or BE it talks to",
	"connection":        "the client manages its connections",
}

// ReservedHeader reports whether a configuration may not set the Stream
// Load header name (compared case-insensitively), and why: the client sets
// it itself (label, columns, format, strip_outer_array, strict_mode, …), its
// only safe value is the one the client sends (max_filter_ratio 0,
// strict_mode true), another option owns it (merge_condition,
// partial_update_mode, compression, timeout), or it belongs to the HTTP
// exchange (Authorization, Expect, Content-Length, …). The reason reads
// after "<key>: " and before "; remove it".
func ReservedHeader(name string) (reason string, reserved bool) {
	reason, reserved = reservedHeaders[strings.ToLower(strings.TrimSpace(name))]
	return reason, reserved
}
