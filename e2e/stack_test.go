//go:build e2e

package e2e

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql" // the emulator's MySQL protocol
	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// env is the stack run.sh started, read from E2E_* variables.
type env struct {
	pgDSN, kafka, connectURL, srMySQL string
	srHTTP                            string // the emulator's FE HTTP address (its control endpoint)
	bin, config, logs, run, capture   string
	topicPrefix                       string
	debezium                          string // the release Connect runs, e.g. 3.6.1.Final
	fullCells, shortCells             string // the cells of the reference and the short scenario
	repairCells                       string // the cells of the repair scenario (repair_test.go)
	restartRows                       int    // the rows of the interrupted initial snapshot's table
	captureOnly, sourceOnly           bool
	bulkRows, changeRows, replicas    int
}

func loadEnv(t *testing.T) env {
	t.Helper()
	e := env{
		pgDSN:       os.Getenv("E2E_PG_DSN"),
		kafka:       os.Getenv("E2E_KAFKA"),
		connectURL:  os.Getenv("E2E_CONNECT_URL"),
		srMySQL:     os.Getenv("E2E_SR_MYSQL"),
		srHTTP:      os.Getenv("E2E_SR_HTTP"),
		bin:         os.Getenv("E2E_STARSINK_BIN"),
		config:      os.Getenv("E2E_STARSINK_CONFIG"),
		logs:        os.Getenv("E2E_LOGS"),
		run:         os.Getenv("E2E_RUN"),
		capture:     os.Getenv("E2E_CAPTURE_DIR"),
		topicPrefix: envOr("TOPIC_PREFIX", "dip.cdc"),
		debezium:    envOr("DEBEZIUM_VERSION", "2.6.2.Final"),
		fullCells:   os.Getenv("E2E_FULL_CELLS"),
		shortCells:  os.Getenv("E2E_SHORT_CELLS"),
		repairCells: os.Getenv("E2E_REPAIR_CELLS"),
		restartRows: envInt(t, "E2E_RESTART_ROWS", 50000),
		captureOnly: os.Getenv("E2E_CAPTURE_ONLY") == "1" || os.Getenv("E2E_SOURCE_ONLY") == "1",
		sourceOnly:  os.Getenv("E2E_SOURCE_ONLY") == "1",
		bulkRows:    envInt(t, "E2E_BULK_ROWS", 950000),
		changeRows:  envInt(t, "E2E_CHANGE_ROWS", 200000),
		replicas:    envInt(t, "E2E_REPLICAS", 3),
	}
	if e.pgDSN == "" || e.kafka == "" || e.connectURL == "" {
		t.Skip("the end-to-end stack is not running: start this test with bash e2e/run.sh")
	}
	if !e.captureOnly && (e.srMySQL == "" || e.bin == "" || e.config == "") {
		t.Skip("E2E_SR_MYSQL, E2E_STARSINK_BIN and E2E_STARSINK_CONFIG are required: use bash e2e/run.sh")
	}
	return e
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func envInt(t *testing.T, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		t.Fatalf("%s=%q: want a non-negative integer", name, v)
	}
	return n
}

// runs reports whether the stack's Connect runs the cell's Debezium.
func (e env) runs(c cell) bool { return debeziumReleases[c.debezium] == e.debezium }

// pgConn opens one PostgreSQL connection.
func pgConn(ctx context.Context, t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect to PostgreSQL: %v", err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// srConn opens the emulator's MySQL protocol, creating database db.
func srConn(ctx context.Context, t *testing.T, addr, db string) *sql.DB {
	t.Helper()
	root, err := sql.Open("mysql", "root@tcp("+addr+")/")
	if err != nil {
		t.Fatalf("open emulator MySQL: %v", err)
	}
	defer root.Close()
	if _, err := root.ExecContext(ctx, "CREATE DATABASE IF NOT EXISTS "+db); err != nil {
		t.Fatalf("emulator: create database %s: %v", db, err)
	}
	c, err := sql.Open("mysql", "root@tcp("+addr+")/"+db)
	if err != nil {
		t.Fatalf("open emulator MySQL: %v", err)
	}
	c.SetMaxOpenConns(4)
	t.Cleanup(func() { c.Close() })
	return c
}

// replica is one starsink process of the consumer group.
type replica struct {
	n    int
	tag  string
	cmd  *exec.Cmd
	log  *os.File
	done chan struct{} // closed when the process has ended
	err  error         // its exit status, once done is closed
}

// startReplica starts starsink replica n of a cell with its configuration
// file; its client id and health address come from the environment. Its
// log is starsink-<cell id>-<n>.log.
func startReplica(t *testing.T, e env, c cell, n int, config string) *replica {
	t.Helper()
	return startReplicaWith(t, e, n, config, c.id()+"-")
}

// startReplicaWith starts replica n with the configuration file config;
// tag goes into its log's and pid file's names.
func startReplicaWith(t *testing.T, e env, n int, config, tag string) *replica {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(e.logs, fmt.Sprintf("starsink-%s%d.log", tag, n)), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatalf("replica %d log: %v", n, err)
	}
	cmd := exec.Command(e.bin, "run", "--config", config)
	cmd.Env = append(os.Environ(),
		fmt.Sprintf("STARSINK_KAFKA_CLIENT_ID=starsink-e2e-%d", n),
		fmt.Sprintf("STARSINK_HTTP_ADDR=127.0.0.1:%d", replicaHTTPPort(n)),
	)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		t.Fatalf("start starsink replica %d: %v", n, err)
	}
	// run.sh's trap stops what the pid files name if the test dies.
	_ = os.WriteFile(filepath.Join(e.run, fmt.Sprintf("starsink-%s%d.pid", tag, n)), []byte(strconv.Itoa(cmd.Process.Pid)), 0o644)
	t.Logf("starsink replica %s%d started (pid %d)", tag, n, cmd.Process.Pid)
	r := &replica{n: n, tag: tag, cmd: cmd, log: f, done: make(chan struct{})}
	go func() { r.err = cmd.Wait(); close(r.done) }()
	return r
}

// replicaHTTPPort is replica n's health port: below Linux's ephemeral
// range (32768-60999), where an outgoing connection of any process on the
// machine may hold the port when the replica binds it (58190 once was).
func replicaHTTPPort(n int) int { return 28100 + n }

// kill9 kills the replica without letting it flush or commit.
func (r *replica) kill9(t *testing.T) {
	t.Helper()
	_ = r.cmd.Process.Signal(syscall.SIGKILL)
	<-r.done
	r.log.Close()
	t.Logf("starsink replica %d killed with SIGKILL", r.n)
}

// stop asks the replica to shut down and waits up to 30 s.
func (r *replica) stop() {
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.done:
	case <-time.After(30 * time.Second):
		_ = r.cmd.Process.Kill()
		<-r.done
	}
	r.log.Close()
}

// exited reports whether the replica's process has ended on its own.
func (r *replica) exited() bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

// deadReplicas describes the replicas that ended on their own, or "".
func deadReplicas(rs []*replica) string {
	var out []string
	for _, r := range rs {
		if r != nil && r.exited() {
			out = append(out, fmt.Sprintf("replica %s%d exited (%v, see starsink-%s%d.log)", r.tag, r.n, r.err, r.tag, r.n))
		}
	}
	return strings.Join(out, "; ")
}

// createTopics creates the cell's four topics with 3 partitions before the
// replicas start, as a platform would. A worker subscribed by regex learns
// of topics created later only at its next metadata refresh.
func createTopics(ctx context.Context, t *testing.T, e env, c cell) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.kafka))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var names []string
	for _, tb := range []string{"subway_info_copy", "subway_passengers_copy", "subway_passengers_time_copy", "all_types"} {
		names = append(names, c.topic(e, tb))
	}
	res, err := kadm.NewClient(cl).CreateTopics(ctx, 3, 1, nil, names...)
	if err != nil {
		t.Fatalf("create topics: %v", err)
	}
	for _, r := range res.Sorted() {
		if r.Err != nil && !errors.Is(r.Err, kerr.TopicAlreadyExists) {
			t.Fatalf("create topic %s: %v", r.Topic, r.Err)
		}
	}
}
