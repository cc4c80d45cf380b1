package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

const (
	ordersTopic = "shop.public.orders"
	itemsTopic  = "shop.public.items"
	offsetGroup = "starsink-offsets"
)

// base is the timestamp of the first record of each partition; record i
// is i minutes later.
var base = time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)

// offsetsCluster seeds ordersTopic (two partitions) and itemsTopic (one),
// ten records per partition a minute apart, commits offsetGroup at 6 and 8
// on the orders partitions and nothing on items, and writes a
// configuration for them. It returns the configuration's path and an
// admin client.
func offsetsCluster(t *testing.T) (string, *kadm.Client, []string) {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, ordersTopic), kfake.SeedTopics(1, itemsTopic))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	addrs := c.ListenAddrs()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	ctx := context.Background()
	for _, tp := range []struct {
		topic string
		part  int32
	}{{ordersTopic, 0}, {ordersTopic, 1}, {itemsTopic, 0}} {
		for i := 0; i < 10; i++ {
			r := &kgo.Record{Topic: tp.topic, Partition: tp.part, Value: []byte("{}"), Timestamp: base.Add(time.Duration(i) * time.Minute)}
			if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
	}
	adm := kadm.NewClient(cl)
	os := kadm.Offsets{}
	os.Add(kadm.Offset{Topic: ordersTopic, Partition: 0, At: 6, LeaderEpoch: -1})
	os.Add(kadm.Offset{Topic: ordersTopic, Partition: 1, At: 8, LeaderEpoch: -1})
	if err := adm.CommitAllOffsets(ctx, offsetGroup, os); err != nil {
		t.Fatal(err)
	}
	path := writeConfig(t, addrs)
	return path, adm, addrs
}

func writeConfig(t *testing.T, addrs []string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "starsink.yaml")
	cfg := fmt.Sprintf(`kafka:
  brokers: [%s]
  group_id: %s
  topic_regex: ['^shop\.public\..*']
starrocks:
  load_urls: ["http://fe:8030"]
  database: shop
mapping:
  template: "{table}"
`, strings.Join(addrs, ","), offsetGroup)
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// committed returns offsetGroup's committed offsets, topic/partition → offset.
func committed(t *testing.T, adm *kadm.Client) map[string]int64 {
	t.Helper()
	resp, err := adm.FetchOffsets(context.Background(), offsetGroup)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	resp.Each(func(o kadm.OffsetResponse) { out[fmt.Sprintf("%s/%d", o.Topic, o.Partition)] = o.At })
	return out
}

func offsetsRun(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := realMain(append([]string{"offsets"}, args...), strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

// fields returns the whitespace-separated fields of the output line that
// starts with prefix (after leading spaces), or nil.
func fields(out, prefix string) []string {
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) > 0 && strings.HasPrefix(strings.Join(f, " "), prefix) {
			return f
		}
	}
	return nil
}

func TestOffsetsShowListsCommittedEndAndLagWithTheTable(t *testing.T) {
	path, _, _ := offsetsCluster(t)
	tests := []struct {
		name  string
		args  []string
		want  [][]string // full rows
		wantN int        // partition rows
	}{
		{"all", []string{"show", "--config", path}, [][]string{
			{ordersTopic, "0", "shop.orders", "6", "0", "10", "4"},
			{ordersTopic, "1", "shop.orders", "8", "0", "10", "2"},
			{itemsTopic, "0", "shop.items", "-", "0", "10", "-"},
		}, 3},
		{"one table by bare name", []string{"show", "--config", path, "--table", "items"}, [][]string{
			{itemsTopic, "0", "shop.items", "-", "0", "10", "-"},
		}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := offsetsRun(tt.args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			if !strings.Contains(out, "group "+offsetGroup+": Empty, 0 member(s)") {
				t.Errorf("no group line:\n%s", out)
			}
			for _, w := range tt.want {
				if got := fields(out, w[0]+" "+w[1]); strings.Join(got, " ") != strings.Join(w, " ") {
					t.Errorf("row %v, want %v\n%s", got, w, out)
				}
			}
			if n := strings.Count(out, "shop.public."); n != tt.wantN {
				t.Errorf("%d partition rows, want %d:\n%s", n, tt.wantN, out)
			}
		})
	}
}

func TestOffsetsResetMovesOnlyTheTablesPartitionsAndOnlyWithExecute(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    map[string]int64 // committed afterwards
		outPart string
	}{
		{"dry run by default", []string{"--to-earliest"},
			map[string]int64{ordersTopic + "/0": 6, ordersTopic + "/1": 8}, "dry run: group starsink-offsets not changed"},
		{"earliest", []string{"--to-earliest", "--execute"},
			map[string]int64{ordersTopic + "/0": 0, ordersTopic + "/1": 0}, "2 partition(s) of shop.orders reset to earliest"},
		{"latest", []string{"--to-latest", "--execute"},
			map[string]int64{ordersTopic + "/0": 10, ordersTopic + "/1": 10}, "reset to latest"},
		{"offset", []string{"--to-offset", "3", "--execute"},
			map[string]int64{ordersTopic + "/0": 3, ordersTopic + "/1": 3}, "reset to offset 3"},
		{"offset past the end is the end", []string{"--to-offset", "100", "--execute"},
			map[string]int64{ordersTopic + "/0": 10, ordersTopic + "/1": 10}, "100 is past the end"},
		{"timestamp", []string{"--to-timestamp", base.Add(4*time.Minute + time.Second).Format(time.RFC3339), "--execute"},
			map[string]int64{ordersTopic + "/0": 5, ordersTopic + "/1": 5}, "reset to timestamp 2026-11-30T00:04:01Z"},
		{"timestamp after the last record is the end", []string{"--to-timestamp", base.Add(time.Hour).Format(time.RFC3339), "--execute"},
			map[string]int64{ordersTopic + "/0": 10, ordersTopic + "/1": 10}, "no record at or after the time"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path, adm, _ := offsetsCluster(t)
			code, out, errs := offsetsRun(append([]string{"reset", "--config", path, "--table", "shop.orders"}, tt.args...)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			if !strings.Contains(out, tt.outPart) {
				t.Errorf("output lacks %q:\n%s", tt.outPart, out)
			}
			got := committed(t, adm)
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("%s committed at %d, want %d", k, got[k], v)
				}
			}
			if _, ok := got[itemsTopic+"/0"]; ok {
				t.Errorf("items got a commit: %v", got)
			}
		})
	}
}

func TestOffsetsResetRefusesWhileTheGroupHasMembers(t *testing.T) {
	path, adm, addrs := offsetsCluster(t)
	member, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.ConsumerGroup(offsetGroup),
		kgo.ConsumeTopics(ordersTopic), kgo.ClientID("worker-7"), kgo.DisableAutoCommit())
	if err != nil {
		t.Fatal(err)
	}
	defer member.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for n := 0; n == 0; { // joined once it fetches
		fs := member.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			t.Fatal(err)
		}
		n = fs.NumRecords()
	}
	for _, args := range [][]string{{"--to-earliest"}, {"--to-earliest", "--execute"}} {
		code, _, errs := offsetsRun(append([]string{"reset", "--config", path, "--table", "shop.orders"}, args...)...)
		if code != 1 || !strings.Contains(errs, "1 active member(s)") || !strings.Contains(errs, "client worker-7") {
			t.Errorf("%v: exit %d, stderr %q; want a refusal naming the member", args, code, errs)
		}
	}
	if got := committed(t, adm); got[ordersTopic+"/0"] != 6 || got[ordersTopic+"/1"] != 8 {
		t.Errorf("offsets moved under a member: %v", got)
	}
	// show works while members run, and lists them.
	code, out, errs := offsetsRun("show", "--config", path)
	if code != 0 || !strings.Contains(out, "client worker-7") || !strings.Contains(out, ordersTopic+" [0,1]") {
		t.Errorf("show: exit %d, stderr %q\n%s", code, errs, out)
	}
}

func TestOffsetsShowAGroupThatNeverCommitted(t *testing.T) {
	path, _, _ := offsetsCluster(t)
	code, out, errs := offsetsRun("show", "--config", path, "--kafka.group_id", "fresh")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if !strings.Contains(out, "group fresh: unknown to Kafka (nothing committed yet), 0 member(s)") {
		t.Errorf("group line:\n%s", out)
	}
	if got := fields(out, ordersTopic+" 1"); strings.Join(got, " ") != ordersTopic+" 1 shop.orders - 0 10 -" {
		t.Errorf("row %v\n%s", got, out)
	}
}

func TestOffsetsResetAGroupThatNeverCommitted(t *testing.T) {
	path, adm, _ := offsetsCluster(t)
	code, out, errs := offsetsRun("reset", "--config", path, "--kafka.group_id", "fresh", "--table", "shop.items", "--to-offset", "2", "--execute")
	if code != 0 {
		t.Fatalf("exit %d: %s\n%s", code, errs, out)
	}
	resp, err := adm.FetchOffsets(context.Background(), "fresh")
	if err != nil {
		t.Fatal(err)
	}
	if o, ok := resp.Lookup(itemsTopic, 0); !ok || o.At != 2 {
		t.Fatalf("fresh committed %+v, want 2 on %s/0", o, itemsTopic)
	}
}

func TestOffsetsUsageErrors(t *testing.T) {
	tests := []struct {
		name, stderr string
		args         []string
	}{
		{"no subcommand", "want show or reset", nil},
		{"unknown subcommand", "want show or reset", []string{"rewind"}},
		{"reset without table", "reset needs --table", []string{"reset", "--to-earliest"}},
		{"reset without target", "exactly one of", []string{"reset", "--table", "t"}},
		{"reset with two targets", "exactly one of", []string{"reset", "--table", "t", "--to-earliest", "--to-latest"}},
		{"bad timestamp", "want RFC 3339", []string{"reset", "--table", "t", "--to-timestamp", "yesterday"}},
		{"negative offset", "want 0 or more", []string{"reset", "--table", "t", "--to-offset", "-5"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errs := offsetsRun(tt.args...)
			if code != 2 || !strings.Contains(errs, tt.stderr) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, errs, tt.stderr)
			}
		})
	}
}

func TestOffsetsUnknownTableIsAnError(t *testing.T) {
	path, _, _ := offsetsCluster(t)
	code, _, errs := offsetsRun("reset", "--config", path, "--table", "shop.nothing", "--to-earliest")
	if code != 1 || !strings.Contains(errs, "table shop.nothing: no partition") {
		t.Errorf("exit %d, stderr %q", code, errs)
	}
}
