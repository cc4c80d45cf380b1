package status

// Metric names of this package, in one place so docs, dashboards and alert
// rules can be checked against them (MetricNames).
const (
	// MetricFreshness is a gauge per table: now minus the source commit
	// time of the newest change loaded. It is computed when scraped, so it
	// grows while nothing loads.
	MetricFreshness = "starsink_freshness_seconds"
	// MetricEndToEnd is a histogram per table: source commit to loaded in
	// StarRocks, one observation per load (its oldest change).
	MetricEndToEnd = "starsink_end_to_end_seconds"
	// MetricTablePaused is 1 while an operator has paused the table on
	// this worker (POST /tables/<t>/pause), 0 after a resume.
	MetricTablePaused = "starsink_table_paused"
)

// MetricNames lists every metric this package exports.
func MetricNames() []string {
	return []string{MetricFreshness, MetricEndToEnd, MetricTablePaused}
}
