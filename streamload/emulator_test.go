package streamload

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/starsink/starsink/emulator"
	"github.com/starsink/starsink/schema"
)

const emuPass = "emu-pw"

const subwayDDL = `CREATE TABLE subway_info_copy (line_no VARCHAR(100) NOT NULL, station_name VARCHAR(100) NOT NULL, station_code VARCHAR(20), ext_code VARCHAR(20), reg_date VARCHAR(8)) ENGINE=OLAP PRIMARY KEY(line_no, station_name) DISTRIBUTED BY HASH(line_no, station_name) BUCKETS 1 PROPERTIES("replication_num"="1")`

const passengersDDL = `CREATE TABLE subway_passengers_copy (use_date VARCHAR(8) NOT NULL, line_no VARCHAR(100) NOT NULL, station_name VARCHAR(100) NOT NULL, pass_in DECIMAL(13,0), pass_out DECIMAL(13,0), reg_date VARCHAR(8)) ENGINE=OLAP PRIMARY KEY(use_date, line_no, station_name) DISTRIBUTED BY HASH(use_date, line_no, station_name) BUCKETS 4 PROPERTIES("replication_num"="1")`

const benchDDL = `CREATE TABLE t (id BIGINT NOT NULL, line VARCHAR(16), station VARCHAR(64), ts DATETIME, delay_s INT, note VARCHAR(128)) ENGINE=OLAP PRIMARY KEY(id) DISTRIBUTED BY HASH(id) BUCKETS 1`

// startEmulator starts an emulator whose FE redirects to a BE host name
// that does not resolve, so every load also proves the BE rewrite.
func startEmulator(t testing.TB, countOnly bool) (*emulator.Server, Config) {
	t.Helper()
	srv, err := emulator.Start(emulator.Config{User: "root", Password: emuPass, BEAdvertiseHost: "be-internal.invalid", CountOnly: countOnly})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	ctx := context.Background()
	for _, q := range []string{"CREATE DATABASE subway", "USE subway", subwayDDL, passengersDDL,
		"CREATE DATABASE bench", "USE bench", benchDDL} {
		if err := srv.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	be, err := url.Parse(srv.BEURL())
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		FEURLs:        []string{srv.FEURL()},
		User:          "root",
		Password:      emuPass,
		BEHostRewrite: map[string]string{"be-internal.invalid:" + be.Port(): be.Host},
	}
	return srv, cfg
}

func infoReq(label string, rows string) *Request {
	return &Request{DB: "subway", Table: "subway_info_copy", Label: label, Format: FormatJSON,
		Columns: []string{"line_no", "station_name", "station_code", "ext_code", "reg_date", "__op"},
		Body:    []byte(rows)}
}

func TestIntegrationEmulatorLoad(t *testing.T) {
	srv, cfg := startEmulator(t, false)
	c := newTestClient(t, cfg)
	ctx := context.Background()
	rows := `[{"line_no":"1","station_name":"A","station_code":"101","ext_code":null,"reg_date":"20260101","__op":0},
{"line_no":"1","station_name":"B","station_code":"102","ext_code":null,"reg_date":"20260101","__op":0},
{"line_no":"1","station_name":"A","station_code":"101","ext_code":null,"reg_date":"20260101","__op":1}]`
	resp, err := c.Load(ctx, infoReq("info-0-0_2", rows))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != "Success" || resp.NumberTotalRows != 3 || resp.NumberLoadedRows != 3 || resp.TxnID == 0 {
		t.Errorf("response %+v", resp)
	}
	if n, err := srv.Count("subway", "subway_info_copy"); err != nil || n != 1 {
		t.Errorf("count %d, %v; want 1 (A upserted then deleted)", n, err)
	}

	// The same label again, as after a lost response: no second load.
	again, err := c.Load(ctx, infoReq("info-0-0_2", rows))
	if err != nil {
		t.Fatal(err)
	}
	if again.Status != "Label Already Exists" {
		t.Errorf("replay status %q", again.Status)
	}
	st, err := c.LoadState(ctx, "subway", "info-0-0_2")
	if err != nil || (st != "VISIBLE" && st != "FINISHED" && st != "COMMITTED") {
		t.Errorf("state %q, %v", st, err)
	}
}

func TestIntegrationEmulatorCompression(t *testing.T) {
	srv, cfg := startEmulator(t, false)
	c := newTestClient(t, cfg)
	for i, algo := range []string{"gzip", "lz4_frame", "zstd"} {
		req := infoReq(fmt.Sprintf("info-z%d", i),
			fmt.Sprintf(`[{"line_no":"%d","station_name":"S","station_code":null,"ext_code":null,"reg_date":null,"__op":0}]`, i))
		req.Compression = algo
		if _, err := c.Load(context.Background(), req); err != nil {
			t.Errorf("%s: %v", algo, err)
		}
	}
	if n, err := srv.Count("subway", "subway_info_copy"); err != nil || n != 3 {
		t.Errorf("count %d, %v", n, err)
	}
}

func TestIntegrationEmulatorErrors(t *testing.T) {
	srv, cfg := startEmulator(t, false)
	ctx := context.Background()

	bad := cfg
	bad.Password = "not-the-password"
	cb := newTestClient(t, bad)
	_, err := cb.Load(ctx, infoReq("auth-1", `[]`))
	var le *LoadError
	if !errors.As(err, &le) || le.Retryable || strings.Contains(err.Error(), "not-the-password") {
		t.Errorf("bad password: %v", err)
	}

	c := newTestClient(t, cfg)
	_, err = c.Load(ctx, infoReq("null-1", `[{"line_no":"1","station_name":null,"__op":0}]`))
	if !errors.As(err, &le) || le.Retryable || le.ErrorURL == "" {
		t.Fatalf("NOT NULL violation: %v", err)
	}
	if !strings.Contains(le.Message, "error log:") {
		t.Errorf("error log not fetched: %q", le.Message)
	}

	srv.SetFaults(emulator.Faults{TooManyVersionsRatio: 1, Seed: 1})
	c2 := newTestClient(t, Config{FEURLs: cfg.FEURLs, User: cfg.User, Password: cfg.Password,
		BEHostRewrite: cfg.BEHostRewrite, MaxRetries: 2})
	_, err = c2.Load(ctx, infoReq("tmv-1", `[{"line_no":"9","station_name":"Z","__op":0}]`))
	if !IsRetryable(err) {
		t.Errorf("too many versions: %v", err)
	}
	srv.SetFaults(emulator.Faults{})
	if _, err := c2.Load(ctx, infoReq("tmv-1", `[{"line_no":"9","station_name":"Z","__op":0}]`)); err != nil {
		t.Errorf("after faults cleared, same label: %v", err)
	}
}

func TestIntegrationEmulatorCatalog(t *testing.T) {
	srv, _ := startEmulator(t, false)
	cat, err := NewCatalog(CatalogConfig{Addr: srv.MySQLAddr(), User: "root", Password: emuPass, Timeout: 5 * time.Second}, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	ctx := context.Background()
	if err := cat.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	tb, err := cat.Table(ctx, "subway", "subway_passengers_copy")
	if err != nil {
		t.Fatal(err)
	}
	if tb.Model != schema.ModelPrimaryKeys || strings.Join(tb.KeyColumns(), ",") != "use_date,line_no,station_name" {
		t.Errorf("model %v keys %v", tb.Model, tb.KeyColumns())
	}
	if c := tb.Columns[tb.Index("pass_in")]; c.Kind != schema.KindDecimal || c.Precision != 13 || !c.Nullable {
		t.Errorf("pass_in %+v", c)
	}
	if _, err := cat.Table(ctx, "subway", "nope"); !errors.Is(err, ErrTableNotFound) {
		t.Errorf("missing table: %v", err)
	}

	// Every kind the decoder tells apart comes back as itself through the
	// emulator's information_schema, spelled as StarRocks spells it.
	if err := srv.Exec(ctx, `CREATE TABLE subway.kinds (id LARGEINT NOT NULL, b BOOLEAN, t TINYINT, j JSON,
		s STRING, a ARRAY<INT>, m MAP<INT,INT>, st STRUCT<x INT>, d DATE, dt DATETIME, f DOUBLE)
		ENGINE=OLAP UNIQUE KEY(id) DISTRIBUTED BY HASH(id)`); err != nil {
		t.Fatal(err)
	}
	kt, err := cat.Table(ctx, "subway", "kinds")
	if err != nil {
		t.Fatal(err)
	}
	if kt.Model != schema.ModelUniqueKeys || strings.Join(kt.KeyColumns(), ",") != "id" {
		t.Errorf("kinds: model %v keys %v", kt.Model, kt.KeyColumns())
	}
	want := map[string]schema.Kind{"id": schema.KindLargeInt, "b": schema.KindBoolean, "t": schema.KindTinyInt,
		"j": schema.KindJSON, "s": schema.KindVarchar, "a": schema.KindArray, "m": schema.KindMap,
		"st": schema.KindStruct, "d": schema.KindDate, "dt": schema.KindDatetime, "f": schema.KindDouble}
	for _, c := range kt.Columns {
		if c.Kind != want[c.Name] {
			t.Errorf("column %s (%s): kind %v, want %v", c.Name, c.Type, c.Kind, want[c.Name])
		}
	}
}

// realTimeClient returns a client of the emulator on the real clock with
// short pauses: the emulator rolls a broken upload's label back after
// Settings.RollbackDelay of real time, shortened here.
func realTimeClient(t *testing.T, srv *emulator.Server, cfg Config) *Client {
	t.Helper()
	st := srv.Settings()
	st.RollbackDelay = emulator.Duration(20 * time.Millisecond)
	if err := srv.SetSettings(st); err != nil {
		t.Fatal(err)
	}
	cfg.RetryBackoff, cfg.MaxRetryBackoff, cfg.LabelPollInterval = time.Millisecond, 10*time.Millisecond, 5*time.Millisecond
	c := newTestClient(t, cfg)
	c.now, c.sleep = time.Now, sleepCtx
	return c
}

// StarRocks' transient answers, as the emulator gives them with their
// texts, are retried with the same label until they pass; one that lasts
// past starrocks.retry_for ends in a retryable error naming it.
func TestIntegrationEmulatorTransientAnswers(t *testing.T) {
	for i, kind := range emulator.FaultKinds {
		if kind == emulator.FaultPublishTimeout {
			continue // a success, not a failure
		}
		t.Run(string(kind), func(t *testing.T) {
			srv, cfg := startEmulator(t, false)
			cfg.RetryFor = time.Minute
			c := realTimeClient(t, srv, cfg)
			srv.SetFaults(emulator.Faults{Answers: []emulator.Fault{{Kind: kind, For: emulator.Duration(100 * time.Millisecond)}}})
			var retries int
			c.cfg.OnRetry = func(_ string, _ int, err error) {
				if !IsRetryable(err) {
					t.Errorf("retry after a permanent error: %v", err)
				}
				retries++
			}
			req := infoReq(fmt.Sprintf("transient-%d", i), `[{"line_no":"1","station_name":"A","__op":0}]`)
			if _, err := c.Load(context.Background(), req); err != nil {
				t.Fatalf("%s: %v", kind, err)
			}
			if retries == 0 {
				t.Errorf("%s: no retry", kind)
			}
			if n, err := srv.Count("subway", "subway_info_copy"); err != nil || n != 1 {
				t.Errorf("count %d, %v", n, err)
			}
		})
	}
	t.Run("past retry_for", func(t *testing.T) {
		srv, cfg := startEmulator(t, false)
		cfg.RetryFor = 50 * time.Millisecond
		c := realTimeClient(t, srv, cfg)
		srv.SetFaults(emulator.Faults{Answers: []emulator.Fault{{Kind: emulator.FaultShuttingDown, Rate: 1}}})
		_, err := c.Load(context.Background(), infoReq("transient-budget", `[{"line_no":"1","station_name":"A","__op":0}]`))
		var le *LoadError
		if !errors.As(err, &le) || !le.Retryable || !strings.Contains(le.Message, "shutting down") || le.Attempts < 2 {
			t.Fatalf("error %v, want a retryable LoadError naming the last answer after several attempts", err)
		}
	})
}

// The catalog against the emulator answering information_schema.columns
// in the FE's and in the BE scanner's spelling, and an Aggregate Key
// table's functions through SHOW FULL COLUMNS.
func TestIntegrationEmulatorCatalogSpellings(t *testing.T) {
	for _, spelling := range []string{"fe", "be"} {
		t.Run(spelling, func(t *testing.T) {
			srv, _ := startEmulator(t, false)
			st := srv.Settings()
			st.InfoSchema = spelling
			if err := srv.SetSettings(st); err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			if err := srv.Exec(ctx, `CREATE TABLE subway.daily (day DATE NOT NULL, total BIGINT SUM, last_name VARCHAR(10) REPLACE,
				tags ARRAY<INT> REPLACE) ENGINE=OLAP AGGREGATE KEY(day) DISTRIBUTED BY HASH(day)`); err != nil {
				t.Fatal(err)
			}
			cat, err := NewCatalog(CatalogConfig{Addr: srv.MySQLAddr(), User: "root", Password: emuPass, Timeout: 5 * time.Second}, zaptest.NewLogger(t))
			if err != nil {
				t.Fatal(err)
			}
			defer cat.Close()
			p, err := cat.Table(ctx, "subway", "subway_passengers_copy")
			if err != nil {
				t.Fatal(err)
			}
			if c := p.Columns[p.Index("pass_in")]; c.Kind != schema.KindDecimal || c.Precision != 13 || !c.Nullable {
				t.Errorf("pass_in %+v", c)
			}
			if c := p.Columns[p.Index("use_date")]; c.Nullable {
				t.Errorf("use_date %+v", c)
			}
			d, err := cat.Table(ctx, "subway", "daily")
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, c := range d.Columns {
				got = append(got, c.Name+":"+c.Agg+":"+c.Kind.String())
			}
			if want := "day::date total:SUM:bigint last_name:REPLACE:varchar tags:REPLACE:array"; strings.Join(got, " ") != want || d.AllReplace() {
				t.Errorf("daily: %s (AllReplace %v), want %s", strings.Join(got, " "), d.AllReplace(), want)
			}
		})
	}
}

// BenchmarkLoadEmulator is BenchmarkLoad against the emulator's count-only
// mode (real HTTP handling and row counting on the server side).
func BenchmarkLoadEmulator(b *testing.B) {
	_, cfg := startEmulator(b, true)
	c, err := New(cfg, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	const rows = 10000
	req := &Request{DB: "bench", Table: "t", Format: FormatJSON,
		Columns: []string{"id", "line", "station", "ts", "delay_s", "note", "__op"}, Body: benchBody(rows)}
	b.SetBytes(int64(len(req.Body)))
	b.ReportAllocs()
	start := time.Now()
	for i := 0; b.Loop(); i++ {
		req.Label = fmt.Sprintf("bench-%d", i)
		if _, err := c.Load(context.Background(), req); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*rows)/time.Since(start).Seconds(), "rows/s")
}

func TestIntegrationEmulatorFaults(t *testing.T) {
	tests := []struct {
		name       string
		faults     emulator.Faults
		wantErr    bool
		wantStatus string
	}{
		{name: "5xx", faults: emulator.Faults{FailRatio: 1}, wantErr: true},
		{name: "reset mid-body", faults: emulator.Faults{ResetRatio: 1}, wantErr: true},
		{name: "BE down", faults: emulator.Faults{BEDown: true}, wantErr: true},
		{name: "publish timeout is success", faults: emulator.Faults{PublishTimeoutRatio: 1}, wantStatus: "Publish Timeout"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, cfg := startEmulator(t, false)
			cfg.MaxRetries = 2
			c := realTimeClient(t, srv, cfg)
			var retries int
			c.cfg.OnRetry = func(string, int, error) { retries++ }
			srv.SetFaults(tt.faults)
			label := fmt.Sprintf("fault-%d", i)
			req := infoReq(label, `[{"line_no":"1","station_name":"A","__op":0}]`)
			resp, err := c.Load(context.Background(), req)
			if tt.wantErr {
				if !IsRetryable(err) || retries != 2 {
					t.Fatalf("error %v after %d retries, want retryable after 2", err, retries)
				}
				// The fault passes; the same label then loads once.
				srv.SetFaults(emulator.Faults{})
				if _, err := c.Load(context.Background(), req); err != nil {
					t.Fatal(err)
				}
			} else if err != nil || resp.Status != tt.wantStatus {
				t.Fatalf("response %+v, %v", resp, err)
			}
			if n, err := srv.Count("subway", "subway_info_copy"); err != nil || n != 1 {
				t.Errorf("count %d, %v", n, err)
			}
		})
	}
}

func TestIntegrationEmulatorTransaction(t *testing.T) {
	srv, cfg := startEmulator(t, false)
	c := newTestClient(t, cfg)
	ctx := context.Background()
	tx := TxnRequest{DB: "subway", Table: "subway_info_copy", Label: "txn-1"}
	if _, err := c.Begin(ctx, tx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.LoadTxn(ctx, infoReq("txn-1", `[{"line_no":"1","station_name":"A","__op":0},{"line_no":"1","station_name":"B","__op":0}]`)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Prepare(ctx, tx); err != nil {
		t.Fatal(err)
	}
	if st, err := c.LoadState(ctx, "subway", "txn-1"); err != nil || st != "PREPARED" {
		t.Errorf("state after prepare %q, %v", st, err)
	}
	if _, err := c.Commit(ctx, tx); err != nil {
		t.Fatal(err)
	}
	if st, err := c.LoadState(ctx, "subway", "txn-1"); err != nil || (st != "VISIBLE" && st != "COMMITTED") {
		t.Errorf("state after commit %q, %v", st, err)
	}
	if n, err := srv.Count("subway", "subway_info_copy"); err != nil || n != 2 {
		t.Errorf("count %d, %v", n, err)
	}
	if _, err := c.Begin(ctx, tx); !errors.Is(err, ErrLabelExists) {
		t.Errorf("Begin with a used label: %v", err)
	}

	rb := TxnRequest{DB: "subway", Table: "subway_info_copy", Label: "txn-2"}
	if _, err := c.Begin(ctx, rb); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Rollback(ctx, rb); err != nil {
		t.Fatal(err)
	}
	if st, err := c.LoadState(ctx, "subway", "txn-2"); err != nil || st != "ABORTED" {
		t.Errorf("state after rollback %q, %v", st, err)
	}
}

// TestIntegrationEmulatorCatalogMaxValue: the largest value of a column,
// read over MySQL (the version epoch check), and none for an empty table.
func TestIntegrationEmulatorCatalogMaxValue(t *testing.T) {
	srv, cfg := startEmulator(t, false)
	ctx := context.Background()
	if err := srv.Exec(ctx, "CREATE TABLE subway.versioned_t (id BIGINT NOT NULL, `_version` BIGINT NOT NULL) ENGINE=OLAP PRIMARY KEY(id) DISTRIBUTED BY HASH(id)"); err != nil {
		t.Fatal(err)
	}
	cat, err := NewCatalog(CatalogConfig{Addr: srv.MySQLAddr(), User: "root", Password: emuPass, Timeout: 5 * time.Second}, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	if _, has, err := cat.MaxValue(ctx, "subway", "versioned_t", "_version"); err != nil || has {
		t.Fatalf("empty table: has %v, %v", has, err)
	}
	c, err := New(cfg, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Load(ctx, &Request{DB: "subway", Table: "versioned_t", Label: "max-1", Format: FormatJSON, Columns: []string{"id", "_version"},
		Body: []byte(`[{"id":1,"_version":4611686018427387911},{"id":2,"_version":7}]`)}); err != nil {
		t.Fatal(err)
	}
	max, has, err := cat.MaxValue(ctx, "subway", "versioned_t", "_version")
	if err != nil || !has || max != 1<<62+7 {
		t.Fatalf("MaxValue = %d, %v, %v; want 2^62+7", max, has, err)
	}
	if _, _, err := cat.MaxValue(ctx, "subway", "versioned_t", "no_such_column"); err == nil {
		t.Error("a missing column: no error")
	}
}

// TestIntegrationEmulatorCatalogNewestBelow: the two reads of a restarted
// snapshot's delete markers, over MySQL against a versioned (Duplicate
// Key) table: the newest row of each key whose newest version is below a
// bound, and the newest flagged version below a bound.
func TestIntegrationEmulatorCatalogNewestBelow(t *testing.T) {
	srv, cfg := startEmulator(t, false)
	ctx := context.Background()
	if err := srv.Exec(ctx, "CREATE TABLE subway.versions_t (d DATE NOT NULL, k VARCHAR(20) NOT NULL, n INT, `_version` BIGINT NOT NULL, `_deleted` BOOLEAN NOT NULL) ENGINE=OLAP DUPLICATE KEY(d, k) DISTRIBUTED BY HASH(d, k)"); err != nil {
		t.Fatal(err)
	}
	cat, err := NewCatalog(CatalogConfig{Addr: srv.MySQLAddr(), User: "root", Password: emuPass, Timeout: 5 * time.Second}, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	c, err := New(cfg, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Load(ctx, &Request{DB: "subway", Table: "versions_t", Label: "keys-1", Format: FormatJSON, Columns: []string{"d", "k", "n", "_version", "_deleted"},
		Body: []byte(`[{"d":"2024-01-01","k":"a","n":1,"_version":-100,"_deleted":false},` +
			`{"d":"2024-01-01","k":"a","n":2,"_version":-50,"_deleted":false},` +
			`{"d":"2024-01-02","k":"b","n":1,"_version":-100,"_deleted":false},` +
			`{"d":"2024-01-02","k":"b","n":null,"_version":-80,"_deleted":true},` +
			`{"d":"2024-01-03","k":"c","n":1,"_version":-100,"_deleted":false},` +
			`{"d":"2024-01-03","k":"c","n":1,"_version":7,"_deleted":false}]`)}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		below int64
		want  map[string]bool
	}{
		{-60, map[string]bool{"2024-01-02/b/<nil>": true}},
		{-49, map[string]bool{"2024-01-01/a/2": true, "2024-01-02/b/<nil>": true}},
		{-100, map[string]bool{}},
	} {
		got := map[string]bool{}
		if err := cat.NewestBelow(ctx, "subway", "versions_t", []string{"d", "k"}, []string{"d", "k", "n"}, "_version", tt.below, func(v []*string) error {
			n := "<nil>"
			if v[2] != nil {
				n = *v[2]
			}
			got[*v[0]+"/"+*v[1]+"/"+n] = true
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("NewestBelow(%d) = %v, want %v", tt.below, got, tt.want)
		}
	}
	for _, tt := range []struct {
		below int64
		want  int64
		has   bool
	}{{0, -80, true}, {-80, 0, false}} {
		max, has, err := cat.MaxFlagged(ctx, "subway", "versions_t", "_version", "_deleted", tt.below)
		if err != nil || has != tt.has || max != tt.want {
			t.Errorf("MaxFlagged(below %d) = %d, %v, %v; want %d, %v", tt.below, max, has, err, tt.want, tt.has)
		}
	}
}
