package offsets

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

const topic = "shop.public.orders"

func cluster(t *testing.T) (*kfake.Cluster, *kadm.Client) {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, topic))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	for p := int32(0); p < 2; p++ {
		r := &kgo.Record{Topic: topic, Partition: p, Value: []byte("{}")}
		if err := cl.ProduceSync(context.Background(), r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	return c, kadm.NewClient(cl)
}

// join starts a member of group with opts and returns once it has
// fetched a record (it has been assigned partitions).
func join(t *testing.T, c *kfake.Cluster, group, clientID string, opts ...kgo.Opt) {
	t.Helper()
	opts = append([]kgo.Opt{kgo.SeedBrokers(c.ListenAddrs()...), kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic),
		kgo.ClientID(clientID), kgo.DisableAutoCommit()}, opts...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for n := 0; n == 0; {
		fs := cl.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			t.Fatalf("join: %v", err)
		}
		n = fs.NumRecords()
	}
}

func TestDescribeAGroupKafkaDoesNotKnowIsDeadAndEmpty(t *testing.T) {
	_, adm := cluster(t)
	g, err := Describe(context.Background(), adm, "never-seen")
	if err != nil {
		t.Fatal(err)
	}
	if g.State != "Dead" || g.Active() {
		t.Fatalf("got %+v, want Dead with no members", g)
	}
}

func TestDescribeListsMembersOfEitherProtocol(t *testing.T) {
	tests := []struct {
		name     string
		opts     []kgo.Opt
		protocol string
	}{
		{"classic", nil, "classic"},
		{"consumer (KIP-848)", []kgo.Opt{kgo.ServerSideBalancer()}, "consumer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, adm := cluster(t)
			join(t, c, "g", "worker-1", tt.opts...)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			var g Group
			for {
				var err error
				if g, err = Describe(ctx, adm, "g"); err != nil {
					t.Fatal(err)
				}
				// The assignment shows once the group has settled.
				if len(g.Members) == 1 && len(g.Members[0].Assigned) == 1 || ctx.Err() != nil {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			if !g.Active() || g.Protocol != tt.protocol || g.Members[0].ClientID != "worker-1" {
				t.Fatalf("got %+v, want one %s member worker-1", g, tt.protocol)
			}
			// kfake's ConsumerGroupDescribe gives topic IDs without
			// names (Kafka gives both), so the name is not checked there.
			if a := g.Members[0].Assigned; len(a) != 1 || (a[0].Topic != topic && tt.protocol == "classic") || len(a[0].Partitions) != 2 {
				t.Fatalf("assigned %+v, want both partitions of %s", a, topic)
			}
			err := (&ActiveError{Group: g}).Error()
			for _, want := range []string{"1 active member(s)", "client worker-1"} {
				if !strings.Contains(err, want) {
					t.Errorf("ActiveError %q lacks %q", err, want)
				}
			}
		})
	}
}
