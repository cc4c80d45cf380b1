package sink

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metric names, in one place so docs and dashboards can be checked against
// them (MetricNames).
const (
	MetricRecords         = "starsink_records_total"
	MetricRowsLoaded      = "starsink_rows_loaded_total"
	MetricRowsDeleted     = "starsink_rows_deleted_total"
	MetricRecordsSkipped  = "starsink_records_skipped_total"
	MetricLoadBytes       = "starsink_load_bytes_total"
	MetricBatches         = "starsink_batches_total"
	MetricLoadDuration    = "starsink_load_duration_seconds"
	MetricFlushes         = "starsink_flushes_total"
	MetricLag             = "starsink_consumer_lag"
	MetricRetries         = "starsink_load_retries_total"
	MetricDeadLettered    = "starsink_dead_lettered_total"
	MetricPaused          = "starsink_paused_partitions"
	MetricBuffered        = "starsink_buffered_bytes"
	MetricCommits         = "starsink_commits_total"
	MetricRowsFiltered    = "starsink_rows_filtered_total"
	MetricTopicIDErrors   = "starsink_topic_id_errors_total"
	MetricSnapshotDeletes = "starsink_snapshot_deletes_total"
	// MetricDDL is registered by the ddl package's Manager, which the
	// worker builds when mapping.create_tables or mapping.evolve is on.
	MetricDDL = "starsink_ddl_total"
)

// MetricNames lists every metric the worker exports itself (franz-go's own
// come from kprom with the prefix starsink_kafka_).
func MetricNames() []string {
	return []string{MetricRecords, MetricRowsLoaded, MetricRowsDeleted, MetricRecordsSkipped, MetricLoadBytes,
		MetricBatches, MetricLoadDuration, MetricFlushes, MetricLag, MetricRetries, MetricDeadLettered,
		MetricPaused, MetricBuffered, MetricCommits, MetricRowsFiltered, MetricTopicIDErrors, MetricSnapshotDeletes, MetricDDL}
}

type metrics struct {
	records         *prometheus.CounterVec // topic
	rowsLoaded      *prometheus.CounterVec // table
	rowsDeleted     *prometheus.CounterVec // table
	skipped         *prometheus.CounterVec // table, reason
	loadBytes       *prometheus.CounterVec // table
	batches         *prometheus.CounterVec // table, outcome
	loadDuration    *prometheus.HistogramVec
	flushes         *prometheus.CounterVec // table, reason
	lag             *prometheus.GaugeVec   // topic, partition
	retries         *prometheus.CounterVec // table
	deadLettered    *prometheus.CounterVec // topic, stage
	paused          prometheus.Gauge
	buffered        prometheus.Gauge
	commits         *prometheus.CounterVec // outcome
	rowsFiltered    *prometheus.CounterVec // table
	topicIDErrors   *prometheus.CounterVec // topic
	snapshotDeletes *prometheus.CounterVec // table
}

func newMetrics(reg prometheus.Registerer) *metrics {
	name := func(full string) (string, string) { return "", full }
	cv := func(n, help string, labels ...string) *prometheus.CounterVec {
		ns, nm := name(n)
		c := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: nm, Help: help}, labels)
		reg.MustRegister(c)
		return c
	}
	m := &metrics{
		records:         cv(MetricRecords, "Kafka records consumed.", "topic"),
		rowsLoaded:      cv(MetricRowsLoaded, "Rows loaded (upserts, including partial updates; every appended row of a versioned table, deletes included).", "table"),
		rowsDeleted:     cv(MetricRowsDeleted, "Rows deleted from Primary Key tables (__op 1).", "table"),
		skipped:         cv(MetricRecordsSkipped, "Records that load no row, by reason (tombstone, heartbeat, delete on a non-Primary-Key table…).", "table", "reason"),
		loadBytes:       cv(MetricLoadBytes, "Stream Load body bytes sent.", "table"),
		batches:         cv(MetricBatches, "Stream Load batches by outcome (loaded, failed, dead_lettered, cancelled, dropped).", "table", "outcome"),
		flushes:         cv(MetricFlushes, "Batches flushed, by reason (rows, bytes, age, idle, columns, schema, delete_then_upsert, budget, revoke, shutdown).", "table", "reason"),
		retries:         cv(MetricRetries, "Stream Load retries.", "table"),
		deadLettered:    cv(MetricDeadLettered, "Records written to the dead-letter topic.", "topic", "stage"),
		commits:         cv(MetricCommits, "Offset commits by outcome.", "outcome"),
		rowsFiltered:    cv(MetricRowsFiltered, "Rows StarRocks filtered out of loaded batches (max_filter_ratio > 0): committed, not stored.", "table"),
		snapshotDeletes: cv(MetricSnapshotDeletes, "Delete markers appended to versioned tables for keys a new full snapshot did not read (snapshot_deletes_missing).", "table"),
		topicIDErrors:   cv(MetricTopicIDErrors, "Fetch errors UNKNOWN_TOPIC_ID: the topic was deleted and re-created and this client still fetches it by its old ID (restart starsink).", "topic"),
	}
	m.loadDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: MetricLoadDuration,
		Help: "Stream Load latency per batch, retries included.", Buckets: prometheus.ExponentialBuckets(0.005, 2, 14)}, []string{"table"})
	m.lag = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: MetricLag, Help: "Records behind the partition's high watermark, as of the last fetch."}, []string{"topic", "partition"})
	m.paused = prometheus.NewGauge(prometheus.GaugeOpts{Name: MetricPaused, Help: "Partitions paused because the buffer budget is full."})
	m.buffered = prometheus.NewGauge(prometheus.GaugeOpts{Name: MetricBuffered, Help: "Bytes held in batch buffers (the budget is batch.buffer_memory)."})
	reg.MustRegister(m.loadDuration, m.lag, m.paused, m.buffered)
	return m
}
