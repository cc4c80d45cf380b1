package main

import (
	"runtime/debug"
	"strings"
	"testing"
)

// The worker's binary must not link the emulator or the in-process Kafka:
// the emulator's MySQL engine compiles an ICU regex module at program start
// (about 250 ms of CPU and 20 MiB of heap on every start, the binary 3.5×
// larger). The demo, which needs them, is cmd/starsink-demo.
func TestBinaryLeavesOutTheDemo(t *testing.T) {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		t.Skip("no build information in this test binary")
	}
	for _, d := range bi.Deps {
		for _, banned := range []string{"github.com/dolthub/", "github.com/tetratelabs/wazero", "github.com/twmb/franz-go/pkg/kfake"} {
			if strings.HasPrefix(d.Path, banned) {
				t.Errorf("cmd/starsink links %s %s: keep the emulator and kfake out of the worker's binary", d.Path, d.Version)
			}
		}
	}
}
