package ddl

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/starsink/starsink/config"
	"github.com/starsink/starsink/emulator"
	"github.com/starsink/starsink/internal/subway"
	"github.com/starsink/starsink/mapping"
	"github.com/starsink/starsink/streamload"
)

// stack is kfake and the emulator with the reference database.
type stack struct {
	brokers []string
	emu     *emulator.Server
	cat     *streamload.Catalog
}

func newStack(t *testing.T, topics ...string) *stack {
	t.Helper()
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, topics...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	emu, err := emulator.Start(emulator.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { emu.Close() })
	ctx := context.Background()
	if err := emu.Exec(ctx, "CREATE DATABASE subway; USE subway"); err != nil {
		t.Fatal(err)
	}
	for _, q := range subway.StarRocksDDL {
		if err := emu.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	cat, err := streamload.NewCatalog(streamload.CatalogConfig{Addr: emu.MySQLAddr(), User: "root", TTL: time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cat.Close() })
	return &stack{brokers: cluster.ListenAddrs(), emu: emu, cat: cat}
}

func (s *stack) produce(t *testing.T, recs ...*kgo.Record) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(s.brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

func (s *stack) planner(t *testing.T, m config.Mapping) *Planner {
	t.Helper()
	mp, err := mapping.New(m, "subway")
	if err != nil {
		t.Fatal(err)
	}
	return &Planner{Dial: []kgo.Opt{kgo.SeedBrokers(s.brokers...)}, Catalog: s.cat, Mapper: mp, Mapping: m}
}

func file(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestPlannerReferenceTables plans the Seoul subway topic against the
// seed's tables through kfake and the emulator: the newest record with a
// value (a later tombstone and an older record aside) says the station
// names are PostgreSQL varchar(100), which the seed's VARCHAR(100) cannot
// hold in Korean: an error. A topic whose table is missing gets its DDL;
// excluded topics are not planned.
func TestPlannerReferenceTables(t *testing.T) {
	info := subway.Info.Topic()
	s := newStack(t, info, "dip.cdc.public.stations", "dip.cdc.transaction")
	key, value := file(t, "testdata/subway_info.key.json"), file(t, "testdata/subway_info.value.json")
	old := bytes.ReplaceAll(value, []byte(`"__debezium.source.column.length":"100"`), []byte(`"__debezium.source.column.length":"25"`))
	t0 := time.Now().Add(-time.Hour)
	s.produce(t,
		&kgo.Record{Topic: info, Partition: 1, Key: key, Value: old, Timestamp: t0},
		&kgo.Record{Topic: info, Partition: 0, Key: key, Value: value, Timestamp: t0.Add(time.Minute)},
		&kgo.Record{Topic: info, Partition: 0, Key: key, Timestamp: t0.Add(2 * time.Minute)}, // tombstone
		&kgo.Record{Topic: "dip.cdc.public.stations", Key: key, Value: value, Timestamp: t0},
		&kgo.Record{Topic: "dip.cdc.transaction", Value: []byte(`{"status":"BEGIN"}`)},
	)
	m := config.Default().Mapping
	m.Template = "{table}"
	m.TableProperties = map[string]string{"replication_num": "1"}
	k := config.Default().Kafka
	k.TopicRegex = []string{`^dip\.cdc\..*`}
	plans, err := s.planner(t, m).PlanAll(context.Background(), k)
	if err != nil {
		t.Fatal(err)
	}
	if len(plans) != 2 || plans[0].Topic != "dip.cdc.public.stations" || plans[1].Topic != info {
		t.Fatalf("planned %+v, want stations and %s", plans, info)
	}
	stations, ref := plans[0], plans[1]
	if ref.Error != "" || !ref.Exists || !ref.Failed() {
		t.Fatalf("%s: want an existing table with errors, got %+v", info, ref)
	}
	if d := find(ref.TablePlan, "station_name"); len(d) == 0 || d[0].Class != ClassError || !strings.Contains(d[0].Message, "needs up to 400") {
		t.Errorf("station_name: %+v, want an error needing 400 bytes", d)
	}
	if stations.Exists || len(stations.DDL) != 1 || !strings.Contains(stations.DDL[0].SQL, "`station_name` VARCHAR(400) NOT NULL") {
		t.Fatalf("stations: want the CREATE TABLE of a missing table, got %+v", stations)
	}
	// The emulator takes the DDL, and the table then holds the source.
	if err := s.emu.Exec(context.Background(), "USE subway; "+stations.DDL[0].SQL); err != nil {
		t.Fatalf("emulator refused the DDL: %v\n%s", err, stations.DDL[0].SQL)
	}
	again := s.planner(t, m).PlanTopic(context.Background(), "dip.cdc.public.stations")
	if again.Failed() || !again.Exists || len(again.DDL) != 0 {
		t.Errorf("after CREATE TABLE: %+v", again)
	}

	var text, js bytes.Buffer
	if err := WriteText(&text, plans); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{info + " → subway.subway_info_copy (exists)", "  error    station_name", "needs up to 400", "CREATE TABLE IF NOT EXISTS `subway`.`stations`"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text output lacks %q:\n%s", want, text.String())
		}
	}
	if err := WriteJSON(&js, plans); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Topics []struct {
			Topic       string       `json:"topic"`
			Exists      bool         `json:"exists"`
			DDL         []Change     `json:"ddl"`
			Differences []Difference `json:"differences"`
		} `json:"topics"`
		Errors int `json:"errors"`
	}
	if err := json.Unmarshal(js.Bytes(), &doc); err != nil {
		t.Fatalf("%v\n%s", err, js.String())
	}
	if doc.Errors != 2 || len(doc.Topics) != 2 || !doc.Topics[1].Exists || len(doc.Topics[0].DDL) != 1 {
		t.Errorf("JSON output: %+v", doc)
	}
}

// TestPlannerTopicErrors: an unmapped topic, a listed topic that does not
// exist and an empty topic are reported, not skipped.
func TestPlannerTopicErrors(t *testing.T) {
	s := newStack(t, "a.b.empty", "other")
	m := config.Default().Mapping
	m.Topic2Table = map[string]string{"a.b.empty": "subway_info_copy"}
	k := config.Default().Kafka
	k.Topics = []string{"a.b.empty", "other", "gone"}
	plans, err := s.planner(t, m).PlanAll(context.Background(), k)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]TopicPlan{}
	for _, p := range plans {
		got[p.Topic] = p
	}
	if p := got["a.b.empty"]; p.TablePlan == nil || len(p.Unknown) == 0 || p.Failed() {
		t.Errorf("empty topic: %+v", p)
	}
	if p := got["other"]; !strings.Contains(p.Error, "no StarRocks table") {
		t.Errorf("unmapped topic: %+v", p)
	}
	if p := got["gone"]; p.Error != "topic does not exist" {
		t.Errorf("missing topic: %+v", p)
	}
}
