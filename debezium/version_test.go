package debezium

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestVersion checks the version of a change per source kind, from real
// messages (testdata/fixtures, captured from Debezium 2.6; testdata/captured,
// from the end-to-end run) and from messages written by hand after
// Debezium's documented examples where no capture exists (MySQL, incremental
// snapshots, unwrapped rows with add.fields): see each case's comment.
func TestVersion(t *testing.T) {
	const base = -1 << 62
	file := func(path string) string { return testdataText(t, path) }
	pg := func(op, source string) string {
		return `{"before":null,"after":{"id":1},"source":{"connector":"postgresql","ts_ms":1700000000000,` + source + `},"op":"` + op + `"}`
	}
	my := func(op, source string) string {
		return `{"before":null,"after":{"id":1},"source":{"version":"2.6.2.Final","connector":"mysql","name":"mysql","ts_ms":1651535750218,"db":"inventory","table":"customers","server_id":223344,"gtid":null,` + source + `,"thread":7,"query":null},"op":"` + op + `"}`
	}
	tests := []struct {
		name    string
		key     string
		value   string // "nil": a tombstone
		opts    Options
		want    int64
		wantErr string // the field VersionErr names ("" : none)
		wantTS  int64
	}{
		// PostgreSQL, real messages.
		{"pg initial snapshot (fixture)", "", file("fixtures/snapshot-read.value.json"), Options{}, base + 5435922728, "", 1717549200123},
		{"pg streamed insert (fixture)", "", file("fixtures/insert.value.json"), Options{}, 5436001896, "", 1717549512345},
		{"pg streamed update (fixture)", "", file("fixtures/update.value.json"), Options{}, 5436004176, "", 1717549600100},
		{"pg streamed delete (fixture)", file("fixtures/delete.key.json"), file("fixtures/delete.value.json"), Options{}, 5436006440, "", 1717549675777},
		{"pg snapshot first_in_data_collection (capture)", "", file("captured/passengers-snapshot-read.value.json"), Options{}, base + 59830832, "", 1795417215548},
		{"pg first change after the snapshot, sequence [null, lsn] (capture)", "", file("captured/passengers-insert.value.json"), Options{}, 59830952, "", 1795417216376},
		{"pg unwrapped without add.fields (fixture)", "", file("fixtures/unwrapped-update.value.json"), Options{}, 0, "__lsn", 1717549600100},
		// PostgreSQL, by hand. Incremental-snapshot rows: PostgresSourceInfoStructMaker
		// leaves lsn and txId null, sequence holds the stream's position when the
		// chunk was emitted.
		{"pg incremental snapshot row", "", pg("r", `"snapshot":"incremental","db":"d","sequence":"[\"59867608\",\"59867664\"]","schema":"public","table":"t","txId":null,"lsn":null,"xmin":null`), Options{}, base + 59867664, "", 1700000000000},
		{"pg incremental snapshot row without sequence", "", pg("r", `"snapshot":"incremental","lsn":null`), Options{}, 0, "source.lsn", 1700000000000},
		{"pg sequence not Debezium's text", "", pg("u", `"sequence":[1,2]`), Options{}, 0, "source.sequence", 1700000000000},
		{"pg lsn zero", "", pg("u", `"lsn":0`), Options{}, 0, "source.lsn", 1700000000000},
		{"pg unknown snapshot marker", "", pg("r", `"snapshot":"maybe","lsn":5`), Options{}, 0, "source.snapshot", 1700000000000},
		{"pg truncate", "", `{"before":null,"after":null,"source":{"connector":"postgresql","ts_ms":1,"lsn":77},"op":"t"}`, Options{}, 77, "", 1},
		// Unwrapped rows with add.fields (ExtractNewRecordState docs: op → __op,
		// lsn → __lsn, source.ts_ms → __source_ts_ms).
		{"unwrapped streamed with __lsn", "", `{"id":1,"__op":"u","__lsn":5436004176,"__source_ts_ms":1717549600100,"__deleted":"false"}`, Options{}, 5436004176, "", 1717549600100},
		{"unwrapped snapshot read with __lsn", "", `{"id":1,"__op":"r","__lsn":5435922728}`, Options{}, base + 5435922728, "", 0},
		{"unwrapped incremental with qualified fields", "", `{"id":1,"__op":"r","__source_snapshot":"incremental","__source_lsn":null,"__source_sequence":"[null,\"900\"]"}`, Options{}, base + 900, "", 0},
		{"unwrapped tombstone", `{"id":1}`, "nil", Options{Envelope: EnvelopeUnwrapped}, 0, "", 0},
		{"unwrapped null payload", `{"id":1}`, `{"schema":{"type":"struct","name":"p.s.t.Value"},"payload":null}`, Options{}, 0, "payload", 0},
		{"unwrapped with another prefix", "", `{"id":1,"meta_op":"u"}`, Options{FieldsPrefix: "meta_"}, 0, "meta_lsn", 0},
		// MySQL, by hand after the MySQL connector documentation's create event
		// (file mysql-bin.000003, pos 154, row 0).
		{"mysql streamed", "", my("c", `"snapshot":"false","file":"mysql-bin.000003","pos":154,"row":0`), Options{}, 3<<32 | 154, "", 1651535750218},
		{"mysql second row of the event", "", my("c", `"snapshot":"false","file":"mysql-bin.000003","pos":154,"row":1`), Options{}, 3<<32 | 155, "", 1651535750218},
		{"mysql next file", "", my("u", `"snapshot":false,"file":"mysql-bin.000004","pos":4,"row":0`), Options{}, 4<<32 | 4, "", 1651535750218},
		{"mysql snapshot", "", my("r", `"snapshot":"last","file":"mysql-bin.000003","pos":154,"row":0`), Options{}, base + (3<<32 | 154), "", 1651535750218},
		{"mysql file without index", "", my("c", `"snapshot":"false","file":"binlog","pos":154,"row":0`), Options{}, 0, "source.file", 1651535750218},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &Record{Topic: "p.s.t", Partition: 1, Offset: 2, Key: []byte(tt.key)}
			if tt.value != "nil" {
				rec.Value = []byte(tt.value)
			}
			_, ev, err := NewDecoder(nil, tt.opts).Decode(rec, nil)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if ev.SourceTS != tt.wantTS {
				t.Errorf("SourceTS = %d, want %d", ev.SourceTS, tt.wantTS)
			}
			if tt.wantErr == "" && tt.value != "nil" {
				if ev.VersionErr != nil || ev.Version != tt.want {
					t.Errorf("Version = %d (%v), want %d", ev.Version, ev.VersionErr, tt.want)
				}
				return
			}
			var ve *VersionError
			if ev.Version != 0 || !errors.As(ev.VersionErr, &ve) || ve.Field != tt.wantErr {
				t.Errorf("Version = %d, VersionErr = %v; want 0 and a VersionError for %q", ev.Version, ev.VersionErr, tt.wantErr)
			}
			if !errors.Is(ev.VersionErr, ErrNoVersion) {
				t.Errorf("VersionErr %v does not wrap ErrNoVersion", ev.VersionErr)
			}
		})
	}
}

// TestVersionOrder checks the order the definition promises for one key:
// snapshot rows below every streamed change, a later snapshot above an
// earlier one, and streamed changes in WAL order, including a transaction
// that wrote the key before the snapshot point and committed after it.
func TestVersionOrder(t *testing.T) {
	pg := func(op, source string) string {
		return `{"before":null,"after":{"id":1},"source":{"connector":"postgresql","ts_ms":1,` + source + `},"op":"` + op + `"}`
	}
	inOrder := []struct{ name, value string }{
		{"initial snapshot at S=1000", pg("r", `"snapshot":"true","lsn":1000`)},
		{"incremental snapshot emitted at 5000", pg("r", `"snapshot":"incremental","lsn":null,"sequence":"[\"4900\",\"5000\"]"`)},
		{"a transaction that wrote at 900 and committed after S", pg("u", `"snapshot":"false","lsn":900`)},
		{"a later change", pg("u", `"snapshot":"false","lsn":1200`)},
		{"the second change of one transaction", pg("u", `"snapshot":"false","lsn":1300`)},
	}
	d := NewDecoder(nil, Options{})
	prev := int64(-1 << 63)
	for _, c := range inOrder {
		_, ev, err := d.Decode(&Record{Topic: "p.s.t", Value: []byte(c.value)}, nil)
		if err != nil || ev.VersionErr != nil {
			t.Fatalf("%s: %v %v", c.name, err, ev.VersionErr)
		}
		if ev.Version <= prev {
			t.Errorf("%s: version %d is not above the previous %d", c.name, ev.Version, prev)
		}
		prev = ev.Version
	}
}

// TestNoVersionAllocatesNothing checks that a change without a position
// (an unwrapped row without add.fields, the common case of unwrapped
// topics) costs no allocation for its VersionErr.
func TestNoVersionAllocatesNothing(t *testing.T) {
	value, err := os.ReadFile(filepath.Join("testdata", "fixtures", "unwrapped-update.value.json"))
	if err != nil {
		t.Fatal(err)
	}
	d := NewDecoder(subwayPassengers(), Options{OpColumn: true})
	rec := &Record{Topic: "p.s.t", Value: value}
	buf := make([]byte, 0, 4096)
	if allocs := testing.AllocsPerRun(100, func() {
		_, ev, err := d.Decode(rec, buf[:0])
		if err != nil || ev.VersionErr == nil {
			t.Fatalf("Decode: %v, VersionErr %v", err, ev.VersionErr)
		}
	}); allocs != 0 {
		t.Errorf("%v allocations per record, want 0", allocs)
	}
}

// TestSpan checks which rows Event.Span calls a full snapshot's: only
// those whose snapshot field names one. A row that does not
// say, or an incremental snapshot's, is not (the worker's restarted-snapshot
// reconciliation must never take an incremental chunk for a new full
// snapshot).
func TestSpan(t *testing.T) {
	file := func(path string) string { return testdataText(t, path) }
	pg := func(op, source string) string {
		return `{"before":null,"after":{"id":1},"source":{"connector":"postgresql","ts_ms":1,` + source + `},"op":"` + op + `"}`
	}
	tests := []struct {
		name  string
		value string
		want  Span
	}{
		{"initial snapshot row (fixture)", file("fixtures/snapshot-read.value.json"), SpanFull},
		{"first_in_data_collection (capture)", file("captured/passengers-snapshot-read.value.json"), SpanFull},
		{"first", pg("r", `"snapshot":"first","lsn":5`), SpanFull},
		{"last", pg("r", `"snapshot":"last","lsn":5`), SpanFullLast},
		{"last_in_data_collection", pg("r", `"snapshot":"last_in_data_collection","lsn":5`), SpanFullLast},
		{"boolean true", pg("r", `"snapshot":true,"lsn":5`), SpanFull},
		{"incremental", pg("r", `"snapshot":"incremental","lsn":null,"sequence":"[\"4\",\"5\"]"`), SpanIncremental},
		{"read without snapshot field", pg("r", `"lsn":5`), SpanUnknown},
		{"read with snapshot false", pg("r", `"snapshot":"false","lsn":5`), SpanUnknown},
		{"streamed insert", pg("c", `"snapshot":"false","lsn":5`), SpanUnknown},
		{"streamed insert (fixture)", file("fixtures/insert.value.json"), SpanUnknown},
		{"unwrapped snapshot row with source.snapshot", `{"id":1,"__op":"r","__source_snapshot":"true","__source_lsn":5}`, SpanFull},
		{"unwrapped incremental row", `{"id":1,"__op":"r","__source_snapshot":"incremental","__source_lsn":null,"__source_sequence":"[null,\"900\"]"}`, SpanIncremental},
		{"unwrapped read without snapshot field", `{"id":1,"__op":"r","__lsn":5}`, SpanUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ev, err := NewDecoder(nil, Options{}).Decode(&Record{Topic: "p.s.t", Value: []byte(tt.value)}, nil)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if ev.Span != tt.want {
				t.Errorf("Span = %d, want %d", ev.Span, tt.want)
			}
		})
	}
}

// testdataText returns the text of testdata/path.
func testdataText(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", path))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
