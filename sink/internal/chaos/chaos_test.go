package chaos

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/starsink/starsink/debezium"
	"github.com/starsink/starsink/emulator"
)

func stream(seed int64, changes int) (*Generator, []Event) {
	g := NewGenerator(seed, Tables(), 3)
	evs := g.Snapshot(5)
	for range changes {
		evs = append(evs, g.Next()...)
	}
	return g, evs
}

func TestGeneratorIsReproducible(t *testing.T) {
	_, a := stream(42, 300)
	_, b := stream(42, 300)
	_, c := stream(43, 300)
	if len(a) != len(b) {
		t.Fatalf("same seed: %d and %d events", len(a), len(b))
	}
	for i := range a {
		if !bytes.Equal(a[i].Key, b[i].Key) || !bytes.Equal(a[i].Value, b[i].Value) || a[i].Partition != b[i].Partition {
			t.Fatalf("same seed: event %d differs", i)
		}
	}
	same := len(a) == len(c)
	for i := 0; same && i < len(a); i++ {
		same = bytes.Equal(a[i].Value, c[i].Value)
	}
	if same {
		t.Error("seeds 42 and 43 gave the same stream")
	}
}

// TestGeneratorCoversEveryChange: a stream has every kind of record, hot
// keys, key changes and re-inserts; LSNs grow and each image's seq is its
// LSN; a key's records all go to one partition.
func TestGeneratorCoversEveryChange(t *testing.T) {
	_, evs := stream(7, 600)
	ops := map[Op]int{}
	perKey := map[string]int{}
	part := map[string]int32{}
	var lsn int64
	reinserts := 0
	deleted := map[string]bool{}
	for _, ev := range evs {
		ops[ev.Op]++
		if ev.Op == OpTombstone {
			if ev.Value != nil {
				t.Errorf("tombstone of %s has a value", ev.KeyID)
			}
			continue
		}
		if ev.LSN < lsn && ev.Op != OpRead {
			t.Fatalf("lsn went back from %d to %d", lsn, ev.LSN)
		}
		lsn = ev.LSN
		k := fmt.Sprint(ev.Table, "/", ev.KeyID)
		perKey[k]++
		if p, ok := part[k]; ok && p != ev.Partition {
			t.Errorf("key %s in partitions %d and %d", k, p, ev.Partition)
		}
		part[k] = ev.Partition
		if ev.Image != nil && Tables()[ev.Table].SeqOf(ev.Image) != ev.LSN {
			t.Errorf("key %s: image seq %d, lsn %d", k, Tables()[ev.Table].SeqOf(ev.Image), ev.LSN)
		}
		if ev.Op == OpCreate && deleted[k] {
			reinserts++
		}
		deleted[k] = ev.Op == OpDelete
	}
	for _, op := range []Op{OpRead, OpCreate, OpUpdate, OpDelete, OpTombstone} {
		if ops[op] == 0 {
			t.Errorf("no %c record in 600 changes", op)
		}
	}
	if ops[OpDelete] != ops[OpTombstone] {
		t.Errorf("%d deletes, %d tombstones", ops[OpDelete], ops[OpTombstone])
	}
	hottest := 0
	for _, n := range perKey {
		hottest = max(hottest, n)
	}
	if hottest < 20 {
		t.Errorf("the hottest key changed %d times, want hot keys (≥ 20)", hottest)
	}
	if reinserts == 0 {
		t.Error("no deleted key was inserted again")
	}
}

// TestGeneratorEventsDecode: every record decodes, with starsink's decoder
// and the target's schema, to the image (or delete) the model holds.
func TestGeneratorEventsDecode(t *testing.T) {
	emu, err := emulator.Start(emulator.Config{NoMySQL: true})
	if err != nil {
		t.Fatal(err)
	}
	defer emu.Close()
	ctx := context.Background()
	if err := emu.Exec(ctx, "CREATE DATABASE chaos; USE chaos"); err != nil {
		t.Fatal(err)
	}
	tables := Tables()
	var decs []*debezium.Decoder
	for _, tb := range tables {
		if err := emu.Exec(ctx, tb.DDL); err != nil {
			t.Fatal(err)
		}
		def, err := emu.Schema("chaos", tb.Name)
		if err != nil {
			t.Fatal(err)
		}
		decs = append(decs, debezium.NewDecoder(def, debezium.Options{OpColumn: true, DecimalHandling: "precise"}))
	}
	_, evs := stream(3, 400)
	for i, ev := range evs {
		tb := tables[ev.Table]
		row, got, err := decs[ev.Table].Decode(&debezium.Record{Topic: ev.Topic, Partition: ev.Partition, Offset: int64(i), Key: ev.Key, Value: ev.Value}, nil)
		if err != nil {
			t.Fatalf("event %d (%c %s): %v", i, ev.Op, ev.KeyID, err)
		}
		switch ev.Op {
		case OpTombstone:
			if got.Op != debezium.OpSkip && got.Op != debezium.OpDelete {
				t.Errorf("tombstone decoded as %v", got.Op)
			}
			continue
		case OpDelete:
			if got.Op != debezium.OpDelete {
				t.Errorf("event %d: delete decoded as %v", i, got.Op)
			}
		}
		if ev.Op != OpDelete && ev.Op != OpRead && got.LSN != ev.LSN {
			t.Errorf("event %d: lsn %d, want %d", i, got.LSN, ev.LSN)
		}
		var m map[string]any
		d := json.NewDecoder(bytes.NewReader(row))
		d.UseNumber()
		if err := d.Decode(&m); err != nil {
			t.Fatalf("event %d: row %s: %v", i, row, err)
		}
		if ev.Op == OpDelete {
			if m["__op"] != json.Number("1") || tb.Key(rowOf(tb, m)) != ev.KeyID {
				t.Errorf("event %d: delete row %s, want key %s with __op 1", i, row, ev.KeyID)
			}
			continue
		}
		if r := rowOf(tb, m); !Equal(r, ev.Image) {
			t.Errorf("event %d: decoded %v, want %v (%s)", i, r, ev.Image, row)
		}
	}
}

// rowOf converts a decoded JSON row to the target's representation.
func rowOf(tb *Table, m map[string]any) Row {
	r := make(Row, len(tb.Columns))
	for i, c := range tb.Columns {
		switch v := m[c.Name].(type) {
		case json.Number:
			n, _ := v.Int64()
			r[i] = n
		default:
			r[i] = v
		}
	}
	return r
}

// apply plays evs onto a map the way a correct sink would.
func apply(m *Model, evs []Event, ti int) Target {
	tgt := Target{}
	for _, ev := range evs {
		if ev.Table != ti || ev.Op == OpTombstone {
			continue
		}
		if ev.Image == nil {
			delete(tgt, ev.KeyID)
		} else {
			tgt[ev.KeyID] = ev.Image
		}
	}
	return tgt
}

func TestModelFinalIsTheLastImage(t *testing.T) {
	_, evs := stream(11, 500)
	m := NewModel(Tables())
	for _, ev := range evs {
		m.Append(ev)
	}
	for ti := range m.Tables {
		diffs, _, _ := m.Diff(ti, apply(m, evs, ti))
		if len(diffs) > 0 {
			t.Errorf("table %d: %v", ti, diffs)
		}
	}
}

// partitionOf returns the records of tp in offset order.
func partitionOf(evs []Event, tp TP) []Event {
	var out []Event
	for _, ev := range evs {
		if ev.Topic == tp.Topic && ev.Partition == tp.Partition {
			out = append(out, ev)
		}
	}
	return out
}

func TestCheckCommit(t *testing.T) {
	_, evs := stream(5, 300)
	m := NewModel(Tables())
	for _, ev := range evs {
		m.Append(ev)
	}
	tp := TP{Tables()[0].Topic, 1}
	recs := partitionOf(evs, tp)
	loaded := func(n int) func(int) Target {
		return func(ti int) Target { return apply(m, recs[:n], ti) }
	}
	// The last upsert of the partition, to be taken back.
	lastUp := len(recs) - 1
	for recs[lastUp].Image == nil {
		lastUp--
	}
	reverted := func(ti int) Target {
		tgt := apply(m, recs, ti)
		k := recs[lastUp].KeyID
		vs := m.Versions(ti, k)
		if len(vs) > 1 && vs[len(vs)-2].Image != nil {
			tgt[k] = vs[len(vs)-2].Image
		} else {
			delete(tgt, k)
		}
		return tgt
	}
	n := int64(len(recs))
	for _, c := range []struct {
		name   string
		offset int64
		target func(int) Target
		want   string // "" for no error
	}{
		{"nothing committed", 0, loaded(0), ""},
		{"everything loaded", n, loaded(len(recs)), ""},
		{"ahead of the commit", n / 2, loaded(len(recs)), ""},
		{"exactly the commit", n / 2, loaded(int(n / 2)), ""},
		{"past what is loaded", n, loaded(int(n / 2)), "passes records not in the target"},
		{"a reverted key", n, reverted, "is not in the target"},
		{"past the end", n + 1, loaded(len(recs)), "past the end"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := m.CheckCommit(tp, c.offset, c.target)
			switch {
			case c.want == "" && err != nil:
				t.Errorf("CheckCommit = %v, want nil", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Errorf("CheckCommit = %v, want %q", err, c.want)
			}
		})
	}
}

// TestCheckCommitResurrected: a key the source deleted that the target
// holds with an older image is told apart from a key left behind.
func TestCheckCommitResurrected(t *testing.T) {
	tb := Tables()[0]
	m := NewModel([]*Table{tb})
	img := func(id, lsn int64) Row { return Row{id, "o", "1.00", lsn} }
	for _, ev := range []Event{
		{KeyID: "1", Op: OpCreate, LSN: 10, Image: img(1, 10)},
		{KeyID: "1", Op: OpDelete, LSN: 20},
		{KeyID: "2", Op: OpCreate, LSN: 30, Image: img(2, 30)},
	} {
		ev.Topic = tb.Topic
		m.Append(ev)
	}
	tp := TP{tb.Topic, 0}
	for _, c := range []struct {
		name             string
		tgt              Target
		wantErr, wantRes bool
	}{
		{"as the source", Target{"2": img(2, 30)}, false, false},
		{"deleted key back", Target{"1": img(1, 10), "2": img(2, 30)}, true, true},
		{"insert missing too", Target{"1": img(1, 10)}, true, false},
	} {
		res, err := m.CheckCommit(tp, 3, func(int) Target { return c.tgt })
		if (err != nil) != c.wantErr || res != c.wantRes {
			t.Errorf("%s: CheckCommit = %v, %v; want error %v, resurrected %v", c.name, res, err, c.wantErr, c.wantRes)
		}
	}
}

func TestWatch(t *testing.T) {
	tb := Tables()[0]
	m := NewModel([]*Table{tb})
	img := func(id, lsn int64) Row { return Row{id, "o", "1.00", lsn} }
	k := "1000"
	for _, ev := range []Event{
		{KeyID: k, Op: OpCreate, LSN: 10, Image: img(1000, 10)},
		{KeyID: k, Op: OpUpdate, LSN: 20, Image: img(1000, 20)},
		{KeyID: k, Op: OpDelete, LSN: 30},
		{KeyID: k, Op: OpCreate, LSN: 40, Image: img(1000, 40)},
		{KeyID: "7", Op: OpRead, LSN: snapshotBase + 5, Image: img(7, snapshotBase+5)},
		{KeyID: "7", Op: OpUpdate, LSN: 30, Image: img(7, 30)},
	} {
		ev.Topic = tb.Topic
		m.Append(ev)
	}
	for _, c := range []struct {
		name  string
		steps []Target
		kind  Kind // of the first finding
		want  string
	}{
		{"in order", []Target{{k: img(1000, 10)}, {k: img(1000, 20)}, {}, {k: img(1000, 40)}}, 0, ""},
		{"a snapshot image first", []Target{{"7": img(7, snapshotBase+5)}, {"7": img(7, 30)}}, 0, ""},
		{"skips images", []Target{{k: img(1000, 10)}, {k: img(1000, 40)}}, 0, ""},
		{"goes back", []Target{{k: img(1000, 20)}, {k: img(1000, 10)}}, Regressed, "went back"},
		{"back past a delete", []Target{{k: img(1000, 20)}, {}, {k: img(1000, 20)}}, DeleteOrder, "came back"},
		{"deleted after the last delete", []Target{{k: img(1000, 40)}, {}}, DeleteOrder, "disappeared"},
		{"never an image", []Target{{k: Row{int64(1000), "x", "1.00", int64(20)}}}, Phantom, "never an image"},
		{"replay after a stale delete", []Target{{k: img(1000, 40)}, {}, {k: img(1000, 10)}, {k: img(1000, 20)}}, DeleteOrder, "disappeared"},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := m.NewWatch(0)
			var fs []Finding
			for _, s := range c.steps {
				fs = append(fs, w.Observe(s)...)
			}
			switch {
			case c.want == "" && len(fs) > 0:
				t.Errorf("Observe = %v, want none", fs)
			case c.want != "" && (len(fs) == 0 || fs[0].Kind != c.kind || !strings.Contains(fs[0].Err.Error(), c.want)):
				t.Errorf("Observe = %v, want kind %d %q", fs, c.kind, c.want)
			}
		})
	}
}

func TestDiffCountsReverts(t *testing.T) {
	tb := Tables()[0]
	m := NewModel([]*Table{tb})
	img := func(id, lsn int64) Row { return Row{id, "o", "1.00", lsn} }
	for _, ev := range []Event{
		{KeyID: "1", Op: OpCreate, LSN: 10, Image: img(1, 10)},
		{KeyID: "1", Op: OpUpdate, LSN: 20, Image: img(1, 20)},
		{KeyID: "2", Op: OpCreate, LSN: 30, Image: img(2, 30)},
	} {
		ev.Topic = tb.Topic
		m.Append(ev)
	}
	m.Append(Event{Topic: tb.Topic, KeyID: "4", Op: OpCreate, LSN: 40, Image: img(4, 40)})
	m.Append(Event{Topic: tb.Topic, KeyID: "4", Op: OpDelete, LSN: 50})
	diffs, reverted, resurrected := m.Diff(0, Target{"1": img(1, 10), "2": Row{int64(2), "zz", "1.00", int64(30)}, "3": img(3, 50), "4": img(4, 40)})
	if len(diffs) != 4 || reverted != 2 || resurrected != 1 {
		t.Errorf("Diff = %v, %d reverted, %d resurrected; want 4 differences, 2 reverted, 1 resurrected", diffs, reverted, resurrected)
	}
}

func TestScheduleIsReproducible(t *testing.T) {
	a, b := NewSchedule(9, Options{}), NewSchedule(9, Options{})
	if a.String() != b.String() {
		t.Errorf("seed 9 gave\n%s\nand\n%s", a, b)
	}
	s := NewSchedule(9, Options{Faults: []Fault{Kill}, MaxSteps: 3, Changes: 100})
	if len(s.Steps) < 2 || len(s.Steps) > 3 || !s.Has(Kill) || s.Has(Join) || s.Changes != 100 {
		t.Errorf("options not honoured: %s", s)
	}
	for i := 1; i < len(s.Steps); i++ {
		if s.Steps[i].At < s.Steps[i-1].At {
			t.Errorf("steps out of order: %s", s)
		}
	}
}
