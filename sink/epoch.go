package sink

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kadm"
	"go.uber.org/zap"
)

// Epochs of Kafka-offset versions. With mapping.version_from kafka_offset a
// change's version is 2^62 + epoch·2^44 + its offset (table.go): it orders
// the changes of one topic incarnation, whose offsets only grow. A new
// incarnation (a topic deleted and created again, another topic feeding
// the table, a new consumer group reading the topic from its start)
// starts again from offset 0, and its rows would rank below every version
// the table already holds: StarRocks would keep the old rows (the guard's
// merge_condition refuses the new ones; the versioned mode's reads take the
// old ones), silently. So before the first batch of a topic, the worker
// reads the largest version of its table and refuses to go on when:
//   - it is of a later epoch than the table's version_epoch (the setting
//     was lowered, or another deployment loads the table), or
//   - it is of the same epoch and no partition of the topic has a committed
//     offset in the group: the topic is new to the group, and its offsets
//     mean nothing against the stored ones. Raising version_epoch ranks the
//     new incarnation above everything stored.
// A partition of a topic the group has committed on is the same
// incarnation going on (Kafka drops a topic's committed offsets with the
// topic), and needs nothing. The check runs again before the first batch
// after each assignment (onAssigned marks the topics): in a rolling
// restart that raises version_epoch, a member still on the old epoch
// stops before loading partitions a member of the new epoch loaded, whose
// rows its versions could not outrank.

// MaxValuer is an optional capability of a SchemaSource: the largest value
// of an integer column (false when the table is empty). streamload.Catalog
// has it.
type MaxValuer interface {
	MaxValue(ctx context.Context, db, table, column string) (int64, bool, error)
}

// EpochError stops a worker whose table holds Kafka-offset versions that
// the records of a topic cannot outrank: the fix is a higher
// mapping.version_epoch.
type EpochError struct {
	Table, Topic string
	Stored       int64 // epoch of the table's largest version
	Epoch        int64 // the table's version_epoch
	NewTopic     bool  // no partition of Topic has a committed offset
}

func (e *EpochError) Error() string {
	if !e.NewTopic {
		return fmt.Sprintf("sink: table %s holds versions of epoch %d, later than its mapping.version_epoch %d: the records of %s would rank below them and StarRocks would keep the stored rows; set version_epoch to %d or more (mapping.version_epoch, or mapping.tables.<table>.version_epoch)",
			e.Table, e.Stored, e.Epoch, e.Topic, e.Stored+1)
	}
	return fmt.Sprintf("sink: table %s holds versions of epoch %d and topic %s has no committed offset in this group (a new or re-created topic, another topic feeding the table, or a new group): its offsets start again and its rows would rank below the stored ones, which StarRocks would keep; set mapping.version_epoch (or mapping.tables.<table>.version_epoch) to %d",
		e.Table, e.Stored, e.Topic, e.Stored+1)
}

// checkEpoch is run before the first batch of topic into t, for tables
// with Kafka-offset versions.
func (w *Worker) checkEpoch(ctx context.Context, t *tableState, topic string) error {
	mv, ok := w.schemas.(MaxValuer)
	if !ok {
		w.log.Warn("version epochs not checked: the schema source cannot read a column's largest value", zap.String("table", t.name))
		return nil
	}
	max, has, err := mv.MaxValue(ctx, t.def.Database, t.def.Name, t.verCol)
	if err != nil {
		return fmt.Errorf("table %s: the version epoch check: %w", t.name, err)
	}
	epoch := (t.epochBase - offsetVersionBase) >> offsetBits
	if !has || max < offsetVersionBase {
		return nil // empty, or versions from source positions only (all below 2^62)
	}
	stored := (max - offsetVersionBase) >> offsetBits
	switch {
	case stored > epoch:
		return &EpochError{Table: t.name, Topic: topic, Stored: stored, Epoch: epoch}
	case stored < epoch:
		return nil
	}
	committed, err := w.topicCommitted(ctx, topic)
	if err != nil {
		return fmt.Errorf("table %s: the version epoch check: committed offsets of %s: %w", t.name, topic, err)
	}
	if !committed {
		return &EpochError{Table: t.name, Topic: topic, Stored: stored, Epoch: epoch, NewTopic: true}
	}
	return nil
}

// groupCommitted reports whether the group has a committed offset for any
// partition of topic.
func (w *Worker) groupCommitted(ctx context.Context, topic string) (bool, error) {
	resp, err := kadm.NewClient(w.cl).FetchOffsetsForTopics(ctx, w.cfg.Kafka.GroupID, topic)
	if err != nil {
		return false, err
	}
	if err := resp.Error(); err != nil {
		return false, err
	}
	for _, o := range resp[topic] {
		if o.At >= 0 {
			return true, nil
		}
	}
	return false, nil
}
