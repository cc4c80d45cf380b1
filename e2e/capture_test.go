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
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// expectation is the <name>.expect.json beside a captured record: where it
// came from, the StarRocks columns to decode it into, and the row the
// decoder must produce (values as text, null for NULL; Row is the after
// image, or the before image of a delete; nil for a tombstone).
type expectation struct {
	Topic       string             `json:"topic"`
	Partition   int32              `json:"partition"`
	Offset      int64              `json:"offset"`
	Op          string             `json:"op"` // r, c, u, d, or "tombstone"
	Columns     []column           `json:"columns"`
	Row         map[string]*string `json:"row"`
	Unavailable []string           `json:"unavailable,omitempty"` // columns carrying Debezium's placeholder
	Unchecked   []string           `json:"unchecked,omitempty"`   // columns whose rendering is not asserted
	Source      string             `json:"source"`                // the statement the record comes from
}

// envelope is the part of a Debezium value the selection looks at.
type envelope struct {
	Payload struct {
		Op     string                     `json:"op"`
		Before map[string]json.RawMessage `json:"before"`
		After  map[string]json.RawMessage `json:"after"`
	} `json:"payload"`
}

// captured is one record chosen for testdata.
type captured struct {
	name string
	rec  *kgo.Record
	exp  expectation
}

// captureMessages reads the real topics from the start and saves one record
// per op and type family into debezium/testdata/captured/.
func captureMessages(ctx context.Context, t *testing.T, e env) {
	if e.capture == "" {
		t.Skip("E2E_CAPTURE_DIR not set")
	}
	pg := pgConn(ctx, t, e.pgDSN)
	want := map[string]bool{
		"passengers-snapshot-read": true, "passengers-insert": true, "passengers-update": true,
		"passengers-delete": true, "passengers-tombstone": true, "info-snapshot-read": true,
		"time-snapshot-read": true, "all-types-insert-1": true, "all-types-insert-2": true,
		"all-types-insert-3": true, "all-types-insert-4": true, "all-types-update-toast": true,
	}
	topics := map[string]string{
		e.topic("subway_passengers_copy"): "passengers", e.topic("subway_info_copy"): "info",
		e.topic("subway_passengers_time_copy"): "time", e.topic("all_types"): "all-types",
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
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	for len(got) < len(want) {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			break
		}
		fs.EachError(func(tp string, p int32, err error) { t.Logf("fetch %s/%d: %v", tp, p, err) })
		fs.EachRecord(func(r *kgo.Record) {
			name := classify(topics[r.Topic], r)
			if name == "" || !want[name] || got[name] != nil {
				return
			}
			got[name] = &captured{name: name, rec: r}
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
	if err := os.MkdirAll(e.capture, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, c := range got {
		if err := expect(ctx, pg, c); err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if err := save(e.capture, c); err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	t.Logf("captured %d records into %s", len(got), filepath.Base(e.capture))
	adm := kadm.NewClient(cl)
	if ends, err := adm.ListEndOffsets(ctx, names...); err == nil {
		ends.Each(func(o kadm.ListedOffset) {
			t.Logf("topic %s partition %d: end offset %d", o.Topic, o.Partition, o.Offset)
		})
	}
}

// classify names a record by table family and op, or "" when it is not one
// the testdata keeps.
func classify(family string, r *kgo.Record) string {
	if r.Value == nil {
		if family == "passengers" {
			return "passengers-tombstone"
		}
		return ""
	}
	var env envelope
	if json.Unmarshal(r.Value, &env) != nil {
		return ""
	}
	p := env.Payload
	switch {
	case p.Op == "r" && family != "all-types":
		return family + "-snapshot-read"
	case family == "passengers" && p.Op == "c" && string(p.After["station_name"]) == `"신논현"`:
		return "passengers-insert"
	case family == "passengers" && (p.Op == "u" || p.Op == "d"):
		return map[string]string{"u": "passengers-update", "d": "passengers-delete"}[p.Op]
	case family == "all-types" && p.Op == "c":
		return "all-types-insert-" + string(p.After["id"])
	case family == "all-types" && p.Op == "u":
		return "all-types-update-toast"
	}
	return ""
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
	var env envelope
	if c.rec.Value != nil {
		_ = json.Unmarshal(c.rec.Value, &env)
		x.Op = env.Payload.Op
	} else {
		x.Op = "tombstone"
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
	case "passengers-tombstone":
		x.Source = "the tombstone after the delete: key only, Kafka null value"
	case "all-types-update-toast":
		x.Row = row("id", "4", "c_int2", "7")
		x.Unavailable = []string{"c_text"}
		x.Source = "UPDATE all_types SET c_int2 = 7 WHERE id = 4 (REPLICA IDENTITY DEFAULT, c_text TOASTed out of line)"
	}
	if family == "all-types" {
		x.Columns = allTypesCols
		x.Unchecked = []string{"c_bytea"}
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
		// a snapshot row is still as seeded when the capture runs
		var env2 envelope
		_ = json.Unmarshal(c.rec.Value, &env2)
		names := make([]string, len(x.Columns))
		exprs := make([]string, len(x.Columns))
		for i, col := range x.Columns {
			names[i] = col.Name
			exprs[i] = col.Name + "::text"
		}
		var where []string
		var args []any
		for _, col := range x.Columns {
			if v, ok := env2.Payload.After[col.Name]; ok && col.Key {
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
		x.Source = "initial snapshot of the seeded row"
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
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(c.exp); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, c.name+".expect.json"), b.Bytes(), 0o644)
}
