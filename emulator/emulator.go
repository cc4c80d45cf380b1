// Package emulator is a StarRocks stand-in for tests, the demo and
// benchmarks: an FE HTTP port that redirects Stream Loads with 307 to a BE
// HTTP port, the BE that parses, checks and applies them by table model, the
// transaction interface and label states, and a MySQL-protocol port for DDL,
// information_schema and SELECT over the loaded data.
//
// It answers as StarRocks 3.5's source does, no kinder and no stricter:
// non-strict loads NULL what does not fit, StarRocks' transient answers can
// be injected with their texts (Faults), and Settings switch what a cluster
// would decide (strict_mode default, shared-data mode, label retention,
// information_schema spelling, schema change duration). docs/emulator.md
// lists each rule with the StarRocks source it follows and its test.
package emulator

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	gms "github.com/dolthub/go-mysql-server/sql"
	"go.uber.org/zap"

	"github.com/starsink/starsink/schema"
)

// Config configures a Server.
type Config struct {
	// FEAddr, BEAddr and MySQLAddr are listen addresses; "" means
	// 127.0.0.1:0 (an ephemeral port).
	FEAddr, BEAddr, MySQLAddr string
	// User and Password are the only credentials accepted (default
	// "root" with an empty password).
	User, Password string
	// BEAdvertiseHost is the host put in the FE's 307 Location (default:
	// the BE listener's host).
	BEAdvertiseHost string
	// CountOnly accepts and counts rows without parsing or storing them.
	CountOnly bool
	// NoMySQL skips the MySQL-protocol port.
	NoMySQL bool
	Logger  *zap.Logger
	// Settings are StarRocks' side of the configuration; nil means
	// DefaultSettings.
	Settings *Settings
	// Faults are injected from the start (see SetFaults).
	Faults Faults
}

// Faults are injected into BE loads, for reliability tests. Ratios are the
// share of loads affected, drawn from a generator seeded with Seed.
type Faults struct {
	FailRatio float64 `json:"fail_ratio"` // answer HTTP 500
	// ResetRatio closes the connection while the body is read, after the
	// label was registered: the label answers RUNNING until
	// Settings.RollbackDelay has passed, then ABORTED.
	ResetRatio           float64       `json:"reset_ratio"`
	Delay                time.Duration `json:"delay"`                   // sleep before answering
	PublishTimeoutRatio  float64       `json:"publish_timeout_ratio"`   // as Answers kind publish_timeout
	TooManyVersionsRatio float64       `json:"too_many_versions_ratio"` // as Answers kind too_many_versions
	BEDown               bool          `json:"be_down"`                 // the BE closes every connection
	Seed                 int64         `json:"seed"`
	// Answers are StarRocks' transient answers, each with its text, at a
	// rate or for a span of time.
	Answers []Fault `json:"answers"`
}

// Stats counts what the BE has done.
type Stats struct {
	Loads         int64 // load requests answered with Success or Publish Timeout
	FailedLoads   int64
	RowsLoaded    int64
	RowsFiltered  int64
	RowsDeleted   int64
	Bytes         int64
	LabelConflict int64 // Label Already Exists answers
}

// Server is a running emulator.
type Server struct {
	cfg Config
	log *zap.Logger

	feLn, beLn net.Listener
	fe, be     *http.Server
	sql        *sqlServer

	mu      sync.Mutex
	dbs     map[string]*database
	faults  Faults
	answers []Fault // faults.Answers with their deadlines, and the ratio fields as answers
	set     Settings
	rnd     *rand.Rand
	txnID   int64
	execDB  string // the database USE selected for Exec

	errLogs sync.Map // file name → reasons text

	loads, failed, loaded, filtered, deleted, bytes, conflicts atomic.Int64
}

type database struct {
	tables map[string]*table
	labels map[string]*job
	order  []*job // labels in registration order, for eviction
	alters []*alterJob
	views  map[string]gms.ViewDefinition // by lower-case name
}

// job is a load or a transaction, by label.
type job struct {
	mu      sync.Mutex
	id      int64
	label   string
	db      string
	table   string
	state   string // PREPARE, PREPARED, COMMITTED, VISIBLE, ABORTED
	running bool
	// finished is when the job reached VISIBLE or ABORTED (label
	// retention counts from it).
	finished time.Time
	staged   []op // transaction rows waiting for commit
	reasons  []string
	total    int64 // rows the txn's loads read
	bytes    int64 // body bytes of the txn's loads
	// deadline, idle and active time a transaction-interface txn out;
	// reason is why it was aborted.
	deadline, active time.Time
	idle             time.Duration
	reason           string
	// visibleAt is when a load answered Publish Timeout, COMMITTED until
	// then, turns VISIBLE (expire).
	visibleAt time.Time
	opts      loadOptions
	plan      *loadPlan
	resp      *loadResponse
}

// Start starts a server; Close stops it.
func Start(cfg Config) (*Server, error) {
	if cfg.User == "" {
		cfg.User = "root"
	}
	log := cfg.Logger
	if log == nil {
		log = zap.NewNop()
	}
	s := &Server{cfg: cfg, log: log, dbs: map[string]*database{}, rnd: rand.New(rand.NewSource(1)), set: DefaultSettings()}
	if cfg.Settings != nil {
		if err := cfg.Settings.validate(); err != nil {
			return nil, fmt.Errorf("emulator: %w", err)
		}
		s.set = *cfg.Settings
	}
	s.SetFaults(cfg.Faults)
	listen := func(addr string) (net.Listener, error) {
		if addr == "" {
			addr = "127.0.0.1:0"
		}
		return net.Listen("tcp", addr)
	}
	var err error
	if s.feLn, err = listen(cfg.FEAddr); err != nil {
		return nil, fmt.Errorf("emulator: FE listen: %w", err)
	}
	if s.beLn, err = listen(cfg.BEAddr); err != nil {
		s.feLn.Close()
		return nil, fmt.Errorf("emulator: BE listen: %w", err)
	}
	s.fe = &http.Server{Handler: http.HandlerFunc(s.serveFE), ReadHeaderTimeout: 10 * time.Second}
	s.be = &http.Server{Handler: http.HandlerFunc(s.serveBE), ReadHeaderTimeout: 10 * time.Second}
	go s.fe.Serve(s.feLn)
	go s.be.Serve(s.beLn)
	if !cfg.NoMySQL {
		if s.sql, err = startSQL(s, cfg.MySQLAddr); err != nil {
			s.Close()
			return nil, fmt.Errorf("emulator: MySQL listen: %w", err)
		}
	}
	log.Info("emulator started", zap.String("fe", s.FEURL()), zap.String("be", s.BEURL()), zap.String("mysql", s.MySQLAddr()), zap.Bool("count_only", cfg.CountOnly))
	return s, nil
}

// FEURL is the FE HTTP address, "http://host:port".
func (s *Server) FEURL() string { return "http://" + s.feLn.Addr().String() }

// BEURL is the BE HTTP address.
func (s *Server) BEURL() string { return "http://" + s.beLn.Addr().String() }

// MySQLAddr is the MySQL-protocol address, "host:port" ("" when disabled).
func (s *Server) MySQLAddr() string {
	if s.sql == nil {
		return ""
	}
	return s.sql.addr()
}

// Close stops every listener.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var errs []error
	if s.fe != nil {
		errs = append(errs, s.fe.Shutdown(ctx))
	}
	if s.be != nil {
		errs = append(errs, s.be.Shutdown(ctx))
	}
	if s.sql != nil {
		s.sql.close()
	}
	return errors.Join(errs...)
}

// SetFaults replaces the injected faults.
func (s *Server) SetFaults(f Faults) {
	now := time.Now()
	answers := append([]Fault(nil), f.Answers...)
	for i := range answers {
		if answers[i].For > 0 {
			answers[i].until = now.Add(time.Duration(answers[i].For))
		}
	}
	if f.TooManyVersionsRatio > 0 {
		answers = append(answers, Fault{Kind: FaultTooManyVersions, Rate: f.TooManyVersionsRatio})
	}
	if f.PublishTimeoutRatio > 0 {
		answers = append(answers, Fault{Kind: FaultPublishTimeout, Rate: f.PublishTimeoutRatio})
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults, s.answers = f, answers
	s.rnd = rand.New(rand.NewSource(f.Seed))
}

// Faults returns the injected faults.
func (s *Server) Faults() Faults {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults
}

// Stats returns the counters.
func (s *Server) Stats() Stats {
	return Stats{Loads: s.loads.Load(), FailedLoads: s.failed.Load(), RowsLoaded: s.loaded.Load(),
		RowsFiltered: s.filtered.Load(), RowsDeleted: s.deleted.Load(), Bytes: s.bytes.Load(), LabelConflict: s.conflicts.Load()}
}

// Exec runs DDL statements separated by semicolons (the dialect of the
// MySQL port); USE selects the database of later calls.
func (s *Server) Exec(ctx context.Context, sql string) error {
	for _, one := range splitStatements(sql) {
		s.mu.Lock()
		cur := s.execDB
		s.mu.Unlock()
		if err := s.exec(one, cur); err != nil {
			return err
		}
		if st, _ := parseDDL(one); st != nil && st.kind == "use" {
			s.mu.Lock()
			s.execDB = st.db
			s.mu.Unlock()
		}
	}
	return nil
}

func splitStatements(sql string) []string {
	var out []string
	for _, p := range strings.Split(sql, ";") {
		if strings.TrimSpace(p) != "" {
			out = append(out, p)
		}
	}
	return out
}

// exec applies a parsed DDL statement; curDB is the session's database.
func (s *Server) exec(sql, curDB string) error {
	st, err := parseDDL(sql)
	if err != nil {
		return err
	}
	if st.db == "" {
		st.db = curDB
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch st.kind {
	case "use":
		if _, ok := s.dbs[st.db]; !ok {
			return fmt.Errorf("Unknown database '%s'", st.db)
		}
	case "create database":
		if _, ok := s.dbs[st.db]; ok {
			if st.ifNotExists {
				return nil
			}
			return fmt.Errorf("Can't create database '%s'; database exists", st.db)
		}
		s.dbs[st.db] = &database{tables: map[string]*table{}, labels: map[string]*job{}, views: map[string]gms.ViewDefinition{}}
	case "drop database":
		if _, ok := s.dbs[st.db]; !ok && !st.ifExists {
			return fmt.Errorf("Unknown database '%s'", st.db)
		}
		delete(s.dbs, st.db)
	default:
		if st.db == "" {
			return errors.New("No database selected")
		}
		d, ok := s.dbs[st.db]
		if !ok {
			return fmt.Errorf("Unknown database '%s'", st.db)
		}
		t := d.tables[st.name]
		switch st.kind {
		case "create table":
			if t != nil {
				if st.ifNotExists {
					return nil
				}
				return fmt.Errorf("Table '%s' already exists", st.name)
			}
			st.table.Database, st.table.Name = st.db, st.name
			d.tables[st.name] = newTable(st.table, st.extras)
		case "drop table":
			if t == nil && !st.ifExists {
				return fmt.Errorf("Unknown table '%s'", st.name)
			}
			delete(d.tables, st.name)
		case "truncate":
			if t == nil {
				return fmt.Errorf("Unknown table '%s'", st.name)
			}
			t.mu.Lock()
			t.truncate()
			t.mu.Unlock()
		case "alter table":
			if t == nil {
				return fmt.Errorf("Unknown table '%s'", st.name)
			}
			return s.alter(d, t, st.name, st.clauses)
		case "create view":
			if _, ok := d.views[strings.ToLower(st.name)]; ok || t != nil {
				if st.ifNotExists {
					return nil
				}
				return fmt.Errorf("Table '%s' already exists", st.name)
			}
			// go-mysql-server parses the CREATE text again when the view is
			// read, and knows neither IF NOT EXISTS nor a database there.
			create := "CREATE VIEW `" + strings.ReplaceAll(st.name, "`", "``") + "` AS " + st.viewSQL
			d.views[strings.ToLower(st.name)] = gms.ViewDefinition{Name: st.name, TextDefinition: st.viewSQL, CreateViewStatement: create}
		case "drop view":
			if _, ok := d.views[strings.ToLower(st.name)]; !ok && !st.ifExists {
				return fmt.Errorf("Unknown view '%s'", st.name)
			}
			delete(d.views, strings.ToLower(st.name))
		}
	}
	return nil
}

// lookup returns a table, or nil.
func (s *Server) lookup(db, name string) *table {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d := s.dbs[db]; d != nil {
		return d.tables[name]
	}
	return nil
}

// Rows returns the current rows of a table in column order (in storage
// order, not sorted).
// Values are int64, float64, bool, string (DECIMAL as text with the
// column's scale, DATE "YYYY-MM-DD", DATETIME "YYYY-MM-DD HH:MM:SS[.ffffff]",
// JSON and ARRAY as compact JSON text) or nil.
func (s *Server) Rows(db, name string) ([][]any, error) {
	t := s.lookup(db, name)
	if t == nil {
		return nil, fmt.Errorf("emulator: unknown table %s.%s", db, name)
	}
	return t.snapshot(), nil
}

// Count returns a table's number of rows.
func (s *Server) Count(db, name string) (int64, error) {
	t := s.lookup(db, name)
	if t == nil {
		return 0, fmt.Errorf("emulator: unknown table %s.%s", db, name)
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	return int64(t.live), nil
}

// Schema returns a table's schema.
func (s *Server) Schema(db, name string) (*schema.Table, error) {
	t := s.lookup(db, name)
	if t == nil {
		return nil, fmt.Errorf("emulator: unknown table %s.%s", db, name)
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	def := t.def
	def.Columns = append([]schema.Column(nil), t.def.Columns...)
	return &def, nil
}
