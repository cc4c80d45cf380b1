package config

import "time"

// Size units accepted wherever a byte size is configured ("64MiB").
const (
	KiB int64 = 1 << 10
	MiB int64 = 1 << 20
	GiB int64 = 1 << 30
)

// Default returns the configuration every loader starts from. It is the
// only place defaults live; docs/configuration.md is checked against it.
//
// Batches flush at 64 MiB like the Java connector's bufferflush.maxbytes,
// but after 2s instead of bufferflush.intervalms' 300000 ms: a CDC sink is
// judged by its latency, and Stream Load handles small loads well.
func Default() Config {
	return Config{
		Kafka: Kafka{
			GroupID:       "starsink",
			GroupProtocol: "classic",
			ClientID:      "starsink",
			ExcludeRegex: []string{
				`^__debezium-heartbeat\..*`, // heartbeats carry no rows
				`.*\.transaction$`,          // transaction metadata topics
				`.*\.message$`,              // pg_logical_emit_message topics
				`.*\.debezium_signal$`,      // the signal table Debezium's docs name: incremental snapshots' watermark rows
			},
			StartOffset:      "earliest",
			FetchMaxBytes:    int32(8 * MiB),
			SessionTimeout:   45 * time.Second,
			RebalanceTimeout: 60 * time.Second,
			RefusedTimeout:   time.Minute,
		},
		StarRocks: StarRocks{
			User:                  "root",
			LabelPrefix:           "starsink",
			ConnectTimeout:        10 * time.Second,
			LoadTimeout:           600 * time.Second,
			RetryFor:              10 * time.Minute,
			RetryBackoff:          200 * time.Millisecond,
			MaxRetryBackoff:       10 * time.Second,
			Format:                "json",
			SchemaTTL:             5 * time.Minute,
			SchemaRefreshInterval: 30 * time.Second,
		},
		Mapping: Mapping{
			Evolve:      "none",
			VersionFrom: VersionFromSource,
		},
		Decoder: Decoder{
			Framing:         "auto",
			Envelope:        "auto",
			FieldsPrefix:    "__",
			OutOfRangeDates: "fail",
			TimeZone:        "UTC",
			Placeholder:     "__debezium_unavailable_value",
			DecimalHandling: "precise",
		},
		Batch: Batch{
			MaxRows:            500000,
			MaxBytes:           64 * MiB,
			MaxAge:             2 * time.Second,
			IdleFlush:          true,
			MaxConcurrentLoads: 4,
			BufferMemory:       512 * MiB,
		},
		Commit: Commit{
			Interval:      time.Second,
			RevokeTimeout: 30 * time.Second,
		},
		Errors: Errors{
			Tolerance:      "none",
			DLQMaxFailures: 10,
			DLQWindow:      100,
		},
		HTTP: HTTP{
			Addr:       ":8080",
			StuckAfter: 5 * time.Minute,
		},
		Log: Log{
			Level:  "info",
			Format: "json",
		},
		Shutdown: Shutdown{
			GracePeriod: 30 * time.Second,
		},
	}
}
