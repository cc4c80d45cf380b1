package sink

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/starsink/starsink/config"
	"github.com/starsink/starsink/debezium"
	"github.com/starsink/starsink/emulator"
	"github.com/starsink/starsink/streamload"
	"go.uber.org/zap/zaptest"
)

// TestOffsetVersion: with mapping.version_from kafka_offset a change's
// version is 2^62 + epoch·2^44 + its record's offset, whatever the message
// says, and an offset a version cannot hold is refused with its
// coordinates.
func TestOffsetVersion(t *testing.T) {
	for _, tc := range []struct {
		name   string
		epoch  int64
		offset int64
		ev     debezium.Event
		want   int64
		err    string
	}{
		{name: "streamed", offset: 7, ev: debezium.Event{Version: 5436008800}, want: 1<<62 + 7},
		{name: "snapshot", offset: 8, ev: debezium.Event{Version: 5436008800 - 1<<62, Snapshot: true}, want: 1<<62 + 8},
		{name: "no source position", offset: 9, ev: debezium.Event{VersionErr: debezium.ErrNoVersion}, want: 1<<62 + 9},
		{name: "epoch", epoch: 3, offset: 9, want: 1<<62 + 3<<44 + 9},
		{name: "last epoch, last offset", epoch: config.MaxVersionEpoch, offset: 1<<44 - 1, want: 1<<63 - 1},
		{name: "offset too large", offset: 1 << 44, err: "offset 17592186044416: mapping.version_from kafka_offset of subway.t"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := &tableState{name: "subway.t", guard: "_version", byOffset: true, epochBase: offsetVersionBase + tc.epoch<<offsetBits}
			got, err := ts.version(&kgo.Record{Topic: "dip.cdc.public.t", Partition: 2, Offset: tc.offset}, &tc.ev)
			switch {
			case tc.err != "":
				if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), "partition 2") {
					t.Fatalf("version: %d, %v; want an error with %q", got, err, tc.err)
				}
			case err != nil:
				t.Fatal(err)
			case got != tc.want:
				t.Fatalf("version %d, want %d", got, tc.want)
			}
		})
	}
}

// repairRig produces Debezium events of one table into kfake for a worker
// loading the emulator, and keeps the source's rows.
type repairRig struct {
	*harness
	table string
	db    *sql.DB // the emulator's MySQL side, for the versioned table's view
}

// event produces one raw envelope for station k with pass_in v; source is
// the envelope's source object (the version the message carries).
func (r *repairRig) event(op string, k int, v int64, source string) {
	r.t.Helper()
	key, val := r.change(op, k, v, source)
	r.produce(key, val)
}

// change returns the record of one change of station k with pass_in v
// (source is the envelope's source object) and applies it to the model.
func (r *repairRig) change(op string, k int, v int64, source string) (key, val []byte) {
	date, line, station := "20240601", "1호선", fmt.Sprintf("역%d", k)
	row := fmt.Sprintf(`{"use_date":%q,"line_no":%q,"station_name":%q,"pass_in":%q,"pass_out":null,"reg_date":"20240604"}`, date, line, station, decimalB64(v))
	before, after := "null", row
	if op == "d" {
		before, after = row, "null"
	}
	key, _ = json.Marshal(map[string]string{"use_date": date, "line_no": line, "station_name": station})
	val = []byte(fmt.Sprintf(`{"before":%s,"after":%s,"source":%s,"op":%q}`, before, after, source, op))
	r.mu.Lock()
	defer r.mu.Unlock()
	if op == "d" {
		delete(r.model, date+"|"+line+"|"+station)
	} else {
		r.model[date+"|"+line+"|"+station] = [3]string{fmt.Sprint(v), "NULL", "20240604"}
	}
	return key, val
}

func streamed(lsn int64) string {
	return fmt.Sprintf(`{"connector":"postgresql","snapshot":"false","ts_ms":1,"lsn":%d,"sequence":"[\"%d\",\"%d\"]"}`, lsn, lsn, lsn)
}

func snapshotRow(lsn int64) string {
	return fmt.Sprintf(`{"connector":"postgresql","snapshot":"true","ts_ms":1,"lsn":%d,"sequence":"[null,\"%d\"]"}`, lsn, lsn)
}

// incremental is the source of an incremental snapshot's row, as Debezium
// 2.6 and 3.x write it (debezium/testdata/captured/*-incremental): no lsn,
// the streaming position at the chunk's emission in sequence.
func incremental(pos int64) string {
	return fmt.Sprintf(`{"connector":"postgresql","snapshot":"incremental","ts_ms":1,"lsn":null,"sequence":"[\"%d\",\"%d\"]"}`, pos, pos)
}

// target returns the table's rows as the source's: the Primary Key table
// itself, or the versioned table's latest-row view.
func (r *repairRig) target(versioned bool) (map[string][3]string, error) {
	out := map[string][3]string{}
	if !versioned {
		rows, err := r.emu.Rows("subway", r.table)
		if err != nil {
			return nil, err
		}
		for _, x := range rows {
			out[fmt.Sprint(x[0], "|", x[1], "|", x[2])] = [3]string{fmt.Sprint(x[3]), nullText(x[4]), fmt.Sprint(x[5])}
		}
		return out, nil
	}
	rows, err := r.db.Query(`SELECT use_date, line_no, station_name, pass_in, pass_out, reg_date FROM (
		SELECT *, ROW_NUMBER() OVER (PARTITION BY use_date, line_no, station_name ORDER BY _version DESC) AS rn
		FROM ` + r.table + `) latest
		WHERE rn = 1 AND NOT _deleted`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var d, l, st, in, reg string
		var pout sql.NullString
		if err := rows.Scan(&d, &l, &st, &in, &pout, &reg); err != nil {
			return nil, err
		}
		out[d+"|"+l+"|"+st] = [3]string{in, nullText(pout.String), reg}
	}
	return out, rows.Err()
}

func nullText(v any) string {
	if v == nil || v == "" {
		return "NULL"
	}
	return fmt.Sprint(v)
}

// diff lists the keys whose target row differs from the source's.
func (r *repairRig) diff(versioned bool) ([]string, error) {
	got, err := r.target(versioned)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var bad []string
	for k, want := range r.model {
		if g, ok := got[k]; !ok {
			bad = append(bad, k+": missing")
		} else if g != want {
			bad = append(bad, fmt.Sprintf("%s: %v, source %v", k, g, want))
		}
	}
	for k := range got {
		if _, ok := r.model[k]; !ok {
			bad = append(bad, k+": not in the source")
		}
	}
	return bad, nil
}

// settle waits until the group has committed every record produced.
func (r *repairRig) settle() {
	r.t.Helper()
	want := r.endOffsets()
	deadline := time.Now().Add(20 * time.Second)
	for r.committed(r.cfg.Kafka.GroupID) < want {
		if time.Now().After(deadline) {
			r.t.Fatalf("committed %d of %d records within 20s", r.committed(r.cfg.Kafka.GroupID), want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// tamper loads rows into the table behind starsink's back, as a person
// fixing the target by hand would: JSON rows, __op 1 for deletes, no
// merge_condition.
func (r *repairRig) tamper(label string, columns []string, rows []string) {
	r.t.Helper()
	c, err := streamload.New(streamload.Config{FEURLs: []string{r.emu.FEURL()}, User: "root"}, nil)
	if err != nil {
		r.t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Load(context.Background(), &streamload.Request{DB: "subway", Table: r.table, Label: label, Format: streamload.FormatJSON,
		Columns: columns, Body: []byte("[" + strings.Join(rows, ",") + "]")}); err != nil {
		r.t.Fatalf("tamper: %v", err)
	}
}

// TestIntegrationIncrementalSnapshotRepair: a target made wrong behind
// starsink's back (rows changed keeping their version, rows deleted) is
// repaired by an incremental snapshot, while the source keeps changing:
// a transaction that wrote a key before the chunk was read and commits
// after it (its change carries an LSN below the chunk's position) must
// still win over the chunk's older image of that key. With versions from
// Kafka offsets that holds in the three modes; with versions from source
// positions the guard keeps the tampered rows (a snapshot row never
// outranks a streamed version), which docs/architecture.md states.
func TestIntegrationIncrementalSnapshotRepair(t *testing.T) {
	const keys, tamperedValue = 40, 999999
	for _, tc := range []struct {
		name      string
		versioned bool
		guard     bool
		from      string
		repaired  bool
	}{
		{name: "primary key", from: config.VersionFromSource, repaired: true},
		{name: "guard, kafka offsets", guard: true, from: config.VersionFromOffset, repaired: true},
		{name: "versioned, kafka offsets", versioned: true, from: config.VersionFromOffset, repaired: true},
		{name: "guard, source positions (no repair)", guard: true, from: config.VersionFromSource},
	} {
		t.Run(tc.name, func(t *testing.T) {
			topic := "dip.cdc.public.repair_t"
			h := newHarnessWith(t, emulator.Config{}, 3, topic)
			table := "repair_t"
			ddl := `CREATE TABLE repair_t (use_date VARCHAR(8) NOT NULL, line_no VARCHAR(100) NOT NULL, station_name VARCHAR(100) NOT NULL,
				pass_in DECIMAL(13,0), pass_out DECIMAL(13,0), reg_date VARCHAR(8), _version BIGINT NOT NULL DEFAULT "0")
				PRIMARY KEY(use_date, line_no, station_name) DISTRIBUTED BY HASH(use_date)`
			opts := config.TableOptions{VersionFrom: tc.from}
			switch {
			case tc.versioned:
				ddl = `CREATE TABLE repair_t (use_date VARCHAR(8) NOT NULL, line_no VARCHAR(100) NOT NULL, station_name VARCHAR(100) NOT NULL,
					pass_in DECIMAL(13,0), pass_out DECIMAL(13,0), reg_date VARCHAR(8), _version BIGINT NOT NULL, _deleted BOOLEAN NOT NULL)
					DUPLICATE KEY(use_date, line_no, station_name) DISTRIBUTED BY HASH(use_date)`
				opts.Mode = "versioned"
			case tc.guard:
				opts.VersionColumn = "_version"
			default:
				ddl = strings.Replace(ddl, `, _version BIGINT NOT NULL DEFAULT "0"`, "", 1)
			}
			db := h.createTable(ddl)
			h.topic = topic
			h.cfg.Kafka.Topics = []string{topic}
			h.cfg.Mapping.Tables = map[string]config.TableOptions{table: opts}
			r := &repairRig{harness: h, table: table, db: db}
			_, stop := h.worker(h.cfg)

			// The initial snapshot, then a streamed update of every key.
			for k := range keys {
				r.event("r", k, int64(k), snapshotRow(1000))
			}
			for k := range keys {
				r.event("u", k, int64(k)+100, streamed(2000+8*int64(k)))
			}
			r.settle()
			if bad, err := r.diff(tc.versioned); err != nil || len(bad) > 0 {
				t.Fatalf("before tampering: %v %v", err, bad)
			}

			// Behind starsink's back: keys 0–9 changed (their version
			// kept: an UPDATE of the values), keys 10–14 deleted.
			stored, err := h.emu.Rows("subway", table)
			if err != nil {
				t.Fatal(err)
			}
			version := map[string]int64{}
			for _, x := range stored {
				k := fmt.Sprint(x[2])
				if len(x) < 7 {
					continue
				}
				if v, _ := x[6].(int64); v > version[k] {
					version[k] = v
				}
			}
			var rows []string
			for k := range 15 {
				st := fmt.Sprintf("역%d", k)
				op, val := 0, int64(tamperedValue)
				if k >= 10 {
					op = 1
				}
				if tc.versioned {
					// A Duplicate Key table is not updated in place: the
					// wrong rows are appended with the latest version
					// plus one, so that reads take them.
					rows = append(rows, fmt.Sprintf(`{"use_date":"20240601","line_no":"1호선","station_name":%q,"pass_in":%d,"reg_date":"20240604","_version":%d,"_deleted":%t}`,
						st, val, version[st]+1, op == 1))
					continue
				}
				rows = append(rows, fmt.Sprintf(`{"use_date":"20240601","line_no":"1호선","station_name":%q,"pass_in":%d,"reg_date":"20240604","_version":%d,"__op":%d}`,
					st, val, version[st], op))
			}
			columns := []string{"use_date", "line_no", "station_name", "pass_in", "reg_date", "_version", "__op"}
			switch {
			case !tc.guard && !tc.versioned:
				columns = []string{"use_date", "line_no", "station_name", "pass_in", "reg_date", "__op"}
			case tc.versioned:
				columns = []string{"use_date", "line_no", "station_name", "pass_in", "reg_date", "_version", "_deleted"}
			}
			r.tamper("by-hand-1", columns, rows)
			if bad, err := r.diff(tc.versioned); err != nil || len(bad) != 15 {
				t.Fatalf("after tampering: %d keys differ (%v), want 15: %v", len(bad), err, bad)
			}

			// An incremental snapshot of the table while the source goes
			// on: a transaction wrote key 20 at LSN 5000, before the
			// chunk was read, and commits after the chunk's window
			// closes; the chunk holds key 20's image before it.
			for k := range keys {
				r.mu.Lock()
				cur := r.model[fmt.Sprintf("20240601|1호선|역%d", k)]
				r.mu.Unlock()
				var v int64
				fmt.Sscan(cur[0], &v)
				r.event("r", k, v, incremental(6000))
			}
			r.event("u", 20, 777, streamed(5000)) // the in-flight transaction's change
			r.event("u", 21, 778, streamed(7000))
			r.event("d", 22, 22+100, streamed(7008))
			r.settle()
			if err := stop(); err != nil {
				t.Fatal(err)
			}
			bad, err := r.diff(tc.versioned)
			if err != nil {
				t.Fatal(err)
			}
			if tc.repaired {
				if len(bad) > 0 {
					t.Fatalf("not repaired: %d keys differ: %v", len(bad), bad)
				}
				return
			}
			// Source positions: the tampered values stay (the chunk's rows
			// rank below every streamed version); deleted keys come back;
			// key 20 keeps the in-flight transaction's image.
			want := 10
			if len(bad) != want {
				t.Fatalf("%d keys differ, want the %d tampered ones: %v", len(bad), want, bad)
			}
			for _, b := range bad {
				if !strings.Contains(b, fmt.Sprint(tamperedValue)) {
					t.Errorf("unexpected difference: %s", b)
				}
			}
		})
	}
}

// createTable runs ddl on the emulator and returns a connection to its
// MySQL port (database subway), closed when the test ends.
func (h *harness) createTable(ddl string) *sql.DB {
	h.t.Helper()
	if err := h.emu.Exec(context.Background(), ddl); err != nil {
		h.t.Fatal(err)
	}
	db, err := sql.Open("mysql", "root:@tcp("+h.emu.MySQLAddr()+")/subway")
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { db.Close() })
	return db
}

// guardedOffsetRig is a harness whose topic feeds repair_t, a Primary
// Key table with the version guard on Kafka-offset versions.
func guardedOffsetRig(t *testing.T) *repairRig {
	t.Helper()
	topic := "dip.cdc.public.repair_t"
	h := newHarnessWith(t, emulator.Config{}, 2, topic)
	ddl := `CREATE TABLE repair_t (use_date VARCHAR(8) NOT NULL, line_no VARCHAR(100) NOT NULL, station_name VARCHAR(100) NOT NULL,
		pass_in DECIMAL(13,0), pass_out DECIMAL(13,0), reg_date VARCHAR(8), _version BIGINT NOT NULL DEFAULT "0")
		PRIMARY KEY(use_date, line_no, station_name) DISTRIBUTED BY HASH(use_date)`
	if err := h.emu.Exec(context.Background(), ddl); err != nil {
		t.Fatal(err)
	}
	h.topic = topic
	h.cfg.Kafka.Topics = []string{topic}
	h.cfg.Mapping.VersionFrom = config.VersionFromOffset
	h.cfg.Mapping.Tables = map[string]config.TableOptions{"repair_t": {VersionColumn: "_version"}}
	return &repairRig{harness: h, table: "repair_t"}
}

// TestIntegrationVersionEpoch: with versions from Kafka offsets, a topic
// deleted and created again starts from offset 0, below every version the
// table holds. The worker refuses to load it (EpochError naming the fix)
// until version_epoch is raised; then the new incarnation's rows win. A
// version_epoch lowered below the stored versions is refused too.
func TestIntegrationVersionEpoch(t *testing.T) {
	r := guardedOffsetRig(t)
	h, topic := r.harness, r.topic
	_, stop := h.worker(h.cfg)
	for k := range 10 {
		r.event("c", k, int64(k), streamed(1000+8*int64(k)))
	}
	for k := range 10 {
		r.event("u", k, int64(k)+100, streamed(2000+8*int64(k)))
	}
	r.settle()
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if bad, err := r.diff(false); err != nil || len(bad) > 0 {
		t.Fatalf("first incarnation: %v %v", err, bad)
	}

	// The topic is deleted and created again (Kafka drops the group's
	// offsets of it), and the source snapshotted into it anew.
	if err := h.cluster.DeleteTopic(topic); err != nil {
		t.Fatal(err)
	}
	if err := h.cluster.CreateTopic(topic, 2, nil); err != nil {
		t.Fatal(err)
	}
	h.prod.Close()
	prod, err := kgo.NewClient(kgo.SeedBrokers(h.cluster.ListenAddrs()...), kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(prod.Close)
	h.prod = prod
	for k := range 10 {
		r.event("r", k, int64(k)+500, snapshotRow(9000))
	}
	h.cfg.Kafka.GroupID = "starsink-test-2" // as Kafka would have it: no committed offset of the new topic
	var epochErr *EpochError
	if err := h.runToError(); !errors.As(err, &epochErr) || !epochErr.NewTopic || epochErr.Stored != 0 ||
		!strings.Contains(err.Error(), "set mapping.version_epoch (or mapping.tables.<table>.version_epoch) to 1") {
		t.Fatalf("Run = %v, want an EpochError for the new topic naming version_epoch 1", err)
	}
	if bad, _ := r.diff(false); len(bad) != 10 {
		t.Fatalf("%d keys differ before the epoch is raised, want all 10: nothing loaded", len(bad))
	}

	h.cfg.Mapping.VersionEpoch = 1
	_, stop = h.worker(h.cfg)
	r.settle()
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if bad, err := r.diff(false); err != nil || len(bad) > 0 {
		t.Fatalf("epoch 1: %v %v", err, bad)
	}

	h.cfg.Mapping.VersionEpoch = 0
	h.cfg.Kafka.GroupID = "starsink-test-3"
	if err := h.runToError(); !errors.As(err, &epochErr) || epochErr.NewTopic || epochErr.Stored != 1 || epochErr.Epoch != 0 {
		t.Fatalf("Run = %v, want an EpochError: stored epoch 1 later than 0", err)
	}
}

// TestIntegrationVersionEpochRechecksOnAssignment: during a rolling restart
// that raises version_epoch, a member still on the old epoch must not take
// over partitions a member of the new epoch loaded: its rows would rank
// below and be refused. The epoch check runs again at each assignment, and
// the old member stops.
func TestIntegrationVersionEpochRechecksOnAssignment(t *testing.T) {
	r := guardedOffsetRig(t)
	h := r.harness
	for k := range 10 {
		r.event("c", k, int64(k), streamed(1000+8*int64(k)))
	}
	// The old member loads everything, then a member of epoch 1 joins and
	// loads what it is given.
	old := *h.cfg
	old.Kafka.ClientID = "old"
	oldW, err := New(&old, Deps{Schemas: emuSchemas{h.emu}}, zaptest.NewLogger(t).Named("old"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	oldDone := make(chan error, 1)
	go func() { oldDone <- oldW.Run(ctx) }()
	r.settle()
	newCfg := *h.cfg
	newCfg.Mapping.VersionEpoch = 1
	newCfg.Kafka.ClientID = "new"
	_, stopNew := h.worker(&newCfg)
	deadline := time.Now().Add(20 * time.Second)
	for {
		rows, _ := h.emu.Rows("subway", "repair_t")
		epoch1 := false
		for _, x := range rows {
			if v, _ := x[6].(int64); v >= 1<<62+1<<44 {
				epoch1 = true
			}
		}
		if epoch1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the epoch-1 member loaded nothing within 20s")
		}
		for k := range 10 {
			r.event("u", k, int64(k)+100, streamed(2000+8*int64(k)))
		}
		time.Sleep(200 * time.Millisecond)
	}
	// The new member leaves: its partitions go back to the old one, which
	// checks the epoch before loading them and stops.
	if err := stopNew(); err != nil {
		t.Fatal(err)
	}
	for k := range 10 {
		r.event("u", k, int64(k)+200, streamed(3000+8*int64(k)))
	}
	var epochErr *EpochError
	select {
	case err := <-oldDone:
		if !errors.As(err, &epochErr) || epochErr.NewTopic || epochErr.Stored != 1 || epochErr.Epoch != 0 {
			t.Fatalf("the old member stopped with %v, want an EpochError: stored epoch 1, its own 0", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the old member did not stop within 30s")
	}
}

// TestEpochInLabels: a batch's body holds its rows' versions, so under a
// version_epoch above 0 the same offsets get another label (a replay after
// the epoch was raised is other content, which a label must not hide).
func TestEpochInLabels(t *testing.T) {
	_, def, _ := guardEmulator(t)
	labels := map[string]bool{}
	for _, epoch := range []int64{0, 1, 0} {
		w := batchWorker(t)
		w.cfg.Mapping.VersionColumn = "_version"
		w.cfg.Mapping.VersionFrom = config.VersionFromOffset
		w.cfg.Mapping.VersionEpoch = epoch
		ts, err := newTableState(w, def, config.TableOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if err := add(ts, &kgo.Record{Topic: batchTopic, Offset: 7, Value: passIn("u", 1, 1, 100)}); err != nil {
			t.Fatal(err)
		}
		ts.flush("test")
		labels[ts.queue[0].Label] = true
		if epoch > 0 && !strings.Contains(ts.queue[0].Label, "-e1-") {
			t.Errorf("label %s: want the epoch in it", ts.queue[0].Label)
		}
	}
	if len(labels) != 2 {
		t.Errorf("labels %v: want one per epoch", labels)
	}
}
