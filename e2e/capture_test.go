//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kgo"
)

// expectation is the <name>.expect.json beside a captured record: where it
// came from, the StarRocks columns to decode it into, and the row the
// decoder must produce (values as text, null for NULL; Row is the after
// image, the before image of a delete, or the key of a delete that arrives
// as a tombstone; nil for a raw topic's tombstone).
type expectation struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Offset    int64  `json:"offset"`
	Op        string `json:"op"` // r, c, u, d, or "tombstone" (the raw envelope's tombstone after a delete)
	// Decoded is what the decoder must make of it: upsert, delete or skip.
	Decoded     string             `json:"decoded"`
	Columns     []column           `json:"columns"`
	Row         map[string]*string `json:"row"`
	Unavailable []string           `json:"unavailable,omitempty"` // columns carrying Debezium's placeholder
	Unchecked   []string           `json:"unchecked,omitempty"`   // columns whose rendering is not asserted
	Source      string             `json:"source"`                // the statement the record comes from
}

// message is what the selection reads of a record's value, raw or
// unwrapped, with or without schemas.
type message struct {
	op      string                     // r, c, u, d; "" when an unwrapped row does not say
	row     map[string]json.RawMessage // after, or before of a delete; the unwrapped row
	deleted bool                       // __deleted is "true"
	null    bool                       // a null value, the JSON text null, or a null payload
}

func parseMessage(v []byte) (message, bool) {
	var m message
	if v == nil {
		m.null = true
		return m, true
	}
	var top map[string]json.RawMessage
	if json.Unmarshal(v, &top) != nil {
		return m, false
	}
	if top == nil { // JsonConverter without schemas writes a null value as the text null
		m.null = true
		return m, true
	}
	if p, ok := top["payload"]; ok && len(top) == 2 && top["schema"] != nil {
		if string(p) == "null" {
			m.null = true
			return m, true
		}
		top = nil
		if json.Unmarshal(p, &top) != nil {
			return m, false
		}
	}
	_, hasSource := top["source"]
	if op, ok := top["op"]; ok && hasSource {
		_ = json.Unmarshal(op, &m.op)
		img := top["after"]
		if m.op == "d" {
			img = top["before"]
		}
		_ = json.Unmarshal(img, &m.row)
		return m, true
	}
	m.row = top
	if op, ok := top["__op"]; ok {
		_ = json.Unmarshal(op, &m.op)
	}
	var del string
	_ = json.Unmarshal(top["__deleted"], &del)
	m.deleted = del == "true"
	return m, true
}

// captured is one record chosen for testdata.
type captured struct {
	name string
	rec  *kgo.Record
	msg  message
	exp  expectation
}

// captureNames are the records kept for a cell: one per op and type family.
// A raw topic also has the tombstone that follows a delete; on a tombstone
// cell the delete itself is the tombstone.
func captureNames(c cell) map[string]bool {
	want := map[string]bool{
		"passengers-snapshot-read": true, "passengers-insert": true, "passengers-update": true,
		"passengers-delete": true, "info-snapshot-read": true,
		"time-snapshot-read": true, "all-types-insert-1": true, "all-types-insert-2": true,
		"all-types-insert-3": true, "all-types-insert-4": true, "all-types-update-toast": true,
	}
	if c.topics == "raw" {
		want["passengers-tombstone"] = true
	}
	return want
}

// captureMessages reads the cell's topics from the start and saves one
// record per op and type family into <capture dir>/<cell>/.
func captureMessages(ctx context.Context, t *testing.T, e env, c cell) {
	if e.capture == "" {
		t.Skip("E2E_CAPTURE_DIR not set")
	}
	pg := pgConn(ctx, t, c.pgDSN(t, e))
	want := captureNames(c)
	topics := map[string]string{
		c.topic(e, "subway_passengers_copy"): "passengers", c.topic(e, "subway_info_copy"): "info",
		c.topic(e, "subway_passengers_time_copy"): "time", c.topic(e, "all_types"): "all-types",
	}
	var names []string
	for tp := range topics {
		names = append(names, tp)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.kafka), kgo.ConsumeTopics(names...),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()

	got := map[string]*captured{}
	seen := map[string]int{}
	pctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	for len(got) < len(want) {
		fs := cl.PollFetches(pctx)
		if pctx.Err() != nil {
			break
		}
		fs.EachError(func(tp string, p int32, err error) { t.Logf("fetch %s/%d: %v", tp, p, err) })
		fs.EachRecord(func(r *kgo.Record) {
			m, ok := parseMessage(r.Value)
			if !ok {
				t.Errorf("%s/%d@%d: value is not JSON: %.200s", r.Topic, r.Partition, r.Offset, r.Value)
				return
			}
			name, op := classify(c, topics[r.Topic], m, seen)
			if name == "" || !want[name] || got[name] != nil {
				return
			}
			got[name] = &captured{name: name, rec: r, msg: m, exp: expectation{Op: op}}
		})
	}
	var missing []string
	for n := range want {
		if got[n] == nil {
			missing = append(missing, n)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("no record found for %v", missing)
	}
	dir := filepath.Join(e.capture, c.name)
	if err := writeCell(dir, e, c); err != nil {
		t.Fatal(err)
	}
	for _, cp := range got {
		for col := range c.unproven() {
			if strings.HasPrefix(cp.name, "all-types") {
				cp.exp.Unchecked = append(cp.exp.Unchecked, col)
			}
		}
		if err := expect(ctx, pg, cp); err != nil {
			t.Errorf("%s: %v", cp.name, err)
			continue
		}
		if err := save(dir, cp); err != nil {
			t.Errorf("%s: %v", cp.name, err)
		}
	}
	t.Logf("captured %d records into %s", len(got), c.name)
}

// cellFile is <capture dir>/<cell>/cell.json: the source configuration the
// messages come from and starsink's decoder settings for them.
type cellFile struct {
	Cell      string            `json:"cell"`
	Debezium  string            `json:"debezium"`
	Connector map[string]string `json:"connector"` // the settings that shape the messages
	Decoder   map[string]string `json:"decoder"`   // decoder.* keys of starsink's configuration
}

func writeCell(dir string, e env, c cell) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f := cellFile{Cell: c.name, Debezium: debeziumReleases[c.debezium], Connector: map[string]string{
		"key.converter": "org.apache.kafka.connect.json.JsonConverter", "value.converter": "org.apache.kafka.connect.json.JsonConverter",
		"key.converter.schemas.enable": fmt.Sprint(c.schemas), "value.converter.schemas.enable": fmt.Sprint(c.schemas),
		"plugin.name": "pgoutput", "decimal.handling.mode": "precise", "time.precision.mode": "adaptive",
	}, Decoder: map[string]string{}}
	if c.topics == "raw" {
		f.Connector["tombstones.on.delete"] = "true"
	}
	for k, v := range c.unwrap() {
		f.Connector[k] = v
	}
	for _, line := range strings.Split(c.decoderConfig(), "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ": "); ok {
			f.Decoder[k] = v
		}
	}
	return writeJSON(filepath.Join(dir, "cell.json"), f)
}

func writeJSON(path string, v any) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return err
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}

// classify names a record by table family and op, or "" when it is not one
// the testdata keeps, and returns its op. An unwrapped row without __op
// (tombstone cells add no fields) is told by what the scenario wrote:
// rows of 2023 are the snapshot, the first record of a key its insert.
func classify(c cell, family string, m message, seen map[string]int) (name, op string) {
	if m.null {
		switch {
		case family != "passengers":
			return "", ""
		case c.topics == "raw":
			return "passengers-tombstone", "tombstone"
		default:
			return "passengers-delete", "d"
		}
	}
	str := func(f string) string {
		var v string
		_ = json.Unmarshal(m.row[f], &v)
		return v
	}
	op = m.op
	if op == "" {
		var k string
		switch family {
		case "info", "time":
			op = "r"
		case "passengers":
			if strings.HasPrefix(str("use_date"), "2023") {
				op = "r"
			}
			k = str("use_date") + str("line_no") + str("station_name")
		case "all-types":
			k = string(m.row["id"])
		}
		if op == "" && k != "" {
			seen[family+k]++
			op = map[bool]string{true: "c", false: "u"}[seen[family+k] == 1]
		}
	}
	switch {
	case op == "r" && family != "all-types":
		return family + "-snapshot-read", op
	case family == "passengers" && op == "c" && str("station_name") == "신논현":
		return "passengers-insert", op
	case family == "passengers" && (op == "u" || op == "d"):
		return map[string]string{"u": "passengers-update", "d": "passengers-delete"}[op], op
	case family == "all-types" && op == "c":
		return "all-types-insert-" + string(m.row["id"]), op
	case family == "all-types" && op == "u":
		return "all-types-update-toast", op
	}
	return "", ""
}

var subwayCols = map[string][]column{
	"passengers": {{"use_date", "VARCHAR(8)", true}, {"line_no", "VARCHAR(100)", true}, {"station_name", "VARCHAR(100)", true},
		{"pass_in", "DECIMAL(13,0)", false}, {"pass_out", "DECIMAL(13,0)", false}, {"reg_date", "VARCHAR(8)", false}},
	"info": {{"line_no", "VARCHAR(100)", true}, {"station_name", "VARCHAR(100)", true}, {"station_code", "VARCHAR(20)", false},
		{"ext_code", "VARCHAR(20)", false}, {"reg_date", "VARCHAR(8)", false}},
	"time": {{"use_month", "VARCHAR(6)", true}, {"line_no", "VARCHAR(100)", true}, {"station_name", "VARCHAR(100)", true},
		{"time_band", "VARCHAR(20)", true}, {"pass_in", "DECIMAL(12,0)", false}, {"pass_out", "DECIMAL(12,0)", false}, {"reg_date", "VARCHAR(8)", false}},
}

var subwayPK = map[string]string{
	"passengers": "subway_passengers_copy", "info": "subway_info_copy", "time": "subway_passengers_time_copy",
}

// expect fills in the expected row of a captured record from what was
// written to PostgreSQL.
func expect(ctx context.Context, pg *pgx.Conn, c *captured) error {
	family, _, _ := strings.Cut(c.name, "-")
	if strings.HasPrefix(c.name, "all-types") {
		family = "all-types"
	}
	x := &c.exp
	x.Topic, x.Partition, x.Offset = c.rec.Topic, c.rec.Partition, c.rec.Offset
	switch {
	case x.Op == "tombstone":
		x.Decoded = "skip"
	case x.Op == "d" || c.msg.deleted:
		x.Decoded = "delete"
	default:
		x.Decoded = "upsert"
	}
	switch c.name {
	case "passengers-insert":
		x.Row = row("use_date", "20240601", "line_no", "9호선", "station_name", "신논현", "pass_in", "12345", "pass_out", nil, "reg_date", "20240604")
		x.Source = `INSERT INTO subway_passengers_copy VALUES ('20240601','9호선','신논현',12345,NULL,'20240604')`
	case "passengers-update":
		x.Row = row("use_date", "20240101", "line_no", "2호선", "station_name", "강남", "pass_in", "98801", "pass_out", "101300", "reg_date", "20240605")
		x.Source = `UPDATE … SET pass_in=98801, pass_out=101300, reg_date='20240605' of ('20240101','2호선','강남',98765,101234,'20240104')`
	case "passengers-delete":
		x.Row = row("use_date", "20240101", "line_no", "2호선", "station_name", "강남", "pass_in", "98801", "pass_out", "101300", "reg_date", "20240605")
		x.Source = `DELETE of ('20240101','2호선','강남') (REPLICA IDENTITY FULL: before is the whole row)`
		if c.msg.null {
			x.Row = row("use_date", "20240101", "line_no", "2호선", "station_name", "강남")
			x.Source = `DELETE of ('20240101','2호선','강남'), unwrapped into a null value under the row's key: {"schema":…,"payload":null} with schemas, the JSON text null without`
		}
	case "passengers-tombstone":
		x.Source = "the tombstone after the delete: key only, Kafka null value"
	case "all-types-update-toast":
		x.Row = row("id", "4", "c_int2", "7")
		x.Unavailable = []string{"c_text"}
		x.Source = "UPDATE all_types SET c_int2 = 7 WHERE id = 4 (REPLICA IDENTITY DEFAULT, c_text TOASTed out of line)"
	}
	if family == "all-types" {
		x.Columns = allTypesCols
		x.Unchecked = append(x.Unchecked, "c_bytea")
		for _, r := range typesRows {
			if c.name == fmt.Sprintf("all-types-insert-%d", r.id) {
				x.Row = r.want
				x.Source = "INSERT INTO all_types VALUES (" + r.pg + ")"
			}
		}
		if c.name == "all-types-insert-4" {
			var txt string
			if err := pg.QueryRow(ctx, "SELECT c_text FROM all_types WHERE id = 4").Scan(&txt); err != nil {
				return err
			}
			x.Row = row("id", "4", "c_int2", "1", "c_text", txt)
			x.Source = "INSERT INTO all_types (id, c_int2, c_text) VALUES (4, 1, " + toastTextSQL + ")"
		}
		return nil
	}
	x.Columns = subwayCols[family]
	if x.Op == "r" {
		return expectSnapshot(ctx, pg, family, c, "initial snapshot of the seeded row")
	}
	return nil
}

// expectSnapshot fills in the expected row of a snapshot read: the row as
// PostgreSQL holds it now, found by the key the record carries.
func expectSnapshot(ctx context.Context, pg *pgx.Conn, family string, c *captured, source string) error {
	x := &c.exp
	x.Columns = subwayCols[family]
	{
		names := make([]string, len(x.Columns))
		exprs := make([]string, len(x.Columns))
		for i, col := range x.Columns {
			names[i] = col.Name
			exprs[i] = col.Name + "::text"
		}
		var where []string
		var args []any
		for _, col := range x.Columns {
			if v, ok := c.msg.row[col.Name]; ok && col.Key {
				var sv string
				_ = json.Unmarshal(v, &sv)
				args = append(args, sv)
				where = append(where, fmt.Sprintf("%s = $%d", col.Name, len(args)))
			}
		}
		vals := make([]*string, len(names))
		dst := make([]any, len(names))
		for i := range vals {
			dst[i] = &vals[i]
		}
		q := "SELECT " + strings.Join(exprs, ", ") + " FROM " + subwayPK[family] + " WHERE " + strings.Join(where, " AND ")
		if err := pg.QueryRow(ctx, q, args...).Scan(dst...); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
		x.Row = map[string]*string{}
		for i, n := range names {
			x.Row[n] = vals[i]
		}
		x.Source = source
	}
	return nil
}

func row(kv ...any) map[string]*string {
	m := map[string]*string{}
	for i := 0; i+1 < len(kv); i += 2 {
		k := kv[i].(string)
		if v, ok := kv[i+1].(string); ok {
			m[k] = s(v)
		} else {
			m[k] = nil
		}
	}
	return m
}

// save writes <name>.value.json, <name>.key.json and <name>.expect.json; the
// record bytes are written exactly as on the wire.
func save(dir string, c *captured) error {
	if c.rec.Value != nil {
		if err := os.WriteFile(filepath.Join(dir, c.name+".value.json"), c.rec.Value, 0o644); err != nil {
			return err
		}
	}
	if c.rec.Key != nil {
		if err := os.WriteFile(filepath.Join(dir, c.name+".key.json"), c.rec.Key, 0o644); err != nil {
			return err
		}
	}
	return writeJSON(filepath.Join(dir, c.name+".expect.json"), c.exp)
}
