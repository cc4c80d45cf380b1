//go:build e2e

package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestIntegrationSecureListener runs starsink against the broker's
// SASL_SSL listener, as against a hosted Kafka: TLS verified against the
// run's certificate authority, then SASL PLAIN or SCRAM-SHA-512 with the
// password read from a file. Each mechanism loads its own topic into its
// own table and commits its offsets, and /readyz says ready. A wrong
// password, or a certificate not signed by a trusted authority, stops the
// worker at once with the reason in its log (a Java consumer's poll throws
// these and its Connect task fails); it loads and commits nothing, and the
// password is in no log line.
func TestIntegrationSecureListener(t *testing.T) {
	e := loadEnv(t)
	if e.captureOnly {
		t.Skip("capture only")
	}
	addr, ca := os.Getenv("E2E_KAFKA_SASL"), os.Getenv("E2E_KAFKA_CA")
	user, pass := os.Getenv("E2E_SASL_USER"), os.Getenv("E2E_SASL_PASSWORD")
	srHTTP := os.Getenv("E2E_SR_HTTP")
	if addr == "" || ca == "" || user == "" || pass == "" || srHTTP == "" {
		t.Skip("E2E_KAFKA_SASL, E2E_KAFKA_CA, E2E_SASL_USER, E2E_SASL_PASSWORD and E2E_SR_HTTP come from e2e/run.sh")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	sr := srConn(ctx, t, e.srMySQL, "secure")
	dir := t.TempDir()

	const rows = 2000
	tests := []struct {
		name, mechanism, password, ca string
		wantExit                      string // "": loads every row; else the worker stops by itself and its log says this
	}{
		{name: "PLAIN", mechanism: "PLAIN", password: pass, ca: ca},
		{name: "SCRAM-SHA-512", mechanism: "SCRAM-SHA-512", password: pass, ca: ca},
		{name: "wrong password", mechanism: "SCRAM-SHA-512", password: "not-" + pass, ca: ca,
			wantExit: `the brokers refuse the login of user \"` + user + `\" with SCRAM-SHA-512`},
		{name: "certificate not trusted", mechanism: "PLAIN", password: pass, ca: "",
			wantExit: "the brokers' certificate does not verify"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			table := fmt.Sprintf("secure_%d", i)
			topic := "secure.public." + table
			if _, err := sr.ExecContext(ctx, "CREATE TABLE "+table+" (id INT NOT NULL, v VARCHAR(32)) ENGINE=OLAP "+
				"PRIMARY KEY(id) DISTRIBUTED BY HASH(id) BUCKETS 1"); err != nil {
				t.Fatal(err)
			}
			produceSecure(ctx, t, e.kafka, topic, table, rows)

			passFile := filepath.Join(dir, table+".password")
			if err := os.WriteFile(passFile, []byte(tt.password+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			group := "starsink-e2e-" + table
			cfg := secureConfig(t, dir, table, addr, group, topic, tt.ca, tt.mechanism, user, passFile, srHTTP, e.srMySQL, "")
			r := startReplicaWith(t, e, 10+i, cfg, "secure-")
			want := rows
			if tt.wantExit != "" {
				want = 0
			}
			deadline := time.Now().Add(90 * time.Second)
			var n int
			for time.Now().Before(deadline) && n < rows && !r.exited() {
				if err := sr.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+table).Scan(&n); err != nil {
					t.Fatal(err)
				}
				time.Sleep(200 * time.Millisecond)
			}
			if tt.wantExit == "" {
				// What an orchestrator's readiness probe sees.
				if ready := readyz(ctx, t, fmt.Sprintf("http://127.0.0.1:%d/readyz", replicaHTTPPort(10+i))); ready != "ready" {
					t.Errorf("/readyz: %q, want ready", ready)
				}
				r.stop()
			} else {
				select {
				case <-r.done: // stopped by itself, with the reason
					if r.err == nil {
						t.Errorf("starsink exited with status 0, want a failure")
					}
				case <-time.After(45 * time.Second):
					r.stop()
					t.Errorf("starsink still ran after 45 s, want it to stop by itself")
				}
				r.log.Close()
			}
			logText, _ := os.ReadFile(r.log.Name())
			if strings.Contains(string(logText), tt.password) {
				t.Errorf("the password is in the log %s", r.log.Name())
			}
			if tt.wantExit != "" && !strings.Contains(string(logText), tt.wantExit) {
				t.Errorf("the log does not say %q (see %s)", tt.wantExit, r.log.Name())
			}
			if n != want {
				t.Fatalf("%d rows loaded, want %d (see %s)", n, want, r.log.Name())
			}
			committed := committedTotal(ctx, t, e.kafka, group, topic)
			if committed != int64(want) {
				t.Errorf("%d offsets committed, want %d", committed, want)
			}
			t.Logf("%s: %d rows loaded, %d offsets committed", tt.name, n, committed)
		})
	}

	// The broker asks for a new login every 5 s (connections.max.reauth.ms
	// in kafka.sh), as hosted Kafkas do. A SCRAM user deleted while starsink
	// runs is refused at its next login; after kafka.refused_timeout of
	// refusals starsink stops with the reason, the rows it loaded before
	// committed, the password in no log line.
	t.Run("credentials revoked while running", func(t *testing.T) {
		const revUser, revPass, table = "revoked", "revoked-secret-1", "secure_revoked"
		topic := "secure.public." + table
		admin, err := kgo.NewClient(kgo.SeedBrokers(e.kafka))
		if err != nil {
			t.Fatal(err)
		}
		defer admin.Close()
		adm := kadm.NewClient(admin)
		if _, err := adm.AlterUserSCRAMs(ctx, nil, []kadm.UpsertSCRAM{{User: revUser, Mechanism: kadm.ScramSha512, Iterations: 4096, Password: revPass}}); err != nil {
			t.Fatalf("create SCRAM user: %v", err)
		}
		if _, err := sr.ExecContext(ctx, "CREATE TABLE "+table+" (id INT NOT NULL, v VARCHAR(32)) ENGINE=OLAP "+
			"PRIMARY KEY(id) DISTRIBUTED BY HASH(id) BUCKETS 1"); err != nil {
			t.Fatal(err)
		}
		produceSecure(ctx, t, e.kafka, topic, table, rows)
		passFile := filepath.Join(dir, table+".password")
		if err := os.WriteFile(passFile, []byte(revPass+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		group := "starsink-e2e-" + table
		cfg := secureConfig(t, dir, table, addr, group, topic, ca, "SCRAM-SHA-512", revUser, passFile, srHTTP, e.srMySQL, "5s")
		r := startReplicaWith(t, e, 10+len(tests), cfg, "secure-")
		deadline := time.Now().Add(90 * time.Second)
		for time.Now().Before(deadline) && committedTotal(ctx, t, e.kafka, group, topic) < rows && !r.exited() {
			time.Sleep(200 * time.Millisecond)
		}
		if got := committedTotal(ctx, t, e.kafka, group, topic); got != rows {
			r.stop()
			t.Fatalf("%d offsets committed before the revocation, want %d", got, rows)
		}
		if _, err := adm.AlterUserSCRAMs(ctx, []kadm.DeleteSCRAM{{User: revUser, Mechanism: kadm.ScramSha512}}, nil); err != nil {
			t.Fatalf("delete SCRAM user: %v", err)
		}
		revoked := time.Now()
		select {
		case <-r.done:
			if r.err == nil {
				t.Errorf("starsink exited with status 0, want a failure")
			}
			t.Logf("starsink stopped %.1f s after the revocation", time.Since(revoked).Seconds())
		case <-time.After(60 * time.Second):
			r.stop()
			t.Errorf("starsink still ran 60 s after its user was deleted, want it to stop by itself")
		}
		r.log.Close()
		logText, _ := os.ReadFile(r.log.Name())
		if strings.Contains(string(logText), revPass) {
			t.Errorf("the password is in the log %s", r.log.Name())
		}
		if want := `the brokers refuse the login of user \"revoked\" with SCRAM-SHA-512`; !strings.Contains(string(logText), want) {
			t.Errorf("the log does not say %q (see %s)", want, r.log.Name())
		}
	})
}

// secureConfig writes the configuration of one secure-listener case and
// returns its path; refusedTimeout ("" : the default) is
// kafka.refused_timeout.
func secureConfig(t *testing.T, dir, table, addr, group, topic, ca, mechanism, user, passFile, srHTTP, srMySQL, refusedTimeout string) string {
	t.Helper()
	refused := ""
	if refusedTimeout != "" {
		refused = "\n  refused_timeout: " + refusedTimeout
	}
	cfg := filepath.Join(dir, table+".yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`kafka:
  brokers: [%q]
  group_id: %s
  topics: [%q]
  start_offset: earliest%s
  tls:
    enabled: true
    ca_file: %q
  sasl:
    mechanism: %s
    username: %s
    password_file: %q
starrocks:
  load_urls: [%q]
  mysql_addr: %q
  user: root
  database: secure
mapping:
  template: "{table}"
decoder:
  framing: schemaless
batch:
  max_age: 500ms
commit:
  interval: 500ms
log:
  level: info
`, addr, group, topic, refused, ca, mechanism, user, passFile, srHTTP, srMySQL)), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// readyz returns the body of a GET of url (or the error).
func readyz(ctx context.Context, t *testing.T, url string) string {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return strings.TrimSpace(string(b))
}

// produceSecure writes rows insert events of table, schemaless, over the
// plaintext listener.
func produceSecure(ctx context.Context, t *testing.T, brokers, topic, table string, rows int) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers), kgo.AllowAutoTopicCreation())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	recs := make([]*kgo.Record, rows)
	for i := range recs {
		v := fmt.Sprintf(`{"before":null,"after":{"id":%d,"v":"row %d"},"source":{"version":"2.6.2.Final","connector":"postgresql",`+
			`"name":"secure","ts_ms":1717549512345,"snapshot":"false","db":"secure","schema":"public","table":%q,"txId":%d,"lsn":%d},`+
			`"op":"c","ts_ms":1717549512671,"transaction":null}`, i, i, table, 1000+i, 5000+i)
		recs[i] = &kgo.Record{Topic: topic, Key: []byte(fmt.Sprintf(`{"id":%d}`, i)), Value: []byte(v)}
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("produce to %s: %v", topic, err)
	}
}

// committedTotal sums the group's committed offsets on topic.
func committedTotal(ctx context.Context, t *testing.T, brokers, group, topic string) int64 {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	offs, err := kadm.NewClient(cl).FetchOffsets(ctx, group)
	if errors.Is(err, kerr.GroupIDNotFound) {
		return 0
	}
	if err != nil {
		t.Fatalf("fetch offsets of %s: %v", group, err)
	}
	var sum int64
	offs.Each(func(o kadm.OffsetResponse) {
		if o.Topic == topic && o.Err == nil && o.At > 0 {
			sum += o.At
		}
	})
	return sum
}
