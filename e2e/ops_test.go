//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/jackc/pgx/v5"
)

// What an operator reads from the replicas of the reference scenario
// (issue 18): the freshness metrics computed from the real Debezium
// source.ts_ms, GET /status, and the status page rendered in a browser.

// replicaURL is the address of path on replica n's HTTP server.
func replicaURL(n int, path string) string {
	return fmt.Sprintf("http://127.0.0.1:%d%s", replicaHTTPPort(n), path)
}

// liveReplicas drops the slots of replicas being restarted.
func liveReplicas(rs []*replica) []*replica {
	var out []*replica
	for _, r := range rs {
		if r != nil && !r.exited() {
			out = append(out, r)
		}
	}
	return out
}

// sample is one line of a Prometheus text exposition.
type sample struct {
	name   string
	labels map[string]string
	value  float64
}

var (
	sampleRE = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)`)
	labelRE  = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"`)
)

// scrape reads url's /metrics.
func scrape(ctx context.Context, url string) ([]sample, error) {
	b, err := httpGet(ctx, url)
	if err != nil {
		return nil, err
	}
	var out []sample
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		m := sampleRE.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		v, err := strconv.ParseFloat(m[3], 64)
		if err != nil {
			continue
		}
		s := sample{name: m[1], labels: map[string]string{}, value: v}
		for _, l := range labelRE.FindAllStringSubmatch(m[2], -1) {
			s.labels[l[1]] = l[2]
		}
		out = append(out, s)
	}
	return out, sc.Err()
}

// find returns the values of the samples named name whose label key is val.
func find(ss []sample, name, key, val string) []float64 {
	var out []float64
	for _, s := range ss {
		if s.name == name && s.labels[key] == val {
			out = append(out, s.value)
		}
	}
	return out
}

func httpGet(ctx context.Context, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s: %.300s", url, resp.Status, b)
	}
	return b, nil
}

// endToEndCounts sums starsink_end_to_end_seconds_count of each table over
// the replicas.
func endToEndCounts(ctx context.Context, t *testing.T, rs []*replica, tables []string) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for _, r := range rs {
		ss, err := scrape(ctx, replicaURL(r.n, "/metrics"))
		if err != nil {
			t.Fatalf("replica %d: %v", r.n, err)
		}
		for _, tb := range tables {
			for _, v := range find(ss, "starsink_end_to_end_seconds_count", "table", tb) {
				out[tb] += v
			}
		}
	}
	return out
}

// freshness changes two tables, waits for the changes in the target and
// reads the replicas' starsink_freshness_seconds and
// starsink_end_to_end_seconds for them: both come from the changes'
// source.ts_ms, so right after the load the freshest replica's gauge is
// at most the time since the changes were committed.
func freshness(ctx context.Context, t *testing.T, c cell, pg *pgx.Conn, sr *sql.DB, replicas []*replica) {
	start := time.Now()
	live := liveReplicas(replicas)
	if len(live) == 0 {
		t.Fatal("no replica runs")
	}
	changed := []string{subwayTables[1].name, subwayTables[2].name}
	qualified := func(tb string) string { return c.id() + "." + tb }
	var names []string
	for _, tb := range changed {
		names = append(names, qualified(tb))
	}
	before := endToEndCounts(ctx, t, live, names)

	begin := time.Now() // before the commits: no change loaded now is older
	for _, q := range []string{
		`UPDATE public.subway_passengers_copy SET pass_in = pass_in + 1
WHERE use_date = (SELECT min(use_date) FROM public.subway_passengers_copy)`,
		`UPDATE public.subway_passengers_time_copy SET pass_in = pass_in + 1 WHERE time_band = '08~09'`,
	} {
		tag, err := pg.Exec(ctx, q)
		if err != nil {
			t.Fatalf("postgres: %v", err)
		}
		if tag.RowsAffected() == 0 {
			t.Fatalf("postgres: %q changed no row", q)
		}
	}
	for _, tb := range changed {
		want, err := pgFingerprint(ctx, pg, tb)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := waitUntil(ctx, 2*time.Minute, 200*time.Millisecond, tb+" in the target", func() (bool, string) {
			if dead := deadReplicas(replicas); dead != "" {
				t.Fatal(dead)
			}
			got, err := srFingerprint(ctx, sr, tb)
			if err != nil {
				return false, err.Error()
			}
			return got == want, "target " + got + ", source " + want
		}); err != nil {
			t.Fatal(err)
		}
	}
	loaded := time.Since(begin).Seconds()

	per := map[string][]string{} // table → "replica n: value"
	fresh := map[string][]float64{}
	for _, r := range live {
		ss, err := scrape(ctx, replicaURL(r.n, "/metrics"))
		if err != nil {
			t.Fatalf("replica %d: %v", r.n, err)
		}
		for _, tb := range names {
			for _, v := range find(ss, "starsink_freshness_seconds", "table", tb) {
				fresh[tb] = append(fresh[tb], v)
				per[tb] = append(per[tb], fmt.Sprintf("replica %d: %.3f s", r.n, v))
			}
		}
	}
	since := time.Since(begin).Seconds()
	after := endToEndCounts(ctx, t, live, names)
	for _, tb := range names {
		vs := fresh[tb]
		if len(vs) == 0 {
			t.Errorf("starsink_freshness_seconds{table=%q}: no replica exports it", tb)
			continue
		}
		low := vs[0]
		for _, v := range vs {
			if v < 0 {
				t.Errorf("starsink_freshness_seconds{table=%q} = %g: negative", tb, v)
			}
			low = min(low, v)
		}
		// The freshest replica loaded a change committed after begin; the
		// gauge is computed at scrape time, whole milliseconds.
		if low > since+0.01 {
			t.Errorf("starsink_freshness_seconds{table=%q}: the freshest replica says %.3f s, but the changes were committed less than %.3f s ago",
				tb, low, since)
		}
		if after[tb] <= before[tb] {
			t.Errorf("starsink_end_to_end_seconds_count{table=%q}: %g before the changes, %g after: no load observed", tb, before[tb], after[tb])
		}
		t.Logf("%s: starsink_freshness_seconds %s; starsink_end_to_end_seconds_count %g → %g (changes visible %.2f s after the commits)",
			tb, strings.Join(per[tb], ", "), before[tb], after[tb], loaded)
	}
	t.Logf("step took %.1f s", time.Since(start).Seconds())
}

// memberStatus is the part of GET /status the suite reads.
type memberStatus struct {
	Group      string `json:"group"`
	MemberID   string `json:"member_id"`
	GroupError string `json:"group_error"`
	Tables     []struct {
		Name       string `json:"name"`
		State      string `json:"state"`
		Partitions []struct {
			Topic     string `json:"topic"`
			Partition int32  `json:"partition"`
			Committed int64  `json:"committed"`
			End       int64  `json:"end"`
		} `json:"partitions"`
	} `json:"tables"`
	Members []struct {
		MemberID string `json:"member_id"`
		ClientID string `json:"client_id"`
	} `json:"members"`
}

func readStatus(ctx context.Context, n int) (memberStatus, error) {
	var m memberStatus
	b, err := httpGet(ctx, replicaURL(n, "/status"))
	if err != nil {
		return m, err
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("replica %d: GET /status: %w", n, err)
	}
	return m, nil
}

// statusJSON reads GET /status of every replica: each names the cell's
// group; together they hold every partition of the subway tables, each
// with its committed offset at the end of the partition once the loads
// are committed.
func statusJSON(ctx context.Context, t *testing.T, c cell, replicas []*replica) {
	start := time.Now()
	live := liveReplicas(replicas)
	group := "starsink-e2e-" + c.id()
	if _, err := waitUntil(ctx, time.Minute, 500*time.Millisecond, "every partition committed to its end", func() (bool, string) {
		parts := map[string]int{}       // table → partitions seen
		behind := map[string][]string{} // table → partitions not committed to the end
		for _, r := range live {
			m, err := readStatus(ctx, r.n)
			if err != nil {
				return false, err.Error()
			}
			if m.Group != group {
				t.Fatalf("replica %d: GET /status names group %q, want %q", r.n, m.Group, group)
			}
			if m.GroupError != "" {
				return false, fmt.Sprintf("replica %d: group_error %s", r.n, m.GroupError)
			}
			for _, tb := range m.Tables {
				for _, p := range tb.Partitions {
					parts[tb.Name]++
					if p.Committed < 0 || p.Committed != p.End {
						behind[tb.Name] = append(behind[tb.Name], fmt.Sprintf("%d: %d/%d", p.Partition, p.Committed, p.End))
					}
				}
			}
		}
		var state []string
		ok := true
		for _, tb := range subwayTables {
			name := c.id() + "." + tb.name
			if parts[name] != 3 || len(behind[name]) > 0 {
				ok = false
			}
			state = append(state, fmt.Sprintf("%s: %d partitions, behind %v", name, parts[name], behind[name]))
		}
		return ok, strings.Join(state, "; ")
	}); err != nil {
		t.Fatal(err)
	}
	m, err := readStatus(ctx, live[0].n)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Members) != len(live) {
		t.Errorf("replica %d: GET /status lists %d group members, want %d", live[0].n, len(m.Members), len(live))
	}
	t.Logf("GET /status: group %s, %d members, every partition of the subway tables committed to its end (%.1f s)",
		m.Group, len(m.Members), time.Since(start).Seconds())
}

// chromium returns a Chromium-family browser, or "" (make test-deps
// installs Debian's chromium package).
func chromium() string {
	if p := os.Getenv("STARSINK_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// statusPage opens a replica's status page in headless Chromium and reads
// the rendered DOM: the group, every table the replica's GET /status
// lists, and the group's members.
func statusPage(ctx context.Context, t *testing.T, c cell, replicas []*replica) {
	start := time.Now()
	exe := chromium()
	if exe == "" {
		t.Skip("no Chromium on PATH (make test-deps installs Debian's chromium package; STARSINK_CHROMIUM names another)")
	}
	live := liveReplicas(replicas)
	r := live[0]
	m, err := readStatus(ctx, r.n)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Tables) == 0 {
		t.Fatalf("replica %d: GET /status lists no table", r.n)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox, // CI may run as root, where Chromium's sandbox refuses to start
		chromedp.Flag("disable-dev-shm-usage", true),
	)
	actx, cancel := chromedp.NewExecAllocator(ctx, opts...)
	defer cancel()
	bctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	bctx, cancel = context.WithTimeout(bctx, 90*time.Second)
	defer cancel()
	if err := chromedp.Do(bctx,
		chromedp.Navigate(replicaURL(r.n, "/")),
		chromedp.WaitVisible(chromedp.CSS(`body[data-loaded="true"]`)),
	); err != nil {
		t.Fatalf("browser: %v", err)
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("browser: text of %s: %v", sel, err)
		}
		return s
	}
	if g, want := text(`#group`), "starsink-e2e-"+c.id(); g != want {
		t.Errorf("the page names group %q, want %q", g, want)
	}
	for _, tb := range m.Tables {
		row := text(fmt.Sprintf(`tr[data-table=%q]`, tb.Name))
		if !strings.Contains(row, tb.Name) {
			t.Errorf("the page's row of %s reads %q", tb.Name, row)
		}
		for _, p := range tb.Partitions {
			if want := fmt.Sprintf("%s/%d: ", p.Topic, p.Partition); !strings.Contains(row, want) {
				t.Errorf("the page's row of %s lacks partition %s: %q", tb.Name, want, row)
			}
		}
	}
	members := text(`#members tbody`)
	if !strings.Contains(members, "(this one)") {
		t.Errorf("the page's members do not mark this replica: %q", members)
	}
	var tables []string
	for _, tb := range m.Tables {
		tables = append(tables, tb.Name)
	}
	sort.Strings(tables)
	t.Logf("replica %d's page in %s names group %s and tables %s (%.1f s)", r.n, exe, m.Group,
		strings.Join(tables, ", "), time.Since(start).Seconds())
}
