package status

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/starsink/starsink/config"
)

// Pauser is what the worker implements for POST /tables/<t>/pause and
// /resume. name is the table as /status shows it (db.table).
//
// PauseTable stops fetching the table's assigned partitions
// (kgo.PauseFetchPartitions) and flushes nothing early: the open batch
// loads at its usual trigger, is committed, and nothing new is read, so a
// pause never loses or reorders a row. The pause holds on this worker
// until ResumeTable or a restart; partitions the worker gains later (a
// rebalance) are paused too while the table is, and partitions it loses
// are not paused on their new worker. Pausing a paused table, or resuming
// one that is not paused, succeeds and changes nothing.
//
// Both return an *UnknownTableError (HTTP 404) for a table this worker
// does not load, and any other error (HTTP 500) when they could not act.
type Pauser interface {
	PauseTable(name string) error
	ResumeTable(name string) error
}

// UnknownTableError is the Pauser's answer for a table the worker does
// not load.
type UnknownTableError struct {
	Table string
}

func (e *UnknownTableError) Error() string {
	return "table " + e.Table + ": not loaded by this worker"
}

// Admin serves POST /tables/{table}/pause and /resume. They are refused
// (403) unless http.admin is true, and when http.admin_token is set they
// need "Authorization: Bearer <token>" (401 otherwise). Admin is also the
// collector of starsink_table_paused.
type Admin struct {
	pauser  Pauser
	enabled bool
	token   config.Secret
	log     *zap.Logger
	paused  *prometheus.GaugeVec
}

// NewAdmin returns the pause and resume handlers over p, with http.admin
// and http.admin_token. Register it with the worker's registry for
// starsink_table_paused.
func NewAdmin(p Pauser, enabled bool, token config.Secret, log *zap.Logger) *Admin {
	if log == nil {
		log = zap.NewNop()
	}
	return &Admin{pauser: p, enabled: enabled, token: token, log: log,
		paused: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: MetricTablePaused,
			Help: "1 while an operator has paused the table on this worker (POST /tables/<t>/pause), 0 after a resume."}, []string{"table"})}
}

// Describe implements prometheus.Collector.
func (a *Admin) Describe(ch chan<- *prometheus.Desc) { a.paused.Describe(ch) }

// Collect implements prometheus.Collector.
func (a *Admin) Collect(ch chan<- prometheus.Metric) { a.paused.Collect(ch) }

// Register mounts the routes on mux.
func (a *Admin) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST /tables/{table}/pause", a.serve(true))
	mux.HandleFunc("POST /tables/{table}/resume", a.serve(false))
}

// answer is the JSON body of every reply.
type answer struct {
	Table  string `json:"table"`
	Paused bool   `json:"paused"`
	Error  string `json:"error,omitempty"`
}

func (a *Admin) serve(pause bool) http.HandlerFunc {
	action := "resume"
	if pause {
		action = "pause"
	}
	return func(rw http.ResponseWriter, r *http.Request) {
		table := r.PathValue("table")
		reply := func(code int, ans answer) {
			rw.Header().Set("Content-Type", "application/json")
			rw.WriteHeader(code)
			json.NewEncoder(rw).Encode(ans)
		}
		if !a.enabled {
			reply(http.StatusForbidden, answer{Table: table, Error: "pause and resume are off: set http.admin: true"})
			return
		}
		if !a.authorized(r) {
			rw.Header().Set("WWW-Authenticate", `Bearer realm="starsink"`)
			reply(http.StatusUnauthorized, answer{Table: table, Error: "missing or wrong Authorization: Bearer token (http.admin_token)"})
			a.log.Warn("admin request refused", zap.String("action", action), zap.String("table", table), zap.String("remote", r.RemoteAddr))
			return
		}
		var err error
		if pause {
			err = a.pauser.PauseTable(table)
		} else {
			err = a.pauser.ResumeTable(table)
		}
		var unknown *UnknownTableError
		switch {
		case errors.As(err, &unknown):
			reply(http.StatusNotFound, answer{Table: table, Error: err.Error()})
			return
		case err != nil:
			a.log.Error("admin "+action+" failed", zap.String("table", table), zap.Error(err))
			reply(http.StatusInternalServerError, answer{Table: table, Error: err.Error()})
			return
		}
		v := 0.0
		if pause {
			v = 1
		}
		a.paused.WithLabelValues(table).Set(v)
		a.log.Info("table "+action+"d by an operator", zap.String("table", table), zap.String("remote", r.RemoteAddr))
		reply(http.StatusOK, answer{Table: table, Paused: pause})
	}
}

// authorized checks the bearer token when one is configured, in constant
// time.
func (a *Admin) authorized(r *http.Request) bool {
	want := a.token.Value()
	if want == "" {
		return true
	}
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(want)) == 1
}
