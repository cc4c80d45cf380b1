package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/starsink/starsink/streamload"
)

// Validate reports every problem of c at once (errors.Join), each naming
// the option by its koanf path: "batch.max_rows: must be > 0". Messages
// never quote a secret.
func (c *Config) Validate() error {
	v := &validator{}

	k := &c.Kafka
	if len(k.Brokers) == 0 {
		v.add("kafka.brokers", "required")
	}
	for i, b := range k.Brokers {
		if _, _, err := net.SplitHostPort(b); err != nil {
			v.addf("kafka.brokers", "entry %d (%q): want host:port", i, b)
		}
	}
	v.required("kafka.group_id", k.GroupID)
	v.oneOf("kafka.group_protocol", k.GroupProtocol, "classic", "consumer")
	if len(k.Topics) == 0 && len(k.TopicRegex) == 0 {
		v.add("kafka.topics", "required: set kafka.topics or kafka.topic_regex")
	}
	for i, t := range k.Topics {
		if !validTopic(t) {
			v.addf("kafka.topics", "entry %d (%q): not a valid topic name", i, t)
		}
	}
	v.regexes("kafka.topic_regex", k.TopicRegex)
	v.regexes("kafka.exclude_regex", k.ExcludeRegex)
	v.oneOf("kafka.start_offset", k.StartOffset, "earliest", "latest")
	v.positive("kafka.fetch_max_bytes", int64(k.FetchMaxBytes))
	v.positiveDuration("kafka.session_timeout", k.SessionTimeout)
	if k.RefusedTimeout < 0 {
		v.add("kafka.refused_timeout", "must be >= 0 (0: at the first refusal)")
	}
	v.positiveDuration("kafka.rebalance_timeout", k.RebalanceTimeout)
	v.file("kafka.tls.ca_file", k.TLS.CAFile)
	v.file("kafka.tls.cert_file", k.TLS.CertFile)
	v.file("kafka.tls.key_file", k.TLS.KeyFile)
	if (k.TLS.CertFile == "") != (k.TLS.KeyFile == "") {
		v.add("kafka.tls.cert_file", "cert_file and key_file go together")
	}
	if !k.TLS.Enabled && (k.TLS.CAFile != "" || k.TLS.CertFile != "" || k.TLS.InsecureSkipVerify) {
		v.add("kafka.tls.enabled", "must be true when TLS files or insecure_skip_verify are set")
	}
	v.oneOf("kafka.sasl.mechanism", k.SASL.Mechanism, "", "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
	if k.SASL.Mechanism != "" {
		v.required("kafka.sasl.username", k.SASL.Username)
		if k.SASL.Password == "" {
			v.add("kafka.sasl.password", "required when kafka.sasl.mechanism is set (or kafka.sasl.password_file)")
		}
	}

	s := &c.StarRocks
	if len(s.LoadURLs) == 0 {
		v.add("starrocks.load_urls", "required")
	}
	for i, u := range s.LoadURLs {
		if err := checkLoadURL(u); err != nil {
			v.addf("starrocks.load_urls", "entry %d: %v", i, err)
		}
	}
	if s.MySQLAddr != "" {
		if _, _, err := net.SplitHostPort(s.MySQLAddr); err != nil {
			v.add("starrocks.mysql_addr", "want host:port")
		}
	}
	v.required("starrocks.user", s.User)
	if s.Database == "" && !c.Mapping.allNameDatabase() {
		v.add("starrocks.database", "required (unless every mapping names its database)")
	}
	for from, to := range s.BEHostRewrite {
		if from == "" || to == "" {
			v.add("starrocks.be_host_rewrite", "entries must be non-empty from=to")
		}
	}
	v.file("starrocks.ca_file", s.CAFile)
	v.required("starrocks.label_prefix", s.LabelPrefix)
	if strings.ContainsFunc(s.LabelPrefix, func(r rune) bool {
		return !(r == '_' || r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
	}) {
		v.add("starrocks.label_prefix", "only letters, digits, '-' and '_' are allowed in Stream Load labels")
	}
	v.positiveDuration("starrocks.connect_timeout", s.ConnectTimeout)
	v.positiveDuration("starrocks.load_timeout", s.LoadTimeout)
	v.positiveDuration("starrocks.retry_for", s.RetryFor)
	if s.MaxRetries < 0 {
		v.add("starrocks.max_retries", "must be >= 0 (0: no cap, starrocks.retry_for alone bounds the retries)")
	}
	v.positiveDuration("starrocks.retry_backoff", s.RetryBackoff)
	if s.MaxRetryBackoff < s.RetryBackoff {
		v.add("starrocks.max_retry_backoff", "must be >= starrocks.retry_backoff")
	}
	v.oneOf("starrocks.compression", s.Compression, "", "gzip", "lz4_frame", "zstd")
	v.oneOf("starrocks.format", s.Format, "json")
	v.headers("starrocks.properties", s.Properties)
	v.positiveDuration("starrocks.schema_ttl", s.SchemaTTL)
	if s.SchemaRefreshInterval < 0 {
		v.add("starrocks.schema_refresh_interval", "must be >= 0 (0: never)")
	}

	m := &c.Mapping
	for topic, table := range m.Topic2Table {
		if topic == "" || table == "" || strings.Count(table, ".") > 1 {
			v.addf("mapping.topic2table", "entry %q: want topic: table or topic: db.table", topic+":"+table)
		}
	}
	for i, r := range m.Rules {
		key := fmt.Sprintf("mapping.rules[%d]", i)
		if r.Regex == "" {
			v.add(key+".regex", "required")
		} else if _, err := regexp.Compile(r.Regex); err != nil {
			v.addf(key+".regex", "%v", err)
		}
		v.required(key+".table", r.Table)
		v.placeholders(key+".table", r.Table)
	}
	v.placeholders("mapping.template", m.Template)
	if m.VersionColumn != "" && !identifier(m.VersionColumn) {
		v.add("mapping.version_column", "must be a column name (letters, digits, _)")
	}
	v.oneOf("mapping.evolve", m.Evolve, "none", "add_columns")
	v.oneOf("mapping.version_from", m.VersionFrom, VersionFromSource, VersionFromOffset)
	if m.VersionEpoch < 0 || m.VersionEpoch > MaxVersionEpoch {
		v.addf("mapping.version_epoch", "must be 0..%d", MaxVersionEpoch)
	}
	for name, val := range m.TableProperties {
		if name == "" || strings.ContainsAny(name, "\"\\") || strings.ContainsAny(val, "\"\\") {
			v.addf("mapping.table_properties", "entry %q: names and values cannot hold quotes or backslashes", name)
		}
	}
	for name, t := range m.Tables {
		key := "mapping.tables." + name
		v.oneOf(key+".format", t.Format, "", "json")
		v.oneOf(key+".deletes", t.Deletes, "", "apply", "skip", "fail")
		v.oneOf(key+".truncates", t.Truncates, "", "fail", "skip")
		v.oneOf(key+".mode", t.Mode, "", "upsert", "versioned")
		v.oneOf(key+".partial_update_mode", t.PartialUpdateMode, "", "row", "column")
		v.headers(key+".headers", t.Headers)
		if t.Versioned() {
			if t.MergeCondition != "" {
				v.add(key+".merge_condition", "not with mode versioned (versions are compared when reading)")
			}
			if ver, del := t.VersionColumns(); ver == del {
				v.add(key+".deleted_column", "must differ from version_column")
			}
		} else {
			if t.DeletedColumn != "" {
				v.add(key+".deleted_column", "deleted_column needs mode versioned")
			}
			if ver := t.VersionColumn; ver == "" {
				ver = m.VersionColumn
				if ver != "" && t.MergeCondition != "" && t.MergeCondition != ver {
					v.add(key+".merge_condition", "differs from mapping.version_column, which sets it (set version_column on the table instead)")
				}
			} else if t.MergeCondition != "" && t.MergeCondition != ver {
				v.add(key+".merge_condition", "differs from version_column, which sets it")
			}
		}
		v.oneOf(key+".aggregate", t.Aggregate, "", "allow")
		if t.SnapshotDeletesMissing {
			if from, _ := t.VersionOrigin(*m); !t.Versioned() || from != VersionFromSource {
				v.add(key+".snapshot_deletes_missing", "needs mode versioned with version_from source_position (a delete marker must rank between a key's older snapshot rows and the new snapshot's, which only source positions place)")
			}
		}
		v.oneOf(key+".version_from", t.VersionFrom, "", VersionFromSource, VersionFromOffset)
		if t.VersionEpoch < 0 || t.VersionEpoch > MaxVersionEpoch {
			v.addf(key+".version_epoch", "must be 0..%d", MaxVersionEpoch)
		}
	}

	d := &c.Decoder
	v.oneOf("decoder.framing", d.Framing, "auto", "schema", "schemaless")
	v.oneOf("decoder.envelope", d.Envelope, "auto", "raw", "unwrapped")
	v.oneOf("decoder.out_of_range_dates", d.OutOfRangeDates, "fail", "clamp")
	if d.FieldsPrefix == "" {
		v.add("decoder.fields_prefix", "required (ExtractNewRecordState's add.fields.prefix, \"__\" by default)")
	}
	v.oneOf("decoder.decimal_handling", d.DecimalHandling, "precise", "string")
	v.oneOf("decoder.schemaless_timestamp", d.SchemalessTimestamp, "", "ms", "us", "ns")
	if d.Workers < 0 || d.Workers > 256 {
		v.add("decoder.workers", "must be between 0 (GOMAXPROCS) and 256")
	}
	if _, err := time.LoadLocation(d.TimeZone); err != nil || d.TimeZone == "" {
		v.add("decoder.time_zone", "unknown time zone")
	}

	b := &c.Batch
	v.positive("batch.max_rows", int64(b.MaxRows))
	v.positive("batch.max_bytes", b.MaxBytes)
	if b.MaxBytes > streamload.MaxJSONBody {
		v.addf("batch.max_bytes", "at most %s with the JSON format: StarRocks refuses a JSON body larger than its streaming_load_max_batch_size_mb (100 MiB, checked against the body's length) and would refuse every full batch", FormatSize(streamload.MaxJSONBody))
	}
	v.positiveDuration("batch.max_age", b.MaxAge)
	v.positive("batch.max_concurrent_loads", int64(b.MaxConcurrentLoads))
	v.positive("batch.buffer_memory", b.BufferMemory)
	if b.BufferMemory > 0 && b.MaxBytes > b.BufferMemory {
		v.add("batch.buffer_memory", "must be >= batch.max_bytes")
	}

	v.positiveDuration("commit.interval", c.Commit.Interval)
	v.positiveDuration("commit.revoke_timeout", c.Commit.RevokeTimeout)

	e := &c.Errors
	v.oneOf("errors.tolerance", e.Tolerance, "none", "all")
	if e.Tolerance == "all" {
		if e.DLQTopic == "" {
			v.add("errors.dlq_topic", "required when errors.tolerance=all")
		}
		v.positive("errors.dlq_window", int64(e.DLQWindow))
		if e.DLQMaxFailures < 0 || e.DLQMaxFailures > e.DLQWindow {
			v.add("errors.dlq_max_failures", "must be between 0 and errors.dlq_window")
		}
	}
	if e.DLQTopic != "" && !validTopic(e.DLQTopic) {
		v.add("errors.dlq_topic", "not a valid topic name")
	}

	if c.HTTP.Addr != "" {
		if _, _, err := net.SplitHostPort(c.HTTP.Addr); err != nil {
			v.add("http.addr", "want [host]:port")
		}
	}
	v.positiveDuration("http.stuck_after", c.HTTP.StuckAfter)
	if c.HTTP.AdminToken != "" && !c.HTTP.Admin {
		v.add("http.admin_token", "set while http.admin is false: set http.admin: true to serve pause and resume")
	}
	v.oneOf("log.level", c.Log.Level, "debug", "info", "warn", "error")
	v.oneOf("log.format", c.Log.Format, "json", "console")
	v.positiveDuration("shutdown.grace_period", c.Shutdown.GracePeriod)

	return errors.Join(v.errs...)
}

// allNameDatabase reports whether every way a topic can be mapped names
// its database, so starrocks.database is not needed.
func (m *Mapping) allNameDatabase() bool {
	if m.Template != "" {
		return false
	}
	for _, t := range m.Topic2Table {
		if !strings.Contains(t, ".") {
			return false
		}
	}
	for _, r := range m.Rules {
		if r.Database == "" {
			return false
		}
	}
	return len(m.Topic2Table)+len(m.Rules) > 0
}

// checkLoadURL accepts http(s)://host:port or host:port (the Java
// connector's form). The error never quotes the URL: it may hold a user.
func checkLoadURL(s string) error {
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return errors.New("not a valid URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return errors.New("scheme must be http or https")
	}
	if u.Host == "" || u.Port() == "" {
		return errors.New("want host:port")
	}
	if u.User != nil {
		return errors.New("credentials belong in starrocks.user and starrocks.password, not in the URL")
	}
	return nil
}

// validTopic follows Kafka's rule: 1–249 of [a-zA-Z0-9._-], not "." or "..".
func validTopic(t string) bool {
	if t == "" || len(t) > 249 || t == "." || t == ".." {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !(c == '.' || c == '_' || c == '-' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

type validator struct{ errs []error }

func (v *validator) add(key, msg string) { v.errs = append(v.errs, errors.New(key+": "+msg)) }

func (v *validator) addf(key, format string, args ...any) {
	v.add(key, fmt.Sprintf(format, args...))
}

func (v *validator) required(key, val string) {
	if val == "" {
		v.add(key, "required")
	}
}

func (v *validator) positive(key string, n int64) {
	if n <= 0 {
		v.add(key, "must be > 0")
	}
}

func (v *validator) positiveDuration(key string, d time.Duration) {
	if d <= 0 {
		v.add(key, "must be > 0")
	}
}

func (v *validator) oneOf(key, val string, allowed ...string) {
	for _, a := range allowed {
		if val == a {
			return
		}
	}
	quoted := make([]string, len(allowed))
	for i, a := range allowed {
		quoted[i] = fmt.Sprintf("%q", a)
	}
	v.addf(key, "%q is not one of %s", val, strings.Join(quoted, ", "))
}

func (v *validator) regexes(key string, res []string) {
	for i, re := range res {
		if _, err := regexp.Compile(re); err != nil {
			v.addf(key, "entry %d: %v", i, err)
		}
	}
}

func (v *validator) file(key, path string) {
	if path == "" {
		return
	}
	f, err := os.Open(path)
	if err != nil {
		v.addf(key, "not readable: %v", err)
		return
	}
	f.Close()
}

// headers refuses Stream Load headers starsink sets itself (label,
// columns, format, strict_mode, max_filter_ratio, …, and HTTP headers such
// as Authorization), compared case-insensitively, each with the reason.
func (v *validator) headers(key string, h map[string]string) {
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if reason, reserved := streamload.ReservedHeader(k); reserved {
			v.addf(key+"."+k, "%s; remove it", reason)
		}
	}
}

var placeholderRe = regexp.MustCompile(`\{[^}]*\}`)

// placeholders checks that a table template uses only known names.
func (v *validator) placeholders(key, tmpl string) {
	for _, p := range placeholderRe.FindAllString(tmpl, -1) {
		switch p {
		case "{prefix}", "{schema}", "{table}", "{topic}":
		default:
			v.addf(key, "unknown placeholder %s (want {prefix}, {schema}, {table} or {topic})", p)
		}
	}
}

// identifier reports whether s is a plain column name.
func identifier(s string) bool {
	for i, c := range s {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return s != ""
}
