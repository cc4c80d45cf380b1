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
