package status

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// fakeSource is a worker's view, set by the test.
type fakeSource struct {
	mu sync.Mutex
	m  Member
}

func (f *fakeSource) Status() Member {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := f.m
	m.Tables = append([]Table(nil), f.m.Tables...)
	for i := range m.Tables {
		m.Tables[i].Partitions = append([]Partition(nil), f.m.Tables[i].Partitions...)
	}
	return m
}

const (
	testGroup = "starsink"
	testTopic = "pg.public.orders"
)

// groupCluster starts a kfake cluster with testTopic (two partitions, five
// records in each), a member of testGroup that has joined and committed
// offset 3 on partition 0 only, and an admin client. The member's id is
// returned.
func groupCluster(t *testing.T) (*kadm.Client, string) {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, testTopic))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	prod, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	for p := int32(0); p < 2; p++ {
		for i := 0; i < 5; i++ {
			if err := prod.ProduceSync(ctx, &kgo.Record{Topic: testTopic, Partition: p, Value: []byte("{}")}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
	}

	member, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.ConsumerGroup(testGroup),
		kgo.ConsumeTopics(testTopic), kgo.ClientID("starsink-a"), kgo.DisableAutoCommit())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(member.Close)
	for n := 0; n < 10; {
		fs := member.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			t.Fatal(err)
		}
		n += fs.NumRecords()
	}
	var commitErr error
	member.CommitOffsetsSync(ctx, map[string]map[int32]kgo.EpochOffset{testTopic: {0: {Epoch: -1, Offset: 3}}},
		func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
			if err == nil {
				for _, t := range resp.Topics {
					for _, p := range t.Partitions {
						if p.ErrorCode != 0 {
							err = kerr.ErrorForCode(p.ErrorCode)
						}
					}
				}
			}
			commitErr = err
		})
	if commitErr != nil {
		t.Fatal(commitErr)
	}
	id, _ := member.GroupMetadata()

	admCl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(admCl.Close)
	return kadm.NewClient(admCl), id
}

// view is a worker's view with one table on testTopic and one failed
// table.
func view(memberID string) Member {
	return Member{
		Group: testGroup, MemberID: memberID, Generation: 1,
		Assigned: []TopicPartitions{{Topic: testTopic, Partitions: []int32{0, 1}}},
		Tables: []Table{
			{
				Name: "shop.orders", State: StateLoading,
				Partitions:    []Partition{{Topic: testTopic, Partition: 1, Committed: -1, End: 5, Lag: 5}, {Topic: testTopic, Partition: 0, Committed: 2, End: 4, Lag: 2}},
				RowsPerSecond: 1250.5,
				LastLoad: &Load{Label: "starsink-shop-orders-pg_public_orders-0-0-2", Rows: 3, DurationSeconds: 0.042,
					Status: "Success", At: time.Date(2026, 11, 30, 1, 0, 0, 0, time.UTC)},
				Retries: 2,
			},
			{
				Name: "shop.items", State: StateFailed, Reason: "stream load: Fail: column count mismatch",
				Partitions:   []Partition{},
				DeadLettered: 7,
				LastError: &Error{Message: `decode: field "price": not a decimal`, Topic: "pg.public.items", Partition: 3, Offset: 1234,
					At: time.Date(2026, 11, 30, 1, 0, 1, 0, time.UTC)},
			},
		},
		Time: time.Date(2026, 11, 30, 1, 0, 2, 0, time.UTC),
	}
}

func TestStatusJSONCompletesTheWorkersViewFromKafka(t *testing.T) {
	adm, id := groupCluster(t)
	now := time.Date(2026, 11, 30, 1, 0, 2, 0, time.UTC)
	fresh := NewFreshness(noRegistry{}, func() time.Time { return now })
	fresh.Loaded("shop.orders", now, SourceTimes{Oldest: now.Add(-20 * time.Second).UnixMilli(), Newest: now.Add(-12 * time.Second).UnixMilli()})
	h := &Handler{Source: &fakeSource{m: view(id)}, Admin: adm, Freshness: fresh}
	mux := http.NewServeMux()
	h.Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/status")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q", ct)
	}
	var m Member
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	if m.GroupError != "" {
		t.Fatalf("group error: %s", m.GroupError)
	}
	if len(m.Members) != 1 || m.Members[0].MemberID != id || m.Members[0].ClientID != "starsink-a" ||
		len(m.Members[0].Assigned) != 1 || len(m.Members[0].Assigned[0].Partitions) != 2 {
		t.Fatalf("members %+v, want the one member with both partitions", m.Members)
	}
	if m.GroupState != "Stable" {
		t.Errorf("group state %q, want Stable", m.GroupState)
	}
	if m.Tables[0].Name != "shop.items" || m.Tables[1].Name != "shop.orders" {
		t.Fatalf("tables not sorted by name: %s, %s", m.Tables[0].Name, m.Tables[1].Name)
	}
	orders := m.Tables[1]
	want := []Partition{
		{Topic: testTopic, Partition: 0, Committed: 3, End: 5, Lag: 2},  // Kafka's commit replaces the worker's
		{Topic: testTopic, Partition: 1, Committed: -1, End: 5, Lag: 5}, // no commit: the worker's lag stays
	}
	for i, p := range want {
		if orders.Partitions[i] != p {
			t.Errorf("partition %d: %+v, want %+v", i, orders.Partitions[i], p)
		}
	}
	if orders.LagRecords != 7 || orders.LagSeconds != 12 {
		t.Errorf("lag %d records %v s, want 7 records 12 s", orders.LagRecords, orders.LagSeconds)
	}
	items := m.Tables[0]
	if items.State != StateFailed || items.LastError.Offset != 1234 || items.LagSeconds != 0 {
		t.Errorf("failed table: %+v", items)
	}
}

func TestStatusJSONSaysWhyKafkaDidNotAnswer(t *testing.T) {
	cl, err := kgo.NewClient(kgo.SeedBrokers("127.0.0.1:1"), kgo.RetryTimeout(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	h := &Handler{Source: &fakeSource{m: view("m-1")}, Admin: kadm.NewClient(cl), Timeout: 500 * time.Millisecond}
	m := h.Snapshot(context.Background())
	if m.GroupError == "" {
		t.Fatal("no group error with Kafka unreachable")
	}
	if m.Members == nil || m.Tables[1].LagRecords != 7 {
		t.Fatalf("the worker's view is still served: members %v, lag %d", m.Members, m.Tables[1].LagRecords)
	}
}

func TestStatusPageIsSelfContained(t *testing.T) {
	h := &Handler{Source: &fakeSource{m: view("m-1")}}
	mux := http.NewServeMux()
	h.Register(mux)
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	body := rec.Body.String()
	if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("GET /: %d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
	for _, bad := range []string{"http://", "https://", "<link", "src="} {
		if strings.Contains(body, bad) {
			t.Errorf("the page refers to %q: it must load nothing from elsewhere", bad)
		}
	}
	rec = httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/nothing", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("GET /nothing: %d, want 404 (the page is / only)", rec.Code)
	}
}

func TestStatusSharesOneKafkaAnswerForCacheFor(t *testing.T) {
	adm, id := groupCluster(t)
	ctx := context.Background()
	tests := []struct {
		name     string
		cacheFor time.Duration
	}{
		{"cached", time.Hour},
		{"not cached", -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := &fakeSource{m: view(id)}
			h := &Handler{Source: src, Admin: adm, CacheFor: tt.cacheFor}
			snap := func() {
				t.Helper()
				if m := h.Snapshot(ctx); m.GroupError != "" {
					t.Fatal(m.GroupError)
				}
			}
			snap()
			kept := h.cached
			snap()
			if reused := h.cached == kept; reused != (tt.cacheFor > 0) {
				t.Errorf("answer reused: %v, want %v", reused, tt.cacheFor > 0)
			}
			// Other topics are another question, whatever CacheFor says.
			src.mu.Lock()
			src.m.Tables[0].Partitions = nil
			src.mu.Unlock()
			kept = h.cached
			snap()
			if h.cached == kept {
				t.Error("an answer about other topics was reused")
			}
		})
	}
}
