package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

// minimal returns the defaults plus what has no default.
func minimal() Config {
	c := Default()
	c.Kafka.Brokers = []string{"k:9092"}
	c.Kafka.Topics = []string{"p.public.t"}
	c.StarRocks.LoadURLs = []string{"fe:8030"}
	c.StarRocks.Database = "db"
	return c
}

func TestDefaults(t *testing.T) {
	d := Default()
	tests := map[string]string{
		"kafka.group_id":              "starsink",
		"kafka.group_protocol":        "classic",
		"kafka.start_offset":          "earliest",
		"kafka.exclude_regex":         `^__debezium-heartbeat\..*,.*\.transaction$,.*\.message$,.*\.debezium_signal$`,
		"batch.max_rows":              "500000",
		"batch.max_bytes":             "64MiB",
		"batch.max_age":               "2s",
		"batch.buffer_memory":         "512MiB",
		"batch.max_concurrent_loads":  "4",
		"commit.interval":             "1s",
		"commit.revoke_timeout":       "30s",
		"starrocks.retry_for":         "10m0s",
		"starrocks.max_retries":       "0",
		"starrocks.retry_backoff":     "200ms",
		"starrocks.max_retry_backoff": "10s",
		"starrocks.load_timeout":      "10m0s",
		"starrocks.label_prefix":      "starsink",
		"starrocks.schema_ttl":        "5m0s",
		"http.addr":                   ":8080",
		"log.format":                  "json",
		"log.level":                   "info",
		"shutdown.grace_period":       "30s",
		"errors.tolerance":            "none",
		"errors.dlq_window":           "100",
		"errors.dlq_max_failures":     "10",
		"decoder.framing":             "auto",
		"decoder.time_zone":           "UTC",
		"decoder.placeholder":         "__debezium_unavailable_value",
	}
	for key, want := range tests {
		f, ok := fieldByKey[key]
		if !ok {
			t.Fatalf("unknown key %s", key)
		}
		if got := render(&d, f); got != want {
			t.Errorf("%s = %q, want %q", key, got, want)
		}
	}
	c := minimal()
	if err := c.Validate(); err != nil {
		t.Fatalf("defaults plus required fields do not validate: %v", err)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
		want   []string
	}{
		{"required", func(c *Config) { *c = Default() }, []string{
			"kafka.brokers: required", "kafka.topics: required", "starrocks.load_urls: required", "starrocks.database: required",
		}},
		{"positive", func(c *Config) { c.Batch.MaxRows = 0; c.Batch.MaxAge = -1; c.Commit.Interval = 0 }, []string{
			"batch.max_rows: must be > 0", "batch.max_age: must be > 0", "commit.interval: must be > 0",
		}},
		{"dlq", func(c *Config) { c.Errors.Tolerance = "all" }, []string{"errors.dlq_topic: required when errors.tolerance=all"}},
		{"dlq bounds", func(c *Config) { c.Errors.Tolerance = "all"; c.Errors.DLQTopic = "dlq"; c.Errors.DLQMaxFailures = 200 }, []string{"errors.dlq_max_failures: must be between 0 and errors.dlq_window"}},
		{"enums", func(c *Config) {
			c.Errors.Tolerance = "some"
			c.Kafka.GroupProtocol = "kip848"
			c.Kafka.StartOffset = "middle"
			c.Kafka.SASL.Mechanism = "GSSAPI"
			c.StarRocks.Compression = "brotli"
			c.Log.Level = "verbose"
		}, []string{"errors.tolerance: \"some\" is not one of", "kafka.group_protocol:", "kafka.start_offset:", "kafka.sasl.mechanism: \"GSSAPI\"", "starrocks.compression:", "log.level:"}},
		{"regex", func(c *Config) { c.Kafka.TopicRegex = []string{"("}; c.Kafka.ExcludeRegex = []string{"[a"} }, []string{"kafka.topic_regex: entry 0", "kafka.exclude_regex: entry 0"}},
		{"urls", func(c *Config) { c.StarRocks.LoadURLs = []string{"ftp://fe:8030", "fe", "http://u:pw@fe:8030"} }, []string{
			"starrocks.load_urls: entry 0: scheme must be http or https", "starrocks.load_urls: entry 1: want host:port", "starrocks.load_urls: entry 2: credentials",
		}},
		{"brokers", func(c *Config) { c.Kafka.Brokers = []string{"nohost"} }, []string{`kafka.brokers: entry 0 ("nohost"): want host:port`}},
		{"sasl", func(c *Config) { c.Kafka.SASL.Mechanism = "SCRAM-SHA-512" }, []string{"kafka.sasl.username: required", "kafka.sasl.password: required"}},
		{"tls files", func(c *Config) { c.Kafka.TLS.CAFile = "testdata/missing.pem" }, []string{"kafka.tls.ca_file: not readable", "kafka.tls.enabled: must be true"}},
		{"tls pair", func(c *Config) { c.Kafka.TLS.Enabled = true; c.Kafka.TLS.CertFile = "testdata/password.txt" }, []string{"kafka.tls.cert_file: cert_file and key_file go together"}},
		{"admin token without admin", func(c *Config) { c.HTTP.AdminToken = "t" }, []string{"http.admin_token: set while http.admin is false"}},
		{"memory", func(c *Config) { c.Batch.BufferMemory = c.Batch.MaxBytes - 1 }, []string{"batch.buffer_memory: must be >= batch.max_bytes"}},
		{"JSON body limit", func(c *Config) { c.Batch.MaxBytes = 100*MiB + 1 }, []string{"batch.max_bytes: at most 100MiB with the JSON format: StarRocks refuses"}},
		{"JSON body limit reached", func(c *Config) { c.Batch.MaxBytes = 100 * MiB }, nil},
		{"backoff", func(c *Config) { c.StarRocks.MaxRetryBackoff = time.Millisecond }, []string{"starrocks.max_retry_backoff: must be >= starrocks.retry_backoff"}},
		{"mapping", func(c *Config) {
			c.Mapping.Rules = []Rule{{Regex: "(", Table: "{db}_x"}}
			c.Mapping.Template = "{nope}"
			c.Mapping.Tables = map[string]TableOptions{"t": {Deletes: "ignore", Truncates: "apply"}}
		}, []string{"mapping.rules[0].regex:", "mapping.rules[0].table: unknown placeholder {db}", "mapping.template: unknown placeholder {nope}", "mapping.tables.t.deletes:", "mapping.tables.t.truncates:"}},
		{"label prefix", func(c *Config) { c.StarRocks.LabelPrefix = "star sink" }, []string{"starrocks.label_prefix: only letters"}},
		{"time zone", func(c *Config) { c.Decoder.TimeZone = "Mars/Olympus" }, []string{"decoder.time_zone: unknown time zone"}},
		{"decoder units", func(c *Config) { c.Decoder.SchemalessTimestamp = "s"; c.Decoder.DecimalHandling = "double" },
			[]string{"decoder.schemaless_timestamp:", "decoder.decimal_handling:"}},
		{"decoder workers", func(c *Config) { c.Decoder.Workers = -1 }, []string{"decoder.workers: must be between 0"}},
		{"decoder envelope and dates", func(c *Config) {
			c.Decoder.Envelope, c.Decoder.OutOfRangeDates, c.Decoder.FieldsPrefix = "wrapped", "round", ""
		}, []string{"decoder.envelope:", "decoder.out_of_range_dates:", "decoder.fields_prefix: required"}},
		{"versioned", func(c *Config) {
			c.Mapping.Tables = map[string]TableOptions{
				"v": {Mode: "versioned", MergeCondition: "_version", VersionColumn: "x", DeletedColumn: "x"},
				"u": {DeletedColumn: "gone"},
				"g": {VersionColumn: "ver", MergeCondition: "other"},
				"a": {Aggregate: "yes"},
			}
			c.Mapping.VersionColumn = "1x"
		}, []string{"mapping.tables.v.merge_condition: not with mode versioned", "mapping.tables.v.deleted_column: must differ", "mapping.tables.u.deleted_column: deleted_column needs mode versioned",
			"mapping.tables.g.merge_condition: differs from version_column", "mapping.tables.a.aggregate:", "mapping.version_column: must be a column name"}},
		{"version origin", func(c *Config) {
			c.Mapping.VersionFrom, c.Mapping.VersionEpoch = "lsn", -1
			c.Mapping.Tables = map[string]TableOptions{"o": {VersionFrom: "offset", VersionEpoch: MaxVersionEpoch + 1}}
		}, []string{"mapping.version_from:", "mapping.version_epoch: must be 0..262143", "mapping.tables.o.version_from:", "mapping.tables.o.version_epoch: must be 0..262143"}},
		{"snapshot_deletes_missing", func(c *Config) {
			c.Mapping.VersionFrom = VersionFromOffset
			c.Mapping.Tables = map[string]TableOptions{
				"pk":  {SnapshotDeletesMissing: true},
				"off": {Mode: "versioned", SnapshotDeletesMissing: true},
				"ok":  {Mode: "versioned", VersionFrom: VersionFromSource, SnapshotDeletesMissing: true},
			}
		}, []string{"mapping.tables.pk.snapshot_deletes_missing: needs mode versioned", "mapping.tables.off.snapshot_deletes_missing: needs mode versioned"}},
		{"version guard", func(c *Config) {
			c.Mapping.VersionColumn = "_version"
			c.Mapping.Tables = map[string]TableOptions{"g": {VersionColumn: "ver", MergeCondition: "ver"}, "h": {Aggregate: "allow"}}
		}, nil},
		{"retry budget", func(c *Config) { c.StarRocks.RetryFor = 0; c.StarRocks.MaxRetries = -1 },
			[]string{"starrocks.retry_for: must be > 0", "starrocks.max_retries: must be >= 0"}},
		{"headers starsink sets itself", func(c *Config) {
			c.StarRocks.Properties = map[string]string{"label": "x", "MAX_FILTER_RATIO": "0.1", "timezone": "UTC"}
			c.Mapping.Tables = map[string]TableOptions{"t": {Headers: map[string]string{
				"Strict_Mode": "false", "partial_update_mode": "row", "merge_condition": "v", "Authorization": "Basic x",
				"enable_merge_commit": "true", "ignore_json_size": "true", "columns": "a", "format": "csv",
				"strip_outer_array": "false", "jsonpaths": "[]", "partial_update": "true", "Expect": "", "content-length": "1",
				"load_mem_limit": "1"}}}
		}, []string{
			"starrocks.properties.label: starsink sets the label itself (deterministic per batch, see docs/architecture.md); remove it",
			"starrocks.properties.MAX_FILTER_RATIO: it must stay 0",
			"mapping.tables.t.headers.Strict_Mode: starsink always sends strict_mode: true",
			"mapping.tables.t.headers.partial_update_mode: set it per table with mapping.tables.<table>.partial_update_mode",
			"mapping.tables.t.headers.merge_condition: set it per table with mapping.tables.<table>.merge_condition",
			"mapping.tables.t.headers.Authorization:", "mapping.tables.t.headers.enable_merge_commit:",
			"mapping.tables.t.headers.ignore_json_size:", "mapping.tables.t.headers.columns:", "mapping.tables.t.headers.format:",
			"mapping.tables.t.headers.strip_outer_array:", "mapping.tables.t.headers.jsonpaths:",
			"mapping.tables.t.headers.partial_update:", "mapping.tables.t.headers.Expect:", "mapping.tables.t.headers.content-length:",
		}},
		{"headers of the user's own", func(c *Config) {
			c.StarRocks.Properties = map[string]string{"timezone": "UTC", "load_mem_limit": "1"}
		}, nil},
		{"database from mappings", func(c *Config) {
			c.StarRocks.Database = ""
			c.Mapping.Topic2Table = map[string]string{"a": "db.a"}
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := minimal()
			tt.mutate(&c)
			err := c.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Validate = nil")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestLoadPrecedence(t *testing.T) {
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	AddFlags(fs)
	if err := fs.Parse([]string{"--batch.max_rows=7", "--log.format=console"}); err != nil {
		t.Fatal(err)
	}
	env := []string{
		"STARSINK_KAFKA_BROKERS=a:9092,b:9092",
		"STARSINK_KAFKA_GROUP_ID=from-env",
		"STARSINK_BATCH_MAX_ROWS=9", // loses to the flag
		"STARSINK_BATCH_BUFFER_MEMORY=1GiB",
		"STARSINK_STARROCKS_PROPERTIES_TIMEZONE=Asia/Seoul",
		"STARSINK_KAFKA_EXCLUDE_REGEX=",
		"UNRELATED=1",
	}
	c, err := Load(LoadOptions{File: "testdata/full.yaml", Env: env, Flags: fs})
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"brokers: env over file", c.Kafka.Brokers, []string{"a:9092", "b:9092"}},
		{"group: env over file", c.Kafka.GroupID, "from-env"},
		{"max_rows: flag over env and file", c.Batch.MaxRows, 7},
		{"log.format: flag over default", c.Log.Format, "console"},
		{"log.level: file over default", c.Log.Level, "debug"},
		{"max_bytes: size from file", c.Batch.MaxBytes, 96 * MiB},
		{"buffer_memory: size from env", c.Batch.BufferMemory, GiB},
		{"max_age: duration from file", c.Batch.MaxAge, 5 * time.Second},
		{"commit.interval: default", c.Commit.Interval, time.Second},
		{"exclude_regex: cleared by empty env", len(c.Kafka.ExcludeRegex), 0},
		{"properties: file and env entries", c.StarRocks.Properties, map[string]string{"load_mem_limit": "2147483648", "timezone": "Asia/Seoul"}},
		{"topic2table: Java string form", c.Mapping.Topic2Table, map[string]string{"shop.public.orders": "orders", "shop.public.items": "items"}},
		{"rules", c.Mapping.Rules, []Rule{{Regex: `shop\.audit\.(.*)`, Table: "audit_$1"}}},
		{"tables", c.Mapping.Tables["orders"].Deletes, "skip"},
		{"password from file, newline trimmed", c.StarRocks.Password.Value(), "file-secret-pw"},
	}
	for _, ck := range checks {
		if !reflect.DeepEqual(ck.got, ck.want) {
			t.Errorf("%s: got %#v, want %#v", ck.name, ck.got, ck.want)
		}
	}
}

func TestLoadWithoutFile(t *testing.T) {
	env := []string{
		"STARSINK_KAFKA_BROKERS=k:9092",
		"STARSINK_KAFKA_TOPIC_REGEX=p\\.public\\..*",
		"STARSINK_STARROCKS_LOAD_URLS=https://fe:8443",
		"STARSINK_STARROCKS_DATABASE=db",
		"STARSINK_STARROCKS_PASSWORD=env-secret-pw",
		"STARSINK_MAPPING_TEMPLATE={schema}_{table}",
		"STARSINK_KAFKA_TLS_ENABLED=true",
	}
	c, err := Load(LoadOptions{Env: env})
	if err != nil {
		t.Fatal(err)
	}
	if c.StarRocks.Password.Value() != "env-secret-pw" || !c.Kafka.TLS.Enabled || c.Mapping.Template != "{schema}_{table}" || c.Batch.MaxRows != 500000 {
		t.Fatalf("unexpected config:\n%s", c)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	if err := os.WriteFile(pw, []byte("file-secret-pw\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		opts LoadOptions
		want []string
	}{
		{"unknown file keys", LoadOptions{File: "testdata/typo.yaml", Env: []string{}}, []string{"kafka.broker: unknown option", "batch.max_rowz: unknown option"}},
		{"bad values name their key", LoadOptions{File: "testdata/bad-values.json", Env: []string{}}, []string{"batch.max_bytes: invalid size", "batch.max_age:"}},
		{"bad env value", LoadOptions{Env: []string{"STARSINK_BATCH_MAX_ROWS=many"}}, []string{"batch.max_rows:"}},
		{"missing file", LoadOptions{File: "testdata/none.yaml", Env: []string{}}, []string{"config file testdata/none.yaml"}},
		{"unknown extension", LoadOptions{File: "testdata/connector.properties", Env: []string{}}, []string{"unknown extension"}},
		{"password and file", LoadOptions{Env: []string{"STARSINK_STARROCKS_PASSWORD=env-secret-pw", "STARSINK_STARROCKS_PASSWORD_FILE=" + pw}}, []string{"starrocks.password_file: set either"}},
		{"unreadable password file", LoadOptions{Env: []string{"STARSINK_KAFKA_SASL_PASSWORD_FILE=" + filepath.Join(dir, "nope")}}, []string{"kafka.sasl.password_file:"}},
		{"validation after load", LoadOptions{Env: []string{"STARSINK_KAFKA_SASL_PASSWORD=env-secret-pw"}}, []string{"kafka.brokers: required"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(tt.opts)
			if err == nil {
				t.Fatal("Load succeeded")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			for _, secret := range []string{"env-secret-pw", "file-secret-pw"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error leaks a secret: %v", err)
				}
			}
		})
	}
}

func TestSecretsNeverPrinted(t *testing.T) {
	c := minimal()
	c.StarRocks.Password = "sr-secret-pw"
	c.Kafka.SASL = SASL{Mechanism: "PLAIN", Username: "u", Password: "sasl-secret-pw"}
	c.StarRocks.Properties = map[string]string{"Authorization": "Basic c2VjcmV0"}
	c.Mapping.Tables = map[string]TableOptions{"t": {Headers: map[string]string{"x-token": "tok-secret"}}}
	r := c.Redacted()
	outputs := map[string]string{
		"String":          c.String(),
		"Redacted.String": r.String(),
		"Secret.String":   c.StarRocks.Password.String(),
		"Redacted fields": string(r.StarRocks.Password) + string(r.Kafka.SASL.Password) + r.StarRocks.Properties["Authorization"] + r.Mapping.Tables["t"].Headers["x-token"],
	}
	for name, out := range outputs {
		for _, s := range []string{"sr-secret-pw", "sasl-secret-pw", "c2VjcmV0", "tok-secret"} {
			if strings.Contains(out, s) {
				t.Errorf("%s shows %q", name, s)
			}
		}
	}
	if c.StarRocks.Password.Value() != "sr-secret-pw" || c.StarRocks.Properties["Authorization"] == redacted {
		t.Fatal("Redacted changed the original")
	}
	if !strings.Contains(c.String(), "starrocks.password: ******") {
		t.Errorf("String does not mark the password as set:\n%s", c.String())
	}
	c.StarRocks.LoadURLs = []string{"http://user:sr-secret-pw@fe:8030"}
	if err := c.Validate(); err == nil || strings.Contains(err.Error(), "sr-secret-pw") {
		t.Errorf("Validate = %v, want an error without the secret", err)
	}
}

func TestUnknownEnv(t *testing.T) {
	got := UnknownEnv([]string{"STARSINK_KAFKA_BROKER=x", "STARSINK_KAFKA_BROKERS=x", "STARSINK_STARROCKS_PROPERTIES_A=1", "PATH=/bin"})
	if !reflect.DeepEqual(got, []string{"STARSINK_KAFKA_BROKER"}) {
		t.Fatalf("UnknownEnv = %v", got)
	}
}

func TestSizes(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		err  bool
	}{
		{"67108864", 64 * MiB, false},
		{"64MiB", 64 * MiB, false},
		{"64 MiB", 64 * MiB, false},
		{"1GiB", GiB, false},
		{"10KB", 10000, false},
		{"2mb", 2000000, false},
		{"512B", 512, false},
		{"", 0, true},
		{"MiB", 0, true},
		{"-1", 0, true},
		{"1PiB", 0, true},
		{"99999999999GiB", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseSize(tt.in)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d, err %v", tt.in, got, err, tt.want, tt.err)
		}
	}
	for _, n := range []int64{0, 1, 1000, KiB, 64 * MiB, 3 * GiB, 64*MiB + 1} {
		back, err := ParseSize(FormatSize(n))
		if err != nil || back != n {
			t.Errorf("FormatSize(%d) = %q does not parse back", n, FormatSize(n))
		}
	}
}

func TestFlagsOnlyWhenSet(t *testing.T) {
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	AddFlags(fs)
	fs.String("connector-config", "", "not a config key")
	if err := fs.Parse([]string{"--connector-config=x.json"}); err != nil {
		t.Fatal(err)
	}
	env := []string{"STARSINK_KAFKA_BROKERS=k:9092", "STARSINK_KAFKA_TOPICS=t", "STARSINK_STARROCKS_LOAD_URLS=fe:8030",
		"STARSINK_STARROCKS_DATABASE=db", "STARSINK_BATCH_MAX_AGE=9s"}
	c, err := Load(LoadOptions{Env: env, Flags: fs})
	if err != nil {
		t.Fatal(err)
	}
	if c.Batch.MaxAge != 9*time.Second {
		t.Fatalf("an unset flag overrode the environment: max_age = %v", c.Batch.MaxAge)
	}
	if fs.Lookup("mapping.rules") != nil {
		t.Fatal("file-only option registered as a flag")
	}
}

func TestNormalize(t *testing.T) {
	env := []string{
		"STARSINK_KAFKA_BROKERS= a:9092 , b:9092,",
		"STARSINK_KAFKA_TOPICS=t1, t2",
		"STARSINK_STARROCKS_LOAD_URLS=fe1:8030, https://fe2:8443",
		"STARSINK_STARROCKS_DATABASE=db",
		"STARSINK_MAPPING_TOPIC2TABLE=pg.public.a:a, pg.public.b:other.b",
		"STARSINK_STARROCKS_BE_HOST_REWRITE=be:8040=localhost:8040",
	}
	c, err := Load(LoadOptions{Env: env})
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"brokers", c.Kafka.Brokers, []string{"a:9092", "b:9092"}},
		{"topics", c.Kafka.Topics, []string{"t1", "t2"}},
		{"load urls", c.StarRocks.LoadURLs, []string{"http://fe1:8030", "https://fe2:8443"}},
		{"topic2table", c.Mapping.Topic2Table, map[string]string{"pg.public.a": "a", "pg.public.b": "other.b"}},
		{"be rewrite", c.StarRocks.BEHostRewrite, map[string]string{"be:8040": "localhost:8040"}},
	}
	for _, ck := range checks {
		if !reflect.DeepEqual(ck.got, ck.want) {
			t.Errorf("%s: got %#v, want %#v", ck.name, ck.got, ck.want)
		}
	}
}

func TestMySQLAddress(t *testing.T) {
	tests := []struct {
		s    StarRocks
		want string
	}{
		{StarRocks{MySQLAddr: "fe:9031", LoadURLs: []string{"http://x:8030"}}, "fe:9031"},
		{StarRocks{LoadURLs: []string{"http://fe1:8030", "http://fe2:8030"}}, "fe1:9030"},
		{StarRocks{LoadURLs: []string{"https://[::1]:8443/"}}, "[::1]:9030"},
		{StarRocks{LoadURLs: []string{"fe"}}, "fe:9030"},
		{StarRocks{}, ""},
	}
	for _, tt := range tests {
		if got := tt.s.MySQLAddress(); got != tt.want {
			t.Errorf("MySQLAddress(%v) = %q, want %q", tt.s.LoadURLs, got, tt.want)
		}
	}
}

func TestLoadLeavesBaseAlone(t *testing.T) {
	base := Default()
	base.Kafka.Brokers = []string{" k:9092"}
	base.Kafka.Topics = []string{"t"}
	base.StarRocks.LoadURLs = []string{"fe:8030"}
	base.StarRocks.Database = "db"
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	fs.StringSlice("kafka.topics", nil, "a typed flag registered by a command")
	if err := fs.Parse([]string{"--kafka.topics=x,y"}); err != nil {
		t.Fatal(err)
	}
	c, err := Load(LoadOptions{Base: &base, Env: []string{}, Flags: fs})
	if err != nil {
		t.Fatal(err)
	}
	if base.StarRocks.LoadURLs[0] != "fe:8030" || base.Kafka.Brokers[0] != " k:9092" {
		t.Fatalf("Load changed its base: %v %v", base.StarRocks.LoadURLs, base.Kafka.Brokers)
	}
	if !reflect.DeepEqual(c.Kafka.Topics, []string{"x", "y"}) {
		t.Fatalf("typed flag: topics = %v", c.Kafka.Topics)
	}
}
