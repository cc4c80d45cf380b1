package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/starsink/starsink/config"
)

func TestLogFormats(t *testing.T) {
	tests := []struct {
		format string
		want   []string // substrings of the one line
	}{
		{"json", []string{`"level":"info"`, `"msg":"batch loaded"`, `"table":"shop.orders"`, `"duration":0.25`}},
		{"console", []string{"  INFO  batch loaded  ", `{"table": "shop.orders", "rows": 500, "duration": "250ms"}`}},
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			var buf bytes.Buffer
			log, err := newLogger(config.Log{Level: "info", Format: tt.format}, &buf)
			if err != nil {
				t.Fatal(err)
			}
			log.Info("batch loaded", zap.String("table", "shop.orders"), zap.Int("rows", 500), zap.Duration("duration", 250*time.Millisecond))
			log.Debug("below the level")
			out := buf.String()
			if strings.Count(out, "\n") != 1 {
				t.Fatalf("want one line per event:\n%s", out)
			}
			if strings.Contains(out, "\x1b[") {
				t.Errorf("colour codes on a writer that is no terminal: %q", out)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("line lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

func TestColourOnlyOnATerminal(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if colour(w) {
		t.Error("a pipe is not a terminal")
	}
	if colour(&bytes.Buffer{}) {
		t.Error("a buffer is not a terminal")
	}
	if tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil {
		defer tty.Close()
		t.Setenv("NO_COLOR", "")
		if !colour(tty) {
			t.Error("/dev/tty is a terminal")
		}
		t.Setenv("NO_COLOR", "1")
		if colour(tty) {
			t.Error("NO_COLOR is set")
		}
	}
}
