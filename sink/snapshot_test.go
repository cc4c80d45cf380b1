package sink

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/starsink/starsink/config"
	"github.com/starsink/starsink/emulator"
	"github.com/starsink/starsink/schema"
	"github.com/starsink/starsink/streamload"
)

// restartRig is a versioned table with snapshot_deletes_missing fed by a
// two-partition topic whose records it places by hand (key k in partition
// k%2, as Debezium's key hashing keeps every change of a key in one
// partition), read through a real catalog over the emulator's MySQL port.
type restartRig struct {
	*repairRig
	place      *kgo.Client
	cat        *streamload.Catalog
	partitions int32
}

const restartTopic = "dip.cdc.public.restart_t"

func newRestartRig(t *testing.T) *restartRig { return newRestartRigN(t, 2) }

func newRestartRigN(t *testing.T, partitions int32) *restartRig {
	t.Helper()
	h := newHarnessWith(t, emulator.Config{}, partitions, restartTopic)
	ddl := `CREATE TABLE restart_t (use_date VARCHAR(8) NOT NULL, line_no VARCHAR(100) NOT NULL, station_name VARCHAR(100) NOT NULL,
		pass_in DECIMAL(13,0), pass_out DECIMAL(13,0), reg_date VARCHAR(8) NOT NULL, _version BIGINT NOT NULL, _deleted BOOLEAN NOT NULL)
		DUPLICATE KEY(use_date, line_no, station_name) DISTRIBUTED BY HASH(use_date)` // reg_date NOT NULL: markers must carry it
	db := h.createTable(ddl)
	cat, err := streamload.NewCatalog(streamload.CatalogConfig{Addr: h.emu.MySQLAddr(), User: "root", TTL: time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cat.Close() })
	place, err := kgo.NewClient(kgo.SeedBrokers(h.cluster.ListenAddrs()...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(place.Close)
	h.topic = restartTopic
	h.cfg.Kafka.Topics = []string{restartTopic}
	h.cfg.Mapping.Tables = map[string]config.TableOptions{"restart_t": {Mode: "versioned", SnapshotDeletesMissing: true}}
	return &restartRig{repairRig: &repairRig{harness: h, table: "restart_t", db: db}, place: place, cat: cat, partitions: partitions}
}

// emit produces one raw envelope for key k (pass_in v) into partition
// k%partitions
// and keeps the source's rows; a snapshot row (op r) is the source's row
// at its snapshot's position.
func (r *restartRig) emit(op string, k int, v int64, source string) {
	r.t.Helper()
	key, val := r.change(op, k, v, source)
	rec := &kgo.Record{Topic: restartTopic, Partition: int32(k) % r.partitions, Key: key, Value: val}
	if err := r.place.ProduceSync(context.Background(), rec).FirstErr(); err != nil {
		r.t.Fatal(err)
	}
}

// fullSnapshot is the source of a full snapshot's row, as Debezium 2.6
// writes it (debezium/testdata/fixtures/snapshot-read.value.json): the
// snapshot's position in lsn, span first, true, last….
func fullSnapshot(lsn int64, span string) string {
	return fmt.Sprintf(`{"connector":"postgresql","snapshot":%q,"ts_ms":1,"lsn":%d,"sequence":"[null,\"%d\"]"}`, span, lsn, lsn)
}

// snapshotRun emits the rows of keys of one full snapshot at lsn: the
// first "first", the last "last" when the run ends (an interrupted one
// has no last row), the others "true".
func (r *restartRig) snapshotRun(lsn int64, keys []int, value func(k int) int64, ends bool) {
	for i, k := range keys {
		span := "true"
		switch {
		case i == 0:
			span = "first"
		case i == len(keys)-1 && ends:
			span = "last"
		}
		r.emit("r", k, value(k), fullSnapshot(lsn, span))
	}
}

// keysOf returns the keys in [0, n) for which keep holds.
func keysOf(n int, keep func(k int) bool) []int {
	var ks []int
	for k := range n {
		if keep(k) {
			ks = append(ks, k)
		}
	}
	return ks
}

// failMarkersOnce fails the first load of delete markers, as StarRocks
// refusing it would.
type failMarkersOnce struct {
	inner  Loader
	mu     sync.Mutex
	failed bool
}

func (l *failMarkersOnce) Load(ctx context.Context, b *Batch) error {
	l.mu.Lock()
	fail := !l.failed && strings.Contains(b.Label, "-missing-")
	l.failed = l.failed || fail
	l.mu.Unlock()
	if fail {
		return &streamload.LoadError{Status: "Fail", Message: "injected: the delete markers' load is refused"}
	}
	return l.inner.Load(ctx, b)
}

func (l *failMarkersOnce) LoadState(ctx context.Context, db, label string) (string, error) {
	return l.inner.(LoadStater).LoadState(ctx, db, label)
}

// TestIntegrationRestartedSnapshot: an initial snapshot interrupted and
// taken again from the start, at a later position, ends exact in the
// versioned mode's latest-row view: rows the first attempt loaded and
// the source deleted before the second (which no record ever deletes)
// are marked deleted once the second one ends, and nothing the second
// one read or the stream changed is. Cases: in one pass; with one
// partition behind the snapshot's end (its rows of the first attempt load
// after the markers were written, and are marked in turn); and with the
// markers' load failing once (the worker stops without committing the
// batch that ended the snapshot, and the next one marks on replay); and
// with loads answered Publish Timeout.
func TestIntegrationRestartedSnapshot(t *testing.T) {
	const keys = 40
	ghost := func(k int) bool { return k == 4 || k == 5 || k == 10 || k == 11 } // deleted between the two attempts
	first := func(k int) int64 { return int64(k) }
	second := func(k int) int64 { return int64(k) + 1000 }
	for _, tc := range []struct {
		name        string
		lagging     bool
		failMarkers bool
		faults      emulator.Faults
		deadLetter  bool // key 7's row of the second attempt is refused by StarRocks and dead-lettered
	}{
		{name: "one pass"},
		// Publish Timeout: committed, maybe not yet visible; the reads wait
		// for get_load_state to say VISIBLE.
		{name: "publish timeouts", faults: emulator.Faults{PublishTimeoutRatio: 0.5, Seed: 7}},
		{name: "a partition behind the snapshot's end", lagging: true},
		{name: "markers fail once", failMarkers: true},
		// errors.tolerance=all: the batch holding a row StarRocks refuses
		// is bisected, its parts seen visible before the markers' reads.
		{name: "a refused row dead-lettered", deadLetter: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRestartRig(t)
			r.emu.SetFaults(tc.faults)
			if tc.deadLetter {
				if err := r.cluster.CreateTopic(proofDLQ, 1, nil); err != nil {
					t.Fatal(err)
				}
				r.cfg.Errors.Tolerance = "all"
				r.cfg.Errors.DLQTopic = proofDLQ
			}
			var loader Loader
			if tc.failMarkers {
				c, err := streamload.New(streamload.Config{FEURLs: []string{r.emu.FEURL()}, User: "root"}, nil)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { c.Close() })
				loader = &failMarkersOnce{inner: &StreamLoader{Client: c}}
			}
			start := func() (done chan error, stop func() error) {
				w, err := New(r.cfg, Deps{Schemas: r.cat, Loader: loader}, zaptest.NewLogger(t))
				if err != nil {
					t.Fatal(err)
				}
				ctx, cancel := context.WithCancel(context.Background())
				done = make(chan error, 1)
				go func() { done <- w.Run(ctx) }()
				return done, func() error { cancel(); return <-done }
			}
			done, stop := start()

			// The first attempt reads keys 0–29 at LSN 1000 and stops
			// (lagging: partition 0's rows of it come later, below).
			r.snapshotRun(1000, keysOf(30, func(k int) bool { return !tc.lagging || k%2 == 1 }), first, false)
			// The second reads the table at LSN 3000, after keys 4, 5, 10
			// and 11 were deleted: the source is now what it reads.
			r.mu.Lock()
			clear(r.model)
			r.mu.Unlock()
			run2 := keysOf(keys, func(k int) bool { return !ghost(k) })
			switch {
			case tc.deadLetter:
				r.snapshotRun(3000, run2, second, true)
				// Key 7 again, its reg_date NULL in a NOT NULL column: the
				// second attempt's last word on it, refused.
				key, val := r.change("r", 7, second(7), fullSnapshot(3000, "true"))
				val = []byte(strings.Replace(string(val), `"reg_date":"20240604"`, `"reg_date":null`, 1))
				if err := r.place.ProduceSync(context.Background(), &kgo.Record{Topic: restartTopic, Partition: 7 % r.partitions, Key: key, Value: val}).FirstErr(); err != nil {
					t.Fatal(err)
				}
			case !tc.lagging:
				r.snapshotRun(3000, run2, second, true)
			default:
				// Partition 1 (odd keys) is read to the snapshot's end
				// and loaded, marks included, before partition 0 (even
				// keys) delivers the first attempt's rows: they load after
				// the markers.
				odd := keysOf(keys, func(k int) bool { return k%2 == 1 && !ghost(k) })
				r.snapshotRun(3000, odd, second, true)
				r.settle()
				even := keysOf(keys, func(k int) bool { return k%2 == 0 && !ghost(k) })
				for _, k := range keysOf(30, func(k int) bool { return k%2 == 0 }) {
					r.emit("r", k, first(k), fullSnapshot(1000, "true"))
					r.mu.Lock()
					delete(r.model, fmt.Sprintf("20240601|1호선|역%d", k)) // not the source's: an older attempt's
					r.mu.Unlock()
				}
				r.settle()
				for _, k := range even {
					r.emit("r", k, second(k), fullSnapshot(3000, "true"))
				}
			}
			// Then the stream: an update, a delete, an insert.
			r.emit("u", 1, 7, streamed(4000))
			r.emit("d", 2, second(2), streamed(4008))
			r.emit("c", 50, 50, streamed(4016))

			if tc.failMarkers {
				select {
				case err := <-done:
					var le *streamload.LoadError
					if !errors.As(err, &le) || !strings.Contains(err.Error(), "delete markers") {
						t.Fatalf("Run = %v, want the markers' load error", err)
					}
				case <-time.After(20 * time.Second):
					t.Fatal("the worker did not stop when the delete markers failed")
				}
				_, stop = start()
			}
			r.settle()
			if err := stop(); err != nil {
				t.Fatal(err)
			}
			bad, err := r.diff(true)
			if err != nil {
				t.Fatal(err)
			}
			if tc.deadLetter {
				// Key 7's refused row is not loaded: the same attempt's
				// good row of it stays its newest, as the source has it.
				if len(bad) != 0 {
					t.Fatalf("the latest-row view differs from the source in %d keys: %v", len(bad), bad)
				}
				if recs, _ := r.deadLettered(proofDLQ); len(recs) != 1 {
					t.Fatalf("%d records dead-lettered, want key 7's", len(recs))
				}
			}
			if len(bad) > 0 {
				t.Fatalf("the latest-row view differs from the source in %d keys: %v", len(bad), bad)
			}
			// Each ghost has exactly its marker as the newest row, at the
			// second attempt's version − 1.
			var n int
			if err := r.db.QueryRow("SELECT COUNT(*) FROM restart_t WHERE _deleted AND _version = ?", 3000-1<<62-1).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n < 4 {
				t.Errorf("%d delete markers at the second attempt's version − 1, want at least the 4 ghosts'", n)
			}
		})
	}
}

// TestMarkers: what a delete marker holds. The key's columns come from the
// record key (with or without JsonConverter's schema envelope); a marker
// built from a loaded row carries its key and the NOT NULL columns it has;
// one built from SQL text types its values for a JSON body.
func TestMarkers(t *testing.T) {
	def := &schema.Table{Database: "subway", Name: "v", Model: schema.ModelDupKeys, Columns: []schema.Column{
		schema.NewColumn("d", "date", false, true),
		schema.NewColumn("id", "bigint(20)", false, true),
		schema.NewColumn("name", "varchar(20)", false, false),
		schema.NewColumn("amount", "decimal(13,2)", false, false),
		schema.NewColumn("doc", "json", false, false),
		schema.NewColumn("note", "varchar(20)", true, false),
		schema.NewColumn("_version", "bigint(20)", false, false),
		schema.NewColumn("_deleted", "boolean", false, false),
	}}
	for _, tc := range []struct {
		name, key string
		want      []int
		err       string
	}{
		{"schemaless key", `{"d":"2024-01-01","id":7}`, []int{0, 1}, ""},
		{"key with schema", `{"schema":{"type":"struct"},"payload":{"ID":7,"d":"2024-01-01"}}`, []int{1, 0}, ""},
		{"key field without a column", `{"d":"2024-01-01","other":1}`, nil, "key field other has no column in subway.v"},
		{"not an object", `7`, nil, "not a JSON object"},
		{"no key", ``, nil, "not a JSON object"},
		{"empty object", `{}`, nil, "no field"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := recordKeyColumns(def, []byte(tc.key))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("recordKeyColumns = %v, %v; want an error with %q", got, err, tc.err)
				}
				return
			}
			if err != nil || !slices.Equal(got, tc.want) {
				t.Fatalf("recordKeyColumns = %v, %v; want %v", got, err, tc.want)
			}
		})
	}

	s := &snapMeta{def: def, cols: []int{0, 1, 2, 3, 4}, nkeys: 2, verCol: "_version", delCol: "_deleted"}
	for _, tc := range []struct {
		name, row, want string
		cols            []int
		err             string
	}{
		{"whole row", `{"d":"2024-01-01","id":7,"name":"a\"b","amount":1.50,"doc":{"x":[1]},"note":null,"_version":-5,"_deleted":false}`,
			`{"d":"2024-01-01","id":7,"name":"a\"b","amount":1.50,"doc":{"x":[1]},"_version":-6,"_deleted":true}`, []int{0, 1, 2, 3, 4}, ""},
		{"a NOT NULL column the row lacks is left out", `{"d":"2024-01-01","id":7,"name":"a"}`,
			`{"d":"2024-01-01","id":7,"name":"a","_version":-6,"_deleted":true}`, []int{0, 1, 2}, ""},
		{"a key column lacking", `{"d":"2024-01-01","name":"a"}`, "", nil, "lacks the key column id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, cols, err := s.markerFromRow([]byte(tc.row), -6)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("markerFromRow = %s, %v; want an error with %q", got, err, tc.err)
				}
				return
			}
			if err != nil || string(got) != tc.want || !slices.Equal(cols, tc.cols) {
				t.Fatalf("markerFromRow = %s %v, %v; want %s %v", got, cols, err, tc.want, tc.cols)
			}
		})
	}

	text := func(v string) *string { return &v }
	got := s.markerFromText(nil, []*string{text("2024-01-01"), text("7"), text(`say "hi"`), text("1.50"), text(`{"x": [1]}`)}, -6)
	if want := `{"d":"2024-01-01","id":7,"name":"say \"hi\"","amount":1.50,"doc":{"x": [1]},"_version":-6,"_deleted":true}`; string(got) != want {
		t.Errorf("markerFromText = %s, want %s", got, want)
	}
	if !json.Valid(got) {
		t.Errorf("markerFromText = %s: not JSON", got)
	}
	got = s.markerFromText(nil, []*string{text("2024-01-01"), text("7"), nil, text("1"), text("not json")}, -6)
	if want := `{"d":"2024-01-01","id":7,"name":null,"amount":1,"doc":"not json","_version":-6,"_deleted":true}`; string(got) != want {
		t.Errorf("markerFromText = %s, want %s", got, want)
	}
}

var restartSeeds = flag.Int("restart.seeds", 6, "TestRestartedSnapshotSchedules: schedules to run, from restart.first")
var restartFirst = flag.Int64("restart.first", 1, "TestRestartedSnapshotSchedules: first seed")

// TestRestartedSnapshotSchedules runs random schedules of restarted full
// snapshots against two members of a group over three partitions, and
// checks the latest-row view against the source. Each seed draws: one or
// two interrupted attempts (each reads a random prefix of the keys, at its
// own position), the rows the source deletes, inserts and changes before
// the attempt that ends, the order in which partitions deliver their
// records (per partition: older attempts, the last one, then the stream,
// as Debezium writes them; the last attempt's last row last of its rows),
// members stopped and replaced while loads are in flight (their
// partitions move), and Publish Timeout answers. Reproduce one with
// -run 'TestRestartedSnapshotSchedules/seed=N'; run more with
// -restart.seeds and -restart.first.
func TestRestartedSnapshotSchedules(t *testing.T) {
	for seed := *restartFirst; seed < *restartFirst+int64(*restartSeeds); seed++ {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) { restartSchedule(t, seed) })
	}
}

func restartSchedule(t *testing.T, seed int64) {
	rnd := rand.New(rand.NewPCG(uint64(seed), 0))
	r := newRestartRigN(t, 3)
	if rnd.IntN(2) == 0 {
		r.emu.SetFaults(emulator.Faults{PublishTimeoutRatio: 0.3, Seed: seed})
	}
	r.cfg.Batch.MaxRows = 4 + rnd.IntN(20)

	type rec struct {
		op     string
		k      int
		v      int64
		source string
	}
	// The source: keys 0..59; each attempt reads a prefix of the table as
	// it is at its position; between attempts the source changes.
	source := map[int]int64{}
	for k := range 60 {
		source[k] = int64(k)
	}
	keysNow := func() []int {
		ks := make([]int, 0, len(source))
		for k := range source {
			ks = append(ks, k)
		}
		slices.Sort(ks)
		return ks
	}
	queues := make([][]rec, r.partitions) // per partition, in Debezium's order
	push := func(x rec) { p := x.k % int(r.partitions); queues[p] = append(queues[p], x) }
	attempts := 1 + rnd.IntN(2)
	lsn := int64(1000)
	for a := 0; a < attempts; a++ {
		ks := keysNow()
		n := 1 + rnd.IntN(len(ks)-1)
		for i, k := range ks[:n] {
			span := "true"
			if i == 0 {
				span = "first"
			}
			push(rec{"r", k, source[k], fullSnapshot(lsn, span)})
		}
		// While the connector is down: deletes, inserts, changes.
		for range 3 + rnd.IntN(8) {
			if rnd.IntN(2) == 0 {
				delete(source, ks[rnd.IntN(n)]) // a row this attempt read, mostly
				continue
			}
			k := rnd.IntN(80)
			source[k] = int64(k) + lsn
		}
		lsn += 1000
	}
	// The attempt that ends: every key, the last row last.
	ks := keysNow()
	var last rec
	for i, k := range ks {
		span := "true"
		switch i {
		case 0:
			span = "first"
		case len(ks) - 1:
			last = rec{"r", k, source[k], fullSnapshot(lsn, "last")}
			continue
		}
		push(rec{"r", k, source[k], fullSnapshot(lsn, span)})
	}
	// The stream after it.
	var stream []rec
	for i := range 5 + rnd.IntN(10) {
		k := rnd.IntN(80)
		pos := lsn + 100 + 8*int64(i)
		if _, ok := source[k]; ok && rnd.IntN(3) == 0 {
			stream = append(stream, rec{"d", k, source[k], streamed(pos)})
			delete(source, k)
			continue
		}
		op := "u"
		if _, ok := source[k]; !ok {
			op = "c"
		}
		source[k] = int64(k) + pos
		stream = append(stream, rec{op, k, source[k], streamed(pos)})
	}

	// On half the seeds the delete markers' loads are slow and the
	// revoke and shutdown bounds short: members are replaced, and
	// partitions move, while markers are on their way (their loads are
	// then cancelled, the batch not marked, and read again).
	var loader Loader
	var slow *slowMarkers
	if rnd.IntN(2) == 0 {
		c, err := streamload.New(streamload.Config{FEURLs: []string{r.emu.FEURL()}, User: "root"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		slow = &slowMarkers{inner: &StreamLoader{Client: c}, max: 400 * time.Millisecond}
		loader = slow
		r.cfg.Commit.RevokeTimeout = 100 * time.Millisecond
		r.cfg.Shutdown.GracePeriod = 100 * time.Millisecond
	}

	// Members: two, replaced at random while records flow.
	type member struct{ stop func() error }
	var members []member
	start := func() {
		w, err := New(r.cfg, Deps{Schemas: r.cat, Loader: loader}, zaptest.NewLogger(t, zaptest.Level(zap.ErrorLevel)))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- w.Run(ctx) }()
		members = append(members, member{func() error { cancel(); return <-done }})
	}
	replace := func() {
		i := rnd.IntN(len(members))
		if err := members[i].stop(); err != nil && !errors.Is(err, ErrUnfinishedAtShutdown) {
			t.Fatalf("seed %d: a member stopped with %v", seed, err)
		}
		members = slices.Delete(members, i, i+1)
		start()
	}
	start()
	start()
	defer func() {
		for _, m := range members {
			m.stop()
		}
	}()

	// Deliver: partitions in random turns, a few records at a time; the
	// last row once every other row of its attempt is out; then the stream.
	emit := func(x rec) { r.emit(x.op, x.k, x.v, x.source) }
	for {
		var open []int
		for p, q := range queues {
			if len(q) > 0 {
				open = append(open, p)
			}
		}
		if len(open) == 0 {
			break
		}
		p := open[rnd.IntN(len(open))]
		for range 1 + rnd.IntN(6) {
			if len(queues[p]) == 0 {
				break
			}
			emit(queues[p][0])
			queues[p] = queues[p][1:]
		}
		if rnd.IntN(12) == 0 {
			replace()
		}
		if rnd.IntN(4) == 0 {
			time.Sleep(time.Duration(rnd.IntN(30)) * time.Millisecond)
		}
	}
	emit(last)
	for _, x := range stream {
		emit(x)
		if rnd.IntN(8) == 0 {
			replace()
		}
	}

	// The model is the source; emit kept r.model as the records say, so
	// set it from the source.
	r.mu.Lock()
	clear(r.model)
	for k, v := range source {
		r.model[fmt.Sprintf("20240601|1호선|역%d", k)] = [3]string{fmt.Sprint(v), "NULL", "20240604"}
	}
	r.mu.Unlock()
	r.settle()
	bad, err := r.diff(true)
	if err != nil {
		t.Fatal(err)
	}
	if slow != nil {
		t.Logf("seed %d: %d delete-marker loads cancelled in flight", seed, slow.cancelled.Load())
	}
	if len(bad) > 0 {
		slices.Sort(bad)
		t.Fatalf("seed %d (%d attempts interrupted, batch.max_rows %d): the latest-row view differs from the source in %d keys: %v",
			seed, attempts, r.cfg.Batch.MaxRows, len(bad), bad)
	}
}

// slowMarkers delays each load of delete markers by up to max, honouring
// cancellation: a load cancelled while it waits is never sent.
type slowMarkers struct {
	inner     Loader
	max       time.Duration
	cancelled atomic.Int64
}

func (l *slowMarkers) Load(ctx context.Context, b *Batch) error {
	if strings.Contains(b.Label, "-missing-") {
		select {
		case <-time.After(rand.N(l.max)):
		case <-ctx.Done():
			l.cancelled.Add(1)
			return ctx.Err()
		}
	}
	return l.inner.Load(ctx, b)
}

func (l *slowMarkers) LoadState(ctx context.Context, db, label string) (string, error) {
	return l.inner.(LoadStater).LoadState(ctx, db, label)
}
