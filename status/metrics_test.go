package status

import (
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// TestMetricNames pins this package's metric names: a rename must update
// the docs, the Grafana dashboard and the alert rules that read them, and
// this list. Every listed metric is gathered once the types that own
// them have seen one table.
func TestMetricNames(t *testing.T) {
	want := []string{
		"starsink_end_to_end_seconds",
		"starsink_freshness_seconds",
		"starsink_table_paused",
	}
	got := MetricNames()
	sort.Strings(got)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("MetricNames() =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	reg := prometheus.NewPedanticRegistry()
	registerAll(reg, "db.t")
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	gathered := map[string]bool{}
	for _, mf := range mfs {
		gathered[mf.GetName()] = true
	}
	for _, n := range want {
		if !gathered[n] {
			t.Errorf("%s is listed but not gathered", n)
		}
		delete(gathered, n)
	}
	for n := range gathered {
		t.Errorf("%s is gathered but not listed in MetricNames", n)
	}
}
