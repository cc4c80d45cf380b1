package streamload

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"
)

// Config configures a [Client]. Zero values take the defaults documented on
// each field; defaults live only in withDefaults.
type Config struct {
	// FEURLs are the FE HTTP addresses, e.g. "http://fe1:8030". Several give
	// failover: a transport error moves the client to the next one.
	// Java connector: starrocks.http.url.
	FEURLs []string
	// User and Password authenticate with HTTP Basic auth. Password is a
	// secret: it is never logged and never appears in an error.
	User, Password string

	// BEHostRewrite maps a "host:port" the FE hands out in its redirect to
	// one this process can reach, e.g. "be-internal:8040" → "localhost:8040".
	BEHostRewrite map[string]string
	// BEHostOverride, when set, replaces the host:port of every redirect
	// that BEHostRewrite does not map (a single BE behind one address). It
	// applies to every 307, including a follower FE's redirect to the
	// leader, so clusters with several FEs should use BEHostRewrite.
	BEHostOverride string

	// TLS configures https. When nil and CAFile is set, a config trusting
	// that CA (PEM) is built.
	TLS    *tls.Config
	CAFile string

	// ConnectTimeout bounds dialing and the TLS handshake (default 10s).
	ConnectTimeout time.Duration
	// LoadTimeout bounds one HTTP exchange of a load, from the request to
	// the end of the response (default 10m, StarRocks' job timeout); a
	// Request.Timeout longer than that extends it by 30s for that request.
	LoadTimeout time.Duration
	// ExpectContinueTimeout is how long the client waits for "100 Continue"
	// before it sends the body anyway (default 5s).
	ExpectContinueTimeout time.Duration

	// RetryFor bounds how long one Load keeps retrying retryable failures
	// with the same label, backoffs and label look-ups included (default
	// 10m: long enough for a BE rolling restart or an FE failover). No
	// pause or label look-up runs past it; an attempt under way when it
	// ends is bounded by LoadTimeout. Past it Load returns a *LoadError
	// with Retryable=true: StarRocks is unavailable, not refusing the data.
	RetryFor time.Duration
	// MaxRetries is an optional extra cap on the retries of one Load: 0 (the
	// default) means none (RetryFor alone bounds them), a negative value
	// means never retry. Java connector: sink.maxretries.
	MaxRetries int
	// RetryBackoff is the first backoff (default 500ms); it doubles on each
	// retry up to MaxRetryBackoff (default 30s); each pause is jittered between
	// half and all of its step.
	RetryBackoff, MaxRetryBackoff time.Duration
	// LabelPollInterval is the pause between two get_load_state look-ups of
	// a label that is still loading (default 1s), for at most LabelWait
	// (default 2m) per attempt and never past RetryFor.
	LabelPollInterval, LabelWait time.Duration

	// MaxConcurrentLoads bounds the loads in flight over the whole client
	// (default 8).
	MaxConcurrentLoads int
	// MaxErrorLogBytes bounds what is read from a failed load's ErrorURL
	// (default 4096).
	MaxErrorLogBytes int

	// OnRetry, when set, is called before each retry with the table, the
	// number of the attempt about to start (2 for the first retry) and the
	// error of the previous one.
	OnRetry func(table string, attempt int, err error)
}

func (c *Config) withDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.ConnectTimeout, 10*time.Second)
	def(&c.LoadTimeout, 10*time.Minute)
	def(&c.ExpectContinueTimeout, 5*time.Second)
	def(&c.RetryBackoff, 500*time.Millisecond)
	def(&c.MaxRetryBackoff, 30*time.Second)
	def(&c.LabelPollInterval, time.Second)
	def(&c.LabelWait, 2*time.Minute)
	def(&c.RetryFor, 10*time.Minute)
	if c.MaxConcurrentLoads <= 0 {
		c.MaxConcurrentLoads = 8
	}
	if c.MaxErrorLogBytes <= 0 {
		c.MaxErrorLogBytes = 4096
	}
	if c.MaxRetryBackoff < c.RetryBackoff {
		c.MaxRetryBackoff = c.RetryBackoff
	}
}

// validate checks the FE URLs and builds the TLS config.
func (c *Config) validate() ([]*url.URL, *tls.Config, error) {
	if len(c.FEURLs) == 0 {
		return nil, nil, errors.New("streamload: FEURLs: at least one FE URL is required")
	}
	fes := make([]*url.URL, 0, len(c.FEURLs))
	for _, s := range c.FEURLs {
		s = strings.TrimRight(strings.TrimSpace(s), "/")
		if !strings.Contains(s, "://") {
			s = "http://" + s
		}
		u, err := url.Parse(s)
		if err != nil {
			return nil, nil, fmt.Errorf("streamload: FEURLs: %q: %w", s, err)
		}
		if u.Scheme != "http" && u.Scheme != "https" {
			return nil, nil, fmt.Errorf("streamload: FEURLs: %q: scheme must be http or https", s)
		}
		if u.Host == "" {
			return nil, nil, fmt.Errorf("streamload: FEURLs: %q: no host", s)
		}
		u.User = nil // credentials travel only in the Authorization header
		fes = append(fes, u)
	}
	tc := c.TLS
	if tc == nil && c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, nil, fmt.Errorf("streamload: CAFile: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, nil, fmt.Errorf("streamload: CAFile %q: no PEM certificate found", c.CAFile)
		}
		tc = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return fes, tc, nil
}
