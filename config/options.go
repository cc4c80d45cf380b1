package config

// Option documents one configuration key. The list below is the single
// declarative source for docs/configuration.md and for the flags of
// AddFlags; a test fails when it and Config drift apart.
type Option struct {
	Key  string // koanf path, e.g. "batch.max_bytes"
	Java string // equivalent option of the Java StarRocks Kafka connector or Kafka Connect ("" = none)
	Doc  string // one sentence
	Size bool   // a byte size: accepts "64MiB"
	// FileOnly options (lists of structs, maps of structs) are set in the
	// configuration file only, not from the environment or flags.
	FileOnly bool
	// EnvEntries maps also take one entry per variable:
	// STARSINK_<KEY>_<ENTRY>, the entry name lower-cased.
	EnvEntries bool
}

// Options lists every configuration key, grouped as in Config.
var Options = []Option{
	{Key: "kafka.brokers", Java: "bootstrap.servers (of the Connect worker)", Doc: "Kafka bootstrap brokers, host:port. Required; a connector configuration does not carry them."},
	{Key: "kafka.group_id", Java: "connect-<name>", Doc: "Consumer group. A translated connector configuration uses connect-<name> so committed offsets carry over."},
	{Key: "kafka.group_protocol", Doc: "Group protocol: classic, or consumer (KIP-848: the broker assigns partitions; Kafka 4.0+, and franz-go advises 4.3+, before which an offset commit during reconciliation can fail with STALE_MEMBER_EPOCH)."},
	{Key: "kafka.client_id", Java: "client.id", Doc: "Kafka client id."},
	{Key: "kafka.topics", Java: "topics", Doc: "Topics to consume, by name."},
	{Key: "kafka.topic_regex", Java: "topics.regex", Doc: "Topics to consume, by regular expression (RE2, anchored by you)."},
	{Key: "kafka.exclude_regex", Doc: "Topics never consumed even when a listed topic or regex matches: Debezium heartbeat, transaction and message topics, and the topic of a signal table named debezium_signal (Debezium writes the watermark rows of incremental snapshots to it), by default. A source table named transaction or message matches the defaults too: narrow them if you have one; a signal table of another name must be added."},
	{Key: "kafka.start_offset", Java: "consumer.auto.offset.reset", Doc: "Where a partition with no committed offset starts: earliest or latest."},
	{Key: "kafka.fetch_max_bytes", Java: "consumer.fetch.max.bytes", Doc: "Maximum bytes of one fetch response (per broker). Fetched records wait in memory, decompressed, outside batch.buffer_memory: larger values did not load faster in the benchmarks and cost memory (docs/performance.md).", Size: true},
	{Key: "kafka.session_timeout", Java: "consumer.session.timeout.ms", Doc: "Group session timeout (classic protocol)."},
	{Key: "kafka.rebalance_timeout", Java: "consumer.max.poll.interval.ms", Doc: "Time a member has to rejoin during a rebalance (classic protocol). Also the bound on settling loads cancelled by a revoke or a lost assignment (their labels looked up until final): past it the worker stops rather than run on with a load that may still land."},
	{Key: "kafka.refused_timeout", Doc: "How long the brokers may keep refusing starsink's login (SASL) or certificate (TLS) after it started, with no connection succeeding in between, before it stops with the reason (0 = at the first refusal). A refusal at start always stops it at once."},
	{Key: "kafka.tls.enabled", Java: "security.protocol=SSL|SASL_SSL", Doc: "Use TLS to the brokers."},
	{Key: "kafka.tls.ca_file", Java: "ssl.truststore.location", Doc: "PEM file of the CAs that sign the broker certificates (\"\" = system roots)."},
	{Key: "kafka.tls.cert_file", Java: "ssl.keystore.location", Doc: "PEM client certificate, for mutual TLS."},
	{Key: "kafka.tls.key_file", Java: "ssl.keystore.location", Doc: "PEM client key, for mutual TLS."},
	{Key: "kafka.tls.insecure_skip_verify", Java: "ssl.endpoint.identification.algorithm=", Doc: "Skip verification of the broker certificates (tests only)."},
	{Key: "kafka.sasl.mechanism", Java: "sasl.mechanism", Doc: "SASL mechanism: \"\" (none), PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512."},
	{Key: "kafka.sasl.username", Java: "sasl.jaas.config", Doc: "SASL user."},
	{Key: "kafka.sasl.password", Java: "sasl.jaas.config", Doc: "SASL password (secret: prefer the environment or password_file)."},
	{Key: "kafka.sasl.password_file", Doc: "File holding the SASL password; a trailing newline is trimmed."},

	{Key: "starrocks.load_urls", Java: "starrocks.http.url", Doc: "FE HTTP addresses (http(s)://host:port or host:port); loads rotate over them. Required."},
	{Key: "starrocks.mysql_addr", Doc: "FE MySQL-protocol host:port, for table schemas and health (\"\" = host of the first load URL, port 9030)."},
	{Key: "starrocks.user", Java: "starrocks.username", Doc: "StarRocks user."},
	{Key: "starrocks.password", Java: "starrocks.password", Doc: "StarRocks password (secret: prefer the environment or password_file)."},
	{Key: "starrocks.password_file", Doc: "File holding the StarRocks password; a trailing newline is trimmed."},
	{Key: "starrocks.database", Java: "starrocks.database.name", Doc: "Default database of mapped tables. Required unless every mapping names its database."},
	{Key: "starrocks.be_host_rewrite", Doc: "Rewrites of BE addresses in FE redirects, from=to (\"be-internal:8040=localhost:8040\"), for Docker and Kubernetes."},
	{Key: "starrocks.ca_file", Doc: "PEM file of the CAs for https load URLs (\"\" = system roots)."},
	{Key: "starrocks.label_prefix", Doc: "Prefix of the deterministic Stream Load labels."},
	{Key: "starrocks.connect_timeout", Java: "connect.timeoutms", Doc: "TCP connect timeout to FEs and BEs."},
	{Key: "starrocks.load_timeout", Java: "sink.properties.timeout", Doc: "Timeout of one Stream Load, sent as its timeout header."},
	{Key: "starrocks.retry_for", Doc: "How long one batch's load is retried, with the same label, while StarRocks is unavailable (a BE restarting, no backend alive, too many versions, a lost connection, …): long enough for a BE rolling restart. Past it the worker stops with the last answer; it never dead-letters a batch StarRocks did not refuse."},
	{Key: "starrocks.max_retries", Java: "sink.maxretries", Doc: "Optional extra cap on the retries of one load (0 = none: starrocks.retry_for alone bounds them)."},
	{Key: "starrocks.retry_backoff", Doc: "First retry delay; doubles per retry."},
	{Key: "starrocks.max_retry_backoff", Doc: "Longest retry delay."},
	{Key: "starrocks.compression", Java: "sink.properties.compression", Doc: "Body compression: \"\" (none), gzip, lz4_frame or zstd."},
	{Key: "starrocks.format", Java: "sink.properties.format", Doc: "Body format: json, the only one (the decoder renders JSON rows; a connector's csv is listed as unsupported)."},
	{Key: "starrocks.properties", Java: "sink.properties.*", Doc: "Extra Stream Load headers for every table, name=value; the headers starsink sets itself (label, columns, format, strict_mode, max_filter_ratio, …) are refused (see Stream Load headers).", EnvEntries: true},
	{Key: "starrocks.schema_ttl", Doc: "How long a table schema read over MySQL is cached."},
	{Key: "starrocks.schema_refresh_interval", Doc: "A record with a field its table has no column for makes starsink read the table's schema again, at most this often per table, so that a column added with ALTER TABLE ADD COLUMN is loaded from then on (0 = never). A field that still has no column is logged once per table and not loaded, as StarRocks ignores unknown keys."},

	{Key: "mapping.topic2table", Java: "starrocks.topic2table.map", Doc: "Exact topic → table map; also the Java string form \"topic:table,topic:table\". A table may be written db.table."},
	{Key: "mapping.rules", Doc: "Regex rules tried in order after the exact map: {regex, table, database}; table may use $1 groups and {prefix}/{schema}/{table}/{topic}.", FileOnly: true},
	{Key: "mapping.template", Doc: "Table name for any other topic over its segments <prefix>.<schema>.<table>: e.g. \"{table}\" or \"{schema}_{table}\". \"\" = unmatched topics are an error."},
	{Key: "mapping.tables", Doc: "Per-table options keyed by table or db.table: format, headers (extra Stream Load headers, as starrocks.properties), deletes (apply|skip|fail), truncates (fail|skip), mode (upsert|versioned), merge_condition, partial_update_mode (row|column), version_column (Primary Key tables: the version guard, overriding mapping.version_column; versioned mode: default _version), deleted_column (versioned mode; default _deleted), aggregate (allow: load into an Aggregate Key table whose value columns are not all REPLACE), version_from and version_epoch (overriding mapping.version_from and mapping.version_epoch), snapshot_deletes_missing (versioned mode with source_position versions: a new full snapshot of the table deletes the keys it does not read, so that a restarted initial snapshot ends exact; not with filtered snapshots). See docs/architecture.md.", FileOnly: true},
	{Key: "mapping.version_column", Doc: "Version guard for every Primary Key table: a BIGINT column the table must have, filled with the change's version (its source position; below every streamed change for a snapshot row); loads carry merge_condition on it, so an older image never overwrites a newer one (a replay, a second topic, a late load of a member that lost its partitions). Deletes are not conditional in StarRocks (docs/architecture.md). \"\" = off; recommended: _version. Also the versioned mode's default version column."},
	{Key: "mapping.version_from", Doc: "Where the version of a change comes from, for the version guard and the versioned mode: source_position (the change's position in the source log: PostgreSQL LSN, MySQL binlog file and position; every snapshot row, incremental ones included, ranks below every streamed change, so a snapshot never repairs a key that has a streamed version) or kafka_offset (2^62 + version_epoch·2^44 + the record's offset in its partition: every change ranks where Debezium wrote it in the topic, so initial, restarted and incremental snapshots repair the target; needs each key in one partition of one topic, and version_epoch raised for a new or re-created topic). See docs/architecture.md, The version of a change."},
	{Key: "mapping.version_epoch", Doc: "With version_from kafka_offset: the incarnation of the tables' topics (0..262143). Raise it when a table is fed from a new or re-created topic, or by a new consumer group reading its topic from the start: its offsets start again from 0 and would rank below the stored versions. starsink refuses to start a table whose stored versions are of a later epoch, or whose topic has no committed offset while the table holds versions of this epoch."},
	{Key: "mapping.create_tables", Doc: "Create a mapped table that does not exist from its topic's Debezium schema (key fields → PRIMARY KEY, types as in the type table below; versioned tables as Duplicate Key tables with their version and deleted columns and the latest-row view) before its first load. Needs schemas in the records. `starsink plan` shows the DDL."},
	{Key: "mapping.evolve", Doc: "none, or add_columns: a source field the table lacks is added (ALTER TABLE ADD COLUMN, mapped type) and a widened source type (varchar(50) → varchar(200), a larger precision) widened with MODIFY COLUMN where StarRocks allows it, waiting for the schema change to finish. A column dropped in the source is never dropped (logged once)."},
	{Key: "mapping.table_properties", Doc: "PROPERTIES of the tables create_tables creates, name=value (replication_num, storage_volume, …). Buckets are left to StarRocks' automatic bucketing.", EnvEntries: true},

	{Key: "decoder.framing", Java: "value.converter.schemas.enable", Doc: "Message framing: auto, schema (with the JSON converter's schema envelope) or schemaless."},
	{Key: "decoder.envelope", Doc: "What the topics' values are: raw (Debezium's envelope: before, after, source, op), unwrapped (rows from ExtractNewRecordState, metadata in __ fields) or auto. auto decides by the value schema's name (….Envelope is raw) or, without schemas, takes a value for an envelope only when op is c/u/d/r/t/m, source is an object with Debezium's connector and ts_ms and before/after are objects or null. Set it explicitly when known: a tombstone is a delete on unwrapped topics and a skip on raw ones, and auto can only tell once it has seen the topic's events."},
	{Key: "decoder.fields_prefix", Java: "add.fields.prefix (ExtractNewRecordState)", Doc: "Prefix of the metadata fields ExtractNewRecordState adds (add.fields: __op, __lsn, __source_ts_ms, …). Only those and __deleted are metadata; any other field, __-named or not, is a column value."},
	{Key: "decoder.out_of_range_dates", Doc: "Dates and timestamps StarRocks cannot hold (before 0000-01-01, after 9999-12-31, PostgreSQL's infinity and -infinity, BC dates): fail refuses the record naming the field; clamp loads 0000-01-01 [00:00:00] or 9999-12-31 [23:59:59.999999] instead."},
	{Key: "decoder.time_zone", Java: "time.precision.mode / database timezone", Doc: "IANA zone zoned timestamps are rendered in."},
	{Key: "decoder.placeholder", Java: "unavailable.value.placeholder (Debezium)", Doc: "The value Debezium writes for unchanged TOAST columns."},
	{Key: "decoder.decimal_handling", Java: "decimal.handling.mode (Debezium)", Doc: "How schemaless DECIMAL strings are written: precise (base64 of the unscaled value) or string. Values with schemas carry their own form."},
	{Key: "decoder.schemaless_timestamp", Java: "time.precision.mode (Debezium)", Doc: "Unit of integer timestamps in schemaless values: ms, us or ns. Empty: such values are refused as ambiguous (Debezium writes ms or µs depending on the column's precision)."},
	{Key: "decoder.workers", Doc: "Goroutines that decode one poll's records side by side (each takes a contiguous share; rows are batched in their original order afterwards). 0: GOMAXPROCS (the soft CPU limit of a container). 1: decode in the poll loop."},

	{Key: "batch.max_rows", Doc: "Flush a table's batch at this many rows."},
	{Key: "batch.max_bytes", Java: "bufferflush.maxbytes", Doc: "Flush a table's batch at this many bytes; at most 100MiB, StarRocks' limit on a JSON body (streaming_load_max_batch_size_mb).", Size: true},
	{Key: "batch.max_age", Java: "bufferflush.intervalms", Doc: "Flush a table's batch this long after its first row (the Java connector's default is 300000 ms; ours is lower for latency)."},
	{Key: "batch.idle_flush", Doc: "When a poll finds no new record for 100 ms (every assigned partition caught up), flush the open batches without waiting for max_age: the end of a burst or a backlog loads at once. A table is flushed this way at most once per max_age, so a trickle at most doubles its load rate."},
	{Key: "batch.max_concurrent_loads", Java: "tasks.max (roughly)", Doc: "Tables loading at the same time."},
	{Key: "batch.buffer_memory", Doc: "One byte budget for all buffers; fetching pauses beyond it, nothing is dropped.", Size: true},

	{Key: "commit.interval", Java: "offset.flush.interval.ms", Doc: "How often marked offsets are committed."},
	{Key: "commit.revoke_timeout", Doc: "Time a revoke waits for the loads of the revoked partitions' tables; loads still running then are cancelled and settled (kafka.rebalance_timeout), so none lands after the revoke."},

	{Key: "errors.tolerance", Java: "errors.tolerance", Doc: "none: stop on a record that cannot be decoded or that StarRocks refuses as data, without committing it; all: send such records to the dead-letter topic. StarRocks being unavailable is never dead-lettered: it is retried for starrocks.retry_for, then the worker stops (see Errors and the dead-letter topic)."},
	{Key: "errors.dlq_topic", Java: "errors.deadletterqueue.topic.name", Doc: "Dead-letter topic. Required when errors.tolerance=all."},
	{Key: "errors.dlq_max_failures", Doc: "Stop when more than this many of the last dlq_window records were dead-lettered; records are counted, not batches (a batch StarRocks refuses is bisected, so only its refused records are dead-lettered and counted)."},
	{Key: "errors.dlq_window", Doc: "Window of consumed records over which dlq_max_failures counts."},

	{Key: "http.addr", Doc: "Address of /metrics, /healthz and /readyz (\"\" disables)."},
	{Key: "http.stuck_after", Doc: "/readyz fails when a partition with waiting records made no progress for this long."},
	{Key: "http.pprof", Doc: "Serve Go's profiler under /debug/pprof/ on http.addr (CPU, heap, goroutines). Off by default: expose it only where the metrics port is private."},

	{Key: "http.admin", Doc: "Serve POST /tables/<table>/pause and /resume on http.addr (docs/operations.md). Off by default: anyone who reaches the port could stop a table."},
	{Key: "http.admin_token", Doc: "Bearer token pause and resume require (Authorization: Bearer <token>) when set (secret: prefer the environment). Strongly advised wherever http.addr is reachable by more than operators."},

	{Key: "log.level", Doc: "debug, info, warn or error."},
	{Key: "log.format", Doc: "json (one JSON object per line, for collectors) or console (one readable line per event for a terminal, coloured when stderr is one)."},

	{Key: "shutdown.grace_period", Doc: "Time to flush, load, commit and leave the group after SIGTERM; loads still running then are cancelled and settled, and what did not land stays uncommitted."},
}

var optionByKey = func() map[string]Option {
	m := make(map[string]Option, len(Options))
	for _, o := range Options {
		m[o.Key] = o
	}
	return m
}()
