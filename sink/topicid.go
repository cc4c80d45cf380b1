package sink

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"
)

// Topic IDs. A batch's label folds in the Kafka topic ID of each of its
// ranges (streamload.OffsetRange.TopicID), so that a topic deleted and
// re-created, whose offsets start again from 0, never reuses the labels of
// the rows it had before. franz-go reports the ID of a fetched topic
// (kgo.FetchTopic.TopicID) only when the fetch request used topic IDs
// (Fetch v13+); a fetch falls back to topic names, and reports no ID for
// any of its topics, whenever one cursor or the fetch session has no ID
// yet, which happens in the first fetches after an assignment. The
// worker then asks the brokers' metadata for the topic's ID before
// batching its records, so that no label of a topic with an ID lacks it.

// lookupTimeout bounds one metadata lookup of topic IDs; after a failed
// one, the next waits lookupRetry (the polls in between go on without).
const (
	lookupTimeout = 5 * time.Second
	lookupRetry   = 30 * time.Second
)

// noteTopicIDs records the IDs the poll's fetches carry and looks up those
// of topics with records but no ID yet. Called under w.mu.
func (w *Worker) noteTopicIDs(ctx context.Context, fetches kgo.Fetches) {
	var missing []string
	for _, f := range fetches {
		for _, ft := range f.Topics {
			if _, stuck := w.recreated[ft.Topic]; stuck && hasRecords(ft) {
				delete(w.recreated, ft.Topic) // consumed again (restarted fetches)
				w.log.Info("topic consumed again after UNKNOWN_TOPIC_ID", zap.String("topic", ft.Topic))
			}
			if ft.TopicID != ([16]byte{}) {
				if w.topicIDs[ft.Topic] != ft.TopicID {
					if w.topicIDs == nil {
						w.topicIDs = map[string][16]byte{}
					}
					w.topicIDs[ft.Topic] = ft.TopicID
				}
				continue
			}
			if _, ok := w.topicIDs[ft.Topic]; ok || slices.Contains(missing, ft.Topic) {
				continue
			}
			if hasRecords(ft) {
				missing = append(missing, ft.Topic)
			}
		}
	}
	if len(missing) == 0 || w.lookupIDs == nil || time.Now().Before(w.lookupAfter) {
		return
	}
	lctx, cancel := context.WithTimeout(ctx, lookupTimeout)
	ids, err := w.lookupIDs(lctx, missing)
	cancel()
	if err != nil {
		// The batches meanwhile go without the ID (a replay under
		// another label loads the same rows again, as any replay does).
		w.lookupAfter = time.Now().Add(lookupRetry)
		w.log.Warn("topic IDs not known: this poll's labels go without them", zap.Strings("topics", missing), zap.Error(err))
		return
	}
	if w.topicIDs == nil {
		w.topicIDs = map[string][16]byte{}
	}
	for _, topic := range missing {
		// A zero ID (brokers before Kafka 3.1 have none) is remembered too:
		// it is not asked for again.
		w.topicIDs[topic] = ids[topic]
	}
}

func hasRecords(ft kgo.FetchTopic) bool {
	for _, p := range ft.Partitions {
		if len(p.Records) > 0 {
			return true
		}
	}
	return false
}

// metadataTopicIDs asks the brokers for the IDs of topics (Metadata v10+).
func metadataTopicIDs(cl *kgo.Client) func(context.Context, []string) (map[string][16]byte, error) {
	return func(ctx context.Context, topics []string) (map[string][16]byte, error) {
		req := kmsg.NewPtrMetadataRequest()
		for _, topic := range topics {
			rt := kmsg.NewMetadataRequestTopic()
			rt.Topic = kmsg.StringPtr(topic)
			req.Topics = append(req.Topics, rt)
		}
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			return nil, fmt.Errorf("metadata of %v: %w", topics, err)
		}
		ids := make(map[string][16]byte, len(resp.Topics))
		var errs []error
		for _, rt := range resp.Topics {
			if rt.Topic == nil {
				continue
			}
			if err := kerr.ErrorForCode(rt.ErrorCode); err != nil {
				errs = append(errs, fmt.Errorf("topic %s: %w", *rt.Topic, err))
				continue
			}
			ids[*rt.Topic] = rt.TopicID
		}
		if len(errs) > 0 {
			return nil, fmt.Errorf("metadata: %w", errors.Join(errs...))
		}
		return ids, nil
	}
}

// Re-created topics. franz-go fetches a partition by the topic ID its
// cursor was created with and never adopts a new one (kgo/source.go,
// cursor.topicID; franz-go issue #908): once a consumed topic is deleted
// and created again, every fetch of it fails with UNKNOWN_TOPIC_ID, which
// franz-go hands to the poller after five in a row, until the client is
// rebuilt. A worker that ran on would silently consume nothing of the
// topic. It logs the topic once, at error, counts every such fetch error
// (starsink_topic_id_errors_total), fails /readyz, and stops with a
// *TopicRecreatedError, as a Kafka Connect task fails: the final commit
// does not put offsets of the old incarnation on the new topic (franz-go
// leaves a topic whose name now has another ID out of every commit, kgo
// consumer_group.go uncommittedFrom), and the process exits non-zero for its supervisor to start it again
// with a new client (the container's restart policy; docker-compose.yml
// sets on-failure). Purging the topic from the client and adding it back
// (franz-go's PurgeTopicsFromClient, AddConsumeTopics) is not done: that
// revokes and reassigns the topic's partitions within the running group
// while its batches may still be loading.

// TopicRecreatedError stops a worker whose consumed topic was deleted and
// created again (its fetches fail with UNKNOWN_TOPIC_ID). Nothing of the
// new topic was loaded or committed; a restart consumes it.
type TopicRecreatedError struct {
	Topic     string
	Partition int32
	Err       error
}

func (e *TopicRecreatedError) Error() string {
	return fmt.Sprintf("sink: topic %s (partition %d) was deleted and re-created: this client fetches it by its old topic ID (%v); restart starsink to consume the new topic (Kafka removed the group's offsets of the old topic with it: the new topic is read from kafka.start_offset)",
		e.Topic, e.Partition, e.Err)
}

func (e *TopicRecreatedError) Unwrap() error { return e.Err }

// fetchErr handles a fetch error of a partition that is UNKNOWN_TOPIC_ID
// (logged once per topic) and reports whether it did; the poll loop logs
// the others. Called by the poll loop (not under w.mu).
func (w *Worker) fetchErr(topic string, p int32, err error) bool {
	if !errors.Is(err, kerr.UnknownTopicID) {
		return false
	}
	w.m.topicIDErrors.WithLabelValues(topic).Inc()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.recreated == nil {
		w.recreated = map[string]time.Time{}
	}
	if _, seen := w.recreated[topic]; seen {
		return true
	}
	w.recreated[topic] = time.Now()
	w.log.Error("topic deleted and re-created: this client keeps fetching it by its old topic ID (UNKNOWN_TOPIC_ID) and would consume nothing of it: stopping, for a restart with a new client (Kafka removed the group's offsets of the old topic with it: the new topic is read from kafka.start_offset)",
		zap.String("topic", topic), zap.Int32("partition", p), zap.Error(err))
	w.fail(&TopicRecreatedError{Topic: topic, Partition: p, Err: err})
	return true
}

// recreatedErrs names the topics stuck on UNKNOWN_TOPIC_ID, for Ready.
// Called under w.mu.
func (w *Worker) recreatedErrs() []error {
	var errs []error
	for topic, since := range w.recreated {
		errs = append(errs, fmt.Errorf("topic %s: stuck since %s: deleted and re-created, fetched by its old topic ID (UNKNOWN_TOPIC_ID): restart starsink", topic, since.UTC().Format(time.RFC3339)))
	}
	slices.SortFunc(errs, func(a, b error) int {
		switch {
		case a.Error() < b.Error():
			return -1
		case a.Error() > b.Error():
			return 1
		}
		return 0
	})
	return errs
}
