package emulator

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// serveTxn implements the Stream Load transaction interface:
// /api/transaction/{begin,load,prepare,commit,rollback}.
func (s *Server) serveTxn(w http.ResponseWriter, r *http.Request) {
	action := strings.TrimPrefix(r.URL.Path, "/api/transaction/")
	label, db, tbl := r.Header.Get("label"), r.Header.Get("db"), r.Header.Get("table")
	fail := func(status, msg string) {
		writeJSON(w, http.StatusOK, map[string]any{"Status": status, "Message": msg, "Label": label})
	}
	if label == "" || db == "" {
		fail("FAILED", "label and db are required")
		return
	}
	s.mu.Lock()
	d := s.dbs[db]
	if d == nil {
		s.mu.Unlock()
		fail("FAILED", fmt.Sprintf("database %s does not exist", db))
		return
	}
	j := d.labels[label]
	switch action {
	case "begin":
		if j != nil {
			j.mu.Lock()
			st := j.state
			j.mu.Unlock()
			if st != "ABORTED" {
				s.mu.Unlock()
				ex := "FINISHED"
				if st == "PREPARE" || st == "PREPARED" {
					ex = "RUNNING"
				}
				writeJSON(w, http.StatusOK, map[string]any{"Status": "LABEL_ALREADY_EXISTS", "ExistingJobStatus": ex, "Label": label,
					"Message": fmt.Sprintf("Label [%s] has already been used.", label)})
				return
			}
		}
		if d.tables[tbl] == nil {
			s.mu.Unlock()
			fail("FAILED", fmt.Sprintf("table %s.%s does not exist", db, tbl))
			return
		}
		s.txnID++
		j = &job{id: s.txnID, label: label, db: db, table: tbl, state: "PREPARE"}
		d.register(j)
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]any{"Status": "OK", "Message": "", "Label": label, "TxnId": j.id, "BeginTxnTimeMs": 0})
		return
	}
	s.mu.Unlock()
	if j == nil {
		fail("FAILED", "TXN_NOT_EXISTS")
		return
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	switch action {
	case "load":
		if r.Method != http.MethodPut {
			http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
			return
		}
		if j.state != "PREPARE" {
			fail("FAILED", "Transcation State Invalid")
			return
		}
		t := s.lookup(db, j.table)
		opts, err := parseOptions(r.Header)
		if err != nil {
			j.state = "ABORTED"
			fail("FAILED", err.Error())
			return
		}
		body, err := readBody(r, opts.compression)
		if err != nil {
			j.state = "ABORTED"
			fail("FAILED", err.Error())
			return
		}
		t.mu.RLock()
		view := t.view()
		t.mu.RUnlock()
		plan, err := planLoad(&view, opts)
		var ops []op
		var reasons []string
		var total int64
		if err == nil {
			ops, reasons, total, err = parseRows(&view, plan, body, opts, 0)
		}
		if err == nil && len(reasons) > 0 && float64(len(reasons))/float64(total) > opts.maxFilterRatio {
			err = fmt.Errorf("too many filtered rows")
		}
		if err != nil {
			j.state = "ABORTED"
			fail("FAILED", err.Error())
			return
		}
		j.staged = append(j.staged, ops...)
		j.opts, j.plan = opts, plan
		writeJSON(w, http.StatusOK, loadResponse{TxnID: j.id, Label: label, Status: "OK", Message: "",
			NumberTotalRows: total, NumberLoadedRows: int64(len(ops)), NumberFilteredRows: int64(len(reasons)), LoadBytes: int64(len(body))})
	case "prepare":
		if j.state != "PREPARE" {
			fail("FAILED", "Transcation State Invalid")
			return
		}
		j.state = "PREPARED"
		writeJSON(w, http.StatusOK, map[string]any{"Status": "OK", "Message": "", "Label": label, "TxnId": j.id})
	case "commit":
		switch j.state {
		case "VISIBLE", "COMMITTED":
			writeJSON(w, http.StatusOK, map[string]any{"Status": "OK", "Message": "Transaction already commited", "Label": label, "TxnId": j.id})
			return
		case "PREPARE", "PREPARED":
		default:
			fail("FAILED", "Transcation State Invalid")
			return
		}
		start := time.Now()
		if err := s.apply(s.lookup(db, j.table), j.staged, j.opts, j.plan, s.Settings()); err != nil {
			j.state = "ABORTED"
			fail("FAILED", err.Error())
			return
		}
		j.staged, j.state = nil, "VISIBLE"
		s.loads.Add(1)
		writeJSON(w, http.StatusOK, map[string]any{"Status": "OK", "Message": "", "Label": label, "TxnId": j.id,
			"CommitAndPublishTimeMs": time.Since(start).Milliseconds()})
	case "rollback":
		if j.state == "VISIBLE" || j.state == "COMMITTED" {
			fail("FAILED", "Transcation State Invalid")
			return
		}
		j.staged, j.state = nil, "ABORTED"
		writeJSON(w, http.StatusOK, map[string]any{"Status": "OK", "Message": "", "Label": label, "TxnId": j.id})
	default:
		http.NotFound(w, r)
	}
}
