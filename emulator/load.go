package emulator

import (
	"bytes"
	"compress/gzip"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
	"github.com/tidwall/gjson"
	"go.uber.org/zap"

	"github.com/starsink/starsink/schema"
)

// loadResponse is StarRocks' Stream Load answer.
type loadResponse struct {
	TxnID                  int64  `json:"TxnId"`
	Label                  string `json:"Label"`
	Status                 string `json:"Status"`
	ExistingJobStatus      string `json:"ExistingJobStatus,omitempty"`
	Message                string `json:"Message"`
	NumberTotalRows        int64  `json:"NumberTotalRows"`
	NumberLoadedRows       int64  `json:"NumberLoadedRows"`
	NumberFilteredRows     int64  `json:"NumberFilteredRows"`
	NumberUnselectedRows   int64  `json:"NumberUnselectedRows"`
	LoadBytes              int64  `json:"LoadBytes"`
	LoadTimeMs             int64  `json:"LoadTimeMs"`
	BeginTxnTimeMs         int64  `json:"BeginTxnTimeMs"`
	StreamLoadPlanTimeMs   int64  `json:"StreamLoadPlanTimeMs"`
	ReadDataTimeMs         int64  `json:"ReadDataTimeMs"`
	WriteDataTimeMs        int64  `json:"WriteDataTimeMs"`
	CommitAndPublishTimeMs int64  `json:"CommitAndPublishTimeMs"`
	ErrorURL               string `json:"ErrorURL,omitempty"`
}

// loadOptions are the Stream Load headers the emulator honours.
type loadOptions struct {
	format         string // JSON or CSV
	columns        []colSpec
	stripOuter     bool
	jsonPaths      []string
	colSep, rowSep string
	maxFilterRatio float64
	strict         bool
	partial        bool
	mergeCond      string
	compression    string
}

// colSpec is one entry of the columns header: a name, or name = expression
// (a constant, or another entry's name).
type colSpec struct {
	name  string
	expr  string // "" when the entry is a plain column
	konst *string
}

// op is one parsed row: values in table column order, which columns are
// present, whether it deletes, and its size in the body.
type op struct {
	row     []any
	present []bool
	delete  bool
	size    int
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	b, _ := json.MarshalIndent(v, "", "    ")
	w.Write(b)
}

// authOK checks Basic credentials.
func (s *Server) authOK(r *http.Request) (string, bool) {
	u, p, ok := r.BasicAuth()
	return u, ok && subtle.ConstantTimeCompare([]byte(u), []byte(s.cfg.User)) == 1 && subtle.ConstantTimeCompare([]byte(p), []byte(s.cfg.Password)) == 1
}

// auth checks Basic credentials on the FE: RestBaseAction.handleRequest
// answers an AccessDeniedException with 401, `WWW-Authenticate: Basic
// realm=""` and a RestBaseResult body.
func (s *Server) auth(w http.ResponseWriter, r *http.Request) bool {
	u, ok := s.authOK(r)
	if ok {
		return true
	}
	host, _, _ := strings.Cut(r.RemoteAddr, ":")
	msg := fmt.Sprintf("Access denied for user '%s'@'%s'", u, host)
	w.Header().Set("WWW-Authenticate", `Basic realm=""`)
	writeJSON(w, http.StatusUnauthorized, map[string]string{"status": "FAILED", "code": "1", "msg": msg, "message": msg})
	return false
}

// splitPath returns db and table of /api/{db}/{table}/_stream_load.
func splitPath(p string) (db, table, action string) {
	parts := strings.Split(strings.Trim(p, "/"), "/")
	if len(parts) == 4 && parts[0] == "api" {
		return parts[1], parts[2], parts[3]
	}
	if len(parts) == 3 && parts[0] == "api" {
		return parts[1], "", parts[2]
	}
	return "", "", ""
}

func (s *Server) serveFE(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/_emulator/") {
		if !s.auth(w, r) {
			return
		}
		s.serveControl(w, r)
		return
	}
	if strings.HasPrefix(r.URL.Path, "/api/transaction/") {
		if !s.auth(w, r) {
			return
		}
		s.serveTxnFE(w, r)
		return
	}
	db, tbl, action := splitPath(r.URL.Path)
	switch {
	case action == "_stream_load" && tbl != "":
		if r.Method != http.MethodPut {
			http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
			return
		}
		if !s.auth(w, r) {
			return
		}
		if !strings.EqualFold(r.Header.Get("Expect"), "100-continue") {
			// LoadAction.executeWithoutPasswordInternal: a DdlException
			// answered as a TransactionResult, its class in the message.
			writeJSON(w, http.StatusOK, map[string]string{"Status": "FAILED", "Message": "class com.starrocks.common.DdlException: There is no 100-continue header"})
			return
		}
		// The FE does not look the table up (a missing one is found by
		// the BE's begin_txn); it picks a live BE or fails.
		s.mu.Lock()
		nobe := s.pickFault(time.Now(), FaultNoBackend)
		s.mu.Unlock()
		if nobe != "" {
			writeJSON(w, http.StatusOK, map[string]string{"Status": "FAILED", "Message": faultMessage(nobe, 0, "")})
			return
		}
		host := s.cfg.BEAdvertiseHost
		_, port, _ := strings.Cut(s.beLn.Addr().String(), ":")
		if host == "" {
			host, _, _ = strings.Cut(s.beLn.Addr().String(), ":")
		}
		loc := "http://" + host + ":" + port + r.URL.RequestURI()
		w.Header().Set("Location", loc)
		w.WriteHeader(http.StatusTemporaryRedirect)
	case action == "get_load_state" && r.Method == http.MethodGet:
		if !s.auth(w, r) {
			return
		}
		s.serveLoadState(w, r, db)
	default:
		http.NotFound(w, r)
	}
}

func (s *Server) serveLoadState(w http.ResponseWriter, r *http.Request, db string) {
	label := r.URL.Query().Get("label")
	state := "UNKNOWN"
	s.mu.Lock()
	if s.dbs[db] == nil {
		s.mu.Unlock()
		// GetStreamLoadState: a RestBaseResult without a state.
		msg := "unknown database, database=" + db
		writeJSON(w, http.StatusOK, map[string]string{"status": "FAILED", "code": "1", "msg": msg, "message": msg})
		return
	}
	if d := s.dbs[db]; d != nil {
		if j := d.labels[label]; j != nil {
			j.mu.Lock()
			j.expire(time.Now())
			state = j.state
			j.mu.Unlock()
		}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]string{"state": state, "status": "OK", "code": "0", "msg": "Success", "message": "OK"})
}

func (s *Server) serveBE(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/api/_load_error_log" {
		if v, ok := s.errLogs.Load(r.URL.Query().Get("file")); ok {
			w.Header().Set("Content-Type", "text/plain")
			io.WriteString(w, v.(string))
			return
		}
		http.NotFound(w, r)
		return
	}
	if strings.HasPrefix(r.URL.Path, "/api/transaction/") {
		if !s.auth(w, r) {
			return
		}
		s.serveTxn(w, r, false)
		return
	}
	db, tbl, action := splitPath(r.URL.Path)
	if action != "_stream_load" || tbl == "" {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodPut {
		http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
		return
	}
	if _, _, ok := r.BasicAuth(); !ok {
		// StreamLoadAction::_on_header
		writeJSON(w, http.StatusOK, &loadResponse{Label: r.Header.Get("label"), Status: "Fail", Message: "no valid Basic authorization"})
		return
	}
	if u, ok := s.authOK(r); !ok {
		// The BE does not check passwords; the FE's loadTxnBegin
		// (checkPasswordAndLoadPriv) refuses, answered as Fail.
		host, _, _ := strings.Cut(r.RemoteAddr, ":")
		writeJSON(w, http.StatusOK, &loadResponse{Label: r.Header.Get("label"), Status: "Fail", Message: fmt.Sprintf("Access denied for %s@%s", u, host)})
		return
	}
	s.mu.Lock()
	f := s.faults
	roll := func(ratio float64) bool { return ratio > 0 && s.rnd.Float64() < ratio }
	down, fail, reset := f.BEDown, roll(f.FailRatio), roll(f.ResetRatio)
	limit := s.pickFault(time.Now(), FaultHTTPLimit)
	s.mu.Unlock()
	if f.Delay > 0 {
		time.Sleep(f.Delay)
	}
	if down {
		hijackClose(w)
		return
	}
	if fail {
		http.Error(w, "internal error (injected)", http.StatusInternalServerError)
		return
	}
	if limit != "" {
		// StreamLoadAction::on_header: refused before any transaction.
		s.failed.Add(1)
		writeJSON(w, http.StatusOK, &loadResponse{Label: r.Header.Get("label"), Status: "Fail", Message: faultMessage(limit, 0, s.beHost())})
		return
	}
	resp := s.streamLoad(w, r, db, tbl, reset)
	if resp != nil {
		writeJSON(w, http.StatusOK, resp)
	}
}

func (s *Server) beHost() string {
	h, _, _ := strings.Cut(s.beLn.Addr().String(), ":")
	return h
}

func hijackClose(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if c, _, err := hj.Hijack(); err == nil {
			c.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

// streamLoad runs one Stream Load in StarRocks' order (StreamLoadAction
// on_header, then the body, then StreamLoadExecutor commit) and answers
// it; nil when the connection was closed instead (reset).
func (s *Server) streamLoad(w http.ResponseWriter, r *http.Request, db, tbl string, reset bool) *loadResponse {
	start := time.Now()
	label := r.Header.Get("label")
	resp := &loadResponse{Label: label}
	opts, err := parseOptions(r.Header)
	s.mu.Lock()
	set := s.set
	s.mu.Unlock()
	if err == nil && r.Header.Get("strict_mode") == "" {
		opts.strict = set.StrictMode
	}
	if err == nil && opts.format == "JSON" && !strings.EqualFold(r.Header.Get("ignore_json_size"), "true") && set.StreamingLoadMaxBatchSizeMB > 0 {
		// StreamLoadAction::_on_header, by Content-Length, before the
		// transaction begins.
		max := int64(set.StreamingLoadMaxBatchSizeMB) * 1024 * 1024
		if r.ContentLength > max {
			err = fmt.Errorf("The size of this batch exceed the max size [%d]  of json type data  data [ %d ]. Set ignore_json_size to skip the check, although it may lead huge memory consuming.", max, r.ContentLength)
		}
	}
	if err == nil {
		// _on_header checks for a stopping process before it begins the
		// transaction, "to avoid creating a dangling transaction".
		s.mu.Lock()
		if k := s.pickFault(start, FaultShuttingDown); k != "" {
			err = errors.New(faultMessage(k, 0, ""))
		}
		s.mu.Unlock()
	}
	if err != nil {
		resp.Status, resp.Message = "Fail", err.Error()
		s.failed.Add(1)
		return resp
	}

	// begin_txn: the label is registered before the body is read.
	s.mu.Lock()
	s.txnID++
	id := s.txnID
	resp.TxnID = id
	if label == "" {
		label = fmt.Sprintf("emulator_%d_%d", start.UnixNano(), id)
		resp.Label = label
	}
	d := s.dbs[db]
	var t *table
	if d != nil {
		t = d.tables[tbl]
	}
	if t == nil {
		s.mu.Unlock()
		resp.TxnID = 0
		// FrontendServiceImpl.loadTxnBeginImpl
		resp.Status, resp.Message = "Fail", fmt.Sprintf("unknown table \"%s.%s\"", db, tbl)
		if d == nil {
			resp.Message = "unknown database, database=" + db
		}
		s.failed.Add(1)
		return resp
	}
	s.evictLabels(d, start)
	if j := d.labels[label]; j != nil {
		j.mu.Lock()
		st, running := j.state, j.running
		j.mu.Unlock()
		if st != "ABORTED" {
			s.mu.Unlock()
			s.conflicts.Add(1)
			resp.TxnID = 0
			resp.Status = "Label Already Exists"
			resp.ExistingJobStatus = "FINISHED"
			if running || st == "PREPARE" || st == "PREPARED" {
				resp.ExistingJobStatus = "RUNNING"
			}
			resp.Message = fmt.Sprintf("Label [%s] has already been used.", label)
			return resp
		}
	}
	j := &job{id: id, label: label, db: db, table: tbl, state: "PREPARE", running: true}
	d.register(j)
	fault := s.pickFault(start, FaultMemLimit, FaultTooManyVersions, FaultCompactionScore, FaultCommitUnknown, FaultPublishTimeout)
	s.mu.Unlock()

	finish := func(state string) *loadResponse {
		j.mu.Lock()
		j.state, j.running, j.resp = state, false, resp
		if state == "VISIBLE" || state == "ABORTED" {
			j.finished = time.Now() // COMMITTED: when it turns VISIBLE (expire)
		}
		j.mu.Unlock()
		resp.LoadTimeMs = time.Since(start).Milliseconds()
		if state == "ABORTED" {
			s.failed.Add(1)
		} else {
			s.loads.Add(1)
		}
		return resp
	}

	if reset {
		// The client's connection breaks mid-body: the transaction is
		// rolled back only when the load's context is destroyed, a while
		// later; until then the label answers RUNNING.
		io.CopyN(io.Discard, r.Body, 512)
		delay := time.Duration(set.RollbackDelay)
		time.AfterFunc(delay, func() { finish("ABORTED") })
		hijackClose(w)
		return nil
	}

	// streamLoadPut: the FE plans the load against the table.
	t.mu.RLock()
	view := t.view()
	t.mu.RUnlock()
	plan, err := planLoad(&view, opts)
	if err != nil {
		resp.Status, resp.Message = "Fail", err.Error()
		return finish("ABORTED")
	}
	switch fault {
	case FaultMemLimit, FaultTooManyVersions:
		// The load's memory tracker or the delta writer refuse.
		io.Copy(io.Discard, r.Body)
		resp.Status, resp.Message = "Fail", faultMessage(fault, id, s.beHost())
		return finish("ABORTED")
	}
	body, err := readBody(r, opts.compression)
	if err != nil {
		resp.Status, resp.Message = "Fail", err.Error()
		return finish("ABORTED")
	}
	resp.LoadBytes = int64(len(body))
	s.bytes.Add(int64(len(body)))
	if s.cfg.CountOnly {
		n := countRows(body, opts)
		resp.NumberTotalRows, resp.NumberLoadedRows = n, n
		s.loaded.Add(n)
		resp.Status, resp.Message = "Success", "OK"
		return finish("VISIBLE")
	}
	ops, reasons, total, err := parseRows(&view, plan, body, opts, int(t.lastRows.Load()))
	t.lastRows.Store(total)
	resp.NumberTotalRows = total
	resp.NumberFilteredRows = int64(len(reasons))
	if err == nil && total > 0 && float64(len(reasons))/float64(total) > opts.maxFilterRatio {
		// stream_load_executor.cpp execute_plan_fragment
		err = fmt.Errorf("too many filtered rows")
	}
	if len(reasons) > 0 {
		resp.ErrorURL = s.storeErrorLog(label, id, reasons)
	}
	if err != nil {
		resp.Status, resp.Message = "Fail", err.Error()
		s.filtered.Add(int64(len(reasons)))
		return finish("ABORTED")
	}
	if len(ops) == 0 && set.EmptyLoadAsError {
		// The FE aborts a transaction with no data
		// (TxnStatusChangeReason.NO_PARTITIONS, empty_load_as_error).
		resp.Status, resp.Message = "Fail", "all partitions have no load data"
		s.filtered.Add(int64(len(reasons)))
		return finish("ABORTED")
	}
	if fault == FaultCompactionScore {
		resp.Status, resp.Message = "Fail", faultMessage(fault, id, s.beHost())
		return finish("ABORTED")
	}
	if err := s.apply(t, ops, opts, plan, set); err != nil {
		resp.Status, resp.Message = "Fail", err.Error()
		return finish("ABORTED")
	}
	resp.NumberLoadedRows = int64(len(ops))
	s.filtered.Add(int64(len(reasons)))
	resp.Status, resp.Message = "Success", "OK"
	switch fault {
	case FaultPublishTimeout:
		// Committed, not yet visible: get_load_state answers COMMITTED
		// for publishDelay, then VISIBLE. (The rows are readable at once:
		// docs/emulator.md, "What it does not emulate".)
		resp.Status, resp.Message = "Publish Timeout", faultMessage(fault, id, s.beHost())
		j.mu.Lock()
		j.visibleAt = time.Now().Add(publishDelay)
		j.mu.Unlock()
		return finish("COMMITTED")
	case FaultCommitUnknown:
		// The FE committed; the BE did not hear it.
		resp.Status, resp.Message = "Fail", faultMessage(fault, id, s.beHost())
		resp.NumberLoadedRows = 0
	}
	s.log.Debug("load", zap.String("table", db+"."+tbl), zap.String("label", label), zap.Int64("rows", total))
	return finish("VISIBLE")
}

// publishDelay is how long a load answered Publish Timeout stays
// COMMITTED before it turns VISIBLE. StarRocks' publish ends whenever the
// BEs finish applying the version; the emulator gives it a fixed span.
const publishDelay = 300 * time.Millisecond

// maxErrorRows is how many rejected rows a load's error log holds.
const maxErrorRows = 50

// storeErrorLog keeps the reasons of filtered rows and returns their
// ErrorURL (fragment_mgr.cpp to_load_error_http_path).
//
// Only the first 50 rejected rows are written, as the scanners stop
// reporting after 50 (csv_scanner.cpp, FileScanner::materialize);
// NumberFilteredRows still counts them all.
func (s *Server) storeErrorLog(label string, id int64, reasons []string) string {
	if len(reasons) > maxErrorRows {
		reasons = reasons[:maxErrorRows]
	}
	file := fmt.Sprintf("error_log_%s_%d", strings.ReplaceAll(label, "/", "_"), id)
	s.errLogs.Store(file, strings.Join(reasons, "\n")+"\n")
	return s.BEURL() + "/api/_load_error_log?file=" + file
}

// apply writes ops to t in order, atomically with respect to readers.
func (s *Server) apply(t *table, ops []op, opts loadOptions, plan *loadPlan, set Settings) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	pk := t.def.Model == schema.ModelPrimaryKeys
	if plan.view.applied != t.applied {
		// A schema change finished after the load was planned: its rows
		// move to the new columns (the job waited for no one here).
		for i := range ops {
			ops[i].row, ops[i].present = t.remap(ops[i].row, ops[i].present, plan.view.def.Columns)
		}
		if plan.mc >= 0 {
			plan.mc = t.def.Index(plan.view.def.Columns[plan.mc].Name)
		}
		defs := make([]any, len(t.def.Columns))
		for i := range defs {
			if t.extra[i].def != nil {
				defs[i], _ = convert(&t.def.Columns[i], jsonString(*t.extra[i].def))
			}
		}
		plan.defs = defs
	}
	if pk && set.SharedData {
		ops = lakeReorder(ops, t, set)
	}
	var loaded, deleted int64
	for _, o := range ops {
		if o.delete {
			t.delete(o.row)
			deleted++
			continue
		}
		if plan.mc >= 0 {
			// Ties apply, NULL is the smallest value and equals NULL.
			if old := t.get(o.row); old != nil && compareValues(o.row[plan.mc], old[plan.mc]) < 0 {
				continue
			}
		}
		if opts.partial {
			t.upsertPartial(o.row, o.present, plan.defs)
		} else {
			t.upsert(o.row)
		}
		loaded++
	}
	s.loaded.Add(loaded)
	s.deleted.Add(deleted)
	return nil
}

// lakeReorder reproduces StarRocks issue #75014 on shared-data Primary Key
// tables: each memtable keeps the last operation per key (REPLACE
// aggregation, so a DELETE then UPSERT inside one memtable keeps the
// UPSERT), but the load's deletes are applied after the upserts of every
// segment, so a DELETE in one memtable and a later UPSERT of the key in a
// later one leave the key deleted. Callers hold t.mu.
func lakeReorder(ops []op, t *table, set Settings) []op {
	var upserts, deletes []op
	flush := func(seg []op) {
		last := make(map[string]int, len(seg))
		for i := range seg {
			last[t.rowKey(seg[i].row)] = i
		}
		for i := range seg {
			if last[t.rowKey(seg[i].row)] != i {
				continue
			}
			if seg[i].delete {
				deletes = append(deletes, seg[i])
			} else {
				upserts = append(upserts, seg[i])
			}
		}
	}
	startSeg, bytes := 0, 0
	for i := range ops {
		bytes += ops[i].size
		rows := i - startSeg + 1
		if set.MemtableRows > 0 && rows >= set.MemtableRows || set.MemtableBytes > 0 && bytes >= set.MemtableBytes {
			flush(ops[startSeg : i+1])
			startSeg, bytes = i+1, 0
		}
	}
	flush(ops[startSeg:])
	return append(upserts, deletes...)
}

func compareValues(a, b any) int {
	switch {
	case a == nil && b == nil:
		return 0
	case b == nil:
		return 1
	}
	switch x := a.(type) {
	case int64:
		if y, ok := b.(int64); ok {
			return cmpInt(x, y)
		}
	case float64:
		if y, ok := b.(float64); ok {
			switch {
			case x < y:
				return -1
			case x > y:
				return 1
			}
			return 0
		}
	case string:
		if y, ok := b.(string); ok {
			if fx, err1 := strconv.ParseFloat(x, 64); err1 == nil {
				if fy, err2 := strconv.ParseFloat(y, 64); err2 == nil {
					switch {
					case fx < fy:
						return -1
					case fx > fy:
						return 1
					}
					return 0
				}
			}
			return strings.Compare(x, y)
		}
	}
	if a == nil {
		return -1
	}
	return 1
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func parseOptions(h http.Header) (loadOptions, error) {
	o := loadOptions{format: strings.ToUpper(h.Get("format")), colSep: "\t", rowSep: "\n"}
	if o.format == "" {
		o.format = "CSV"
	}
	if o.format != "CSV" && o.format != "JSON" {
		return o, fmt.Errorf("unknown data format, format=%s", h.Get("format"))
	}
	o.stripOuter = strings.EqualFold(h.Get("strip_outer_array"), "true")
	switch v := h.Get("strict_mode"); {
	case strings.EqualFold(v, "true"):
		o.strict = true
	case v == "" || strings.EqualFold(v, "false"):
	default:
		return o, fmt.Errorf("Invalid strict mode format. Must be bool type")
	}
	o.partial = strings.EqualFold(h.Get("partial_update"), "true")
	o.mergeCond = h.Get("merge_condition")
	if v := h.Get("column_separator"); v != "" {
		o.colSep = unhex(v)
	}
	if v := h.Get("row_delimiter"); v != "" {
		o.rowSep = unhex(v)
	}
	if v := h.Get("max_filter_ratio"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 || f > 1 {
			return o, fmt.Errorf("invalid max_filter_ratio %q", v)
		}
		o.maxFilterRatio = f
	}
	if v := h.Get("jsonpaths"); v != "" {
		if err := json.Unmarshal([]byte(v), &o.jsonPaths); err != nil {
			return o, fmt.Errorf("invalid jsonpaths: %v", err)
		}
	}
	o.compression = strings.ToLower(h.Get("compression"))
	if o.compression == "" {
		o.compression = strings.ToLower(h.Get("Content-Encoding"))
	}
	if v := h.Get("columns"); v != "" {
		for _, part := range splitColumns(v) {
			name, expr, hasExpr := strings.Cut(part, "=")
			cs := colSpec{name: strings.Trim(strings.TrimSpace(name), "`")}
			if hasExpr {
				expr = strings.TrimSpace(expr)
				cs.expr = expr
				if len(expr) >= 2 && expr[0] == '\'' && expr[len(expr)-1] == '\'' {
					k := expr[1 : len(expr)-1]
					cs.konst = &k
				} else if _, err := strconv.Atoi(expr); err == nil {
					cs.konst = &expr
				}
			}
			o.columns = append(o.columns, cs)
		}
	}
	return o, nil
}

func splitColumns(v string) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, v[start:i])
				start = i + 1
			}
		}
	}
	return append(out, v[start:])
}

// unhex reads separators written as \x01 (StarRocks' hex form).
func unhex(s string) string {
	if strings.HasPrefix(s, "\\x") || strings.HasPrefix(s, "\\X") {
		var out []byte
		for i := 2; i+1 < len(s); i += 2 {
			n, err := strconv.ParseUint(s[i:i+2], 16, 8)
			if err != nil {
				return s
			}
			out = append(out, byte(n))
		}
		return string(out)
	}
	switch s {
	case "\\t":
		return "\t"
	case "\\n":
		return "\n"
	}
	return s
}

func readBody(r *http.Request, compression string) ([]byte, error) {
	var rd io.Reader = r.Body
	switch compression {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		rd = zr
	case "lz4_frame", "lz4":
		rd = lz4.NewReader(r.Body)
	case "zstd":
		zr, err := zstd.NewReader(r.Body)
		if err != nil {
			return nil, fmt.Errorf("zstd: %w", err)
		}
		defer zr.Close()
		rd = zr
	default:
		return nil, fmt.Errorf("unsupported compression type %q", compression)
	}
	var buf bytes.Buffer
	if r.ContentLength > 0 {
		// ReadFrom wants MinRead bytes free before each read, the one that
		// finds the end included: without them a full buffer is grown
		// (copied and zeroed) once more at the end.
		buf.Grow(int(r.ContentLength) + bytes.MinRead)
	}
	if _, err := buf.ReadFrom(rd); err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	return buf.Bytes(), nil
}

// countRows counts rows without parsing values (count-only mode).
func countRows(body []byte, o loadOptions) int64 {
	if o.format == "JSON" {
		if o.stripOuter {
			var n int64
			gjson.ParseBytes(body).ForEach(func(_, _ gjson.Result) bool { n++; return true })
			return n
		}
		return 1
	}
	n := int64(bytes.Count(body, []byte(o.rowSep)))
	if len(body) > 0 && !bytes.HasSuffix(body, []byte(o.rowSep)) {
		n++
	}
	return n
}
