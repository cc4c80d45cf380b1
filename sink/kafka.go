package sink

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/starsink/starsink/config"
)

// kafkaOptions translates the kafka section of the configuration into
// franz-go options.
func kafkaOptions(cfg *config.Config) ([]kgo.Opt, error) {
	k := cfg.Kafka
	opts := []kgo.Opt{
		kgo.SeedBrokers(k.Brokers...),
		kgo.ConsumerGroup(k.GroupID),
		kgo.SessionTimeout(k.SessionTimeout),
		kgo.RebalanceTimeout(k.RebalanceTimeout),
		// A regex subscription sees a new Debezium topic (a new source
		// table) at the next metadata refresh: 30s rather than franz-go's 5m.
		kgo.MetadataMaxAge(30 * time.Second),
	}
	if k.ClientID != "" {
		opts = append(opts, kgo.ClientID(k.ClientID))
	}
	if k.FetchMaxBytes > 0 {
		opts = append(opts, kgo.FetchMaxBytes(k.FetchMaxBytes))
	}
	switch k.StartOffset {
	case "latest":
		opts = append(opts, kgo.ConsumeResetOffset(kgo.NewOffset().AtEnd()))
	default:
		opts = append(opts, kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	}
	if k.GroupProtocol == "consumer" {
		// KIP-848: the broker assigns partitions (Kafka 4.0+).
		opts = append(opts, kgo.ServerSideBalancer(), kgo.Balancers(kgo.CooperativeStickyBalancer()))
	}
	switch {
	case len(k.TopicRegex) > 0:
		pats := make([]string, 0, len(k.TopicRegex)+len(k.Topics))
		pats = append(pats, k.TopicRegex...)
		for _, t := range k.Topics {
			pats = append(pats, "^"+regexp.QuoteMeta(t)+"$")
		}
		opts = append(opts, kgo.ConsumeRegex(), kgo.ConsumeTopics(pats...))
		if len(k.ExcludeRegex) > 0 {
			opts = append(opts, kgo.ConsumeExcludeTopics(k.ExcludeRegex...))
		}
	default:
		// Listed topics are consumed as listed; exclude_regex only filters
		// regex subscriptions.
		opts = append(opts, kgo.ConsumeTopics(k.Topics...))
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

func tlsConfig(c config.TLS) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: c.InsecureSkipVerify} //nolint:gosec // opt-in
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("kafka.tls.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("kafka.tls.ca_file: no certificate in %s", c.CAFile)
		}
		tc.RootCAs = pool
	}
	if c.CertFile != "" || c.KeyFile != "" {
		cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("kafka.tls.cert_file/key_file: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}
