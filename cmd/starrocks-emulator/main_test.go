package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"
)

// freeAddr returns a loopback address nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestRun starts the command as the end-to-end suite does (its own ports,
// a root password, DDL from --init-sql), loads two rows through the FE's
// 307 and reads them back over the MySQL port; cancelling stops it cleanly.
func TestRun(t *testing.T) {
	fe, be, my := freeAddr(t), freeAddr(t), freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--fe-http-addr", fe, "--be-http-addr", be, "--mysql-addr", my,
			"--root-password", "pw", "--init-sql", "testdata/init.sql"})
	}()
	db, err := sql.Open("mysql", "root:pw@tcp("+my+")/subway")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for deadline := time.Now().Add(10 * time.Second); db.Ping() != nil; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the MySQL port %s never answered", my)
		}
	}

	req, _ := http.NewRequest(http.MethodPut, "http://"+fe+"/api/subway/subway_info_copy/_stream_load",
		strings.NewReader(`[{"line_no":"1","station_name":"서울역","station_cd":"150"},{"line_no":"2","station_name":"시청","station_cd":"201"}]`))
	req.SetBasicAuth("root", "pw")
	req.Header.Set("Expect", "100-continue")
	req.Header.Set("format", "json")
	req.Header.Set("strip_outer_array", "true")
	req.Header.Set("label", "cmd-test-1")
	resp, err := http.DefaultClient.Do(req) // follows the 307 to the BE, resending the body
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var answer struct{ Status string }
	if err := json.Unmarshal(body, &answer); resp.StatusCode != http.StatusOK || err != nil || answer.Status != "Success" {
		t.Fatalf("load: %d %s", resp.StatusCode, body)
	}
	var n int
	var cd string
	if err := db.QueryRow("SELECT COUNT(*), MAX(station_cd) FROM subway_info_copy").Scan(&n, &cd); err != nil {
		t.Fatal(err)
	}
	if n != 2 || cd != "201" {
		t.Errorf("table holds %d rows, max station_cd %s; want 2, 201", n, cd)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return after its context ended")
	}
}

// TestRunRejects: bad flags and a missing --init-sql file are errors, not a
// half-started emulator.
func TestRunRejects(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown flag", []string{"--nope"}, "flag provided but not defined"},
		{"missing init sql", []string{"--fe-http-addr", freeAddr(t), "--be-http-addr", freeAddr(t), "--mysql-addr", freeAddr(t),
			"--init-sql", "testdata/missing.sql"}, "missing.sql"},
		{"unknown fault", []string{"--fault", "nope=1"}, `unknown fault kind "nope"`},
		{"bad spelling", []string{"--fe-http-addr", freeAddr(t), "--be-http-addr", freeAddr(t), "--mysql-addr", freeAddr(t),
			"--info-schema", "xx"}, `info_schema "xx"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := run(context.Background(), tt.args)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("run = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

// startCmd runs the command with args on free ports until the test ends
// and returns its FE address once it answers.
func startCmd(t *testing.T, args ...string) string {
	t.Helper()
	fe, be, my := freeAddr(t), freeAddr(t), freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"--fe-http-addr", fe, "--be-http-addr", be, "--mysql-addr", my,
			"--root-password", "pw", "--init-sql", "testdata/init.sql"}, args...))
	}()
	t.Cleanup(func() { cancel(); <-done })
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", my); err == nil {
			c.Close()
			return fe
		}
		if time.Now().After(deadline) {
			t.Fatal("the emulator never answered")
		}
	}
}

// call sends a request with the root credentials and returns the status
// and body.
func call(t *testing.T, method, url, body string, hdr map[string]string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.SetBasicAuth("root", "pw")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestFlagsAndControlEndpoint: the flags set StarRocks' side (faults,
// shared-data, strictness, information_schema spelling…), GET
// /_emulator/state shows them, and POST /_emulator/faults and
// /_emulator/config change them while it runs.
func TestFlagsAndControlEndpoint(t *testing.T) {
	fe := startCmd(t, "--fault", "shutting_down=1", "--shared-data", "--memtable-rows", "1", "--info-schema", "be",
		"--label-keep-max-num", "5", "--schema-change-duration", "1m")
	var state struct {
		Settings struct {
			SharedData           bool   `json:"shared_data"`
			MemtableRows         int    `json:"memtable_rows"`
			InfoSchema           string `json:"info_schema"`
			LabelKeepMaxNum      int    `json:"label_keep_max_num"`
			SchemaChangeDuration string `json:"schema_change_duration"`
			StrictMode           bool   `json:"strict_mode"`
		}
		Faults struct {
			Answers []struct {
				Kind string
				Rate float64
			}
		}
	}
	code, body := call(t, http.MethodGet, "http://"+fe+"/_emulator/state", "", nil)
	if err := json.Unmarshal([]byte(body), &state); code != 200 || err != nil {
		t.Fatalf("state: %d %s", code, body)
	}
	s := state.Settings
	if !s.SharedData || s.MemtableRows != 1 || s.InfoSchema != "be" || s.LabelKeepMaxNum != 5 || s.SchemaChangeDuration != "1m0s" || s.StrictMode ||
		len(state.Faults.Answers) != 1 || state.Faults.Answers[0].Kind != "shutting_down" || state.Faults.Answers[0].Rate != 1 {
		t.Errorf("state %s", body)
	}
	load := func(label, rows string) string {
		_, b := call(t, http.MethodPut, "http://"+fe+"/api/subway/subway_info_copy/_stream_load", rows,
			map[string]string{"Expect": "100-continue", "format": "json", "strip_outer_array": "true", "label": label})
		return b
	}
	if b := load("c1", `[{"line_no":"1","station_name":"A"}]`); !strings.Contains(b, "Service is shutting down, please retry later!") {
		t.Errorf("load under the fault: %s", b)
	}
	if code, b := call(t, http.MethodPost, "http://"+fe+"/_emulator/faults", `{}`, nil); code != 200 {
		t.Fatalf("clear faults: %d %s", code, b)
	}
	if code, b := call(t, http.MethodPost, "http://"+fe+"/_emulator/config", `{"strict_mode":true}`, nil); code != 200 || !strings.Contains(b, `"strict_mode": true`) || !strings.Contains(b, `"shared_data": true`) {
		t.Fatalf("config: %d %s", code, b)
	}
	if b := load("c2", `[{"line_no":"1","station_name":"A","station_cd":"12345678901"}]`); !strings.Contains(b, "too many filtered rows") {
		t.Errorf("strict load of a too long value: %s", b)
	}
	for _, tt := range []struct{ path, body string }{
		{"/_emulator/faults", `{"answers":[{"kind":"nope","rate":1}]}`},
		{"/_emulator/config", `{"info_schema":"xx"}`},
		{"/_emulator/config", `{"unknown_key":1}`},
	} {
		if code, b := call(t, http.MethodPost, "http://"+fe+tt.path, tt.body, nil); code != http.StatusBadRequest {
			t.Errorf("%s %s: %d %s, want 400", tt.path, tt.body, code, b)
		}
	}
}
