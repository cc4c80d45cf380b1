package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/starsink/starsink/config"
)

// ceilingMain reads want records of the topics matching regex with a fresh
// consumer group and discards them; it prints the elapsed seconds from the
// client's creation (so the group join is included, as it is for starsink).
func ceilingMain(args []string) error {
	fs := flag.NewFlagSet("ceiling", flag.ContinueOnError)
	brokers := fs.String("brokers", "", "bootstrap address")
	regex := fs.String("regex", "", "topic regex")
	group := fs.String("group", "ceiling", "group id")
	want := fs.Int("rows", 0, "records to read")
	if err := fs.Parse(args); err != nil {
		return err
	}
	// The same fetch bound as starsink's default kafka.fetch_max_bytes.
	cl, err := kgo.NewClient(kgo.SeedBrokers(*brokers), kgo.ConsumerGroup(*group), kgo.ConsumeRegex(),
		kgo.ConsumeTopics(*regex), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxBytes(int32(config.Default().Kafka.FetchMaxBytes)))
	if err != nil {
		return fmt.Errorf("client: %w", err)
	}
	defer cl.Close()
	start := time.Now()
	n := 0
	for n < *want {
		fs := cl.PollFetches(context.Background())
		if err := fs.Err0(); err != nil {
			return fmt.Errorf("poll: %w", err)
		}
		n += fs.NumRecords()
	}
	fmt.Printf("%.6f\n", time.Since(start).Seconds())
	return nil
}
