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
