package offsets

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
)

// To is where a reset moves offsets; build it with Earliest, Latest,
// AtTime or AtOffset.
type To struct {
	kind   string
	millis int64
	offset int64
}

// Earliest moves to the first offset Kafka still holds: every change
// retained is loaded again.
func Earliest() To { return To{kind: "earliest"} }

// Latest moves to the high watermark: everything up to now is skipped.
func Latest() To { return To{kind: "latest"} }

// AtTime moves to the first record whose timestamp is at or after t (the
// end when none is).
func AtTime(t time.Time) To { return To{kind: "timestamp", millis: t.UnixMilli()} }

// AtOffset moves every partition to offset n, brought within the
// partition's start and end as Kafka's tool does.
func AtOffset(n int64) To { return To{kind: "offset", offset: n} }

func (t To) String() string {
	switch t.kind {
	case "timestamp":
		return "timestamp " + time.UnixMilli(t.millis).UTC().Format(time.RFC3339Nano)
	case "offset":
		return fmt.Sprintf("offset %d", t.offset)
	}
	return t.kind
}

// Move is one partition's planned reset.
type Move struct {
	Partition        // as shown before the reset
	To        int64  `json:"to"`
	Note      string `json:"note,omitempty"` // why To differs from what was asked
}

// Plan computes where each partition of parts moves to. It changes
// nothing.
func Plan(ctx context.Context, adm *kadm.Client, parts []Partition, to To) ([]Move, error) {
	if len(parts) == 0 {
		return nil, ErrNoPartitions
	}
	var listed kadm.ListedOffsets
	if to.kind == "timestamp" {
		seen := map[string]bool{}
		var topics []string
		for _, p := range parts {
			if !seen[p.Topic] {
				seen[p.Topic] = true
				topics = append(topics, p.Topic)
			}
		}
		var err error
		if listed, err = adm.ListOffsetsAfterMilli(ctx, to.millis, topics...); err != nil {
			return nil, fmt.Errorf("list offsets at %s: %w", to, err)
		}
	}
	moves := make([]Move, 0, len(parts))
	for _, p := range parts {
		m := Move{Partition: p}
		switch to.kind {
		case "earliest":
			m.To = p.Start
		case "latest":
			m.To = p.End
		case "timestamp":
			l, ok := listed.Lookup(p.Topic, p.Partition)
			if !ok || l.Err != nil {
				return nil, fmt.Errorf("topic %s partition %d: no offset at %s: %v", p.Topic, p.Partition, to, l.Err)
			}
			m.To = l.Offset
			if l.Offset < 0 || l.Offset >= p.End {
				m.To, m.Note = p.End, "no record at or after the time: the end"
			}
		case "offset":
			m.To = to.offset
			switch {
			case to.offset < p.Start:
				m.To, m.Note = p.Start, fmt.Sprintf("%d is before the start", to.offset)
			case to.offset > p.End:
				m.To, m.Note = p.End, fmt.Sprintf("%d is past the end", to.offset)
			}
		default:
			return nil, fmt.Errorf("reset: no target")
		}
		moves = append(moves, m)
	}
	return moves, nil
}

// Execute commits moves for group after checking once more that the group
// has no member (an *ActiveError otherwise): a member would commit its
// own offsets over the reset.
func Execute(ctx context.Context, adm *kadm.Client, group string, moves []Move) error {
	g, err := Describe(ctx, adm, group)
	if err != nil {
		return err
	}
	if g.Active() {
		return &ActiveError{Group: g}
	}
	os := make(kadm.Offsets)
	for _, m := range moves {
		os.Add(kadm.Offset{Topic: m.Topic, Partition: m.Partition.Partition, At: m.To, LeaderEpoch: -1})
	}
	resp, err := adm.CommitOffsets(ctx, group, os)
	if err != nil {
		return fmt.Errorf("commit offsets of group %s: %w", group, err)
	}
	var errs []string
	resp.Each(func(r kadm.OffsetResponse) {
		if r.Err != nil {
			errs = append(errs, fmt.Sprintf("topic %s partition %d: %v", r.Topic, r.Partition, r.Err))
		}
	})
	if len(errs) > 0 {
		return fmt.Errorf("commit offsets of group %s: %s", group, strings.Join(errs, "; "))
	}
	return nil
}
