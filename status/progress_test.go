package status

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

func TestProgressLogsALongCatchUpAtMostEveryInterval(t *testing.T) {
	type poll struct {
		after     time.Duration // since the previous poll
		rows, lag int64
		want      string // the line logged, "" for none
	}
	tests := []struct {
		name  string
		polls []poll
	}{
		{"a small lag says nothing", []poll{
			{0, 0, 1000, ""},
			{time.Minute, 5000, 100_000, ""}, // at the threshold, not above
		}},
		{"a catch-up: start, a line per 10 s with rate and estimate, end", []poll{
			{0, 0, 1_000_000, "catching up lag=1000000"},
			{time.Second, 50_000, 950_000, ""},
			{8 * time.Second, 400_000, 600_000, ""},
			{time.Second, 500_000, 500_000, "catching up rows=500000 rows_per_second=50000 lag=500000 eta=10s"},
			{5 * time.Second, 700_000, 300_000, ""},
			{5 * time.Second, 750_000, 250_000, "catching up rows=250000 rows_per_second=25000 lag=250000 eta=10s"},
			{2 * time.Second, 810_000, 60_000, ""}, // below the threshold, above half of it
			{2 * time.Second, 900_000, 40_000, "caught up rows=900000 elapsed=24s rows_per_second=37500 lag=40000"},
			{time.Minute, 901_000, 90_000, ""}, // back under the threshold: quiet again
		}},
		{"a lag that does not shrink has no estimate", []poll{
			{0, 0, 200_000, "catching up lag=200000"},
			{10 * time.Second, 0, 250_000, "catching up rows=0 rows_per_second=0 lag=250000 eta=unknown: the lag is not shrinking"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			core, logs := observer.New(zapcore.InfoLevel)
			c := &clock{t: time.Date(2026, 11, 30, 1, 0, 0, 0, time.UTC)}
			p := NewProgress(zap.New(core), 0, 0, c.now)
			for i, pl := range tt.polls {
				c.advance(pl.after)
				p.Poll(pl.rows, pl.lag)
				got := logs.TakeAll()
				line := ""
				if len(got) > 1 {
					t.Fatalf("poll %d: %d lines", i, len(got))
				}
				if len(got) == 1 {
					line = render(got[0])
					if got[0].Level != zapcore.InfoLevel {
						t.Errorf("poll %d: level %s, want info", i, got[0].Level)
					}
				}
				if line != pl.want {
					t.Errorf("poll %d: logged %q, want %q", i, line, pl.want)
				}
			}
		})
	}
}

// render writes an entry as "message key=value …" in field order.
func render(e observer.LoggedEntry) string {
	var b strings.Builder
	b.WriteString(e.Message)
	for _, f := range e.Context {
		b.WriteString(" " + f.Key + "=")
		switch f.Type {
		case zapcore.Int64Type:
			fmt.Fprint(&b, f.Integer)
		case zapcore.DurationType:
			b.WriteString(time.Duration(f.Integer).String())
		case zapcore.StringType:
			b.WriteString(f.String)
		default:
			fmt.Fprint(&b, e.ContextMap()[f.Key])
		}
	}
	return b.String()
}
