package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"strings"
	"testing"
)

func TestRunFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
		help    bool
	}{
		{name: "help", args: []string{"--help"}, help: true},
		{name: "unknown flag", args: []string{"--no-such-flag"}, wantErr: "no-such-flag"},
		{name: "bad level", args: []string{"--log-level", "loud"}, wantErr: "--log-level"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := run(context.Background(), tt.args, &out, &errOut)
			switch {
			case tt.help:
				if !errors.Is(err, flag.ErrHelp) || !strings.Contains(errOut.String(), "-rows") {
					t.Fatalf("err %v, usage %q", err, errOut.String())
				}
			case err == nil || !strings.Contains(err.Error(), tt.wantErr):
				t.Fatalf("err %v, want one naming %q", err, tt.wantErr)
			}
		})
	}
}
