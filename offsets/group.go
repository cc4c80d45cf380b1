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
	"github.com/twmb/franz-go/pkg/kerr"
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

// Describe describes group with the classic protocol's DescribeGroups
// and, when that does not find it with members, KIP-848's
// ConsumerGroupDescribe: a group running the consumer protocol is unknown
// to DescribeGroups on Kafka 4 (GROUP_ID_NOT_FOUND, "not a classic
// group"). A group neither knows is Dead with no members, not an error: a
// group that never committed.
func Describe(ctx context.Context, adm *kadm.Client, group string) (Group, error) {
	g := Group{Name: group, State: "Dead", Protocol: "classic"}
	classicErr := describeClassic(ctx, adm, &g)
	if classicErr == nil && len(g.Members) > 0 {
		return g, nil
	}
	// No classic member: the group is empty, unknown, or runs the
	// consumer protocol, which some brokers describe here as a memberless
	// group.
	if describeConsumer(ctx, adm, &g) {
		return g, nil
	}
	if classicErr != nil && !errors.Is(classicErr, kerr.GroupIDNotFound) {
		return g, fmt.Errorf("describe group %s: %w", group, classicErr)
	}
	return g, nil
}

// describeClassic fills g from DescribeGroups.
func describeClassic(ctx context.Context, adm *kadm.Client, g *Group) error {
	described, err := adm.DescribeGroups(ctx, g.Name)
	if err != nil {
		return err
	}
	d, ok := described[g.Name]
	if !ok {
		return errors.New("not in the answer")
	}
	if d.Err != nil {
		return d.Err
	}
	if d.State != "" {
		g.State = d.State
	}
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
	return nil
}

// describeConsumer fills g from ConsumerGroupDescribe and reports whether
// Kafka knows the group there. A broker without KIP-848 answers an error,
// which means no.
func describeConsumer(ctx context.Context, adm *kadm.Client, g *Group) bool {
	cd, err := adm.DescribeConsumerGroups(ctx, g.Name)
	if err != nil {
		return false
	}
	c, ok := cd[g.Name]
	if !ok || c.Err != nil || c.State == "" || c.State == "Dead" || c.State == "Empty" && len(c.Members) == 0 {
		return false
	}
	g.State, g.Protocol, g.Members = c.State, "consumer", nil
	for _, m := range c.Members {
		mem := Member{MemberID: m.MemberID, ClientID: m.ClientID, Host: m.ClientHost, Assigned: list(m.Assignment)}
		if m.InstanceID != nil {
			mem.InstanceID = *m.InstanceID
		}
		g.Members = append(g.Members, mem)
	}
	return true
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
