package config_test

import (
	"fmt"

	"github.com/spf13/pflag"

	"github.com/starsink/starsink/config"
)

// Load layers the defaults, a file, STARSINK_* variables and flags.
func ExampleLoad() {
	fs := pflag.NewFlagSet("starsink", pflag.ContinueOnError)
	config.AddFlags(fs)
	_ = fs.Parse([]string{"--batch.max_age=500ms"})

	cfg, err := config.Load(config.LoadOptions{
		Flags: fs,
		Env: []string{
			"STARSINK_KAFKA_BROKERS=kafka-1:9092,kafka-2:9092",
			"STARSINK_KAFKA_TOPIC_REGEX=subway\\.public\\..*",
			"STARSINK_STARROCKS_LOAD_URLS=http://fe:8030",
			"STARSINK_STARROCKS_DATABASE=subway",
			"STARSINK_STARROCKS_PASSWORD=hunter2",
			"STARSINK_MAPPING_TEMPLATE={table}",
			"STARSINK_BATCH_MAX_BYTES=32MiB",
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(cfg.Kafka.Brokers, cfg.Batch.MaxBytes, cfg.Batch.MaxAge, cfg.StarRocks.Password)
	// Output: [kafka-1:9092 kafka-2:9092] 33554432 500ms ******
}

// LoadConnector runs a Java StarRocks connector configuration.
func ExampleLoadConnector() {
	cfg, unsupported, err := config.LoadConnector("testdata/connector.properties", config.LoadOptions{
		Env: []string{"STARSINK_KAFKA_BROKERS=kafka:9092"},
	})
	for _, u := range unsupported[:2] {
		fmt.Println("unsupported:", u)
	}
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(cfg.Kafka.GroupID, cfg.Kafka.TopicRegex)
	// Output:
	// unsupported: bufferflush.maxbytes: StarRocks refuses JSON bodies above 100MiB (streaming_load_max_batch_size_mb) when their length is sent, as starsink does: batch.max_bytes (per table) is set to 100MiB and batch.buffer_memory (all tables, Java's meaning) to at least 128MiB
	// unsupported: errors.deadletterqueue.topic.replication.factor: starsink does not create the dead-letter topic; create it beforehand
	// connect-orders-sink [^(?:shop\.public\..*)$]
}
