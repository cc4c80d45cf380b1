// Package config holds starsink's configuration: one struct, one defaults
// function (Default), one validation (Validate) and the loaders (YAML file,
// STARSINK_* environment variables, flags, and the Java StarRocks Kafka
// connector's configuration).
package config

import (
	"net"
	"strings"
	"time"
)

// Secret is a string that is never printed: String and MarshalText hide it.
type Secret string

// String hides the secret.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "******"
}

// MarshalText hides the secret when a Config is printed as YAML or JSON.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Value returns the secret itself, for the one place that must send it.
func (s Secret) Value() string { return string(s) }

// Config is the whole configuration of a starsink worker. Log it with
// zap.Stringer("config", cfg): String is redacted.
type Config struct {
	Kafka     Kafka     `koanf:"kafka"`
	StarRocks StarRocks `koanf:"starrocks"`
	Mapping   Mapping   `koanf:"mapping"`
	Decoder   Decoder   `koanf:"decoder"`
	Batch     Batch     `koanf:"batch"`
	Commit    Commit    `koanf:"commit"`
	Errors    Errors    `koanf:"errors"`
	HTTP      HTTP      `koanf:"http"`
	Log       Log       `koanf:"log"`
	Shutdown  Shutdown  `koanf:"shutdown"`
}

// Kafka configures the consumer group.
type Kafka struct {
	Brokers          []string      `koanf:"brokers"`        // bootstrap.servers
	GroupID          string        `koanf:"group_id"`       // group.id (Connect: connect-<name>)
	GroupProtocol    string        `koanf:"group_protocol"` // "classic" or "consumer" (KIP-848)
	ClientID         string        `koanf:"client_id"`
	Topics           []string      `koanf:"topics"`        // topics
	TopicRegex       []string      `koanf:"topic_regex"`   // topics.regex
	ExcludeRegex     []string      `koanf:"exclude_regex"` // never consumed, even when a regex matches
	StartOffset      string        `koanf:"start_offset"`  // "earliest" or "latest" with no committed offset
	FetchMaxBytes    int32         `koanf:"fetch_max_bytes"`
	SessionTimeout   time.Duration `koanf:"session_timeout"`
	RebalanceTimeout time.Duration `koanf:"rebalance_timeout"`
	// RefusedTimeout: how long the brokers may keep refusing the worker's
	// login or certificate after it started before it stops (0: at once).
	RefusedTimeout time.Duration `koanf:"refused_timeout"`
	TLS            TLS           `koanf:"tls"`
	SASL           SASL          `koanf:"sasl"`
}

// TLS configures TLS to the Kafka brokers.
type TLS struct {
	Enabled            bool   `koanf:"enabled"`
	CAFile             string `koanf:"ca_file"`
	CertFile           string `koanf:"cert_file"`
	KeyFile            string `koanf:"key_file"`
	InsecureSkipVerify bool   `koanf:"insecure_skip_verify"`
}

// SASL configures SASL authentication to the Kafka brokers.
type SASL struct {
	Mechanism    string `koanf:"mechanism"` // "", PLAIN, SCRAM-SHA-256, SCRAM-SHA-512
	Username     string `koanf:"username"`
	Password     Secret `koanf:"password"`
	PasswordFile string `koanf:"password_file"`
}

// StarRocks configures the target cluster.
type StarRocks struct {
	LoadURLs       []string          `koanf:"load_urls"`  // starrocks.http.url: FE HTTP addresses
	MySQLAddr      string            `koanf:"mysql_addr"` // host:port of the FE MySQL protocol, for table schemas and health ("" = host of the first load URL, port 9030)
	User           string            `koanf:"user"`       // starrocks.username
	Password       Secret            `koanf:"password"`   // starrocks.password
	PasswordFile   string            `koanf:"password_file"`
	Database       string            `koanf:"database"`        // starrocks.database.name
	BEHostRewrite  map[string]string `koanf:"be_host_rewrite"` // "be-internal:8040": "localhost:8040"
	CAFile         string            `koanf:"ca_file"`
	LabelPrefix    string            `koanf:"label_prefix"`
	ConnectTimeout time.Duration     `koanf:"connect_timeout"` // connect.timeoutms
	LoadTimeout    time.Duration     `koanf:"load_timeout"`    // sink.properties.timeout
	// RetryFor bounds how long one batch's load is retried while StarRocks
	// is unavailable; past it the worker stops (never dead-letters).
	RetryFor        time.Duration     `koanf:"retry_for"`
	MaxRetries      int               `koanf:"max_retries"` // sink.maxretries: optional extra cap, 0 = none
	RetryBackoff    time.Duration     `koanf:"retry_backoff"`
	MaxRetryBackoff time.Duration     `koanf:"max_retry_backoff"`
	Compression     string            `koanf:"compression"` // "", gzip, lz4_frame, zstd
	Format          string            `koanf:"format"`      // json (default) or csv: sink.properties.format
	Properties      map[string]string `koanf:"properties"`  // sink.properties.*: extra Stream Load headers for every table
	SchemaTTL       time.Duration     `koanf:"schema_ttl"`  // how long a table schema read over MySQL is cached
	// SchemaRefreshInterval: a record with a field its table has no column
	// for makes the worker read the table's schema again, at most this often
	// per table (0: never).
	SchemaRefreshInterval time.Duration `koanf:"schema_refresh_interval"`
}

// Mapping configures which StarRocks table each topic loads into.
type Mapping struct {
	// Topic2Table is the exact map, as the Java connector's
	// starrocks.topic2table.map. In a file it is a YAML map or the Java
	// string form "topic:table,topic:table"; a value may name a database
	// as "db.table".
	Topic2Table map[string]string `koanf:"topic2table"`
	// Rules are tried in order after the exact map.
	Rules []Rule `koanf:"rules"`
	// Template names the table of any topic not matched above, over the
	// topic's segments: {prefix}, {schema}, {table}, {topic}. "" = no
	// default: an unmatched topic is an error.
	Template string `koanf:"template"`
	// Tables holds per-table options, keyed by "table" or "db.table".
	Tables map[string]TableOptions `koanf:"tables"`
	// VersionColumn turns the version guard on for every Primary Key
	// table (mapping.tables.<t>.version_column overrides it per table):
	// the BIGINT column filled with the change's version, and loads carry
	// merge_condition on it, so an older image never overwrites a newer
	// one. In the versioned mode it is the default version column.
	VersionColumn string `koanf:"version_column"`
	// VersionFrom is where a change's version comes from, for the version
	// guard and the versioned mode: "source_position" (the change's
	// position in the source log; every snapshot row ranks below every
	// streamed change) or "kafka_offset" (its record's position in its
	// topic partition within VersionEpoch, so that snapshot, incremental
	// snapshot and streamed rows rank exactly as Debezium ordered them).
	// docs/architecture.md, "The version of a change".
	VersionFrom string `koanf:"version_from"`
	// VersionEpoch orders incarnations of a table's topic under
	// version_from kafka_offset: raised when the table is fed by a new or
	// re-created topic, whose offsets start again from 0.
	VersionEpoch int64 `koanf:"version_epoch"`
	// CreateTables: a mapped table that does not exist is created from the
	// record's Debezium schema before its first load (package ddl).
	CreateTables bool `koanf:"create_tables"`
	// Evolve: "none", or "add_columns": a source field the table lacks is
	// added (ALTER TABLE ADD COLUMN) and a widened source type widened
	// (MODIFY COLUMN) where StarRocks allows it; nothing is ever dropped.
	Evolve string `koanf:"evolve"`
	// TableProperties are the PROPERTIES of created tables
	// (replication_num, storage_volume, …).
	TableProperties map[string]string `koanf:"table_properties"`
}

// Rule maps topics matching Regex to Table (which may use $1… groups and
// the {…} template names) in Database ("" = starrocks.database).
type Rule struct {
	Regex    string `koanf:"regex"`
	Table    string `koanf:"table"`
	Database string `koanf:"database"`
}

// TableOptions are per-table loading options.
type TableOptions struct {
	Format            string            `koanf:"format"`              // json or csv; "" = starrocks.format
	Headers           map[string]string `koanf:"headers"`             // extra Stream Load headers
	Deletes           string            `koanf:"deletes"`             // "apply" (PK tables), "skip" (count), "fail"
	Truncates         string            `koanf:"truncates"`           // "fail" (default: stop, or dead-letter with errors.tolerance=all) or "skip" (count)
	Mode              string            `koanf:"mode"`                // "upsert" (default) or "versioned"
	MergeCondition    string            `koanf:"merge_condition"`     // Primary Key tables: version guard column
	PartialUpdateMode string            `koanf:"partial_update_mode"` // row or column
	VersionColumn     string            `koanf:"version_column"`      // BIGINT column of the change's version: Primary Key tables: the version guard (merge_condition); versioned mode: "" = _version
	DeletedColumn     string            `koanf:"deleted_column"`      // versioned mode: BOOLEAN column set on deletes; "" = _deleted
	VersionFrom       string            `koanf:"version_from"`        // source_position or kafka_offset; "" = mapping.version_from
	VersionEpoch      int64             `koanf:"version_epoch"`       // kafka_offset versions: the topic's incarnation; 0 = mapping.version_epoch
	Aggregate         string            `koanf:"aggregate"`           // "allow": load into an Aggregate Key table whose value columns are not all REPLACE
	// SnapshotDeletesMissing (versioned mode, source_position versions): a
	// new full snapshot of the table deletes the keys it does not read, as
	// a restarted initial snapshot must (docs/architecture.md, "A
	// restarted snapshot").
	SnapshotDeletesMissing bool `koanf:"snapshot_deletes_missing"`
}

// Version sources (mapping.version_from).
const (
	VersionFromSource = "source_position"
	VersionFromOffset = "kafka_offset"
)

// MaxVersionEpoch bounds mapping.version_epoch: a kafka_offset version is
// 2^62 + epoch·2^44 + offset and stays below 2^63.
const MaxVersionEpoch = 1<<18 - 1

// VersionOrigin returns the table's version source and epoch, the
// mapping-wide defaults applied.
func (o TableOptions) VersionOrigin(m Mapping) (from string, epoch int64) {
	from, epoch = o.VersionFrom, o.VersionEpoch
	if from == "" {
		from = m.VersionFrom
	}
	if from == "" {
		from = VersionFromSource
	}
	if epoch == 0 {
		epoch = m.VersionEpoch
	}
	return from, epoch
}

// Versioned reports whether the table stores changes as versioned inserts.
func (o TableOptions) Versioned() bool { return strings.EqualFold(o.Mode, "versioned") }

// VersionColumns returns the versioned mode's version and deleted columns,
// defaults applied.
func (o TableOptions) VersionColumns() (version, deleted string) {
	version, deleted = o.VersionColumn, o.DeletedColumn
	if version == "" {
		version = "_version"
	}
	if deleted == "" {
		deleted = "_deleted"
	}
	return version, deleted
}

// Decoder configures how Debezium messages are read.
type Decoder struct {
	Framing string `koanf:"framing"` // auto, schema, schemaless (value.converter.schemas.enable)
	// Envelope is what the topics' values are: "raw" Debezium envelopes,
	// rows "unwrapped" by ExtractNewRecordState, or "auto" (decided by the
	// value schema's name, or by a strict shape test without schemas).
	Envelope string `koanf:"envelope"`
	// FieldsPrefix is ExtractNewRecordState's add.fields.prefix: fields with
	// it that the SMT writes (__op, __lsn, __source_ts_ms, …) are metadata.
	FieldsPrefix string `koanf:"fields_prefix"`
	// OutOfRangeDates is what happens to a date or timestamp StarRocks
	// cannot hold (before 0000-01-01, after 9999-12-31, PostgreSQL's
	// ±infinity): "fail" refuses the record, "clamp" loads the nearest end
	// of the range.
	OutOfRangeDates string `koanf:"out_of_range_dates"`
	TimeZone        string `koanf:"time_zone"`   // zone zoned timestamps are rendered in; default UTC
	Placeholder     string `koanf:"placeholder"` // unavailable.value.placeholder
	// DecimalHandling is the connector's decimal.handling.mode as it shows in
	// schemaless values: "precise" (base64 strings) or "string".
	DecimalHandling string `koanf:"decimal_handling"`
	// SchemalessTimestamp is the unit of integer timestamps in schemaless
	// values ("ms", "us" or "ns"); empty refuses them as ambiguous.
	SchemalessTimestamp string `koanf:"schemaless_timestamp"`
	// Workers is how many goroutines decode one poll's records side by
	// side; 0 means GOMAXPROCS. Rows keep their order either way.
	Workers int `koanf:"workers"`
}

// Batch configures batching and memory.
type Batch struct {
	MaxRows            int           `koanf:"max_rows"`             // flush when a table's batch has this many rows
	MaxBytes           int64         `koanf:"max_bytes"`            // bufferflush.maxbytes
	MaxAge             time.Duration `koanf:"max_age"`              // bufferflush.intervalms
	IdleFlush          bool          `koanf:"idle_flush"`           // flush early when every partition is caught up
	MaxConcurrentLoads int           `koanf:"max_concurrent_loads"` // tables loading at once
	BufferMemory       int64         `koanf:"buffer_memory"`        // one budget for all buffers; fetching pauses beyond it
}

// Commit configures offset commits.
type Commit struct {
	Interval      time.Duration `koanf:"interval"`       // how often marked offsets are committed
	RevokeTimeout time.Duration `koanf:"revoke_timeout"` // bound on flush+commit when partitions are revoked
}

// Errors configures what happens to records that cannot be loaded.
type Errors struct {
	Tolerance string `koanf:"tolerance"` // errors.tolerance: none (default) or all
	DLQTopic  string `koanf:"dlq_topic"` // errors.deadletterqueue.topic.name
	// The worker stops when more than DLQMaxFailures of the last
	// DLQWindow records were dead-lettered.
	DLQMaxFailures int `koanf:"dlq_max_failures"`
	DLQWindow      int `koanf:"dlq_window"`
}

// HTTP configures the metrics and health endpoints.
type HTTP struct {
	Addr       string        `koanf:"addr"`        // ":8080"; "" disables
	StuckAfter time.Duration `koanf:"stuck_after"` // /readyz fails when a partition has had no progress for this long while records wait
	Pprof      bool          `koanf:"pprof"`       // serve net/http/pprof under /debug/pprof/
	// Admin enables POST /tables/<t>/pause and /resume; AdminToken, when
	// set, is the bearer token they require.
	Admin      bool   `koanf:"admin"`
	AdminToken Secret `koanf:"admin_token"`
}

// Log configures logging.
type Log struct {
	Level  string `koanf:"level"`  // debug, info, warn, error
	Format string `koanf:"format"` // json or console
}

// Shutdown configures graceful shutdown.
type Shutdown struct {
	GracePeriod time.Duration `koanf:"grace_period"`
}

// MySQLAddress returns starrocks.mysql_addr, or when it is empty the host
// of the first load URL with the FE's default query port, 9030.
func (s *StarRocks) MySQLAddress() string {
	if s.MySQLAddr != "" || len(s.LoadURLs) == 0 {
		return s.MySQLAddr
	}
	u := s.LoadURLs[0]
	if i := strings.Index(u, "://"); i >= 0 {
		u = u[i+3:]
	}
	if i := strings.IndexAny(u, "/?#"); i >= 0 {
		u = u[:i]
	}
	host, _, err := net.SplitHostPort(u)
	if err != nil {
		host = u
	}
	return net.JoinHostPort(host, "9030")
}
