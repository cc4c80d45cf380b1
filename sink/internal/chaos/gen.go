package chaos

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strconv"
)

// Op is what a record does to its key.
type Op byte

const (
	OpRead      Op = 'r' // snapshot read: an image
	OpCreate    Op = 'c'
	OpUpdate    Op = 'u'
	OpDelete    Op = 'd'
	OpTombstone Op = 't' // the null-valued record after a delete: no change
)

// Event is one Kafka record of a change stream and what it means.
type Event struct {
	Table     int // index into the generator's tables
	Topic     string
	Partition int32
	Key       []byte // Kafka key, as Debezium writes it
	Value     []byte // Kafka value; nil for a tombstone
	KeyID     string // the primary key (Table.Key)
	Op        Op
	// LSN is the change's version, as starsink computes it
	// (debezium/version.go): its source.lsn, or for a snapshot read the
	// snapshot's LSN - 2^62, below every streamed change; 0 for tombstones.
	LSN   int64
	Image Row // the row after the change; nil for deletes and tombstones
}

// Generator produces a seeded stream of Debezium change events over its
// tables: snapshot reads first (versions below every streamed change), then inserts, updates (a few hot keys take
// a large share of them), deletes each followed by its tombstone, re-inserts
// of deleted keys, and primary key changes (a delete and tombstone of the
// old key, then a create of the new one, as Debezium writes them). Every
// change carries a growing LSN, and its image's seq column holds its version.
type Generator struct {
	Tables     []*Table
	Partitions int32 // per topic
	rnd        *rand.Rand
	lsn        int64
	txID       int64
	state      []*tableGen
}

type tableGen struct {
	live    map[string]Row
	order   []string // live keys, for seeded picks (map order is random)
	deleted []Row    // images of deleted keys, for re-inserts
	hot     []string
	next    int64 // next fresh key number
}

// NewGenerator returns the generator of seed.
func NewGenerator(seed int64, tables []*Table, partitions int32) *Generator {
	g := &Generator{Tables: tables, Partitions: partitions, rnd: rand.New(rand.NewPCG(uint64(seed), 0x5ca1ab1e)),
		lsn: 5_436_001_896, txID: 90_885}
	for range tables {
		g.state = append(g.state, &tableGen{live: map[string]Row{}, next: 1})
	}
	return g
}

// Snapshot returns the snapshot reads of n rows per table: op r, all at the
// snapshot's LSN, as Debezium's initial snapshot writes them; their
// version (Event.LSN, the image's seq) is that LSN - 2^62.
func (g *Generator) Snapshot(n int) []Event {
	var out []Event
	lsn := g.lsn
	for ti := range g.Tables {
		for range n {
			out = append(out, g.create(ti, OpRead, lsn))
		}
	}
	g.lsn += 8
	return out
}

// Next returns the records of one source change (one to four records).
func (g *Generator) Next() []Event {
	ti := g.rnd.IntN(len(g.Tables))
	st := g.state[ti]
	g.lsn += 8 + 8*g.rnd.Int64N(4)
	g.txID++
	roll := g.rnd.IntN(100)
	switch {
	case len(st.order) < 8 || roll < 20:
		return []Event{g.create(ti, OpCreate, g.lsn)}
	case roll < 65:
		k := st.order[g.rnd.IntN(len(st.order))]
		if len(st.hot) > 0 && g.rnd.IntN(2) == 0 {
			if h := st.hot[g.rnd.IntN(len(st.hot))]; st.live[h] != nil {
				k = h
			}
		}
		return []Event{g.update(ti, k)}
	case roll < 78:
		return g.delete(ti, st.order[g.rnd.IntN(len(st.order))])
	case roll < 88 && len(st.deleted) > 0:
		i := g.rnd.IntN(len(st.deleted))
		img := st.deleted[i]
		st.deleted = append(st.deleted[:i], st.deleted[i+1:]...)
		return []Event{g.emit(ti, OpCreate, g.lsn, nil, g.fill(ti, append(Row(nil), img...)))}
	default:
		// A primary key change: Debezium writes a delete and a tombstone of
		// the old key, then a create of the new one.
		old := st.order[g.rnd.IntN(len(st.order))]
		evs := g.delete(ti, old)
		return append(evs, g.create(ti, OpCreate, g.lsn))
	}
}

// create writes a fresh key.
func (g *Generator) create(ti int, op Op, lsn int64) Event {
	t, st := g.Tables[ti], g.state[ti]
	img := make(Row, len(t.Columns))
	n := st.next
	st.next++
	for i, c := range t.Columns {
		if !c.Key {
			continue
		}
		switch c.Type {
		case Int64:
			img[i] = 1000 + n*7
		case Int32:
			img[i] = n
		case String:
			img[i] = []string{"서울", "busan", "incheon"}[n%3]
		}
	}
	ev := g.emit(ti, op, lsn, nil, g.fill(ti, img))
	if len(st.hot) < 3 {
		st.hot = append(st.hot, ev.KeyID)
	}
	return ev
}

func (g *Generator) update(ti int, k string) Event {
	st := g.state[ti]
	before := st.live[k]
	after := g.fill(ti, append(Row(nil), before...))
	return g.emit(ti, OpUpdate, g.lsn, before, after)
}

// delete writes the delete of k and its tombstone.
func (g *Generator) delete(ti int, k string) []Event {
	st := g.state[ti]
	before := st.live[k]
	d := g.emit(ti, OpDelete, g.lsn, before, nil)
	tomb := Event{Table: ti, Topic: d.Topic, Partition: d.Partition, Key: d.Key, KeyID: k, Op: OpTombstone}
	return []Event{d, tomb}
}

// fill draws the non-key columns of img and sets its seq to the current LSN.
func (g *Generator) fill(ti int, img Row) Row {
	t := g.Tables[ti]
	for i, c := range t.Columns {
		if c.Key {
			continue
		}
		if c.Null && g.rnd.IntN(8) == 0 {
			img[i] = nil
			continue
		}
		switch c.Type {
		case Int64:
			img[i] = g.rnd.Int64N(1 << 40)
		case Int32:
			img[i] = int64(g.rnd.IntN(1000))
		case String:
			img[i] = fmt.Sprintf("%s-%d", []string{"new", "paid", "sent", "역삼", "x"}[g.rnd.IntN(5)], g.rnd.IntN(1000))
		case Decimal:
			img[i] = cents(g.rnd.Int64N(2_000_000) - 500_000)
		}
	}
	img[t.Seq] = g.lsn
	return img
}

// emit renders one change of table ti and applies it to the generator's
// view of the source.
func (g *Generator) emit(ti int, op Op, lsn int64, before, after Row) Event {
	t, st := g.Tables[ti], g.state[ti]
	row := after
	if op == OpDelete {
		row = before
	}
	version := lsn
	if op == OpRead {
		version = lsn + snapshotBase
	}
	if after != nil {
		after[t.Seq] = version
	}
	k := t.Key(row)
	ev := Event{Table: ti, Topic: t.Topic, Partition: Partition(k, g.Partitions), KeyID: k, Op: op, LSN: version, Image: after}
	ev.Key = t.keyJSON(row)
	ev.Value = t.valueJSON(op, lsn, g.txID, before, after)
	switch op {
	case OpDelete:
		delete(st.live, k)
		for i, o := range st.order {
			if o == k {
				st.order = append(st.order[:i], st.order[i+1:]...)
				break
			}
		}
		st.deleted = append(st.deleted, before)
	default:
		if st.live[k] == nil {
			st.order = append(st.order, k)
		}
		st.live[k] = after
	}
	return ev
}

// snapshotBase is added to a snapshot row's position to rank it below
// every streamed change (debezium/version.go).
const snapshotBase = -1 << 62

// Partition is the partition of a key among n: a hash of the key, so every
// change of a row goes to one partition, as Kafka's default partitioner
// does with Debezium's keys.
func Partition(key string, n int32) int32 {
	h := fnv.New32a()
	h.Write([]byte(key))
	return int32(h.Sum32() % uint32(n))
}

// decimalB64 is Debezium's Decimal: minimal big-endian two's complement of
// the unscaled value, base64.
func decimalB64(text string) string {
	neg := text[0] == '-'
	if neg {
		text = text[1:]
	}
	var v int64
	for _, c := range text {
		if c != '.' {
			v = v*10 + int64(c-'0')
		}
	}
	if neg {
		v = -v
	}
	b := binary.BigEndian.AppendUint64(nil, uint64(v))
	for len(b) > 1 && (b[0] == 0 && b[1]&0x80 == 0 || b[0] == 0xff && b[1]&0x80 != 0) {
		b = b[1:]
	}
	return base64.StdEncoding.EncodeToString(b)
}

// source value of a Debezium row: decimals as base64, the rest as is.
func (t *Table) sourceRow(r Row, keyOnly bool) map[string]any {
	if r == nil {
		return nil
	}
	m := make(map[string]any, len(t.Columns))
	for i, c := range t.Columns {
		if keyOnly && !c.Key {
			continue
		}
		v := r[i]
		if s, ok := v.(string); ok && c.Type == Decimal {
			v = decimalB64(s)
		}
		m[c.Name] = v
	}
	return m
}

func (t *Table) fieldSchemas(keyOnly bool) []map[string]any {
	var fs []map[string]any
	for _, c := range t.Columns {
		if keyOnly && !c.Key {
			continue
		}
		f := map[string]any{"field": c.Name, "optional": c.Null}
		switch c.Type {
		case Int64:
			f["type"] = "int64"
		case Int32:
			f["type"] = "int32"
		case String:
			f["type"] = "string"
		case Decimal:
			f["type"], f["name"], f["version"] = "bytes", "org.apache.kafka.connect.data.Decimal", 1
			f["parameters"] = map[string]string{"scale": "2", "connect.decimal.precision": "14"}
		}
		fs = append(fs, f)
	}
	return fs
}

func (t *Table) keyJSON(r Row) []byte {
	payload := t.sourceRow(r, true)
	if !t.Schemas {
		b, _ := json.Marshal(payload)
		return b
	}
	b, _ := json.Marshal(map[string]any{
		"schema":  map[string]any{"type": "struct", "fields": t.fieldSchemas(true), "optional": false, "name": t.Topic + ".Key"},
		"payload": payload,
	})
	return b
}

func (t *Table) valueJSON(op Op, lsn, txID int64, before, after Row) []byte {
	ts := 1_717_549_512_345 + lsn/1000
	snap := "false"
	if op == OpRead {
		snap = "true"
	}
	payload := map[string]any{
		"before": t.sourceRow(before, false),
		"after":  t.sourceRow(after, false),
		"source": map[string]any{"version": "2.6.2.Final", "connector": "postgresql", "name": "chaos", "ts_ms": ts,
			"snapshot": snap, "db": "chaos", "sequence": `["` + strconv.FormatInt(lsn-168, 10) + `","` + strconv.FormatInt(lsn, 10) + `"]`,
			"schema": "public", "table": t.Name, "txId": txID, "lsn": lsn, "xmin": nil},
		"op": string(op), "ts_ms": ts + 326, "transaction": nil,
	}
	if !t.Schemas {
		b, _ := json.Marshal(payload)
		return b
	}
	image := func(field string) map[string]any {
		return map[string]any{"type": "struct", "fields": t.fieldSchemas(false), "optional": true, "name": t.Topic + ".Value", "field": field}
	}
	source := map[string]any{"type": "struct", "optional": false, "name": "io.debezium.connector.postgresql.Source", "field": "source",
		"fields": []map[string]any{
			{"type": "string", "optional": false, "field": "version"}, {"type": "string", "optional": false, "field": "connector"},
			{"type": "string", "optional": false, "field": "name"}, {"type": "int64", "optional": false, "field": "ts_ms"},
			{"type": "string", "optional": true, "name": "io.debezium.data.Enum", "version": 1, "field": "snapshot"},
			{"type": "string", "optional": false, "field": "db"}, {"type": "string", "optional": true, "field": "sequence"},
			{"type": "string", "optional": false, "field": "schema"}, {"type": "string", "optional": false, "field": "table"},
			{"type": "int64", "optional": true, "field": "txId"}, {"type": "int64", "optional": true, "field": "lsn"},
			{"type": "int64", "optional": true, "field": "xmin"},
		}}
	env := map[string]any{"type": "struct", "optional": false, "name": t.Topic + ".Envelope", "version": 2,
		"fields": []map[string]any{image("before"), image("after"), source,
			{"type": "string", "optional": false, "field": "op"}, {"type": "int64", "optional": true, "field": "ts_ms"},
			{"type": "struct", "optional": true, "name": "event.block", "version": 1, "field": "transaction",
				"fields": []map[string]any{{"type": "string", "optional": false, "field": "id"}, {"type": "int64", "optional": false, "field": "total_order"}, {"type": "int64", "optional": false, "field": "data_collection_order"}}},
		}}
	b, _ := json.Marshal(map[string]any{"schema": env, "payload": payload})
	return b
}
