package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestPlanUsage: the command is listed and refuses a bad output format as
// a usage error. The planning itself is tested in package ddl on kfake and
// the emulator (TestPlannerReferenceTables), which this binary must not link.
func TestPlanUsage(t *testing.T) {
	var out, errb bytes.Buffer
	if code := realMain([]string{"help"}, strings.NewReader(""), &out, &errb); code != 0 || !strings.Contains(out.String(), "plan ") {
		t.Errorf("help: exit %d, no plan command:\n%s", code, out.String())
	}
	out.Reset()
	if code := realMain([]string{"plan", "--output", "yaml"}, strings.NewReader(""), &out, &errb); code != 2 || !strings.Contains(errb.String(), "--output") {
		t.Errorf("plan --output yaml: exit %d, stderr %s", code, errb.String())
	}
	errb.Reset()
	if code := realMain([]string{"plan", "--config", "testdata/no-such.yaml"}, strings.NewReader(""), &out, &errb); code != 1 {
		t.Errorf("plan with a missing configuration: exit %d, want 1; stderr %s", code, errb.String())
	}
}
