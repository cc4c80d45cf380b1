//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// cell is one source configuration of the matrix: a Debezium release, the
// shape of its topics and whether values carry JsonConverter's schemas.
// Its name, <debezium>-<topics>-<values> (e.g. 3.6-rewrite-schemaless),
// names its captured messages too: debezium/testdata/captured/<name>/.
type cell struct {
	name     string
	debezium string // "2.6" or "3.6"
	// raw: the Debezium envelope as the connector writes it; rewrite:
	// unwrapped on the source with ExtractNewRecordState, deletes rewritten
	// as rows with __deleted=true, add.fields=op,lsn,source.ts_ms;
	// tombstone: unwrapped with Debezium 3.x's defaults, a delete is a
	// null-value record under the row's key.
	topics  string
	schemas bool
}

// debeziumReleases are the matrix's Debezium releases by cell prefix.
var debeziumReleases = map[string]string{"2.6": "2.6.2.Final", "3.6": "3.6.1.Final"}

func parseCell(s string) (cell, error) {
	parts := strings.Split(s, "-")
	if len(parts) != 3 {
		return cell{}, fmt.Errorf("cell %q: want <debezium>-<topics>-<values>, e.g. 3.6-rewrite-schemaless", s)
	}
	c := cell{name: s, debezium: parts[0], topics: parts[1]}
	if _, ok := debeziumReleases[c.debezium]; !ok {
		return cell{}, fmt.Errorf("cell %q: Debezium %q is not in the matrix (2.6, 3.6)", s, c.debezium)
	}
	switch parts[1] {
	case "raw", "rewrite", "tombstone":
	default:
		return cell{}, fmt.Errorf("cell %q: topics %q: want raw, rewrite or tombstone", s, parts[1])
	}
	switch parts[2] {
	case "schemas":
		c.schemas = true
	case "schemaless":
	default:
		return cell{}, fmt.Errorf("cell %q: values %q: want schemas or schemaless", s, parts[2])
	}
	return c, nil
}

// stackCells returns the cells of list (the environment variable named
// variable) that this stack's Debezium runs: it skips the test when list
// names none, and fails it for each cell of another release.
func stackCells(t *testing.T, e env, list, variable string) []cell {
	t.Helper()
	cells := parseCells(t, list)
	if len(cells) == 0 {
		t.Skip(variable + " names no cell")
	}
	var run []cell
	for _, c := range cells {
		if !e.runs(c) {
			t.Errorf("cell %s needs Debezium %s; this stack runs %s", c.name, debeziumReleases[c.debezium], e.debezium)
			continue
		}
		run = append(run, c)
	}
	return run
}

// parseCells reads a comma-separated list of cells; "" is none.
func parseCells(t *testing.T, list string) []cell {
	t.Helper()
	var out []cell
	for _, s := range strings.Split(list, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		c, err := parseCell(s)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	return out
}

// id is the cell's name as an identifier: its PostgreSQL and StarRocks
// database, and part of its topic prefix, slot, connector and group.
func (c cell) id() string {
	return "d" + strings.ReplaceAll(strings.ReplaceAll(c.name, ".", ""), "-", "_")
}

func (c cell) unwrapped() bool { return c.topics != "raw" }

// prefix is the connector's topic.prefix: <base>.<id>.
func (c cell) prefix(e env) string { return e.topicPrefix + "." + c.id() }

func (c cell) topic(e env, table string) string { return c.prefix(e) + ".public." + table }

// pgDSN is the DSN of the cell's own PostgreSQL database.
func (c cell) pgDSN(t *testing.T, e env) string {
	t.Helper()
	u, err := url.Parse(e.pgDSN)
	if err != nil {
		t.Fatalf("E2E_PG_DSN: %v", err)
	}
	u.Path = "/" + c.id()
	return u.String()
}

// createDatabase gives the cell a fresh PostgreSQL database.
func (c cell) createDatabase(ctx context.Context, t *testing.T, e env) {
	t.Helper()
	admin := pgConn(ctx, t, e.pgDSN)
	for _, q := range []string{"DROP DATABASE IF EXISTS " + c.id() + " WITH (FORCE)", "CREATE DATABASE " + c.id()} {
		if _, err := admin.Exec(ctx, q); err != nil {
			t.Fatalf("postgres: %s: %v", q, err)
		}
	}
	admin.Close(ctx)
}

// connectorConfig is e2e/connector.json for the cell: its database, prefix
// and slot, its converters' schemas, its unwrap transform, and the signal
// table of incremental snapshots.
func (c cell) connectorConfig(t *testing.T, e env) map[string]string {
	t.Helper()
	b, err := os.ReadFile("connector.json") // go test runs in e2e/
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(e.pgDSN)
	r := strings.NewReplacer("${PG_PORT}", u.Port(), "${PG_DB}", c.id(), "${TOPIC_PREFIX}", c.prefix(e),
		"${SCHEMAS_ENABLE}", fmt.Sprint(c.schemas))
	cfg := map[string]string{}
	if err := json.Unmarshal([]byte(r.Replace(string(b))), &cfg); err != nil {
		t.Fatalf("connector.json: %v", err)
	}
	cfg["slot.name"] = "starsink_" + c.id()
	cfg["signal.data.collection"] = "public.debezium_signal"
	for k, v := range c.unwrap() {
		cfg[k] = v
	}
	return cfg
}

// unwrap is the cell's ExtractNewRecordState configuration, nil for raw.
func (c cell) unwrap() map[string]string {
	const p = "transforms.unwrap."
	m := map[string]string{"transforms": "unwrap", p + "type": "io.debezium.transforms.ExtractNewRecordState"}
	switch {
	case c.topics == "raw":
		return nil
	case c.topics == "rewrite" && c.debezium == "2.6":
		m[p+"delete.handling.mode"] = "rewrite"
		m[p+"add.fields"] = "op,lsn,source.ts_ms"
	case c.topics == "rewrite":
		m[p+"delete.tombstone.handling.mode"] = "rewrite"
		m[p+"add.fields"] = "op,lsn,source.ts_ms"
	case c.topics == "tombstone" && c.debezium == "2.6":
		// 2.6's defaults drop deletes (delete.handling.mode=drop); this is
		// what 3.x does by default.
		m[p+"delete.tombstone.handling.mode"] = "tombstone"
	}
	return m
}

// unproven lists the all_types columns whose values the cell cannot carry
// faithfully, and why; they are not compared, and the compatibility table
// says so.
func (c cell) unproven() map[string]string {
	if c.schemas {
		return nil
	}
	return map[string]string{
		"c_time": "without schemas a TIME arrives as an integer of microseconds since midnight " +
			"(time.precision.mode=adaptive), which nothing tells from a number: a VARCHAR column gets the number",
	}
}

// decoderConfig is the decoder section of starsink's configuration for
// the cell, as docs/configuration.md leads a user to write it.
func (c cell) decoderConfig() string {
	var b strings.Builder
	b.WriteString("decoder:\n")
	// docs/configuration.md: set it when known (a tombstone is a delete
	// on unwrapped topics and a skip on raw ones)
	if c.unwrapped() {
		b.WriteString("  envelope: unwrapped\n")
	} else {
		b.WriteString("  envelope: raw\n")
	}
	if c.schemas {
		b.WriteString("  framing: schema\n")
	} else {
		b.WriteString("  framing: schemaless\n")
		// timestamp(6) columns arrive as integers in microseconds
		// (time.precision.mode=adaptive): ambiguous without schemas.
		b.WriteString("  schemaless_timestamp: us\n")
	}
	return b.String()
}

// starsinkConfig writes the replicas' configuration file for the cell: the
// suite's starsink.yaml (run.sh filled in the addresses) with the cell's
// group, topics, database and decoder section. A copy goes to the logs.
func (c cell) starsinkConfig(t *testing.T, e env) string {
	t.Helper()
	b, err := os.ReadFile(e.config)
	if err != nil {
		t.Fatal(err)
	}
	r := strings.NewReplacer("${CELL_ID}", c.id(), "${CELL_TOPIC_RE}", regexp.QuoteMeta(c.prefix(e)+".public.")+".*",
		"${CELL_DECODER}\n", c.decoderConfig())
	out := r.Replace(string(b))
	if strings.Contains(out, "${") {
		t.Fatalf("%s: placeholders left after filling in the cell:\n%s", e.config, out)
	}
	path := filepath.Join(e.run, "starsink-"+c.id()+".yaml")
	if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	_ = os.WriteFile(filepath.Join(e.logs, "starsink-"+c.id()+".yaml"), []byte(out), 0o644)
	return path
}

// registerCell registers the cell's connector over Connect's REST API and
// waits for its task to run.
func registerCell(ctx context.Context, t *testing.T, e env, c cell) {
	t.Helper()
	cfg := c.connectorConfig(t, e)
	name := "starsink-e2e-" + c.id()
	registerConnector(ctx, t, e, name, cfg)
	var keys []string
	for k := range c.unwrap() {
		keys = append(keys, k+"="+cfg[k])
	}
	sort.Strings(keys)
	t.Logf("connector %s running: Debezium %s, topic.prefix %s, schemas.enable=%v %s", name,
		debeziumReleases[c.debezium], c.prefix(e), c.schemas, strings.Join(keys, " "))
}

// registerConnector registers connector name with cfg over Connect's REST
// API and waits for its task to run.
func registerConnector(ctx context.Context, t *testing.T, e env, name string, cfg map[string]string) {
	t.Helper()
	body, _ := json.Marshal(cfg)
	if _, err := connectREST(ctx, http.MethodPut, e.connectURL+"/connectors/"+name+"/config", body); err != nil {
		t.Fatalf("register connector %s: %v", name, err)
	}
	if _, err := waitUntil(ctx, 90*time.Second, time.Second, "connector task RUNNING", func() (bool, string) {
		st, err := connectREST(ctx, http.MethodGet, e.connectURL+"/connectors/"+name+"/status", nil)
		if err != nil {
			return false, err.Error()
		}
		var s struct {
			Tasks []struct {
				State string `json:"state"`
				Trace string `json:"trace"`
			} `json:"tasks"`
		}
		_ = json.Unmarshal(st, &s)
		if len(s.Tasks) == 1 && s.Tasks[0].State == "FAILED" {
			t.Fatalf("connector %s failed: %.2000s", name, s.Tasks[0].Trace)
		}
		return len(s.Tasks) == 1 && s.Tasks[0].State == "RUNNING", string(st)
	}); err != nil {
		t.Fatal(err)
	}
}

// unregisterCell deletes the cell's connector and, once PostgreSQL sees
// the slot released, the slot, so that it holds no WAL for the next cells.
func unregisterCell(ctx context.Context, t *testing.T, e env, c cell) {
	t.Helper()
	unregisterConnector(ctx, t, e, "starsink-e2e-"+c.id(), "starsink_"+c.id())
}

// unregisterConnector deletes connector name and, once PostgreSQL sees
// its replication slot released, the slot.
func unregisterConnector(ctx context.Context, t *testing.T, e env, name, slot string) {
	t.Helper()
	if _, err := connectREST(ctx, http.MethodDelete, e.connectURL+"/connectors/"+name, nil); err != nil {
		t.Logf("delete connector %s: %v", name, err)
	}
	admin, err := pgx.Connect(ctx, e.pgDSN)
	if err != nil {
		t.Logf("drop slot: %v", err)
		return
	}
	defer admin.Close(ctx)
	_, err = waitUntil(ctx, 30*time.Second, 500*time.Millisecond, "slot released", func() (bool, string) {
		_, err := admin.Exec(ctx, "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1 AND NOT active",
			slot)
		if err != nil {
			return false, err.Error()
		}
		var n int
		_ = admin.QueryRow(ctx, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = $1", slot).Scan(&n)
		return n == 0, fmt.Sprintf("%d slots", n)
	})
	if err != nil {
		t.Logf("slot %s: %v", slot, err)
	}
}

func connectREST(ctx context.Context, method, u string, body []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		return b, fmt.Errorf("%s %s: %s: %.1000s", method, u, resp.Status, b)
	}
	return b, nil
}
