package sink

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
	"go.uber.org/zap"

	"github.com/starsink/starsink/config"
)

// kafkaOptions translates the kafka section of the configuration into
// franz-go options: DialOptions plus the consumer group's.
func kafkaOptions(cfg *config.Config) ([]kgo.Opt, error) {
	k := cfg.Kafka
	opts, err := DialOptions(cfg)
	if err != nil {
		return nil, err
	}
	opts = append(opts,
		kgo.ConsumerGroup(k.GroupID),
		kgo.SessionTimeout(k.SessionTimeout),
		kgo.RebalanceTimeout(k.RebalanceTimeout),
		// A regex subscription sees a new Debezium topic (a new source
		// table) at the next metadata refresh: 30s rather than franz-go's 5m.
		kgo.MetadataMaxAge(30*time.Second),
	)
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
	return opts, nil
}

// DialOptions are the franz-go options that reach cfg's brokers as the
// worker does (seed brokers, client id, TLS, SASL), without a consumer
// group or topics: the worker adds its group's, and tools that must not
// join the group (`starsink plan`, `starsink offsets`) use them alone.
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

// preflightTimeout bounds the first contact with the brokers.
const preflightTimeout = 30 * time.Second

// preflight asks the brokers for metadata once, before the first poll. A
// refused login or a certificate that does not verify cannot heal by
// retrying, and a Java consumer throws it from poll, failing its Connect
// task; the worker stops with the reason instead of retrying behind a
// failing /readyz. Any other error (a broker not up yet) is logged and left
// to the client, which keeps trying.
func (w *Worker) preflight(ctx context.Context) error {
	pctx, cancel := context.WithTimeout(ctx, preflightTimeout)
	defer cancel()
	err := w.cl.Ping(pctx)
	if err == nil || ctx.Err() != nil {
		return nil
	}
	if ferr := refusal(err, w.cfg.Kafka); ferr != nil {
		return ferr
	}
	w.log.Warn("kafka: no broker answered yet; the client keeps trying", zap.Error(err))
	return nil
}

// refusal is the worker's error for a broker error that retrying cannot
// mend (a refused login, a certificate that does not verify), or nil.
func refusal(err error, k config.Kafka) error {
	switch {
	case errors.Is(err, kerr.SaslAuthenticationFailed), errors.Is(err, kerr.UnsupportedSaslMechanism),
		errors.Is(err, kerr.IllegalSaslState):
		return fmt.Errorf("kafka: the brokers refuse the login of user %q with %s (kafka.sasl.username, password or password_file): %w",
			k.SASL.Username, strings.ToUpper(k.SASL.Mechanism), err)
	case certificateError(err):
		return fmt.Errorf("kafka: the brokers' certificate does not verify (kafka.tls.ca_file, or the system's roots when it is empty): %w", err)
	}
	return nil
}

// certificateError reports whether err is a TLS certificate that failed
// verification.
func certificateError(err error) bool {
	var (
		verify  *tls.CertificateVerificationError
		unknown x509.UnknownAuthorityError
		invalid x509.CertificateInvalidError
		host    x509.HostnameError
	)
	return errors.As(err, &verify) || errors.As(err, &unknown) || errors.As(err, &invalid) || errors.As(err, &host)
}

// refusalWatch stops the worker when the brokers keep refusing its
// connections after it started: a password rotated or a user deleted, a
// broker certificate replaced by one that does not verify. franz-go retries
// such connections for ever, behind a failing /readyz, where a Java
// consumer throws from poll and fails its Connect task. Refusals that last
// kafka.refused_timeout with no connection succeeding in between stop the
// worker with the reason; one success starts the count again. It watches
// franz-go's connection attempts (HookBrokerConnect: dial, ApiVersions and
// SASL, re-authentication included).
type refusalWatch struct {
	k       config.Kafka
	timeout time.Duration
	fail    func(error)
	log     *zap.Logger
	now     func() time.Time

	mu    sync.Mutex
	since time.Time // first refusal of the current run; zero: none
}

func newRefusalWatch(k config.Kafka, fail func(error), log *zap.Logger) *refusalWatch {
	return &refusalWatch{k: k, timeout: k.RefusedTimeout, fail: fail, log: log, now: time.Now}
}

// OnBrokerConnect implements kgo.HookBrokerConnect.
func (r *refusalWatch) OnBrokerConnect(meta kgo.BrokerMetadata, _ time.Duration, _ net.Conn, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err == nil {
		if !r.since.IsZero() {
			r.log.Info("kafka: a broker accepted the connection again", zap.Int32("broker", meta.NodeID))
		}
		r.since = time.Time{}
		return
	}
	ferr := refusal(err, r.k)
	if ferr == nil {
		return // not reachable, not up yet: the client keeps trying
	}
	now := r.now()
	if r.since.IsZero() {
		r.since = now
		if r.timeout > 0 {
			r.log.Warn("kafka: a broker refused the connection; starsink stops if refusals last kafka.refused_timeout",
				zap.Int32("broker", meta.NodeID), zap.Duration("refused_timeout", r.timeout), zap.Error(ferr))
		}
	}
	if d := now.Sub(r.since); d >= r.timeout {
		r.fail(fmt.Errorf("%w (refused for %s while running)", ferr, d.Round(time.Second)))
	}
}
