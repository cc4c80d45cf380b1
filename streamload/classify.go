package streamload

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/tidwall/gjson"
)

// Response is StarRocks' answer to a load, every documented field parsed.
type Response struct {
	TxnID                                                                       int64
	Label, Status, Message, ExistingJobStatus, ErrorURL                         string
	NumberTotalRows, NumberLoadedRows, NumberFilteredRows, NumberUnselectedRows int64
	LoadBytes, LoadTimeMs, BeginTxnTimeMs, StreamLoadPlanTimeMs                 int64
	ReadDataTimeMs, WriteDataTimeMs, CommitAndPublishTimeMs                     int64
}

// Outcome is what a classified response means for the caller.
type Outcome uint8

const (
	// OutcomeFailed: not loaded; the error says whether to retry.
	OutcomeFailed Outcome = iota
	// OutcomeLoaded: Success, loaded and visible.
	OutcomeLoaded
	// OutcomeCommitted: Publish Timeout, committed and not yet visible; done.
	OutcomeCommitted
	// OutcomeLabelExists: the label was used before; its state must be
	// looked up (Response.ExistingJobStatus says what StarRocks knew).
	OutcomeLabelExists
)

var outcomeNames = [...]string{"failed", "loaded", "committed", "label exists"}

func (o Outcome) String() string {
	if int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return fmt.Sprintf("Outcome(%d)", uint8(o))
}

// Result is a classified Stream Load answer.
type Result struct {
	Outcome  Outcome
	Response Response
}

// maxMessage bounds how much of a non-JSON body goes into an error.
const maxMessage = 512

// parseResponse reads the documented fields of a Stream Load answer. It
// reports false when body is not a JSON object.
func parseResponse(body []byte, r *Response) bool {
	if !gjson.ValidBytes(body) {
		return false
	}
	res := gjson.ParseBytes(body)
	if !res.IsObject() {
		return false
	}
	res.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "TxnId":
			r.TxnID = v.Int()
		case "Label":
			r.Label = v.String()
		case "Status":
			r.Status = v.String()
		case "Message", "Msg":
			r.Message = v.String()
		case "ExistingJobStatus":
			r.ExistingJobStatus = v.String()
		case "ErrorURL":
			r.ErrorURL = v.String()
		case "NumberTotalRows":
			r.NumberTotalRows = v.Int()
		case "NumberLoadedRows":
			r.NumberLoadedRows = v.Int()
		case "NumberFilteredRows":
			r.NumberFilteredRows = v.Int()
		case "NumberUnselectedRows":
			r.NumberUnselectedRows = v.Int()
		case "LoadBytes":
			r.LoadBytes = v.Int()
		case "LoadTimeMs":
			r.LoadTimeMs = v.Int()
		case "BeginTxnTimeMs":
			r.BeginTxnTimeMs = v.Int()
		case "StreamLoadPlanTimeMs", "StreamLoadPutTimeMs":
			r.StreamLoadPlanTimeMs = v.Int()
		case "ReadDataTimeMs":
			r.ReadDataTimeMs = v.Int()
		case "WriteDataTimeMs":
			r.WriteDataTimeMs = v.Int()
		case "CommitAndPublishTimeMs":
			r.CommitAndPublishTimeMs = v.Int()
		}
		return true
	})
	return true
}

// classify maps an HTTP status and body of a Stream Load (or transaction
// load) answer to an outcome. It is pure: no I/O, no clock. A non-nil error
// is always a *LoadError carrying the retry verdict; its Table and Label are
// left for the caller to fill.
func classify(httpStatus int, body []byte) (Result, error) {
	var res Result
	switch {
	case httpStatus == http.StatusUnauthorized || httpStatus == http.StatusForbidden:
		return res, &LoadError{Status: fmt.Sprintf("HTTP %d", httpStatus),
			Message: "authentication failed: check the user and password and the user's INSERT privilege"}
	case httpStatus >= 500:
		return res, &LoadError{Status: fmt.Sprintf("HTTP %d", httpStatus), Message: snippet(body), Retryable: true}
	case httpStatus == http.StatusRequestTimeout || httpStatus == http.StatusTooManyRequests:
		return res, &LoadError{Status: fmt.Sprintf("HTTP %d", httpStatus), Message: snippet(body), Retryable: true}
	case httpStatus < 200 || httpStatus >= 300:
		return res, &LoadError{Status: fmt.Sprintf("HTTP %d", httpStatus), Message: snippet(body)}
	}
	if !parseResponse(body, &res.Response) {
		// Something between us and StarRocks answered (a proxy, a BE
		// shutting down): the label makes a retry safe.
		return res, &LoadError{Status: "invalid response", Message: snippet(body), Retryable: true}
	}
	r := &res.Response
	switch strings.ToLower(strings.TrimSpace(r.Status)) {
	case "success", "ok":
		res.Outcome = OutcomeLoaded
		return res, nil
	case "publish timeout":
		res.Outcome = OutcomeCommitted
		return res, nil
	case "label already exists", "label_already_exists":
		res.Outcome = OutcomeLabelExists
		return res, nil
	case "fail", "failed":
		return res, &LoadError{Status: r.Status, Message: r.Message, ErrorURL: r.ErrorURL,
			Retryable: transientMessage(r.Message)}
	case "":
		return res, &LoadError{Status: "invalid response", Message: "no Status in " + snippet(body), Retryable: true}
	default:
		// Statuses of the transaction interface (TXN_NOT_EXISTS, …) and
		// any unknown one: permanent unless the message says otherwise.
		return res, &LoadError{Status: r.Status, Message: r.Message, ErrorURL: r.ErrorURL,
			Retryable: transientMessage(r.Message)}
	}
}

// snippet returns the head of a body for an error message, on one line.
func snippet(b []byte) string {
	if len(b) > maxMessage {
		b = b[:maxMessage]
	}
	return strings.Join(strings.Fields(strings.ToValidUTF8(string(b), "?")), " ")
}
