package streamload

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/tidwall/gjson"
	"go.uber.org/zap"
)

// maxRedirects bounds the 307 hops of one request (FE → BE is one).
const maxRedirects = 3

// Client sends Stream Loads. It is safe for concurrent use; one Client
// shares one connection pool and one concurrency bound.
type Client struct {
	cfg  Config
	fes  []*url.URL
	next atomic.Uint32 // index of the FE in use
	hc   *http.Client
	auth string // "Basic …"; never logged
	sem  chan struct{}
	log  *zap.Logger
	// sleep waits d or until ctx ends, and now reads the clock; tests
	// replace both with a fake clock that sleep advances.
	sleep func(ctx context.Context, d time.Duration) error
	now   func() time.Time
}

// New builds a Client. log may be nil.
func New(cfg Config, log *zap.Logger) (*Client, error) {
	cfg.withDefaults()
	fes, tc, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = zap.NewNop()
	}
	dialer := &net.Dialer{Timeout: cfg.ConnectTimeout, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		TLSClientConfig:       tc,
		TLSHandshakeTimeout:   cfg.ConnectTimeout,
		ExpectContinueTimeout: cfg.ExpectContinueTimeout,
		MaxIdleConns:          4 * cfg.MaxConcurrentLoads,
		MaxIdleConnsPerHost:   2 * cfg.MaxConcurrentLoads,
		IdleConnTimeout:       90 * time.Second,
		ForceAttemptHTTP2:     false, // Stream Load is HTTP/1.1
	}
	if tc == nil {
		tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	c := &Client{
		cfg: cfg,
		fes: fes,
		hc: &http.Client{
			Transport: tr,
			// Follow redirects ourselves: Go drops Authorization on a
			// redirect to another host, and the BE address may need a
			// rewrite.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		auth:  "Basic " + base64.StdEncoding.EncodeToString([]byte(cfg.User+":"+cfg.Password)),
		sem:   make(chan struct{}, cfg.MaxConcurrentLoads),
		log:   log,
		sleep: sleepCtx,
		now:   time.Now,
	}
	return c, nil
}

// Close releases idle connections.
func (c *Client) Close() { c.hc.CloseIdleConnections() }

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// fe returns the FE in use.
func (c *Client) fe() *url.URL { return c.fes[int(c.next.Load())%len(c.fes)] }

// failover moves to the next FE after a transport error on from.
func (c *Client) failover(from *url.URL) {
	if len(c.fes) < 2 {
		return
	}
	cur := c.next.Load()
	if c.fes[int(cur)%len(c.fes)] == from {
		if c.next.CompareAndSwap(cur, cur+1) {
			c.log.Warn("streamload: switching FE", zap.String("from", from.Host), zap.String("to", c.fe().Host))
		}
	}
}

// backoff returns the pause before retry number n (0-based): capped
// exponential, jittered between half and all of the step so concurrent
// loads that failed together do not retry together.
func (c *Client) backoff(n int) time.Duration {
	d := c.cfg.RetryBackoff
	for i := 0; i < n && d < c.cfg.MaxRetryBackoff; i++ {
		d *= 2
	}
	d = min(d, c.cfg.MaxRetryBackoff)
	return d/2 + rand.N(d/2+1)
}

// begin validates req, takes one of the client's load slots and compresses
// the body; done releases both.
func (c *Client) begin(ctx context.Context, req *Request) (body [][]byte, done func(), err error) {
	if err := req.validate(); err != nil {
		return nil, nil, err
	}
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, nil, c.wrap(req, &LoadError{Status: "canceled", Err: ctx.Err()})
	}
	body, release, err := compress(req.Compression, req.parts())
	if err != nil {
		<-c.sem
		return nil, nil, c.wrap(req, &LoadError{Status: "compression", Err: err})
	}
	return body, func() { release(); <-c.sem }, nil
}

// Load sends one batch and returns StarRocks' answer. It retries retryable
// failures with the same label (see the package doc for the outcomes) for
// at most Config.RetryFor (and Config.MaxRetries retries when that is set),
// with capped exponential backoff, and returns a *LoadError when the batch
// is not loaded: Retryable=false when StarRocks refused the data,
// Retryable=true when it stayed unavailable for the whole budget (see
// LoadError). ctx bounds the whole call, retries included; the call holds
// one of MaxConcurrentLoads slots until it returns, backoffs included.
//
// A nil error means the batch is in StarRocks. Response.Status tells how:
// "Success", "Publish Timeout" (committed, visible later), or "Label Already
// Exists" when an earlier attempt with this label had loaded it (then
// ExistingJobStatus holds the state that confirmed it, and the row counts
// are those of the answer, usually zero: the earlier attempt's counts are
// not known).
func (c *Client) Load(ctx context.Context, req *Request) (*Response, error) {
	body, done, err := c.begin(ctx, req)
	if err != nil {
		return nil, err
	}
	defer done()
	hdr := req.header(false)
	path := "/api/" + url.PathEscape(req.DB) + "/" + url.PathEscape(req.Table) + "/_stream_load"

	start := c.now()
	deadline := start.Add(c.cfg.RetryFor)
	for attempt := 0; ; attempt++ {
		resp, err := c.loadOnce(ctx, req, path, hdr, body, deadline)
		if err == nil {
			c.log.Debug("streamload: loaded", zap.String("table", req.Table), zap.String("label", req.Label),
				zap.String("status", resp.Status), zap.Int64("rows", resp.NumberLoadedRows),
				zap.Int("bytes", req.bodyLen()), zap.Int("attempts", attempt+1), zap.Duration("duration", c.now().Sub(start)))
			return resp, nil
		}
		err = c.wrap(req, err)
		var le *LoadError
		errors.As(err, &le) // wrap always returns a *LoadError
		le.Attempts, le.Elapsed = attempt+1, c.now().Sub(start)
		if !le.Retryable || ctx.Err() != nil || c.cfg.MaxRetries < 0 ||
			(c.cfg.MaxRetries > 0 && attempt >= c.cfg.MaxRetries) {
			return nil, err
		}
		pause := c.backoff(attempt)
		if c.now().Add(pause).After(deadline) {
			// StarRocks stayed unavailable for the whole budget: the
			// caller stops (never dead-letters), see LoadError.
			return nil, err
		}
		// One log line per retry: the OnRetry hook, when set, logs it.
		if c.cfg.OnRetry != nil {
			c.cfg.OnRetry(req.Table, attempt+2, err)
		} else {
			c.log.Warn("streamload: retrying", zap.String("table", req.Table), zap.String("label", req.Label),
				zap.Int("attempt", attempt+2), zap.Duration("elapsed", le.Elapsed), zap.Error(err))
		}
		if serr := c.sleep(ctx, pause); serr != nil {
			return nil, err
		}
	}
}

// wrap fills the coordinates of a LoadError, or wraps any other error.
func (c *Client) wrap(req *Request, err error) error {
	var le *LoadError
	if !errors.As(err, &le) {
		return &LoadError{Table: req.DB + "." + req.Table, Label: req.Label, Status: "error", Err: err}
	}
	if le.Table == "" {
		le.Table = req.DB + "." + req.Table
	}
	if le.Label == "" {
		le.Label = req.Label
	}
	return err
}

// loadOnce is one attempt: send, classify, resolve a used label.
func (c *Client) loadOnce(ctx context.Context, req *Request, path string, hdr http.Header, body [][]byte, deadline time.Time) (*Response, error) {
	status, raw, err := c.send(ctx, http.MethodPut, path, hdr, body, c.exchangeTimeout(req))
	if err != nil {
		return nil, err
	}
	res, err := classify(status, raw)
	if err != nil {
		var le *LoadError
		if errors.As(err, &le) && le.ErrorURL != "" {
			le.Message = c.appendErrorLog(ctx, le.Message, le.ErrorURL)
		}
		return nil, err
	}
	r := res.Response
	switch res.Outcome {
	case OutcomeLoaded, OutcomeCommitted:
		return &r, nil
	case OutcomeLabelExists:
		return c.resolveLabel(ctx, req, &r, deadline)
	}
	return nil, &LoadError{Status: r.Status, Message: "unexpected outcome " + res.Outcome.String()}
}

// resolveLabel decides what a "Label Already Exists" answer means by looking
// the label up until it is final, LabelWait has passed or the retry budget
// (deadline) is spent.
//
// After a broken upload StarRocks still holds the label: the BE registered
// it at begin_txn, before the body, and rolls the transaction back only
// when its load context is destroyed. A retry then meets "Label Already
// Exists" with RUNNING until the rollback, after which get_load_state says
// ABORTED and the label may be used again; or FINISHED/VISIBLE when the
// broken attempt had loaded the batch after all.
func (c *Client) resolveLabel(ctx context.Context, req *Request, r *Response, deadline time.Time) (*Response, error) {
	state := strings.ToUpper(r.ExistingJobStatus)
	began := c.now()
	wait := began.Add(c.cfg.LabelWait)
	if wait.After(deadline) {
		wait = deadline
	}
	for {
		switch state {
		case "FINISHED", "VISIBLE", "COMMITTED":
			c.log.Info("streamload: label already loaded", zap.String("table", req.Table),
				zap.String("label", req.Label), zap.String("state", state))
			r.ExistingJobStatus = state
			return r, nil
		case "ABORTED", "CANCELLED", "UNKNOWN":
			// The earlier job did not load the batch; StarRocks frees an
			// aborted job's label, so the next attempt reuses it.
			return nil, &LoadError{Status: r.Status, Message: "earlier job with this label is " + state + "; sending again",
				Retryable: true}
		}
		// PREPARE, PREPARED, RUNNING, or nothing known yet: look again.
		if !c.now().Before(wait) {
			return nil, &LoadError{Status: r.Status, Retryable: true,
				Message: fmt.Sprintf("earlier job with this label still %s after %s", state, c.now().Sub(began).Round(time.Millisecond))}
		}
		if state != "" {
			if err := c.sleep(ctx, min(c.cfg.LabelPollInterval, wait.Sub(c.now()))); err != nil {
				return nil, &LoadError{Status: "canceled", Err: err}
			}
		}
		s, err := c.LoadState(ctx, req.DB, req.Label)
		if err != nil {
			return nil, &LoadError{Status: r.Status, Message: "label state look-up failed", Retryable: true, Err: err}
		}
		state = s
	}
}

// send performs one request to the FE in use, follows 307s to the BE and
// returns the final status and body (bounded). A transport error switches
// FE and is returned as a retryable *LoadError.
func (c *Client) send(ctx context.Context, method, path string, hdr http.Header, body [][]byte, timeout time.Duration) (int, []byte, error) {
	fe := c.fe()
	u := *fe
	u.Path = path
	if i := strings.IndexByte(path, '?'); i >= 0 {
		u.Path, u.RawQuery = path[:i], path[i+1:]
	}
	target := u.String()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for hop := 0; ; hop++ {
		resp, done, err := c.do(ctx, method, target, hdr, body)
		if err != nil {
			done()
			if hop == 0 {
				c.failover(fe)
			}
			return 0, nil, &LoadError{Status: "transport", Retryable: true, Err: redact(err)}
		}
		if isRedirect(resp.StatusCode) {
			loc := resp.Header.Get("Location")
			drain(resp)
			done()
			if loc == "" || hop >= maxRedirects {
				return 0, nil, &LoadError{Status: fmt.Sprintf("HTTP %d", resp.StatusCode), Retryable: true,
					Message: "redirect without usable Location"}
			}
			next, err := c.rewrite(target, loc)
			if err != nil {
				return 0, nil, &LoadError{Status: "redirect", Message: "bad Location", Err: err}
			}
			c.log.Debug("streamload: redirected", zap.String("to", hostOf(next)))
			target = next
			continue
		}
		raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		done()
		if err != nil {
			return 0, nil, &LoadError{Status: "transport", Retryable: true, Err: redact(err)}
		}
		return resp.StatusCode, raw, nil
	}
}

// do sends one HTTP request with a fresh reader over body (nil: none).
// The transport may go on reading the body after do returned: done takes
// the body back (see bodies) and must be called once the response is
// read, before the body's buffers are given back.
func (c *Client) do(ctx context.Context, method, target string, hdr http.Header, body [][]byte) (resp *http.Response, done func(), err error) {
	bs := &bodies{parts: body}
	var rd io.Reader
	n := partsLen(body)
	if n > 0 {
		rd = bs.reader()
	}
	hr, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return nil, bs.revoke, err
	}
	for k, v := range hdr {
		hr.Header[k] = v
	}
	hr.Header.Set("Authorization", c.auth)
	if body != nil {
		hr.ContentLength = int64(n)
		if n > 0 {
			hr.GetBody = func() (io.ReadCloser, error) { return bs.reader(), nil }
		}
		hr.Header.Set("Expect", "100-continue")
	}
	resp, err = c.hc.Do(hr)
	return resp, bs.revoke, err
}

func isRedirect(code int) bool {
	return code == http.StatusTemporaryRedirect || code == http.StatusPermanentRedirect ||
		code == http.StatusFound || code == http.StatusMovedPermanently || code == http.StatusSeeOther
}

// rewrite resolves a Location against the current URL and applies the BE
// address rewrite.
func (c *Client) rewrite(base, loc string) (string, error) {
	b, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	l, err := url.Parse(loc)
	if err != nil {
		return "", err
	}
	u := b.ResolveReference(l)
	u.User = nil // credentials go in the header only
	if to, ok := c.cfg.BEHostRewrite[u.Host]; ok {
		u.Host = to
	} else if c.cfg.BEHostOverride != "" {
		u.Host = c.cfg.BEHostOverride
	}
	return u.String(), nil
}

func hostOf(s string) string {
	if u, err := url.Parse(s); err == nil {
		return u.Host
	}
	return ""
}

func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}

// redact drops any userinfo a *url.Error might print.
func redact(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil && u.User != nil {
			u.User = nil
			return &url.Error{Op: ue.Op, URL: u.String(), Err: ue.Err}
		}
	}
	return err
}

// appendErrorLog fetches the head of a failed load's error log.
func (c *Client) appendErrorLog(ctx context.Context, msg, errorURL string) string {
	target, err := c.rewrite(errorURL, errorURL)
	if err != nil {
		return msg
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.ConnectTimeout)
	defer cancel()
	hr, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return msg
	}
	resp, err := c.hc.Do(hr)
	if err != nil {
		c.log.Debug("streamload: error log unavailable", zap.Error(redact(err)))
		return msg
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return msg
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, int64(c.cfg.MaxErrorLogBytes)))
	if len(b) == 0 {
		return msg
	}
	return msg + "; error log: " + strings.ToValidUTF8(strings.TrimSpace(string(b)), "?")
}

// LoadState returns the state of a label (PREPARE, PREPARED, COMMITTED,
// VISIBLE, ABORTED, UNKNOWN, …) from GET /api/{db}/get_load_state.
func (c *Client) LoadState(ctx context.Context, db, label string) (string, error) {
	path := "/api/" + url.PathEscape(db) + "/get_load_state?label=" + url.QueryEscape(label)
	status, raw, err := c.send(ctx, http.MethodGet, path, nil, nil, c.cfg.ConnectTimeout+30*time.Second)
	if err != nil {
		return "", fmt.Errorf("streamload: get_load_state %s: %w", label, err)
	}
	if status != http.StatusOK {
		return "", fmt.Errorf("streamload: get_load_state %s: HTTP %d: %s", label, status, snippet(raw))
	}
	return parseLoadState(raw)
}

// parseLoadState reads the state from a get_load_state answer. StarRocks'
// GetStreamLoadState answers {"state":"VISIBLE","reason":…,"status":"OK",
// "code":"0","msg":"Success","message":"OK"}; Doris' {"data":…} is accepted
// too.
func parseLoadState(raw []byte) (string, error) {
	if !gjson.ValidBytes(raw) {
		return "", fmt.Errorf("streamload: get_load_state: not JSON: %s", snippet(raw))
	}
	res := gjson.ParseBytes(raw)
	for _, k := range []string{"state", "State", "data", "Data"} {
		if v := res.Get(k); v.Type == gjson.String && v.Str != "" {
			return strings.ToUpper(v.Str), nil
		}
	}
	st := res.Get("status").String()
	if st == "" {
		st = res.Get("Status").String()
	}
	msg := res.Get("message").String()
	if msg == "" {
		msg = res.Get("msg").String()
	}
	return "", fmt.Errorf("streamload: get_load_state: no state (status %q, message %q)", st, msg)
}

// exchangeTimeout bounds one HTTP exchange of req: LoadTimeout, or longer
// when the job's own timeout header asks StarRocks to wait longer (so the
// client does not give up on a job StarRocks is still running).
func (c *Client) exchangeTimeout(req *Request) time.Duration {
	return max(c.cfg.LoadTimeout, req.Timeout+30*time.Second)
}
