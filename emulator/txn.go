package emulator

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The transaction interface as StarRocks 3.5 serves it (F12): the FE's
// TransactionLoadAction answers /api/transaction/{op} and 307s begin, load
// and prepare (and the commit or rollback of a txn not yet PREPARED) to a
// BE; the BE (transaction_stream_load.cpp, StreamLoadContext::to_resp_json)
// answers with Status the TStatusCode name. A load answers no row counts:
// rows are checked when the txn is prepared or committed, where `too many
// filtered rows` surfaces as INTERNAL_ERROR. The BE aborts a txn past its
// timeout or idle for longer than idle_transaction_timeout.

// txnResp is the BE's to_resp_json.
type txnResp struct {
	Status               string `json:"Status"`
	Message              string `json:"Message"`
	Label                string `json:"Label,omitempty"`
	TxnID                int64  `json:"TxnId,omitempty"`
	ExistingJobStatus    string `json:"ExistingJobStatus,omitempty"`
	BeginTxnTimeMs       *int64 `json:"BeginTxnTimeMs,omitempty"`
	LoadBytes            *int64 `json:"LoadBytes,omitempty"`
	StreamLoadPlanTimeMs *int64 `json:"StreamLoadPlanTimeMs,omitempty"`
	ReceivedDataTimeMs   *int64 `json:"ReceivedDataTimeMs,omitempty"`
	NumberTotalRows      *int64 `json:"NumberTotalRows,omitempty"`
	NumberLoadedRows     *int64 `json:"NumberLoadedRows,omitempty"`
	NumberFilteredRows   *int64 `json:"NumberFilteredRows,omitempty"`
	NumberUnselectedRows *int64 `json:"NumberUnselectedRows,omitempty"`
	ErrorURL             string `json:"ErrorURL,omitempty"`
}

func i64(n int64) *int64 { return &n }

// serveTxnFE is the FE side: redirect to the BE, or answer the commit or
// rollback of a PREPARED (or finished) txn itself.
func (s *Server) serveTxnFE(w http.ResponseWriter, r *http.Request) {
	op := strings.TrimPrefix(r.URL.Path, "/api/transaction/")
	redirect := op == "begin" || op == "load" || op == "prepare"
	if op == "commit" || op == "rollback" {
		j := s.txnJob(r.Header.Get("db"), r.Header.Get("label"))
		if j != nil {
			j.mu.Lock()
			redirect = j.state == "PREPARE"
			j.mu.Unlock()
		}
	}
	if redirect {
		host := s.cfg.BEAdvertiseHost
		if host == "" {
			host = s.beHost()
		}
		_, port, _ := strings.Cut(s.beLn.Addr().String(), ":")
		w.Header().Set("Location", "http://"+host+":"+port+r.URL.RequestURI())
		w.WriteHeader(http.StatusTemporaryRedirect)
		return
	}
	s.serveTxn(w, r, true)
}

// txnJob finds a transaction by db and label.
func (s *Server) txnJob(db, label string) *job {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d := s.dbs[db]; d != nil {
		return d.labels[label]
	}
	return nil
}

// expire aborts a PREPARE txn past its timeout or idle timeout, as the
// BE's _clean_stream_context does. Callers hold j.mu.
func (j *job) expire(now time.Time) {
	if j.state == "COMMITTED" && !j.visibleAt.IsZero() && !now.Before(j.visibleAt) {
		// A publish that timed out has ended (publishDelay).
		j.state, j.finished = "VISIBLE", j.visibleAt
		return
	}
	if j.state != "PREPARE" {
		return
	}
	switch {
	case !j.deadline.IsZero() && now.After(j.deadline):
		j.state, j.reason, j.finished, j.staged = "ABORTED", "transaction is aborted by timeout.", now, nil
	case j.idle > 0 && now.Sub(j.active) > j.idle:
		j.state, j.reason, j.finished, j.staged = "ABORTED", "transaction is aborted by idle timeout.", now, nil
	}
}

// serveTxn answers one transaction operation; fe marks the FE's own
// answers (TransactionResult: FAILED with the exception class).
func (s *Server) serveTxn(w http.ResponseWriter, r *http.Request, fe bool) {
	op := strings.TrimPrefix(r.URL.Path, "/api/transaction/")
	label, db, tbl := r.Header.Get("label"), r.Header.Get("db"), r.Header.Get("table")
	answer := func(v txnResp) {
		if v.Label == "" {
			v.Label = label
		}
		writeJSON(w, http.StatusOK, v)
	}
	fail := func(status, msg string) {
		if fe && status != "LABEL_ALREADY_EXISTS" {
			status, msg = "FAILED", "class com.starrocks.common.UserException: "+msg
		}
		answer(txnResp{Status: status, Message: msg})
	}
	if label == "" || db == "" {
		fail("INVALID_ARGUMENT", "No label or db in request header")
		return
	}
	now := time.Now()
	s.mu.Lock()
	set := s.set
	d := s.dbs[db]
	if d == nil {
		s.mu.Unlock()
		fail("ANALYSIS_ERROR", "unknown database, database="+db)
		return
	}
	j := d.labels[label]
	if op == "begin" {
		if j != nil {
			j.mu.Lock()
			j.expire(now)
			st := j.state
			j.mu.Unlock()
			if st == "PREPARE" {
				// The BE still holds the label's context.
				s.mu.Unlock()
				answer(txnResp{Status: "LABEL_ALREADY_EXISTS", Message: fmt.Sprintf("Label [%s] has already been used.", label)})
				return
			}
			if st != "ABORTED" {
				s.mu.Unlock()
				ex := "FINISHED"
				if st == "PREPARED" {
					ex = "RUNNING"
				}
				answer(txnResp{Status: "LABEL_ALREADY_EXISTS", ExistingJobStatus: ex, Message: fmt.Sprintf("Label [%s] has already been used.", label)})
				return
			}
		}
		if d.tables[tbl] == nil {
			s.mu.Unlock()
			fail("ANALYSIS_ERROR", fmt.Sprintf("unknown table \"%s.%s\"", db, tbl))
			return
		}
		s.evictLabels(d, now)
		s.txnID++
		j = &job{id: s.txnID, label: label, db: db, table: tbl, state: "PREPARE", active: now}
		timeout := time.Duration(set.TxnTimeout)
		if v, err := strconv.Atoi(r.Header.Get("timeout")); err == nil && v > 0 {
			timeout = time.Duration(v) * time.Second
		}
		if timeout > 0 {
			j.deadline = now.Add(timeout)
		}
		if v, err := strconv.Atoi(r.Header.Get("idle_transaction_timeout")); err == nil && v > 0 {
			j.idle = time.Duration(v) * time.Second
		}
		d.register(j)
		s.mu.Unlock()
		answer(txnResp{Status: "OK", Message: "", TxnID: j.id, BeginTxnTimeMs: i64(0)})
		return
	}
	s.mu.Unlock()
	if j == nil {
		if fe {
			fail("TXN_NOT_EXISTS", fmt.Sprintf("No transaction found, label is %s", label))
			return
		}
		fail("TXN_NOT_EXISTS", fmt.Sprintf("transaction with label %s not exists", label))
		return
	}
	// The table is looked up before the job's lock is taken: s.mu is
	// never taken under a job's lock (eviction takes them the other way).
	t := s.lookup(db, j.table)
	j.mu.Lock()
	defer j.mu.Unlock()
	j.expire(now)
	if !fe && j.state != "PREPARE" {
		// TransactionMgr removes a txn's context from the BE when it is
		// prepared, committed or rolled back (a timeout included).
		fail("TXN_NOT_EXISTS", fmt.Sprintf("transaction with label %s not exists", label))
		return
	}
	j.active = now
	switch op {
	case "load":
		if r.Method != http.MethodPut && r.Method != http.MethodPost {
			http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
			return
		}
		if j.state != "PREPARE" {
			s.txnStateInvalid(j, fail)
			return
		}
		start := time.Now()
		if t == nil {
			fail("ANALYSIS_ERROR", fmt.Sprintf("unknown table \"%s.%s\"", db, j.table))
			return
		}
		opts, err := parseOptions(r.Header)
		if err == nil && r.Header.Get("strict_mode") == "" {
			opts.strict = set.StrictMode
		}
		var body []byte
		if err == nil {
			body, err = readBody(r, opts.compression)
		}
		if err == nil && opts.format == "JSON" && !strings.EqualFold(r.Header.Get("ignore_json_size"), "true") && set.StreamingLoadMaxBatchSizeMB > 0 {
			// The JSON limit counts every load of the txn.
			max := int64(set.StreamingLoadMaxBatchSizeMB) * 1024 * 1024
			if j.bytes+int64(len(body)) > max {
				err = fmt.Errorf("The size of this batch exceed the max size [%d]  of json type data  data [ %d ]. Set ignore_json_size to skip the check, although it may lead huge memory consuming.", max, j.bytes+int64(len(body)))
			}
		}
		var plan *loadPlan
		if err == nil {
			t.mu.RLock()
			view := t.view()
			t.mu.RUnlock()
			plan, err = planLoad(&view, opts)
			if err == nil {
				ops, reasons, total, perr := parseRows(&view, plan, body, opts, 0)
				err = perr
				j.staged = append(j.staged, ops...)
				j.reasons = append(j.reasons, reasons...)
				j.total += total
			}
		}
		if err != nil {
			j.state, j.finished, j.staged, j.reason = "ABORTED", now, nil, err.Error()
			fail("INTERNAL_ERROR", err.Error())
			return
		}
		j.bytes += int64(len(body))
		j.opts, j.plan = opts, plan
		answer(txnResp{Status: "OK", Message: "", TxnID: j.id, LoadBytes: i64(int64(len(body))),
			StreamLoadPlanTimeMs: i64(0), ReceivedDataTimeMs: i64(time.Since(start).Milliseconds())})
	case "prepare", "commit":
		switch j.state {
		case "VISIBLE", "COMMITTED":
			if op == "commit" {
				answer(txnResp{Status: "OK", Message: fmt.Sprintf("Transaction %d has already committed, label is %s", j.id, label), TxnID: j.id})
				return
			}
			s.txnStateInvalid(j, fail)
			return
		case "ABORTED":
			if op == "commit" {
				fail("INTERNAL_ERROR", fmt.Sprintf("Can not commit ABORTED transaction %d, label is %s, reason: %s", j.id, label, j.reason))
				return
			}
			s.txnStateInvalid(j, fail)
			return
		case "PREPARED":
			if op == "prepare" {
				s.txnStateInvalid(j, fail)
				return
			}
		}
		if j.state == "PREPARE" && j.plan == nil {
			// _commit_transaction: no load reached the BE.
			j.state, j.finished, j.reason = "ABORTED", now, "no data"
			fail("INTERNAL_ERROR", fmt.Sprintf("transaction label=%s, txn_id=%d hasn't send any data yet", label, j.id))
			return
		}
		resp := txnResp{Status: "OK", Message: "", TxnID: j.id, NumberTotalRows: i64(j.total),
			NumberLoadedRows: i64(int64(len(j.staged))), NumberFilteredRows: i64(int64(len(j.reasons))),
			NumberUnselectedRows: i64(0), LoadBytes: i64(j.bytes)}
		if j.state == "PREPARE" {
			// The data checks of the txn's loads happen here
			// (_commit_transaction waits for the fragment).
			if len(j.reasons) > 0 {
				resp.ErrorURL = s.storeErrorLog(label, j.id, j.reasons)
			}
			if j.total > 0 && float64(len(j.reasons))/float64(j.total) > j.opts.maxFilterRatio {
				j.state, j.finished, j.staged, j.reason = "ABORTED", now, nil, "too many filtered rows"
				resp.Status, resp.Message = "INTERNAL_ERROR", "too many filtered rows"
				answer(resp)
				return
			}
		}
		if op == "prepare" {
			j.state = "PREPARED"
			answer(resp)
			return
		}
		if j.plan != nil {
			if t == nil {
				j.state, j.finished, j.staged, j.reason = "ABORTED", now, nil, "table dropped"
				fail("ANALYSIS_ERROR", fmt.Sprintf("unknown table \"%s.%s\"", db, j.table))
				return
			}
			if err := s.apply(t, j.staged, j.opts, j.plan, set); err != nil {
				j.state, j.finished, j.staged, j.reason = "ABORTED", now, nil, err.Error()
				fail("INTERNAL_ERROR", err.Error())
				return
			}
		}
		j.staged, j.state, j.finished = nil, "VISIBLE", now
		s.loads.Add(1)
		answer(resp)
	case "rollback":
		if j.state == "VISIBLE" || j.state == "COMMITTED" {
			s.txnStateInvalid(j, fail)
			return
		}
		j.staged, j.state, j.finished, j.reason = nil, "ABORTED", now, "transaction is aborted by user."
		answer(txnResp{Status: "OK", Message: "", TxnID: j.id})
	default:
		http.NotFound(w, r)
	}
}

// txnStateInvalid answers on the FE an operation the txn's state does not
// allow (the words of StarRocks' transaction documentation, sic; the FE's
// own wording is not confirmed). Callers hold j.mu.
func (s *Server) txnStateInvalid(j *job, fail func(status, msg string)) {
	if j.state == "ABORTED" && j.reason != "" {
		fail("ABORTED", j.reason)
		return
	}
	fail("TXN_IN_PROCESSING", "Transcation State Invalid")
}
