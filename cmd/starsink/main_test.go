package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/starsink/starsink/config"
)

func TestRealMain(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		code       int
		stdout     []string // substrings
		notStdout  []string
		stderrPart string
	}{
		{name: "no args", args: nil, code: 2, stdout: []string{"usage: starsink", "run", "version"}},
		{name: "help", args: []string{"help"}, code: 0, stdout: []string{"usage: starsink", "run the worker"}},
		{name: "unknown", args: []string{"frobnicate"}, code: 2, stderrPart: `unknown command "frobnicate"`},
		{name: "version", args: []string{"version"}, code: 0, stdout: []string{"starsink " + version}},
		{name: "run bad flag", args: []string{"run", "--no-such-flag"}, code: 2, stderrPart: "no-such-flag"},
		{name: "print config redacts", args: []string{"run", "--config", "testdata/run.yaml", "--print-config"}, code: 0,
			stdout: []string{"kafka.group_id: starsink-test", "shop.public.orders", "starrocks.password: ******"}, notStdout: []string{"s3cret-value"}},
		{name: "flag override", args: []string{"run", "--config", "testdata/run.yaml", "--kafka.group_id", "other", "--print-config"}, code: 0,
			stdout: []string{"kafka.group_id: other"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := realMain(tt.args, strings.NewReader(""), &out, &errb)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, out.String(), errb.String())
			}
			for _, s := range tt.stdout {
				if !strings.Contains(out.String(), s) {
					t.Errorf("stdout lacks %q:\n%s", s, out.String())
				}
			}
			for _, s := range tt.notStdout {
				if strings.Contains(out.String(), s) {
					t.Errorf("stdout shows %q:\n%s", s, out.String())
				}
			}
			if tt.stderrPart != "" && !strings.Contains(errb.String(), tt.stderrPart) {
				t.Errorf("stderr lacks %q:\n%s", tt.stderrPart, errb.String())
			}
		})
	}
}

func TestMemoryLimit(t *testing.T) {
	cfg := config.Default()
	cfg.Kafka.Brokers = []string{"a:9092", "b:9092"}
	cfg.Batch.BufferMemory = 256 << 20
	cfg.Kafka.FetchMaxBytes = 8 << 20
	if got, want := memoryLimit(&cfg), int64(256+2*2*8+64)<<20; got != want {
		t.Errorf("memoryLimit = %d MiB, want %d MiB", got>>20, want>>20)
	}
}
