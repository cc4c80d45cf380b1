// Package streamload loads batches into StarRocks with Stream Load and reads
// table schemas over the MySQL protocol.
//
// # Loads
//
// [Client.Load] sends one batch with PUT /api/{db}/{table}/_stream_load to a
// frontend (FE). The FE answers 307 with the address of a backend (BE); the
// client follows that redirect itself, because Go's http.Client drops the
// Authorization header on a redirect to another host (golang/go#65065), and
// rewrites the BE address when [Config.BEHostRewrite] or
// [Config.BEHostOverride] say so (Docker, Kubernetes). Every request carries
// Expect: 100-continue and a Content-Length, so a rejected request does not
// ship its body. Several FE URLs give failover: a transport error moves the
// client to the next one.
//
// A batch keeps its label across every retry ([Label] builds a deterministic
// one from the offsets it holds). The response is classified by one pure
// function, classify:
//
//   - Success: loaded and visible.
//   - Publish Timeout: committed, not yet visible; success, never retried.
//   - Label Already Exists: the label is looked up with get_load_state.
//     FINISHED, VISIBLE and COMMITTED mean an earlier attempt loaded the batch
//     (a lost response): success. PREPARE, PREPARED and RUNNING mean it is
//     still loading: the client waits and looks again, up to
//     [Config.LabelWait] and within [Config.RetryFor] (after a broken upload
//     StarRocks holds the label RUNNING until it rolls the transaction back). ABORTED, CANCELLED and UNKNOWN mean no attempt
//     loaded the batch: the client sends it again with the same label,
//     because StarRocks only counts a label as used while its transaction is
//     not aborted (the Stream Load docs let a failed job's label be reused).
//     This keeps the label deterministic, so a crash between two attempts
//     still cannot load a batch twice.
//   - Fail: a [LoadError]. Its Retryable verdict comes from the message:
//     StarRocks' own "retry" answers (a BE shutting down, a commit whose
//     status is unknown) and transient conditions (too many versions, too
//     large a compaction score, too many running transactions, no backend
//     alive, memory limits, timeouts) are retried; data-quality, size,
//     schema and privilege errors are not. The rejected rows served at
//     ErrorURL are fetched (bounded) into the message.
//
// Transport errors and HTTP 5xx are retried with the same label, with capped
// exponential backoff and jitter, for at most [Config.RetryFor] (and
// [Config.MaxRetries] retries when set). Past that budget the error stays
// Retryable: StarRocks was unavailable, it did not refuse the data (see
// [LoadError]). HTTP 401 and 403 are permanent and never name the password.
//
// Bodies are never copied: each attempt reads the caller's slice through a
// new bytes.Reader. A compressed load is compressed once per Load into a
// pooled buffer that every attempt re-reads.
//
// # Catalog
//
// [Catalog] reads a table's columns from information_schema.columns and its
// model and key from information_schema.tables_config with
// github.com/go-sql-driver/mysql, and caches the result for a TTL.
//
// StarRocks answers information_schema.columns in two spellings, and the
// catalog reads both. The BE's schema scanner
// (be/src/exec/schema_scanner/schema_columns_scanner.cpp) writes
// decimal(p,s), "unknown" for ARRAY, MAP, STRUCT and VARBINARY columns,
// and IS_NULLABLE "NO" for every column; the FE's type strings
// (Type.toSql, as newer builds and the emulator answer) write decimal(p, s),
// array<…> and the real YES/NO. With the BE's answer IS_NULLABLE says
// nothing, so when no column is nullable, or a type is "unknown", the
// catalog also asks SHOW FULL COLUMNS, which the FE answers from the
// table's own schema (Null from Column.isAllowNull, Type from
// Type.canonicalName), and takes nullability and the unknown types from
// it. If that query fails, the columns stay NOT NULL, an "unknown" type
// stays [schema.KindUnknown] (the decoder renders such values by their
// JSON type), and a warning is logged: starsink assumes a column is NOT
// NULL unless StarRocks said otherwise. For an Aggregate Key table SHOW
// FULL COLUMNS is always read: its Extra column names each value column's
// aggregate function ([schema.Column].Agg); a table whose functions cannot
// be read is an error, never loaded blind.
package streamload
