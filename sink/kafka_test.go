package sink

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap/zaptest"

	"github.com/starsink/starsink/config"
	"github.com/starsink/starsink/emulator"
)

func TestRefusal(t *testing.T) {
	k := config.Kafka{SASL: config.SASL{Mechanism: "scram-sha-512", Username: "starsink", Password: "the-secret"}}
	tests := []struct {
		name string
		err  error
		want string // "" : not a refusal, the client keeps trying
	}{
		{"login refused", fmt.Errorf("%w: Authentication failed during authentication due to invalid credentials", kerr.SaslAuthenticationFailed),
			`kafka: the brokers refuse the login of user "starsink" with SCRAM-SHA-512`},
		{"mechanism not enabled", kerr.UnsupportedSaslMechanism, "refuse the login"},
		{"unknown authority", fmt.Errorf("dial: %w", x509.UnknownAuthorityError{}), "certificate does not verify"},
		{"wrapped by crypto/tls", &tls.CertificateVerificationError{Err: x509.HostnameError{Host: "kafka"}}, "certificate does not verify"},
		{"expired", x509.CertificateInvalidError{Reason: x509.Expired}, "certificate does not verify"},
		{"refused connection", &net.OpError{Op: "dial", Err: errors.New("connection refused")}, ""},
		{"closed connection", io.EOF, ""},
		{"deadline", context.DeadlineExceeded, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := refusal(tt.err, k)
			switch {
			case tt.want == "" && got != nil:
				t.Fatalf("refusal(%v) = %v, want nil", tt.err, got)
			case tt.want != "" && (got == nil || !strings.Contains(got.Error(), tt.want)):
				t.Fatalf("refusal(%v) = %v, want it to say %q", tt.err, got, tt.want)
			case got != nil && strings.Contains(got.Error(), "the-secret"):
				t.Fatalf("refusal names the password: %v", got)
			}
		})
	}
}

// TestRefusalWatch feeds connection attempts, one second apart, to the
// watch of refusals after start: refusals that last kafka.refused_timeout
// with no success in between stop the worker; a success, or an error that
// is no refusal, does not count as one.
func TestRefusalWatch(t *testing.T) {
	refused := fmt.Errorf("%w: invalid credentials", kerr.SaslAuthenticationFailed)
	down := &net.OpError{Op: "dial", Err: errors.New("connection refused")}
	tests := []struct {
		name     string
		timeout  time.Duration
		attempts []error // one per second
		failAt   int     // index of the attempt that stops the worker; -1: none
	}{
		{"accepted", 3 * time.Second, []error{nil, nil, nil}, -1},
		{"refused for the timeout", 3 * time.Second, []error{nil, refused, refused, refused, refused}, 4},
		{"a success starts the count again", 3 * time.Second, []error{refused, refused, nil, refused, refused, refused}, -1},
		{"a broker down in between does not", 3 * time.Second, []error{refused, down, down, refused}, 3},
		{"broker down only", time.Second, []error{down, down, down}, -1},
		{"timeout 0: at the first refusal", 0, []error{nil, refused}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := time.Unix(0, 0)
			var failed []error
			k := config.Kafka{RefusedTimeout: tt.timeout, SASL: config.SASL{Mechanism: "SCRAM-SHA-512", Username: "starsink", Password: "the-secret"}}
			r := newRefusalWatch(k, func(err error) { failed = append(failed, err) }, zaptest.NewLogger(t))
			r.now = func() time.Time { return now }
			failAt := -1
			for i, err := range tt.attempts {
				r.OnBrokerConnect(kgo.BrokerMetadata{NodeID: 1}, 0, nil, err)
				if len(failed) > 0 && failAt < 0 {
					failAt = i
				}
				now = now.Add(time.Second)
			}
			if failAt != tt.failAt {
				t.Fatalf("stopped at attempt %d, want %d (%v)", failAt, tt.failAt, failed)
			}
			if failAt >= 0 && (!strings.Contains(failed[0].Error(), "refuse the login") || strings.Contains(failed[0].Error(), "the-secret")) {
				t.Errorf("reason %q: want the refusal, without the password", failed[0])
			}
		})
	}
}

// TestIntegrationPreflight: with no broker answering yet, the worker
// starts and keeps trying, as a Kafka client does, rather than stopping.
// (kfake drops a connection whose login fails instead of answering
// SASL_AUTHENTICATION_FAILED as Kafka does, so a refused login is tested
// by TestRefusal here and against the real broker in e2e,
// TestIntegrationSecureListener.)
func TestIntegrationPreflight(t *testing.T) {
	emu, err := emulator.Start(emulator.Config{NoMySQL: true})
	if err != nil {
		t.Fatal(err)
	}
	defer emu.Close()
	cfg := config.Default()
	cfg.Kafka.Brokers = []string{"127.0.0.1:1"}
	cfg.Kafka.Topics = []string{testTopic}
	cfg.Kafka.GroupID = "starsink-preflight"
	cfg.StarRocks.LoadURLs = []string{emu.FEURL()}
	cfg.StarRocks.Database = "subway"
	cfg.Mapping.Template = "{table}"
	cfg.HTTP.Addr = ""
	w, err := New(&cfg, Deps{Schemas: emuSchemas{emu}}, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := w.Run(ctx); err != nil || ctx.Err() == nil {
		t.Fatalf("Run = %v, want it to keep trying until stopped", err)
	}
}
