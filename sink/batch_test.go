package sink

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap/zaptest"

	"github.com/starsink/starsink/config"
	"github.com/starsink/starsink/debezium"
	"github.com/starsink/starsink/schema"
)

const batchTopic = "dip.cdc.public.subway_passengers_copy"

func batchTable(model schema.Model) *schema.Table {
	return &schema.Table{Database: "subway", Name: "subway_passengers_copy", Model: model, Columns: []schema.Column{
		schema.NewColumn("use_date", "varchar(8)", false, true),
		schema.NewColumn("line_no", "varchar(100)", false, true),
		schema.NewColumn("station_name", "varchar(100)", false, true),
		schema.NewColumn("pass_in", "decimal(13,0)", true, false),
		schema.NewColumn("pass_out", "decimal(13,0)", true, false),
		schema.NewColumn("reg_date", "varchar(8)", true, false),
	}}
}

// batchWorker is a worker without Kafka: tableState.add and flush only queue
// batches, which the tests read back without loading them.
func batchWorker(t testing.TB) *Worker {
	t.Helper()
	cfg := config.Default()
	cfg.Batch.MaxRows = 100
	cfg.Batch.MaxBytes = 1 << 20
	cfg.Decoder.Envelope = "raw"
	opts, err := DecoderOptions(cfg.Decoder)
	if err != nil {
		t.Fatal(err)
	}
	return &Worker{cfg: &cfg, m: newMetrics(prometheus.NewRegistry()), decOpts: opts, lanes: make([]lane, 1), log: zaptest.NewLogger(t)}
}

// add takes one record through the worker's own path: decode, then batch.
func add(ts *tableState, r *kgo.Record) error {
	recs := []decoded{{r: r, t: ts}}
	ts.w.decode(recs)
	return ts.w.add(&recs[0])
}

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	if name == "" {
		return nil // a tombstone
	}
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestBatching feeds fixtures to one table's batcher and checks the batches
// it queues: segments, columns, partial updates, ranges, and what stops.
func TestBatching(t *testing.T) {
	type want struct {
		rows, deletes int
		partial       bool
		columnsLack   string // a column the header must not have
		ranges        string // describeRanges
	}
	tests := []struct {
		name    string
		model   schema.Model
		deletes string
		// truncates is mapping.tables.<t>.truncates.
		truncates string
		values    []string // fixture per offset 0,1,2…; "" is a tombstone
		batches   []want
		err       string // error of the first failing add
		skipped   int64
	}{
		{name: "one segment", model: schema.ModelPrimaryKeys,
			values:  []string{"snapshot-read.value.json", "insert.value.json", "update.value.json", "delete.value.json", ""},
			batches: []want{{rows: 4, deletes: 1, ranges: batchTopic + "[0]@0-4"}}, skipped: 1},
		{name: "TOAST row in its own partial load, in order", model: schema.ModelPrimaryKeys,
			values: []string{"insert.value.json", "update-toast.value.json", "update.value.json"},
			batches: []want{
				{rows: 1, ranges: batchTopic + "[0]@0-0"},
				{rows: 1, partial: true, columnsLack: "reg_date", ranges: batchTopic + "[0]@1-1"},
				{rows: 1, ranges: batchTopic + "[0]@2-2"},
			}},
		{name: "delete on a duplicate-key table fails by default", model: schema.ModelDupKeys,
			values: []string{"insert.value.json", "delete.value.json"}, err: "deletes=skip"},
		{name: "delete on a duplicate-key table skipped when configured", model: schema.ModelDupKeys, deletes: "skip",
			values:  []string{"insert.value.json", "delete.value.json", "insert.value.json"},
			batches: []want{{rows: 2, ranges: batchTopic + "[0]@0-2"}}, skipped: 1},
		{name: "truncate stops", model: schema.ModelPrimaryKeys,
			values: []string{"insert.value.json", "truncate.value.json"}, err: "truncates=skip"},
		{name: "truncate skipped when configured", model: schema.ModelPrimaryKeys, truncates: "skip",
			values:  []string{"insert.value.json", "truncate.value.json", "update.value.json"},
			batches: []want{{rows: 2, ranges: batchTopic + "[0]@0-2"}}, skipped: 1},
		{name: "TOAST on a non-primary-key table stops", model: schema.ModelDupKeys,
			values: []string{"update-toast.value.json"}, err: "REPLICA IDENTITY FULL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := batchWorker(t)
			ts, err := newTableState(w, batchTable(tt.model), config.TableOptions{Deletes: tt.deletes, Truncates: tt.truncates})
			if err != nil {
				t.Fatal(err)
			}
			for i, v := range tt.values {
				r := &kgo.Record{Topic: batchTopic, Offset: int64(i), Value: fixture(t, v)}
				if err = add(ts, r); err != nil {
					break
				}
			}
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one containing %q", err, tt.err)
				}
				if !strings.Contains(err.Error(), "offset") {
					t.Errorf("error %v does not name the offset", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ts.cur != nil {
				ts.flush("shutdown")
			}
			if len(ts.queue) != len(tt.batches) {
				t.Fatalf("%d batches, want %d", len(ts.queue), len(tt.batches))
			}
			for i, b := range ts.queue {
				wb := tt.batches[i]
				if b.Rows != wb.rows || b.Deletes != wb.deletes || b.Partial != wb.partial {
					t.Errorf("batch %d: rows %d deletes %d partial %v, want %d %d %v", i, b.Rows, b.Deletes, b.Partial, wb.rows, wb.deletes, wb.partial)
				}
				if got := describeRanges(b.Ranges); got != wb.ranges {
					t.Errorf("batch %d: ranges %s, want %s", i, got, wb.ranges)
				}
				cols := strings.Join(b.Columns, ",")
				if wb.columnsLack != "" && strings.Contains(cols, wb.columnsLack) {
					t.Errorf("batch %d: columns %s include %s", i, cols, wb.columnsLack)
				}
				if hasOp := strings.Contains(cols, "__op"); hasOp != (tt.model == schema.ModelPrimaryKeys) {
					t.Errorf("batch %d: columns %s: __op present %v on a %s table", i, cols, hasOp, tt.model)
				}
				body := bytes.Join(b.Body(), nil)
				if len(body) != b.BodyLen() || body[0] != '[' || body[len(body)-1] != ']' || strings.Count(string(body), "},{") != b.Rows-1 {
					t.Errorf("batch %d: body (%d bytes counted) is not a JSON array of %d rows: %s", i, b.BodyLen(), b.Rows, body)
				}
				if b.Label == "" {
					t.Errorf("batch %d: no label", i)
				}
			}
			if got := w.skipped.Load(); got != tt.skipped {
				t.Errorf("skipped %d, want %d", got, tt.skipped)
			}
		})
	}
}

// TestDecoderOptionsFromConfig checks that the decoder.* keys reach the
// decoder: a schemaless integer timestamp and a plain decimal string decode
// only when configured.
func TestDecoderOptionsFromConfig(t *testing.T) {
	table := &schema.Table{Database: "db", Name: "t", Model: schema.ModelDupKeys, Columns: []schema.Column{
		schema.NewColumn("ts", "datetime", true, false),
		schema.NewColumn("amount", "decimal(13,2)", true, false),
	}}
	value := []byte(`{"before":null,"after":{"ts":1717581912345678,"amount":"22.50"},"source":{"connector":"postgresql","ts_ms":1},"op":"c"}`)
	// A row of a table whose own columns look like an envelope's, and a
	// timestamp past 9999-12-31 (253402300800000000 µs).
	rowLike := []byte(`{"ts":253402300800000000,"amount":"1.00","op":"c","source":{"connector":"postgresql","ts_ms":1}}`)
	tests := []struct {
		name    string
		decoder config.Decoder
		value   []byte
		want    string // rendered row, or an error fragment
	}{
		{"defaults refuse the integer timestamp", config.Default().Decoder, value, "decoder.schemaless_timestamp"},
		{"microseconds and plain decimals", config.Decoder{Framing: "schemaless", TimeZone: "UTC", DecimalHandling: "string", SchemalessTimestamp: "us"},
			value, `{"ts":"2024-06-05 10:05:12.345678","amount":"22.50"}`},
		{"envelope unwrapped takes the row as a row, a date past 9999 refused", config.Decoder{Framing: "schemaless", Envelope: "unwrapped", DecimalHandling: "string", SchemalessTimestamp: "us"},
			rowLike, "out of the column's range"},
		{"out_of_range_dates clamp", config.Decoder{Framing: "schemaless", Envelope: "unwrapped", DecimalHandling: "string", SchemalessTimestamp: "us", OutOfRangeDates: "clamp"},
			rowLike, `{"ts":"9999-12-31 23:59:59.999999","amount":"1.00"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts, err := DecoderOptions(tt.decoder)
			if err != nil {
				t.Fatal(err)
			}
			got, _, err := debezium.NewDecoder(table, opts).Decode(&debezium.Record{Topic: "p.s.t", Value: tt.value}, nil)
			if err != nil {
				if !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("error %v, want one naming %q", err, tt.want)
				}
				return
			}
			if string(got) != tt.want {
				t.Fatalf("row %s, want %s", got, tt.want)
			}
		})
	}
}

// versionedTable is subway_passengers_copy as a Duplicate Key table with the
// versioned mode's columns.
func versionedTable(verType string) *schema.Table {
	t := batchTable(schema.ModelDupKeys)
	t.Columns = append(t.Columns, schema.NewColumn("_version", verType, false, false), schema.NewColumn("_deleted", "boolean", false, false))
	return t
}

// TestVersioned: in the versioned mode every change is a row with its
// version (the decoder's Event.Version: below every streamed change for
// snapshot reads, the source LSN otherwise) and the deleted flag,
// deletes included; tables without the columns, or Primary Key tables, are
// refused with the fix in the message.
func TestVersioned(t *testing.T) {
	tests := []struct {
		name   string
		table  *schema.Table
		opts   config.TableOptions
		values []string
		rows   []string // fragments each row of the body must hold, in order
		err    string   // newTableState's error
	}{
		{name: "every op a row", table: versionedTable("bigint(20)"), opts: config.TableOptions{Mode: "versioned"},
			values: []string{"snapshot-read.value.json", "insert.value.json", "update.value.json", "delete.value.json", ""},
			rows: []string{`"_version":-4611686012991465176,"_deleted":false}`, `"_version":5436001896,"_deleted":false}`,
				`"_version":5436004176,"_deleted":false}`, `"_version":5436006440,"_deleted":true}`}},
		{name: "columns renamed", table: func() *schema.Table {
			tb := batchTable(schema.ModelDupKeys)
			tb.Columns = append(tb.Columns, schema.NewColumn("lsn", "largeint", false, false), schema.NewColumn("gone", "tinyint(4)", false, false))
			return tb
		}(), opts: config.TableOptions{Mode: "versioned", VersionColumn: "lsn", DeletedColumn: "gone"},
			values: []string{"delete.value.json"}, rows: []string{`"lsn":5436006440,"gone":true}`}},
		{name: "primary key table refused", table: batchTable(schema.ModelPrimaryKeys), opts: config.TableOptions{Mode: "versioned"},
			err: "Primary Key table"},
		{name: "missing columns named", table: batchTable(schema.ModelDupKeys), opts: config.TableOptions{Mode: "versioned"},
			err: "add `_version BIGINT NOT NULL`"},
		{name: "narrow version column refused", table: versionedTable("int(11)"), opts: config.TableOptions{Mode: "versioned"},
			err: "want BIGINT or LARGEINT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts, err := newTableState(batchWorker(t), tt.table, tt.opts)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for i, v := range tt.values {
				if err := add(ts, &kgo.Record{Topic: batchTopic, Offset: int64(i), Value: fixture(t, v)}); err != nil {
					t.Fatal(err)
				}
			}
			ts.flush("shutdown")
			if len(ts.queue) != 1 {
				t.Fatalf("%d batches, want 1", len(ts.queue))
			}
			b := ts.queue[0]
			body := bytes.Join(b.Body(), nil)
			var rows []map[string]any
			if err := json.Unmarshal(body, &rows); err != nil {
				t.Fatalf("body is not a JSON array: %v\n%s", err, body)
			}
			if b.Deletes != 0 {
				t.Errorf("%d deletes counted: a versioned delete is an appended row", b.Deletes)
			}
			if len(rows) != len(tt.rows) || b.Rows != len(tt.rows) {
				t.Fatalf("%d rows (%d counted), want %d:\n%s", len(rows), b.Rows, len(tt.rows), body)
			}
			for i, frag := range tt.rows {
				if !strings.Contains(string(body), frag) {
					t.Errorf("row %d: body lacks %s:\n%s", i, frag, body)
				}
			}
			if strings.Contains(strings.Join(b.Columns, ","), "__op") {
				t.Errorf("columns %v: no __op in the versioned mode", b.Columns)
			}
		})
	}
}

// stubSchemas answers every table with one schema and counts the reads.
type stubSchemas struct {
	def   *schema.Table
	reads *int
}

func (s stubSchemas) Table(context.Context, string, string) (*schema.Table, error) {
	*s.reads++
	return s.def, nil
}

// TestSchemaChangeRedecodes: in one poll, a row without the new field, then
// rows with it. The first row with it finds the column added (ALTER TABLE):
// the open batch closes with the old columns, and that row and the next,
// decoded with the old schema by the poll's decode step, are decoded again
// and carry the column. The table had just started (its schema may come
// from the catalog's cache, older than the ALTER): the first unknown field
// reads the schema at once, not a refresh interval later.
func TestSchemaChangeRedecodes(t *testing.T) {
	w := batchWorker(t)
	w.cfg.StarRocks.SchemaRefreshInterval = time.Hour
	ts, err := newTableState(w, batchTable(schema.ModelPrimaryKeys), config.TableOptions{})
	if err != nil {
		t.Fatal(err)
	}
	altered := batchTable(schema.ModelPrimaryKeys)
	altered.Columns = append(altered.Columns, schema.NewColumn("note", "varchar(20)", true, false))
	var reads int
	w.schemas = stubSchemas{altered, &reads}
	value := func(station, extra string) []byte {
		return []byte(`{"before":null,"after":{"use_date":"20240601","line_no":"1","station_name":"` + station +
			`","pass_in":"AQ==","pass_out":null,"reg_date":"20240604"` + extra + `},"source":{"connector":"postgresql","ts_ms":1,"lsn":1},"op":"c"}`)
	}
	recs := []decoded{
		{r: &kgo.Record{Topic: batchTopic, Offset: 0, Value: value("a", "")}, t: ts},
		{r: &kgo.Record{Topic: batchTopic, Offset: 1, Value: value("b", `,"note":"x"`)}, t: ts},
		{r: &kgo.Record{Topic: batchTopic, Offset: 2, Value: value("c", `,"note":"y"`)}, t: ts},
	}
	w.decode(recs)
	for i := range recs {
		if err := w.add(&recs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if len(ts.queue) != 1 || ts.queue[0].Rows != 1 || slices.Contains(ts.queue[0].Columns, "note") {
		t.Fatalf("want one closed batch of the row before the change, without note in its columns: %d batches", len(ts.queue))
	}
	if ts.queue[0].reason != "schema" {
		t.Errorf("closed for %q, want schema", ts.queue[0].reason)
	}
	if reads != 1 {
		t.Errorf("schema read %d times, want once", reads)
	}
	b := ts.cur
	body := string(bytes.Join(b.Body(), nil))
	if b.Rows != 2 || !slices.Contains(b.Columns, "note") || !strings.Contains(body, `"note":"x"`) || !strings.Contains(body, `"note":"y"`) {
		t.Errorf("open batch: %d rows, columns %v, body %s; want both rows with their note", b.Rows, b.Columns, body)
	}
}
