package streamload

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"
)

// The transaction interface (two-phase commit), for exactly-once delivery:
// Begin, then LoadTxn any number of times, then Prepare, then Commit (or
// Rollback). Each call is sent once: a retry of a transaction step is the
// caller's decision, since StarRocks aborts a transaction on any error in
// begin, load or prepare.

// TxnRequest names a transaction.
type TxnRequest struct {
	DB, Table, Label string
	// Timeout is the begin timeout (from PREPARE to PREPARED); zero leaves
	// StarRocks' default.
	Timeout time.Duration
	// PreparedTimeout is the prepare call's prepared_timeout (v3.5.4+);
	// zero leaves StarRocks' default.
	PreparedTimeout time.Duration
}

// TxnResponse is StarRocks' answer to a transaction step.
type TxnResponse struct {
	Response
}

// ErrLabelExists is wrapped by Begin when the label is already used; the
// LoadError's Message carries ExistingJobStatus.
var ErrLabelExists = errors.New("streamload: label already exists")

// Begin starts a transaction: POST /api/transaction/begin.
func (c *Client) Begin(ctx context.Context, t TxnRequest) (*TxnResponse, error) {
	h := t.header()
	if t.Timeout > 0 {
		h["timeout"] = []string{strconv.FormatInt(int64((t.Timeout+time.Second-1)/time.Second), 10)}
	}
	return c.txnStep(ctx, "begin", t, h)
}

// Prepare pre-commits a transaction: POST /api/transaction/prepare.
func (c *Client) Prepare(ctx context.Context, t TxnRequest) (*TxnResponse, error) {
	h := t.header()
	if t.PreparedTimeout > 0 {
		h["prepared_timeout"] = []string{strconv.FormatInt(int64((t.PreparedTimeout+time.Second-1)/time.Second), 10)}
	}
	return c.txnStep(ctx, "prepare", t, h)
}

// Commit commits a prepared transaction: POST /api/transaction/commit.
// Committing twice succeeds.
func (c *Client) Commit(ctx context.Context, t TxnRequest) (*TxnResponse, error) {
	return c.txnStep(ctx, "commit", t, t.header())
}

// Rollback aborts a transaction: POST /api/transaction/rollback.
func (c *Client) Rollback(ctx context.Context, t TxnRequest) (*TxnResponse, error) {
	return c.txnStep(ctx, "rollback", t, t.header())
}

// LoadTxn sends one body into an open transaction: PUT
// /api/transaction/load with the format headers of req, which must be the
// same on every call of one transaction.
func (c *Client) LoadTxn(ctx context.Context, req *Request) (*Response, error) {
	body, done, err := c.begin(ctx, req)
	if err != nil {
		return nil, err
	}
	defer done()
	status, raw, err := c.send(ctx, http.MethodPut, "/api/transaction/load", req.header(true), body, c.exchangeTimeout(req))
	if err != nil {
		return nil, c.wrap(req, err)
	}
	res, err := classify(status, raw)
	if err != nil {
		var le *LoadError
		if errors.As(err, &le) && le.ErrorURL != "" {
			le.Message = c.appendErrorLog(ctx, le.Message, le.ErrorURL)
		}
		return nil, c.wrap(req, err)
	}
	r := res.Response
	if res.Outcome == OutcomeLabelExists {
		return nil, c.wrap(req, &LoadError{Status: r.Status, Message: "ExistingJobStatus " + r.ExistingJobStatus, Err: ErrLabelExists})
	}
	return &r, nil
}

func (t TxnRequest) header() http.Header {
	h := http.Header{"label": {t.Label}, "db": {t.DB}}
	if t.Table != "" {
		h["table"] = []string{t.Table}
	}
	return h
}

// txnStep sends one control call of the transaction interface and checks
// its Status (OK; LABEL_ALREADY_EXISTS; FAILED; …).
func (c *Client) txnStep(ctx context.Context, op string, t TxnRequest, h http.Header) (*TxnResponse, error) {
	wrap := func(err error) error {
		var le *LoadError
		if errors.As(err, &le) {
			if le.Table == "" {
				le.Table = t.DB + "." + t.Table
			}
			if le.Label == "" {
				le.Label = t.Label
			}
			le.Status = op + ": " + le.Status
			return le
		}
		return &LoadError{Table: t.DB + "." + t.Table, Label: t.Label, Status: op, Err: err}
	}
	if t.DB == "" || !ValidLabel(t.Label) {
		return nil, wrap(errors.New("transaction needs DB and a valid label"))
	}
	status, raw, err := c.send(ctx, http.MethodPost, "/api/transaction/"+op, h, nil, c.cfg.LoadTimeout)
	if err != nil {
		return nil, wrap(err)
	}
	if status < 200 || status >= 300 {
		_, cerr := classify(status, raw)
		if cerr == nil {
			cerr = &LoadError{Status: "HTTP " + strconv.Itoa(status)}
		}
		return nil, wrap(cerr)
	}
	var r TxnResponse
	if !parseResponse(raw, &r.Response) {
		return nil, wrap(&LoadError{Status: "invalid response", Message: snippet(raw), Retryable: true})
	}
	switch strings.ToUpper(r.Status) {
	case "OK", "SUCCESS":
		c.log.Debug("streamload: transaction step", zap.String("op", op), zap.String("label", t.Label), zap.Int64("txn_id", r.TxnID))
		return &r, nil
	case "LABEL_ALREADY_EXISTS", "LABEL ALREADY EXISTS":
		return &r, wrap(&LoadError{Status: r.Status, Message: "ExistingJobStatus " + r.ExistingJobStatus, Err: ErrLabelExists})
	}
	return &r, wrap(&LoadError{Status: r.Status, Message: r.Message, Retryable: transientMessage(r.Message)})
}
