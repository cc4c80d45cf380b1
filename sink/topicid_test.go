package sink

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"
)

// A fetch made with topic names (franz-go falls back to them in the first
// fetches after an assignment, while a cursor or the fetch session has no
// topic ID) reports no ID: the worker looks it up, once, so that the first
// batches of a topic carry it in their labels like the later ones.
func TestLabelsCarryTopicIDWhenTheFetchHasNone(t *testing.T) {
	id := [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	fetch := func(offset int64, topicID [16]byte) kgo.Fetches {
		key, val := change("c", int(offset))
		return kgo.Fetches{{Topics: []kgo.FetchTopic{{Topic: batchTopic, TopicID: topicID, Partitions: []kgo.FetchPartition{
			{Partition: 0, Records: []*kgo.Record{{Topic: batchTopic, Partition: 0, Offset: offset, Key: key, Value: val}}},
		}}}}}
	}
	tests := []struct {
		name    string
		fetches []kgo.Fetches
		lookup  error
		want    [16]byte
		lookups int
	}{
		{"first fetch without the ID", []kgo.Fetches{fetch(0, [16]byte{}), fetch(1, [16]byte{})}, nil, id, 1},
		{"the fetch carries it", []kgo.Fetches{fetch(0, id), fetch(1, [16]byte{})}, nil, id, 0},
		{"brokers without IDs", []kgo.Fetches{fetch(0, [16]byte{}), fetch(1, [16]byte{})}, nil, [16]byte{}, 1},
		{"lookup failed: not asked again at once", []kgo.Fetches{fetch(0, [16]byte{}), fetch(1, [16]byte{})}, errors.New("no broker"), [16]byte{}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rig := newFenceRig(t)
			w := rig.w
			lookups := 0
			w.lookupIDs = func(_ context.Context, topics []string) (map[string][16]byte, error) {
				lookups++
				if fmt.Sprint(topics) != "["+batchTopic+"]" {
					t.Errorf("looked up %v", topics)
				}
				if tt.lookup != nil {
					return nil, tt.lookup
				}
				return map[string][16]byte{batchTopic: tt.want}, nil
			}
			w.mu.Lock()
			defer w.mu.Unlock()
			for _, f := range tt.fetches {
				if err := w.process(context.Background(), f); err != nil {
					t.Fatal(err)
				}
			}
			cur := w.topics[batchTopic].cur
			if cur == nil || len(cur.Ranges) != 1 {
				t.Fatalf("open batch %v, want one range", cur)
			}
			if cur.Ranges[0].TopicID != tt.want {
				t.Errorf("range's topic ID %x, want %x", cur.Ranges[0].TopicID, tt.want)
			}
			if lookups != tt.lookups {
				t.Errorf("%d lookups, want %d", lookups, tt.lookups)
			}
		})
	}
}

// The metadata lookup, against kfake: the topic's ID, as the admin API
// reports it.
func TestMetadataTopicIDs(t *testing.T) {
	const topic = "ids.topic"
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, topic))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	cl, err := kgo.NewClient(kgo.SeedBrokers(cluster.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	details, err := kadm.NewClient(cl).ListTopics(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := metadataTopicIDs(cl)(ctx, []string{topic})
	if err != nil {
		t.Fatal(err)
	}
	if want := [16]byte(details[topic].ID); ids[topic] != want || want == ([16]byte{}) {
		t.Errorf("ID %x, want %x", ids[topic], want)
	}
	if _, err := metadataTopicIDs(cl)(ctx, []string{"no.such.topic"}); !errors.Is(err, kerr.UnknownTopicOrPartition) {
		t.Errorf("unknown topic: %v, want UNKNOWN_TOPIC_OR_PARTITION", err)
	}
}

// A consumed topic deleted and re-created: franz-go keeps fetching it by
// its old ID and hands UNKNOWN_TOPIC_ID to the poller. The worker counts
// it, names the topic and the fix in /readyz, and stops with a
// TopicRecreatedError for its supervisor to start it with a new client.
func TestRecreatedTopicStopsTheWorker(t *testing.T) {
	const topic = "recreated.topic"
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, topic))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	admin, err := kgo.NewClient(kgo.SeedBrokers(cluster.ListenAddrs()...), kgo.DefaultProduceTopic(topic))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if err := admin.ProduceSync(ctx, &kgo.Record{Value: []byte("a")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(cluster.ListenAddrs()...), kgo.ConsumerGroup("recreated"), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.MetadataMaxAge(time.Second), kgo.MetadataMinAge(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for n := 0; n == 0 && ctx.Err() == nil; {
		n = cl.PollRecords(ctx, 10).NumRecords()
	}
	adm := kadm.NewClient(admin)
	if _, err := adm.DeleteTopic(ctx, topic); err != nil {
		t.Fatal(err)
	}
	if _, err := adm.CreateTopic(ctx, 1, 1, nil, topic); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	w := &Worker{log: zap.NewNop(), m: newMetrics(reg), fatal: make(chan error, 1)}
	var got error
	for got == nil && ctx.Err() == nil {
		pctx, pcancel := context.WithTimeout(ctx, time.Second)
		fs := cl.PollRecords(pctx, 10)
		pcancel()
		fs.EachError(func(tp string, p int32, err error) {
			w.fetchErr(tp, p, err)
			if errors.Is(err, kerr.UnknownTopicID) {
				got = err
			}
		})
	}
	if got == nil {
		t.Fatalf("no UNKNOWN_TOPIC_ID fetch error: %v", ctx.Err())
	}
	w.mu.Lock()
	errs := w.recreatedErrs()
	w.mu.Unlock()
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), topic) || !strings.Contains(errs[0].Error(), "restart starsink") {
		t.Errorf("readiness errors %v, want one naming %s and the fix", errs, topic)
	}
	if n := testutil.ToFloat64(w.m.topicIDErrors.WithLabelValues(topic)); n < 1 {
		t.Errorf("%s{topic=%q} = %v, want ≥ 1", MetricTopicIDErrors, topic, n)
	}
	select {
	case err := <-w.fatal:
		var re *TopicRecreatedError
		if !errors.As(err, &re) || re.Topic != topic || !errors.Is(err, kerr.UnknownTopicID) {
			t.Errorf("stopped with %v, want a TopicRecreatedError for %s wrapping UNKNOWN_TOPIC_ID", err, topic)
		}
	default:
		t.Error("the worker was not stopped")
	}
}
