// Package offsets reads and moves a consumer group's committed offsets
// with Kafka's admin API (franz-go's kadm), the way Kafka's
// kafka-consumer-groups tool does: show committed, end and lag per
// partition, and reset a table's partitions to the earliest or latest
// offset, a time or an offset, only while the group has no active member.
package offsets

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/twmb/franz-go/pkg/kadm"
)

// TopicPartitions is a topic and some of its partitions, sorted.
type TopicPartitions struct {
	Topic      string  `json:"topic"`
	Partitions []int32 `json:"partitions"`
}

// Member is one member of a consumer group as Kafka describes it.
type Member struct {
	MemberID   string            `json:"member_id"`
	InstanceID string            `json:"instance_id,omitempty"`
	ClientID   string            `json:"client_id"`
	Host       string            `json:"host"`
	Assigned   []TopicPartitions `json:"assigned"`
}

// Group is a consumer group as Kafka describes it.
type Group struct {
	Name string `json:"name"`
	// State is Kafka's: Empty, Stable, PreparingRebalance,
	// CompletingRebalance, Assigning, Reconciling; Dead when Kafka does
	// not know the group.
	State    string   `json:"state"`
	Protocol string   `json:"protocol"` // classic or consumer (KIP-848)
	Members  []Member `json:"members"`
}

// Active reports whether the group has members: offsets must not be
// reset under them (they would commit over the reset).
func (g Group) Active() bool { return len(g.Members) > 0 }

// Describe describes group, with the classic protocol's DescribeGroups
// and, for a group Kafka runs with KIP-848's consumer protocol, its
// ConsumerGroupDescribe.
func Describe(ctx context.Context, adm *kadm.Client, group string) (Group, error) {
	g := Group{Name: group, Protocol: "classic"}
	described, err := adm.DescribeGroups(ctx, group)
	if err != nil {
		return g, fmt.Errorf("describe group %s: %w", group, err)
	}
	d, ok := described[group]
	if !ok {
		return g, fmt.Errorf("describe group %s: not in the answer", group)
	}
	if d.Err != nil {
		return g, fmt.Errorf("describe group %s: %w", group, d.Err)
	}
	g.State = d.State
	if d.ProtocolType == "consumer" && d.State != "Dead" || d.State != "Dead" && len(d.Members) > 0 {
		for _, m := range d.Members {
			mem := Member{MemberID: m.MemberID, ClientID: m.ClientID, Host: m.ClientHost}
			if m.InstanceID != nil {
				mem.InstanceID = *m.InstanceID
			}
			if a, ok := m.Assigned.AsConsumer(); ok {
				set := kadm.TopicsSet{}
				for _, t := range a.Topics {
					set.Add(t.Topic, t.Partitions...)
				}
				mem.Assigned = list(set)
			}
			g.Members = append(g.Members, mem)
		}
		return g, nil
	}
	// A group of the consumer protocol is unknown to DescribeGroups on
	// some brokers, or described without its members: ask the KIP-848 API.
	cd, err := adm.DescribeConsumerGroups(ctx, group)
	if err != nil {
		return g, nil // a broker without KIP-848: the classic answer stands
	}
	c, ok := cd[group]
	if !ok || c.Err != nil || c.State == "" || c.State == "Dead" {
		return g, nil
	}
	g.State, g.Protocol = c.State, "consumer"
	for _, m := range c.Members {
		mem := Member{MemberID: m.MemberID, ClientID: m.ClientID, Host: m.ClientHost, Assigned: list(m.Assignment)}
		if m.InstanceID != nil {
			mem.InstanceID = *m.InstanceID
		}
		g.Members = append(g.Members, mem)
	}
	return g, nil
}

// list returns s sorted by topic and partition.
func list(s kadm.TopicsSet) []TopicPartitions {
	out := make([]TopicPartitions, 0, len(s))
	s.EachPartitions(func(t string, ps []int32) {
		ps = append([]int32(nil), ps...)
		sort.Slice(ps, func(i, j int) bool { return ps[i] < ps[j] })
		out = append(out, TopicPartitions{Topic: t, Partitions: ps})
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Topic < out[j].Topic })
	return out
}

// ActiveError refuses a reset while the group has members.
type ActiveError struct {
	Group Group
}

func (e *ActiveError) Error() string {
	msg := fmt.Sprintf("group %s has %d active member(s) (state %s); stop every worker of the group first:", e.Group.Name, len(e.Group.Members), e.Group.State)
	for _, m := range e.Group.Members {
		msg += fmt.Sprintf(" %s (client %s, host %s)", m.MemberID, m.ClientID, m.Host)
	}
	return msg
}

// ErrNoPartitions is returned when a table maps no topic partition.
var ErrNoPartitions = errors.New("no partition")
