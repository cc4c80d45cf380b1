package emulator

import (
	"bytes"
	"compress/gzip"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unsafe"

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
// present, and whether it deletes.
type op struct {
	row     []any
	present []bool
	delete  bool
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	b, _ := json.MarshalIndent(v, "", "    ")
	w.Write(b)
}

// auth checks Basic credentials; StarRocks answers 401 without them.
func (s *Server) auth(w http.ResponseWriter, r *http.Request) bool {
	u, p, ok := r.BasicAuth()
	if ok && subtle.ConstantTimeCompare([]byte(u), []byte(s.cfg.User)) == 1 && subtle.ConstantTimeCompare([]byte(p), []byte(s.cfg.Password)) == 1 {
		return true
	}
	w.Header().Set("WWW-Authenticate", `Basic realm="StarRocks"`)
	http.Error(w, "Unauthorized: Access denied for user '"+u+"'", http.StatusUnauthorized)
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
	if strings.HasPrefix(r.URL.Path, "/api/transaction/") {
		if !s.auth(w, r) {
			return
		}
		s.serveTxn(w, r)
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
			// StarRocks' FE: LoadAction refuses a load without 100-continue.
			writeJSON(w, http.StatusOK, map[string]string{"Status": "FAILED", "Msg": "There is no 100-continue header"})
			return
		}
		if s.lookup(db, tbl) == nil {
			writeJSON(w, http.StatusOK, map[string]string{"Status": "FAILED", "Msg": fmt.Sprintf("unknown table, table=%s.%s", db, tbl)})
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
	if d := s.dbs[db]; d != nil {
		if j := d.labels[label]; j != nil {
			j.mu.Lock()
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
	db, tbl, action := splitPath(r.URL.Path)
	if action != "_stream_load" || tbl == "" {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodPut {
		http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
		return
	}
	if !s.auth(w, r) {
		return
	}
	s.mu.Lock()
	f := s.faults
	roll := func(ratio float64) bool { return ratio > 0 && s.rnd.Float64() < ratio }
	down, fail, reset, tmv, pubTimeout := f.BEDown, roll(f.FailRatio), roll(f.ResetRatio), roll(f.TooManyVersionsRatio), roll(f.PublishTimeoutRatio)
	s.mu.Unlock()
	if f.Delay > 0 {
		time.Sleep(f.Delay)
	}
	if down || reset {
		if reset {
			io.CopyN(io.Discard, r.Body, 512)
		}
		hijackClose(w)
		return
	}
	if fail {
		http.Error(w, "internal error (injected)", http.StatusInternalServerError)
		return
	}
	resp := s.streamLoad(r, db, tbl, tmv, pubTimeout)
	writeJSON(w, http.StatusOK, resp)
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

// streamLoad runs one Stream Load and answers it.
func (s *Server) streamLoad(r *http.Request, db, tbl string, tooManyVersions, publishTimeout bool) *loadResponse {
	start := time.Now()
	label := r.Header.Get("label")
	s.mu.Lock()
	s.txnID++
	id := s.txnID
	if label == "" {
		label = fmt.Sprintf("emulator_%d_%d", start.UnixNano(), id)
	}
	d := s.dbs[db]
	var t *table
	if d != nil {
		t = d.tables[tbl]
	}
	resp := &loadResponse{TxnID: id, Label: label}
	if t == nil {
		s.mu.Unlock()
		resp.Status, resp.Message = "Fail", fmt.Sprintf("Table %s.%s does not exist", db, tbl)
		s.failed.Add(1)
		return resp
	}
	if j := d.labels[label]; j != nil {
		j.mu.Lock()
		st, running := j.state, j.running
		j.mu.Unlock()
		if st != "ABORTED" {
			s.mu.Unlock()
			s.conflicts.Add(1)
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
	d.labels[label] = j
	s.mu.Unlock()

	finish := func(state string) *loadResponse {
		j.mu.Lock()
		j.state, j.running, j.resp = state, false, resp
		j.mu.Unlock()
		resp.LoadTimeMs = time.Since(start).Milliseconds()
		if state == "ABORTED" {
			s.failed.Add(1)
		} else {
			s.loads.Add(1)
		}
		return resp
	}

	opts, err := parseOptions(r.Header)
	if err != nil {
		resp.Status, resp.Message = "Fail", err.Error()
		return finish("ABORTED")
	}
	body, err := readBody(r, opts.compression)
	if err != nil {
		resp.Status, resp.Message = "Fail", err.Error()
		return finish("ABORTED")
	}
	resp.LoadBytes = int64(len(body))
	s.bytes.Add(int64(len(body)))
	if tooManyVersions {
		resp.Status = "Fail"
		resp.Message = fmt.Sprintf("Too many versions. tablet_id: %d, version_count: 1001, limit: 1000", id)
		return finish("ABORTED")
	}
	if s.cfg.CountOnly {
		n := countRows(body, opts)
		resp.NumberTotalRows, resp.NumberLoadedRows = n, n
		s.loaded.Add(n)
		resp.Status, resp.Message = "Success", "OK"
		return finish("VISIBLE")
	}
	t.mu.RLock()
	def := t.def
	t.mu.RUnlock()
	ops, reasons, total, err := parseRows(&def, body, opts, int(t.lastRows.Load()))
	t.lastRows.Store(total)
	resp.NumberTotalRows = total
	resp.NumberFilteredRows = int64(len(reasons))
	if err == nil && total > 0 && float64(len(reasons))/float64(total) > opts.maxFilterRatio {
		err = fmt.Errorf("too many filtered rows")
	}
	if len(reasons) > 0 {
		file := fmt.Sprintf("error_log_%s_%d", strings.ReplaceAll(label, "/", "_"), id)
		s.errLogs.Store(file, strings.Join(reasons, "\n")+"\n")
		resp.ErrorURL = s.BEURL() + "/api/_load_error_log?file=" + file
	}
	if err != nil {
		resp.Status, resp.Message = "Fail", err.Error()
		s.filtered.Add(int64(len(reasons)))
		return finish("ABORTED")
	}
	if err := s.apply(t, ops, opts); err != nil {
		resp.Status, resp.Message = "Fail", err.Error()
		return finish("ABORTED")
	}
	resp.NumberLoadedRows = int64(len(ops))
	s.filtered.Add(int64(len(reasons)))
	resp.Status, resp.Message = "Success", "OK"
	if publishTimeout {
		resp.Status, resp.Message = "Publish Timeout", "transaction commit successfully, BUT data will be visible later"
	}
	s.log.Debug("load", zap.String("table", db+"."+tbl), zap.String("label", label), zap.Int64("rows", total))
	return finish("VISIBLE")
}

// apply writes ops to t in order, atomically with respect to readers.
func (s *Server) apply(t *table, ops []op, opts loadOptions) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	pk := t.def.Model == schema.ModelPrimaryKeys
	for _, o := range ops {
		if o.delete && !pk {
			return fmt.Errorf("delete (__op=1) is only supported on Primary Key tables; %s is %s", t.def.Name, t.def.Model)
		}
	}
	if opts.partial && !pk {
		return fmt.Errorf("partial_update is only supported on Primary Key tables")
	}
	var loaded, deleted int64
	mc := -1
	if opts.mergeCond != "" {
		if mc = t.def.Index(opts.mergeCond); mc < 0 || t.def.Columns[mc].Key || !pk {
			return fmt.Errorf("merge_condition column %q must be a non-key column of a Primary Key table", opts.mergeCond)
		}
	}
	for _, o := range ops {
		if o.delete {
			t.delete(o.row)
			deleted++
			continue
		}
		if mc >= 0 {
			if old := t.get(o.row); old != nil && compareValues(o.row[mc], old[mc]) < 0 {
				continue
			}
		}
		if opts.partial {
			t.upsert(o.row, o.present)
		} else {
			t.upsert(o.row, nil)
		}
		loaded++
	}
	s.loaded.Add(loaded)
	s.deleted.Add(deleted)
	return nil
}

func compareValues(a, b any) int {
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
		return o, fmt.Errorf("unknown data format %q", h.Get("format"))
	}
	o.stripOuter = strings.EqualFold(h.Get("strip_outer_array"), "true")
	o.strict = strings.EqualFold(h.Get("strict_mode"), "true")
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

// parseRows turns a body into ops in file order; rows that do not fit are
// returned as reasons (the filtered rows).
//
// rowsHint is the number of rows expected (the table's last load), to size
// ops at once.
func parseRows(def *schema.Table, body []byte, o loadOptions, rowsHint int) (ops []op, reasons []string, total int64, err error) {
	ops = make([]op, 0, rowsHint)
	// Which table column each input field feeds, and where __op comes from.
	specs := o.columns
	if len(specs) == 0 {
		for _, c := range def.Columns {
			specs = append(specs, colSpec{name: c.Name})
		}
	}
	idx := make([]int, len(specs))
	for i, cs := range specs {
		if strings.EqualFold(cs.name, "__op") {
			idx[i] = -1
			continue
		}
		if idx[i] = def.Index(cs.name); idx[i] < 0 {
			return nil, nil, 0, fmt.Errorf("unknown column %q in the columns header", cs.name)
		}
	}
	// Rows are cut from slabs of slabRows rows: two allocations per row
	// were a tenth of a load's cost.
	const slabRows = 1024
	var vals []any
	var pres []bool
	build := func(get func(i int, cs colSpec) (gjson.Result, bool)) {
		total++
		n := len(def.Columns)
		if len(vals) < n {
			vals, pres = make([]any, slabRows*n), make([]bool, slabRows*n)
		}
		o2 := op{row: vals[:n:n], present: pres[:n:n]}
		vals, pres = vals[n:], pres[n:]
		for i, cs := range specs {
			v, ok := get(i, cs)
			if cs.konst != nil {
				v, ok = gjson.Result{Type: gjson.String, Str: *cs.konst, Raw: strconv.Quote(*cs.konst)}, true
			}
			if idx[i] < 0 {
				switch {
				case !ok || v.Type == gjson.Null:
				case v.Raw == "1" || v.Str == "1" || strings.EqualFold(v.Str, "delete"):
					o2.delete = true
				case v.Raw == "0" || v.Str == "0" || strings.EqualFold(v.Str, "upsert"):
				default:
					reasons = append(reasons, fmt.Sprintf("Reason: invalid __op value %s. src line: [%s]", v.Raw, truncate(v.Raw, 200)))
					return
				}
				continue
			}
			if !ok {
				continue
			}
			c := &def.Columns[idx[i]]
			val, cerr := convert(c, v)
			if cerr != nil {
				if !o.strict && c.Nullable && v.Type != gjson.Null && !strings.Contains(cerr.Error(), "longer than") && !strings.Contains(cerr.Error(), "does not fit DECIMAL") {
					val = nil // non-strict: a failed conversion loads NULL
				} else {
					reasons = append(reasons, "Reason: "+cerr.Error())
					return
				}
			}
			o2.row[idx[i]] = val
			o2.present[idx[i]] = true
		}
		for k, c := range def.Columns {
			if c.Key && !o2.present[k] {
				reasons = append(reasons, fmt.Sprintf("Reason: key column %s is missing", c.Name))
				return
			}
			if !o2.delete && !o.partial && !c.Nullable && !o2.present[k] && !c.Key {
				reasons = append(reasons, fmt.Sprintf("Reason: column %s is NOT NULL and has no value", c.Name))
				return
			}
		}
		ops = append(ops, o2)
	}
	switch o.format {
	case "JSON":
		if !gjson.ValidBytes(body) {
			return nil, nil, 0, fmt.Errorf("The input JSON is invalid")
		}
		// The body is never modified once read: gjson reads it in place
		// (ParseBytes would copy it whole) and stored strings point into it.
		root := gjson.Parse(unsafe.String(unsafe.SliceData(body), len(body)))
		// Simple mode reads each object once, its members matched to the
		// columns by name (the first of a repeated name wins, as with a
		// lookup); jsonpaths mode looks each path up.
		byName := make(map[string]int, len(specs))
		for i := len(specs) - 1; i >= 0; i-- {
			byName[specs[i].name] = i
		}
		got := make([]gjson.Result, len(specs))
		one := func(obj gjson.Result) {
			if !obj.IsObject() {
				total++
				reasons = append(reasons, "Reason: a JSON row must be an object: "+truncate(obj.Raw, 200))
				return
			}
			if o.jsonPaths != nil {
				build(func(i int, cs colSpec) (gjson.Result, bool) {
					if i >= len(o.jsonPaths) {
						return gjson.Result{}, false
					}
					v := obj.Get(strings.TrimPrefix(strings.TrimPrefix(o.jsonPaths[i], "$."), "$"))
					return v, v.Exists()
				})
				return
			}
			clear(got)
			obj.ForEach(func(k, v gjson.Result) bool {
				if i, ok := byName[k.Str]; ok && !got[i].Exists() {
					got[i] = v
				}
				return true
			})
			build(func(i int, _ colSpec) (gjson.Result, bool) { return got[i], got[i].Exists() })
		}
		switch {
		case root.IsArray() && o.stripOuter:
			root.ForEach(func(_, v gjson.Result) bool { one(v); return true })
		case root.IsArray():
			return nil, nil, 0, fmt.Errorf("JSON data is an array, strip_outer_array must be set true")
		default:
			one(root)
		}
	case "CSV":
		for _, line := range strings.Split(strings.TrimSuffix(string(body), o.rowSep), o.rowSep) {
			if line == "" && len(body) == 0 {
				break
			}
			fields := strings.Split(line, o.colSep)
			if len(fields) != len(specsWithoutConst(specs)) {
				total++
				reasons = append(reasons, fmt.Sprintf("Reason: column count mismatch, expect=%d real=%d. src line: [%s]", len(specsWithoutConst(specs)), len(fields), truncate(line, 200)))
				continue
			}
			build(func(i int, cs colSpec) (gjson.Result, bool) {
				pos := 0
				for k := 0; k < i; k++ {
					if specs[k].konst == nil {
						pos++
					}
				}
				f := fields[pos]
				if f == `\N` {
					return gjson.Result{Type: gjson.Null, Raw: "null"}, true
				}
				return gjson.Result{Type: gjson.String, Str: f, Raw: strconv.Quote(f)}, true
			})
		}
	}
	return ops, reasons, total, nil
}

func specsWithoutConst(specs []colSpec) []colSpec {
	var out []colSpec
	for _, s := range specs {
		if s.konst == nil {
			out = append(out, s)
		}
	}
	return out
}
