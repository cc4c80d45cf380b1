package config

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/starsink/starsink/streamload"
)

const jsonConverter = "org.apache.kafka.connect.json.JsonConverter"

// Unsupported is an option of a Java connector configuration that
// starsink cannot honour with the same meaning. The command prints them;
// none is silently ignored.
type Unsupported struct {
	Key    string
	Reason string
}

func (u Unsupported) String() string { return u.Key + ": " + u.Reason }

// ReadConnectorFile reads a Java StarRocks Kafka connector configuration:
// the Kafka Connect REST form {"name": …, "config": {…}}, a flat JSON
// object, or a .properties file. Non-string JSON values are kept as their
// JSON text ("tasks.max": 4 → "4").
func ReadConnectorFile(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("connector config: %w", err)
	}
	var props map[string]string
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] == '{' {
		props, err = parseConnectorJSON(t)
	} else {
		props, err = parseProperties(b)
	}
	if err != nil {
		return nil, fmt.Errorf("connector config %s: %w", path, err)
	}
	return props, nil
}

func parseConnectorJSON(b []byte) (map[string]string, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil {
		return nil, err
	}
	flat := top
	var name string
	if raw, ok := top["config"]; ok {
		flat = nil
		if err := json.Unmarshal(raw, &flat); err != nil {
			return nil, fmt.Errorf("config: want an object: %w", err)
		}
		if raw, ok := top["name"]; ok {
			if err := json.Unmarshal(raw, &name); err != nil {
				return nil, fmt.Errorf("name: want a string: %w", err)
			}
		}
	}
	props := make(map[string]string, len(flat)+1)
	for k, raw := range flat {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			s = string(bytes.TrimSpace(raw))
		}
		props[k] = s
	}
	if _, ok := props["name"]; !ok && name != "" {
		props["name"] = name
	}
	return props, nil
}

// parseProperties reads the java.util.Properties line format: key=value
// or key:value or key value, '#' and '!' comments, '\' continuations.
func parseProperties(b []byte) (map[string]string, error) {
	props := make(map[string]string)
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	var pending string
	for sc.Scan() {
		line := strings.TrimLeft(sc.Text(), " \t\f")
		if pending == "" && (line == "" || line[0] == '#' || line[0] == '!') {
			continue
		}
		if strings.HasSuffix(line, `\`) && !strings.HasSuffix(line, `\\`) {
			pending += line[:len(line)-1]
			continue
		}
		line, pending = pending+line, ""
		sep := strings.IndexAny(line, "=: \t")
		key, val := line, ""
		if sep >= 0 {
			key = line[:sep]
			val = strings.TrimLeft(line[sep:], " \t")
			if val != "" && (val[0] == '=' || val[0] == ':') {
				val = strings.TrimLeft(val[1:], " \t")
			}
		}
		props[unescapeProperty(key)] = unescapeProperty(val)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return props, nil
}

func unescapeProperty(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i == len(s)-1 {
			b.WriteByte(s[i])
			continue
		}
		i++
		switch s[i] {
		case 't':
			b.WriteByte('\t')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// Transform classes the decoder makes unnecessary: it reads the raw
// Debezium envelope, writes __op itself and renders Debezium's temporal
// and decimal types natively.
var honouredTransforms = map[string]bool{
	"com.starrocks.connector.kafka.transforms.AddOpFieldForDebeziumRecord":           true,
	"io.debezium.transforms.ExtractNewRecordState":                                   true,
	"com.starrocks.connector.kafka.transforms.MicroTimestampConverter":               true,
	"com.starrocks.connector.kafka.transforms.TimeMillisToStringTransform":           true,
	"com.starrocks.connector.kafka.transforms.VariableScaleDecimalToStringTransform": true,
}

// Options of ExtractNewRecordState whose meaning the decoder already has.
var honouredUnwrapOptions = map[string]bool{
	"drop.tombstones":                true, // tombstones are skipped and counted either way
	"delete.handling.mode":           true, // checked below
	"delete.tombstone.handling.mode": true,
}

// CSV framing options of a Java configuration: starsink renders JSON rows
// from the same records, so they are listed, not refused.
var csvHeaders = map[string]bool{
	"row_delimiter": true, "column_separator": true, "enclose": true, "escape": true,
	"skip_header": true, "trim_space": true,
}

// FromConnector translates a Java StarRocks Kafka connector configuration
// (as read by ReadConnectorFile) into a Config with the same meaning,
// starting from Default(). Options that cannot be honoured are returned,
// sorted by key. The result is not validated: kafka.brokers is not part
// of a connector configuration (it belongs to the Connect worker), so pass
// the result as LoadOptions.Base and set the brokers from the file, the
// environment or the flags. The error reports malformed values.
func FromConnector(props map[string]string) (*Config, []Unsupported, error) {
	cfg := Default()
	// Java: a topic absent from starrocks.topic2table.map loads into the
	// table of the same name.
	cfg.Mapping.Template = "{topic}"
	var (
		uns  []Unsupported
		errs []error
	)
	unsupported := func(key, reason string) { uns = append(uns, Unsupported{Key: key, Reason: reason}) }
	bad := func(key string, err error) { errs = append(errs, fmt.Errorf("%s: %w", key, err)) }
	millis := func(key, v string) (time.Duration, bool) {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil || n < 0 {
			bad(key, fmt.Errorf("want milliseconds, got %q", v))
			return 0, false
		}
		return time.Duration(n) * time.Millisecond, true
	}

	transforms := map[string]string{} // alias → class
	for _, alias := range splitList(props["transforms"]) {
		transforms[alias] = strings.TrimSpace(props["transforms."+alias+".type"])
	}

	addOp := false
	for _, class := range transforms {
		addOp = addOp || class == "com.starrocks.connector.kafka.transforms.AddOpFieldForDebeziumRecord"
	}
	if !addOp {
		// Without __op the Java connector upserts every event and never
		// deletes; starsink always decodes the operation.
		unsupported("transforms", "without AddOpFieldForDebeziumRecord the Java connector never deletes rows; starsink applies deletes to Primary Key tables (set mapping.tables.<table>.deletes: skip to keep the old behaviour)")
	}

	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, key := range keys {
		v := props[key]
		switch key {
		case "name":
			if v != "" {
				cfg.Kafka.GroupID = "connect-" + v // Kafka Connect's group, so offsets carry over
			}
		case "connector.class":
			if !strings.Contains(v, "StarRocksSinkConnector") {
				unsupported(key, fmt.Sprintf("%q is not the StarRocks sink connector", v))
			}
		case "tasks.max":
			if n, err := strconv.Atoi(strings.TrimSpace(v)); err != nil || n < 1 {
				bad(key, fmt.Errorf("want a positive integer, got %q", v))
			} else if n > 1 {
				unsupported(key, "one starsink process is one group member; run more processes with the same kafka.group_id to spread partitions (tables still load in parallel, batch.max_concurrent_loads)")
			}
		case "topics":
			cfg.Kafka.Topics = splitList(v)
		case "topics.regex":
			if v != "" {
				// Kafka Connect matches the whole topic name.
				cfg.Kafka.TopicRegex = []string{"^(?:" + v + ")$"}
			}
		case "starrocks.http.url":
			cfg.StarRocks.LoadURLs = splitList(v)
		case "starrocks.database.name":
			cfg.StarRocks.Database = strings.TrimSpace(v)
		case "starrocks.username":
			cfg.StarRocks.User = v
		case "starrocks.password":
			cfg.StarRocks.Password = Secret(v)
		case "starrocks.topic2table.map":
			m, err := ParsePairs(v)
			if err != nil {
				bad(key, err)
			} else {
				cfg.Mapping.Topic2Table = m
			}
		case "bufferflush.maxbytes":
			n, err := ParseSize(v)
			if err != nil {
				bad(key, err)
				continue
			}
			// Java: one buffer for all tables; here it bounds each table's
			// batch, and the shared budget is at least that large.
			cfg.Batch.MaxBytes = n
			if cfg.Batch.BufferMemory < n {
				cfg.Batch.BufferMemory = n
			}
			if n > streamload.MaxJSONBody {
				// The Java SDK sends chunked bodies, which StarRocks does
				// not size-check; starsink sends a Content-Length.
				cfg.Batch.MaxBytes = streamload.MaxJSONBody
				unsupported(key, fmt.Sprintf("StarRocks refuses JSON bodies above %s (streaming_load_max_batch_size_mb) when their length is sent, as starsink does: batch.max_bytes (per table) is set to %s and batch.buffer_memory (all tables, Java's meaning) to at least %s", FormatSize(streamload.MaxJSONBody), FormatSize(streamload.MaxJSONBody), FormatSize(n)))
			}
		case "bufferflush.intervalms":
			if d, ok := millis(key, v); ok {
				cfg.Batch.MaxAge = d
			}
		case "connect.timeoutms":
			if d, ok := millis(key, v); ok {
				cfg.StarRocks.ConnectTimeout = d
			}
		case "sink.maxretries":
			// starsink retries for a time (starrocks.retry_for); a count
			// is kept as an extra cap.
			n, err := strconv.Atoi(strings.TrimSpace(v))
			switch {
			case err != nil || n < -1:
				bad(key, fmt.Errorf("want an integer >= -1, got %q", v))
			case n == -1:
				cfg.StarRocks.MaxRetries = 0 // no cap: starrocks.retry_for bounds the retries
				unsupported(key, "retrying forever is not offered: transient StarRocks failures are retried with the same label for starrocks.retry_for (10m by default: raise it for longer outages), then the worker stops")
			case n == 0:
				cfg.StarRocks.MaxRetries = 0
				unsupported(key, "never retrying is not offered: transient StarRocks failures are retried with the same label for starrocks.retry_for (max_retries 0 = no cap)")
			default:
				cfg.StarRocks.MaxRetries = n
			}
		case "errors.tolerance":
			cfg.Errors.Tolerance = strings.TrimSpace(v)
		case "errors.deadletterqueue.topic.name":
			cfg.Errors.DLQTopic = strings.TrimSpace(v)
		case "errors.deadletterqueue.context.headers.enable":
			// Dead-lettered records always carry the context headers.
		case "errors.deadletterqueue.topic.replication.factor":
			unsupported(key, "starsink does not create the dead-letter topic; create it beforehand")
		case "errors.log.enable", "errors.log.include.messages":
			if strings.EqualFold(v, "true") && key == "errors.log.include.messages" {
				unsupported(key, "message contents are never logged; dead-lettered records keep them")
			}
		case "errors.retry.timeout", "errors.retry.delay.max.ms":
			unsupported(key, "conversion errors are not retried (they repeat); Stream Load retries are bounded by starrocks.retry_for")
		case "value.converter":
			if v != jsonConverter {
				unsupported(key, fmt.Sprintf("starsink reads Debezium JSON only (%s), not %s", jsonConverter, v))
			}
		case "key.converter":
			// Keys are not loaded (rows come from the value), but a key
			// converter other than these hints at a non-JSON pipeline.
			switch v {
			case jsonConverter, "org.apache.kafka.connect.storage.StringConverter", "org.apache.kafka.connect.converters.ByteArrayConverter":
			default:
				unsupported(key, fmt.Sprintf("starsink reads Debezium JSON only, not %s", v))
			}
		case "key.converter.schemas.enable", "header.converter":
			// Keys and headers are not loaded; their framing does not matter.
		case "value.converter.schemas.enable":
			switch strings.ToLower(strings.TrimSpace(v)) {
			case "true":
				cfg.Decoder.Framing = "schema"
			case "false":
				cfg.Decoder.Framing = "schemaless"
			default:
				bad(key, fmt.Errorf("want true or false, got %q", v))
			}
		case "transforms":
			for alias, class := range transforms {
				if _, ok := honouredTransforms[class]; !ok {
					unsupported("transforms."+alias+".type", fmt.Sprintf("transform %q is not supported (the decoder reads the Debezium envelope itself)", class))
				}
			}
		case "consumer.override.auto.offset.reset":
			cfg.Kafka.StartOffset = strings.TrimSpace(v)
		case "consumer.override.client.id":
			cfg.Kafka.ClientID = v
		default:
			if sub, ok := strings.CutPrefix(key, "sink.properties."); ok {
				translateSinkProperty(&cfg, sub, v, unsupported, bad)
				continue
			}
			if strings.HasPrefix(key, "consumer.override.") {
				unsupported(key, "consumer overrides other than auto.offset.reset and client.id have no equivalent; see the kafka.* options")
				continue
			}
			if rest, ok := strings.CutPrefix(key, "transforms."); ok {
				alias, opt, _ := strings.Cut(rest, ".")
				class, known := transforms[alias]
				switch {
				case !known:
					unsupported(key, "transform "+alias+" is not listed in transforms")
				case opt == "type":
				case class == "io.debezium.transforms.ExtractNewRecordState" && honouredUnwrapOptions[opt]:
					if strings.HasPrefix(opt, "delete.") && strings.Contains(v, "drop") {
						unsupported(key, "deletes are applied to Primary Key tables; to drop them set mapping.tables.<table>.deletes: skip")
					}
				default:
					if _, ok := honouredTransforms[class]; ok {
						unsupported(key, "transform option not supported: the decoder renders rows itself")
					}
				}
				continue
			}
			unsupported(key, "unknown option")
		}
	}
	sort.Slice(uns, func(i, j int) bool { return uns[i].Key < uns[j].Key })
	return &cfg, uns, errors.Join(errs...)
}

// LoadConnector reads a Java connector configuration file, translates it
// and applies opts (file, environment, flags) on top, as
// `starsink run --connector-config` does. The unsupported options are
// returned even when the error is not nil, for the command to print.
func LoadConnector(path string, opts LoadOptions) (*Config, []Unsupported, error) {
	props, err := ReadConnectorFile(path)
	if err != nil {
		return nil, nil, err
	}
	base, uns, err := FromConnector(props)
	if err != nil {
		return nil, uns, fmt.Errorf("connector config %s: %w", path, err)
	}
	opts.Base = base
	cfg, err := Load(opts)
	return cfg, uns, err
}

func translateSinkProperty(cfg *Config, name, v string, unsupported func(key, reason string), bad func(string, error)) {
	key := "sink.properties." + name
	lname := strings.ToLower(strings.TrimSpace(name))
	val := strings.TrimSpace(v)
	switch lname {
	case "format":
		if !strings.EqualFold(val, "json") {
			unsupported(key, "starsink always loads the JSON rows it renders from the same records")
		}
		return
	case "strip_outer_array":
		// The body framing is starsink's; the header is set to match it.
		return
	case "max_filter_ratio":
		if f, err := strconv.ParseFloat(val, 64); err == nil && f == 0 {
			return // starsink's own value
		}
	case "strict_mode":
		if strings.EqualFold(val, "true") {
			return // starsink's own value
		}
	case "timeout":
		n, err := strconv.Atoi(val)
		if err != nil || n <= 0 {
			bad(key, fmt.Errorf("want seconds, got %q", v))
			return
		}
		cfg.StarRocks.LoadTimeout = time.Duration(n) * time.Second
		return
	case "compression":
		cfg.StarRocks.Compression = strings.ToLower(val)
		return
	}
	if csvHeaders[lname] {
		unsupported(key, "CSV is not supported: rows are loaded as JSON")
		return
	}
	if reason, reserved := streamload.ReservedHeader(lname); reserved {
		bad(key, errors.New(reason+"; remove it"))
		return
	}
	if cfg.StarRocks.Properties == nil {
		cfg.StarRocks.Properties = make(map[string]string)
	}
	cfg.StarRocks.Properties[name] = v
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
