// Package deploy holds the container, compose and Kubernetes files'
// supporting files; its tests check what can be checked without a Docker
// engine or a cluster.
package deploy

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/starsink/starsink/config"
	"github.com/starsink/starsink/sink"
	"github.com/starsink/starsink/status"
)

const root = ".."

type compose struct {
	Services map[string]struct {
		Image       string         `yaml:"image"`
		Build       any            `yaml:"build"`
		DependsOn   any            `yaml:"depends_on"`
		Ports       []string       `yaml:"ports"`
		Volumes     []string       `yaml:"volumes"`
		Environment map[string]any `yaml:"environment"`
		Healthcheck *struct {
			Test []string `yaml:"test"`
		} `yaml:"healthcheck"`
		Deploy struct {
			Replicas int `yaml:"replicas"`
		} `yaml:"deploy"`
	} `yaml:"services"`
}

// TestCompose parses docker-compose.yml and checks that it hangs together.
func TestCompose(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(root, "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var c compose
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	for _, want := range []string{"postgres", "kafka", "connect", "connect-register", "starrocks", "starrocks-init", "starsink", "kafbat-ui", "prometheus", "superset"} {
		if _, ok := c.Services[want]; !ok {
			t.Errorf("service %s is missing", want)
		}
	}
	hostPorts := map[string]string{}
	for name, s := range c.Services {
		if s.Image == "" && s.Build == nil {
			t.Errorf("%s: neither image nor build", name)
		}
		if s.Image != "" && !strings.Contains(s.Image, ":") {
			t.Errorf("%s: image %s is not pinned to a tag", name, s.Image)
		}
		for _, dep := range dependsOn(s.DependsOn) {
			if _, ok := c.Services[dep]; !ok {
				t.Errorf("%s depends on unknown service %s", name, dep)
			}
		}
		for _, p := range s.Ports {
			host := strings.SplitN(p, ":", 2)[0]
			if other, dup := hostPorts[host]; dup {
				t.Errorf("host port %s used by %s and %s", host, other, name)
			}
			hostPorts[host] = name
		}
		for _, v := range s.Volumes {
			src := strings.SplitN(v, ":", 2)[0]
			if strings.HasPrefix(src, "./") {
				if _, err := os.Stat(filepath.Join(root, src)); err != nil {
					t.Errorf("%s mounts %s: %v", name, src, err)
				}
			}
		}
	}
	if r := c.Services["starsink"].Deploy.Replicas; r != 2 {
		t.Errorf("starsink replicas = %d, want 2", r)
	}
}

func dependsOn(v any) []string {
	var out []string
	switch d := v.(type) {
	case []any:
		for _, x := range d {
			out = append(out, x.(string))
		}
	case map[string]any:
		for k := range d {
			out = append(out, k)
		}
	}
	return out
}

// TestStarsinkConfigs loads and validates every starsink configuration the
// project ships, as `starsink run --config` would.
func TestStarsinkConfigs(t *testing.T) {
	files := []string{"deploy/starsink/config.yaml", "examples/reference/config.yaml", "examples/connector/starsink.yaml", "examples/versioned/config.yaml"}
	for _, f := range files {
		if _, err := config.Load(config.LoadOptions{File: filepath.Join(root, f), Env: []string{"STARSINK_STARROCKS_PASSWORD=x"}}); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	// The ConfigMap's config.yaml, too.
	for _, doc := range k8sDocs(t) {
		if doc["kind"] == "ConfigMap" {
			data := doc["data"].(map[string]any)["config.yaml"].(string)
			tmp := filepath.Join(t.TempDir(), "config.yaml")
			if err := os.WriteFile(tmp, []byte(data), 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := config.Load(config.LoadOptions{File: tmp, Env: []string{}}); err != nil {
				t.Errorf("kubernetes ConfigMap config.yaml: %v", err)
			}
		}
	}
}

func k8sDocs(t *testing.T) []map[string]any {
	t.Helper()
	f, err := os.Open(filepath.Join(root, "examples/kubernetes/starsink.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := yaml.NewDecoder(f)
	var docs []map[string]any
	for {
		var d map[string]any
		if err := dec.Decode(&d); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("kubernetes manifest: %v", err)
		}
		docs = append(docs, d)
	}
	return docs
}

// TestKubernetes checks the manifests' kinds and that the probes and the
// scrape annotation point at what starsink serves.
func TestKubernetes(t *testing.T) {
	kinds := map[string]bool{}
	for _, d := range k8sDocs(t) {
		if d["apiVersion"] == nil || d["kind"] == nil {
			t.Errorf("document without apiVersion/kind: %v", d)
		}
		kinds[d["kind"].(string)] = true
		if d["kind"] != "Deployment" {
			continue
		}
		b, _ := yaml.Marshal(d)
		for _, want := range []string{"path: /healthz", "path: /readyz", "prometheus.io/port: \"8080\"", "containerPort: 8080", "secretKeyRef"} {
			if !bytes.Contains(b, []byte(want)) {
				t.Errorf("Deployment lacks %q", want)
			}
		}
	}
	for _, k := range []string{"Secret", "ConfigMap", "Deployment", "Service"} {
		if !kinds[k] {
			t.Errorf("no %s", k)
		}
	}
}

// TestDashboardMetrics checks that every metric the Grafana dashboard
// queries is one starsink exports.
func TestDashboardMetrics(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(root, "examples/grafana/starsink-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("dashboard JSON: %v", err)
	}
	var exprs []string
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			exprs = append(exprs, tg.Expr)
		}
	}
	checkExported(t, "dashboard", exprs)
}

// TestAlertRulesMetrics checks that the example Prometheus rules parse as
// a rule file and query only metrics starsink exports.
func TestAlertRulesMetrics(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(root, "examples/prometheus/starsink-rules.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Groups []struct {
			Name  string `yaml:"name"`
			Rules []struct {
				Alert string `yaml:"alert"`
				Expr  string `yaml:"expr"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(b, &file); err != nil {
		t.Fatalf("rule file: %v", err)
	}
	var exprs []string
	for _, g := range file.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" || r.Expr == "" {
				t.Errorf("group %s: a rule without alert or expr", g.Name)
			}
			exprs = append(exprs, r.Expr)
		}
	}
	checkExported(t, "rule file", exprs)
}

// checkExported fails for a starsink_ metric in exprs that neither the
// worker (sink.MetricNames), the status package nor franz-go's kprom
// (starsink_kafka_) exports.
func checkExported(t *testing.T, what string, exprs []string) {
	t.Helper()
	known := map[string]bool{}
	for _, n := range append(sink.MetricNames(), status.MetricNames()...) {
		known[n] = true
	}
	re := regexp.MustCompile(`starsink_[a-z_]+`)
	n := 0
	for _, e := range exprs {
		for _, m := range re.FindAllString(e, -1) {
			n++
			base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(m, "_bucket"), "_sum"), "_count")
			if !known[base] && !strings.HasPrefix(base, "starsink_kafka_") {
				t.Errorf("%s queries %s, which starsink does not export", what, m)
			}
		}
	}
	if n == 0 {
		t.Fatalf("the %s queries no starsink metric", what)
	}
}

// TestBuildCommand runs the Dockerfile's build command (deploy/build.sh)
// as a plain go build with the same flags.
func TestBuildCommand(t *testing.T) {
	df, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(df, []byte("deploy/build.sh")) || !bytes.Contains(df, []byte("HEALTHCHECK")) || !bytes.Contains(df, []byte("nonroot")) {
		t.Error("Dockerfile must build with deploy/build.sh, run as non-root and have a HEALTHCHECK")
	}
	if testing.Short() {
		t.Skip("builds the binary")
	}
	out := filepath.Join(t.TempDir(), "starsink")
	cmd := exec.Command("sh", "deploy/build.sh", out, "test")
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("deploy/build.sh: %v\n%s", err, b)
	}
	v, err := exec.Command(out, "version").Output()
	if err != nil || strings.TrimSpace(string(v)) != "starsink test" {
		t.Errorf("built binary: version = %q, %v", v, err)
	}
}
