package sink

import (
	"fmt"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/starsink/starsink/config"
)

// DialOptions are the franz-go options that reach the brokers as the
// worker does (seed brokers, client id, TLS, SASL), without a consumer
// group or topics: for tools that only read metadata and records, such as
// `starsink plan`, and must not join the worker's group.
func DialOptions(cfg *config.Config) ([]kgo.Opt, error) {
	k := cfg.Kafka
	opts := []kgo.Opt{kgo.SeedBrokers(k.Brokers...)}
	if k.ClientID != "" {
		opts = append(opts, kgo.ClientID(k.ClientID))
	}
	if k.TLS.Enabled {
		tc, err := tlsConfig(k.TLS)
		if err != nil {
			return nil, err
		}
		opts = append(opts, kgo.DialTLSConfig(tc))
	}
	if m := strings.ToUpper(k.SASL.Mechanism); m != "" {
		user, pass := k.SASL.Username, k.SASL.Password.Value()
		switch m {
		case "PLAIN":
			opts = append(opts, kgo.SASL(plain.Auth{User: user, Pass: pass}.AsMechanism()))
		case "SCRAM-SHA-256":
			opts = append(opts, kgo.SASL(scram.Auth{User: user, Pass: pass}.AsSha256Mechanism()))
		case "SCRAM-SHA-512":
			opts = append(opts, kgo.SASL(scram.Auth{User: user, Pass: pass}.AsSha512Mechanism()))
		default:
			return nil, fmt.Errorf("kafka.sasl.mechanism: unknown mechanism %q", k.SASL.Mechanism)
		}
	}
	return opts, nil
}
