package config

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestReadConnectorFile(t *testing.T) {
	tests := []struct {
		file string
		want map[string]string // a subset
	}{
		{"../examples/connector/starrocks-sink.json", map[string]string{
			"name": "subway-starrocks", "tasks.max": "1", "starrocks.database.name": "subway",
		}},
		{"testdata/connector-flat.json", map[string]string{
			"tasks.max": "1", "bufferflush.maxbytes": "67108864", "topics": "a,b",
		}},
		{"testdata/connector.properties", map[string]string{
			"name":                             "orders-sink",
			"topics.regex":                     `shop\.public\..*`,
			"starrocks.http.url":               "http://fe:8030",
			"starrocks.database.name":          "shop",
			"starrocks.password":               "pass",
			"sink.properties.column_separator": `\x01`,
			"transforms.ts.type":               "org.apache.kafka.connect.transforms.TimestampConverter$Value",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			props, err := ReadConnectorFile(tt.file)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tt.want {
				if props[k] != v {
					t.Errorf("%s = %q, want %q", k, props[k], v)
				}
			}
		})
	}
	if _, err := ReadConnectorFile("testdata/none.json"); err == nil {
		t.Fatal("missing file: no error")
	}
}

// TestConnectorExample checks that the Java example and its starsink
// equivalent in examples/connector/ mean the same.
func TestConnectorExample(t *testing.T) {
	props, err := ReadConnectorFile("../examples/connector/starrocks-sink.json")
	if err != nil {
		t.Fatal(err)
	}
	base, uns, err := FromConnector(props)
	if err != nil {
		t.Fatal(err)
	}
	if len(uns) != 0 {
		t.Fatalf("unsupported options in the example: %v", uns)
	}
	env := []string{"STARSINK_KAFKA_BROKERS=kafka:9092", "STARSINK_STARROCKS_PASSWORD=s3cret-from-connect"}
	got, err := Load(LoadOptions{Base: base, Env: env})
	if err != nil {
		t.Fatal(err)
	}
	want, err := Load(LoadOptions{File: "../examples/connector/starsink.yaml", Env: env})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("translation differs from starsink.yaml:\ntranslated:\n%s\nyaml:\n%s", got, want)
	}
}

func TestFromConnectorProperties(t *testing.T) {
	props, err := ReadConnectorFile("testdata/connector.properties")
	if err != nil {
		t.Fatal(err)
	}
	c, uns, err := FromConnector(props)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"group", c.Kafka.GroupID, "connect-orders-sink"},
		{"regex anchored", c.Kafka.TopicRegex, []string{`^(?:shop\.public\..*)$`}},
		{"urls", c.StarRocks.LoadURLs, []string{"http://fe:8030"}},
		{"database", c.StarRocks.Database, "shop"},
		{"password", c.StarRocks.Password.Value(), "pass"},
		{"max_bytes clamped to StarRocks' JSON limit", c.Batch.MaxBytes, 100 * MiB},
		{"buffer_memory raised", c.Batch.BufferMemory, 512 * MiB},
		{"max_age", c.Batch.MaxAge, 300 * time.Second},
		{"retries -1: no cap", c.StarRocks.MaxRetries, 0},
		{"timeout", c.StarRocks.LoadTimeout, 120 * time.Second},
		{"compression", c.StarRocks.Compression, "lz4_frame"},
		{"headers: starsink's own values dropped", c.StarRocks.Properties, map[string]string{"timezone": "Asia/Seoul"}},
		{"framing", c.Decoder.Framing, "schemaless"},
		{"start", c.Kafka.StartOffset, "latest"},
		{"tolerance", c.Errors.Tolerance, "none"},
		{"java fallback", c.Mapping.Template, "{topic}"},
	}
	for _, ck := range checks {
		if !reflect.DeepEqual(ck.got, ck.want) {
			t.Errorf("%s: got %#v, want %#v", ck.name, ck.got, ck.want)
		}
	}
	var keys []string
	for _, u := range uns {
		if u.Reason == "" {
			t.Errorf("%s: no reason", u.Key)
		}
		keys = append(keys, u.Key)
	}
	wantKeys := []string{
		"bufferflush.maxbytes",
		"errors.deadletterqueue.topic.replication.factor",
		"errors.log.include.messages",
		"sink.maxretries",
		"sink.properties.column_separator",
		"sink.properties.format",
		"some.unknown.option",
		"tasks.max",
		"transforms",
		"transforms.ts.type",
		"transforms.unwrap.add.fields",
		"value.converter",
	}
	if !reflect.DeepEqual(keys, wantKeys) {
		t.Fatalf("unsupported = %v\nwant %v", keys, wantKeys)
	}
}

func TestFromConnectorErrors(t *testing.T) {
	tests := []struct {
		props map[string]string
		want  string
	}{
		{map[string]string{"bufferflush.intervalms": "soon"}, "bufferflush.intervalms: want milliseconds"},
		{map[string]string{"bufferflush.maxbytes": "big"}, "bufferflush.maxbytes: invalid size"},
		{map[string]string{"sink.maxretries": "-5"}, "sink.maxretries: want an integer >= -1"},
		{map[string]string{"tasks.max": "0"}, "tasks.max: want a positive integer"},
		{map[string]string{"starrocks.topic2table.map": "a"}, "starrocks.topic2table.map: entry"},
		{map[string]string{"value.converter.schemas.enable": "yes"}, "value.converter.schemas.enable: want true or false"},
		{map[string]string{"sink.properties.timeout": "0"}, "sink.properties.timeout: want seconds"},
		{map[string]string{"sink.properties.label": "l1"}, "sink.properties.label: starsink sets the label itself"},
		{map[string]string{"sink.properties.partial_update": "true"}, "sink.properties.partial_update: starsink sends partial updates itself"},
		{map[string]string{"sink.properties.Max_Filter_Ratio": "0.1"}, "sink.properties.Max_Filter_Ratio: it must stay 0"},
		{map[string]string{"sink.properties.strict_mode": "false"}, "sink.properties.strict_mode: starsink always sends strict_mode: true"},
		{map[string]string{"sink.properties.ignore_json_size": "true"}, "sink.properties.ignore_json_size: batch.max_bytes keeps"},
		{map[string]string{"sink.properties.jsonpaths": "[\"$.a\"]"}, "; remove it"},
		{map[string]string{"sink.properties.Expect": "none"}, "sink.properties.Expect: the client always sends"},
	}
	for _, tt := range tests {
		_, _, err := FromConnector(tt.props)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("FromConnector(%v) error = %v, want %q", tt.props, err, tt.want)
		}
	}
	_, _, err := FromConnector(map[string]string{"starrocks.password": "conn-secret", "bufferflush.maxbytes": "x"})
	if err == nil || strings.Contains(err.Error(), "conn-secret") {
		t.Errorf("error = %v, want one without the password", err)
	}
}

func TestFromConnectorTransforms(t *testing.T) {
	props := map[string]string{
		"transforms":                             "unwrap,route",
		"transforms.unwrap.type":                 "io.debezium.transforms.ExtractNewRecordState",
		"transforms.unwrap.delete.handling.mode": "drop",
		"transforms.route.type":                  "org.apache.kafka.connect.transforms.RegexRouter",
		"transforms.route.regex":                 "x",
		"transforms.ghost.type":                  "Nope",
	}
	_, uns, err := FromConnector(props)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, u := range uns {
		got[u.Key] = true
	}
	for _, k := range []string{"transforms.unwrap.delete.handling.mode", "transforms.route.type", "transforms.ghost.type"} {
		if !got[k] {
			t.Errorf("%s not listed as unsupported: %v", k, uns)
		}
	}
}
