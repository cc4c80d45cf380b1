package sink

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/plugin/kprom"
	"github.com/twmb/franz-go/plugin/kzap"
	"go.uber.org/zap"

	"github.com/starsink/starsink/config"
	"github.com/starsink/starsink/debezium"
	"github.com/starsink/starsink/mapping"
	"github.com/starsink/starsink/schema"
	"github.com/starsink/starsink/streamload"
)

// pollWait bounds one PollRecords call, so age-based flushes happen on time
// even when no record arrives.
const pollWait = 100 * time.Millisecond

// Deps are the worker's collaborators; nil fields are built from the
// configuration.
type Deps struct {
	Loader     Loader       // default: a StreamLoader over streamload.New
	Schemas    SchemaSource // default: streamload.NewCatalog
	KafkaOpts  []kgo.Opt    // appended to the options built from the configuration
	Registerer prometheus.Registerer
}

// Stats are the worker's running totals.
type Stats struct {
	Records      int64 // records consumed
	RowsLoaded   int64 // upsert rows loaded
	RowsDeleted  int64 // delete rows loaded
	Skipped      int64 // records that load no row
	DeadLettered int64
	Batches      int64 // batches loaded
	Committed    int64 // successful offset commits
	Paused       int64 // partitions paused by the buffer budget now
}

// Worker consumes, batches, loads and commits. Create it with New and run it
// with Run; a Worker runs once.
type Worker struct {
	cfg     *config.Config
	log     *zap.Logger
	cl      *kgo.Client
	mapper  *mapping.Mapper
	loader  Loader
	schemas SchemaSource
	m       *metrics
	decOpts debezium.Options

	mu     sync.Mutex             // the poll loop and rebalance callbacks
	topics map[string]*tableState // by topic
	tables map[string]*tableState // by "db.table"
	// prefetched holds the schemas prefetchSchemas read for this poll's
	// new tables, by "db.table".
	prefetched map[string]*schema.Table
	paused     bool
	parts      map[string]map[int32]struct{} // partitions fetched from, by topic (dropped on revoke)

	sem         chan struct{} // bounds tables loading at once
	outstanding sync.WaitGroup
	loadCtx     context.Context
	cancelLoads context.CancelFunc
	buffered    atomic.Int64
	fatal       chan error
	dlq         *dlq
	closers     []func()

	lanes     []lane    // decode lanes (decoder.workers); lane i uses each table's decs[i]
	recs      []decoded // one poll's records, reused
	redecoded []byte    // a row decoded again under a table's new schema (add)

	records, rowsLoaded, rowsDeleted, skipped, deadLettered, batches, committed, pausedParts atomic.Int64
}

// New builds a worker: the Kafka client, the mapper, the loader and the
// schema source. Nothing is consumed before Run.
func New(cfg *config.Config, deps Deps, log *zap.Logger) (*Worker, error) {
	if log == nil {
		log = zap.NewNop()
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("sink: invalid configuration: %w", err)
	}
	if err := unimplemented(cfg); err != nil {
		return nil, fmt.Errorf("sink: %w", err)
	}
	mapper, err := mapping.New(cfg.Mapping, cfg.StarRocks.Database)
	if err != nil {
		return nil, fmt.Errorf("sink: mapping: %w", err)
	}
	if err := mapper.Check(cfg.Kafka.Topics); err != nil {
		return nil, fmt.Errorf("sink: mapping: %w", err)
	}
	reg := deps.Registerer
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	w := &Worker{cfg: cfg, log: log, mapper: mapper, loader: deps.Loader, schemas: deps.Schemas,
		m: newMetrics(reg), topics: map[string]*tableState{}, tables: map[string]*tableState{}, prefetched: map[string]*schema.Table{}, parts: map[string]map[int32]struct{}{},
		sem: make(chan struct{}, max(1, cfg.Batch.MaxConcurrentLoads)), fatal: make(chan error, 1)}
	w.loadCtx, w.cancelLoads = context.WithCancel(context.Background())
	lanes := cfg.Decoder.Workers
	if lanes == 0 {
		lanes = runtime.GOMAXPROCS(0)
	}
	w.lanes = make([]lane, max(1, lanes))
	w.decOpts, err = DecoderOptions(cfg.Decoder)
	if err != nil {
		return nil, err
	}
	if w.loader == nil {
		c, err := streamload.New(streamload.Config{
			FEURLs: cfg.StarRocks.LoadURLs, User: cfg.StarRocks.User, Password: cfg.StarRocks.Password.Value(),
			BEHostRewrite: cfg.StarRocks.BEHostRewrite, CAFile: cfg.StarRocks.CAFile,
			ConnectTimeout: cfg.StarRocks.ConnectTimeout, LoadTimeout: cfg.StarRocks.LoadTimeout,
			MaxRetries: cfg.StarRocks.MaxRetries, RetryBackoff: cfg.StarRocks.RetryBackoff, MaxRetryBackoff: cfg.StarRocks.MaxRetryBackoff,
			MaxConcurrentLoads: max(1, cfg.Batch.MaxConcurrentLoads),
			OnRetry: func(table string, attempt int, err error) {
				w.m.retries.WithLabelValues(table).Inc()
				w.log.Warn("load retry", zap.String("table", table), zap.Int("attempt", attempt), zap.Error(err))
			},
		}, log.Named("streamload"))
		if err != nil {
			return nil, fmt.Errorf("sink: stream load client: %w", err)
		}
		w.closers = append(w.closers, c.Close)
		w.loader = &StreamLoader{Client: c, Compression: cfg.StarRocks.Compression, Properties: cfg.StarRocks.Properties}
	}
	if w.schemas == nil {
		cat, err := streamload.NewCatalog(streamload.CatalogConfig{Addr: cfg.StarRocks.MySQLAddress(), User: cfg.StarRocks.User,
			Password: cfg.StarRocks.Password.Value(), TTL: cfg.StarRocks.SchemaTTL, Timeout: cfg.StarRocks.ConnectTimeout}, log.Named("catalog"))
		if err != nil {
			return nil, fmt.Errorf("sink: catalog: %w", err)
		}
		w.closers = append(w.closers, func() { cat.Close() })
		w.schemas = cat
	}
	opts, err := kafkaOptions(cfg)
	if err != nil {
		return nil, err
	}
	opts = append(opts,
		kgo.BlockRebalanceOnPoll(),
		kgo.AutoCommitMarks(),
		kgo.AutoCommitInterval(cfg.Commit.Interval),
		kgo.OnPartitionsRevoked(w.onRevoked),
		kgo.OnPartitionsLost(w.onLost),
		kgo.WithLogger(kzap.New(log.Named("kafka"), kzap.Level(kgo.LogLevelWarn))),
		kgo.WithHooks(kprom.NewMetrics("starsink_kafka", kprom.Registerer(reg))),
		kgo.WithHooks(newRefusalWatch(cfg.Kafka, w.fail, log)),
	)
	opts = append(opts, deps.KafkaOpts...)
	if w.cl, err = kgo.NewClient(opts...); err != nil {
		return nil, fmt.Errorf("sink: kafka client: %w", err)
	}
	if cfg.Errors.Tolerance == "all" {
		w.dlq = newDLQ(w.cl, cfg.Errors, cfg.Kafka.GroupID, w.records.Load)
	}
	return w, nil
}

// unimplemented rejects options the configuration accepts but this worker
// does not honour yet, rather than ignoring them.
func unimplemented(cfg *config.Config) error {
	if strings.EqualFold(cfg.StarRocks.Format, "csv") {
		return errors.New("starrocks.format: csv bodies are not implemented yet (use json)")
	}
	for name, t := range cfg.Mapping.Tables {
		if strings.EqualFold(t.Format, "csv") {
			return fmt.Errorf("mapping.tables.%s.format: csv bodies are not implemented yet (use json)", name)
		}
	}
	return nil
}

// DecoderOptions turns the decoder section of the configuration into
// debezium.Options (OpColumn is set per table by the caller).
func DecoderOptions(c config.Decoder) (debezium.Options, error) {
	fr, err := debezium.ParseFraming(c.Framing)
	if err != nil {
		return debezium.Options{}, fmt.Errorf("decoder.framing: %w", err)
	}
	loc := time.UTC
	if c.TimeZone != "" {
		if loc, err = time.LoadLocation(c.TimeZone); err != nil {
			return debezium.Options{}, fmt.Errorf("decoder.time_zone: %w", err)
		}
	}
	return debezium.Options{Framing: fr, TimeZone: loc, Placeholder: c.Placeholder,
		DecimalHandling: c.DecimalHandling, SchemalessTimestamp: c.SchemalessTimestamp}, nil
}

// Client returns the worker's Kafka client (for health checks and tests).
func (w *Worker) Client() *kgo.Client { return w.cl }

// Stats returns running totals.
func (w *Worker) Stats() Stats {
	return Stats{Records: w.records.Load(), RowsLoaded: w.rowsLoaded.Load(), RowsDeleted: w.rowsDeleted.Load(),
		Skipped: w.skipped.Load(), DeadLettered: w.deadLettered.Load(), Batches: w.batches.Load(), Committed: w.committed.Load(), Paused: w.pausedParts.Load()}
}

// CommittedOffsets returns the offsets this member last committed (the next
// record to consume), by topic and partition.
func (w *Worker) CommittedOffsets() map[string]map[int32]int64 {
	out := map[string]map[int32]int64{}
	for t, ps := range w.cl.CommittedOffsets() {
		m := make(map[int32]int64, len(ps))
		for p, o := range ps {
			m[p] = o.Offset
		}
		out[t] = m
	}
	return out
}

// Run consumes until ctx is cancelled (a clean shutdown: flush, commit,
// leave the group; nil error) or a record cannot be loaded and errors are
// not tolerated (the error names it; nothing past it is committed).
func (w *Worker) Run(ctx context.Context) (err error) {
	defer func() {
		for _, c := range w.closers {
			c()
		}
	}()
	w.log.Info("worker started", zap.Strings("brokers", w.cfg.Kafka.Brokers), zap.String("group", w.cfg.Kafka.GroupID))
	if err := w.preflight(ctx); err != nil {
		w.log.Error("stopping: the brokers refuse this worker", zap.Error(err))
		w.cl.Close()
		return err
	}
	var runErr error
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case runErr = <-w.fatal:
			break loop
		default:
		}
		pctx, cancel := context.WithTimeout(ctx, pollWait)
		fetches := w.cl.PollRecords(pctx, 20000)
		cancel()
		if fetches.IsClientClosed() {
			break
		}
		fetches.EachError(func(t string, p int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
				w.log.Warn("fetch error", zap.String("topic", t), zap.Int32("partition", p), zap.Error(err))
			}
		})
		w.mu.Lock()
		perr := w.process(ctx, fetches)
		w.flushAged()
		if fetches.NumRecords() == 0 && w.cfg.Batch.IdleFlush {
			w.flushIdle()
		}
		w.budget()
		w.mu.Unlock()
		w.cl.AllowRebalance()
		if perr != nil {
			runErr = perr
			break
		}
	}
	return w.shutdown(runErr)
}

// shutdown flushes what is buffered, waits for loads within the grace
// period, commits what is marked and leaves the group.
func (w *Worker) shutdown(runErr error) error {
	grace := w.cfg.Shutdown.GracePeriod
	w.mu.Lock()
	w.flushAll("shutdown")
	w.mu.Unlock()
	clean := w.drain(grace)
	if !clean {
		w.log.Error("shutdown: loads still running after the grace period; their records stay uncommitted", zap.Duration("grace_period", grace))
		w.cancelLoads()
	}
	select {
	case err := <-w.fatal:
		if runErr == nil {
			runErr = err
		}
	default:
	}
	cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	if err := w.cl.CommitMarkedOffsets(cctx); err != nil {
		w.m.commits.WithLabelValues("error").Inc()
		w.log.Error("final commit failed", zap.Error(err))
		if runErr == nil {
			runErr = fmt.Errorf("sink: final commit: %w", err)
		}
	} else {
		w.m.commits.WithLabelValues("ok").Inc()
		w.committed.Add(1)
	}
	cancel()
	w.cl.Close() // leaves the group
	w.cancelLoads()
	st := w.Stats()
	w.log.Info("worker stopped", zap.Int64("records", st.Records), zap.Int64("rows_loaded", st.RowsLoaded),
		zap.Int64("rows_deleted", st.RowsDeleted), zap.Int64("dead_lettered", st.DeadLettered), zap.Bool("clean", clean && runErr == nil))
	if runErr == nil && !clean {
		runErr = errors.New("sink: loads did not finish within shutdown.grace_period")
	}
	return runErr
}

// drain waits for every queued and running load, at most timeout.
func (w *Worker) drain(timeout time.Duration) bool {
	done := make(chan struct{})
	go func() { w.outstanding.Wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-time.After(timeout):
		return false
	}
}

// process decodes every fetched record (decoder.workers lanes side by side,
// see decode.go), then routes the rows to their tables' batches in fetch
// order. It stops at the first record that can be neither loaded nor
// dead-lettered.
func (w *Worker) process(ctx context.Context, fetches kgo.Fetches) error {
	recs := w.recs[:0]
	defer func() {
		clear(recs) // no record outlives its poll here
		w.recs = recs[:0]
		clear(w.prefetched)
		w.release()
	}()
	w.prefetchSchemas(ctx, fetches)
	fetches.EachPartition(func(p kgo.FetchTopicPartition) {
		if len(p.Records) == 0 {
			return
		}
		last := p.Records[len(p.Records)-1]
		w.m.lag.WithLabelValues(p.Topic, strconv.Itoa(int(p.Partition))).Set(float64(max(0, p.HighWatermark-last.Offset-1)))
		w.m.records.WithLabelValues(p.Topic).Add(float64(len(p.Records)))
		ps := w.parts[p.Topic]
		if ps == nil {
			ps = map[int32]struct{}{}
			w.parts[p.Topic] = ps
		}
		ps[p.Partition] = struct{}{}
		t, err := w.table(ctx, p.Topic)
		for _, r := range p.Records {
			recs = append(recs, decoded{r: r, t: t, err: err})
		}
	})
	w.decode(recs)
	for i := range recs {
		w.records.Add(1)
		if err := w.add(&recs[i]); err != nil {
			return err
		}
	}
	return nil
}

// add puts one decoded record into its table's batch.
func (w *Worker) add(d *decoded) error {
	r := d.r
	if d.t == nil {
		var um *mapping.UnmappedError
		stage := "mapping"
		if !errors.As(d.err, &um) {
			stage = "schema"
		}
		return w.reject(r, nil, stage, fmt.Errorf("topic %s partition %d offset %d: %w", r.Topic, r.Partition, r.Offset, d.err))
	}
	t := d.t
	if d.err != nil {
		return w.reject(r, t, "decode", d.err)
	}
	l := &w.lanes[d.lane]
	row, ev := l.buf[d.start:d.end], d.ev
	ev.Unavailable = l.ints[d.ustart:d.uend]
	// redecode decodes r again under the table's current schema, which
	// checkSchema replaced after the poll's decode step.
	redecode := func() (err error) {
		rec := debezium.Record{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, Key: r.Key, Value: r.Value}
		row, ev, err = t.decs[0].Decode(&rec, w.redecoded[:0])
		w.redecoded, d.gen = row, t.gen
		return err
	}
	if d.gen != t.gen {
		if err := redecode(); err != nil {
			return w.reject(r, t, "decode", err)
		}
	}
	if ev.Unknown != "" {
		if err := t.checkSchema(w.loadCtx, r, ev.Unknown); err != nil {
			return err
		}
		if d.gen != t.gen {
			if err := redecode(); err != nil {
				return w.reject(r, t, "decode", err)
			}
		}
	}
	return t.addRow(r, row, ev)
}

// reject dead-letters a record (errors.tolerance=all) or returns the error
// that stops the worker. t, when known, keeps the record's place in its
// partition's order.
func (w *Worker) reject(r *kgo.Record, t *tableState, stage string, err error) error {
	if w.dlq == nil {
		return err
	}
	if derr := w.dlq.send(r, stage, err); derr != nil {
		return fmt.Errorf("%w (and the dead-letter topic failed: %v)", err, derr)
	}
	w.deadLettered.Add(1)
	w.m.deadLettered.WithLabelValues(r.Topic, stage).Inc()
	w.log.Warn("record dead-lettered", zap.String("topic", r.Topic), zap.Int32("partition", r.Partition),
		zap.Int64("offset", r.Offset), zap.String("stage", stage), zap.Error(err))
	if t != nil {
		t.skip(r, "dead_lettered")
	} else {
		// An unmapped topic has no table to keep order in: its record is
		// its own, already handled, so its offset can be marked at once.
		w.cl.MarkCommitRecords(r)
	}
	return nil
}

// table returns the table a topic loads into, resolving it once.
func (w *Worker) table(ctx context.Context, topic string) (*tableState, error) {
	if t := w.topics[topic]; t != nil {
		return t, nil
	}
	target, err := w.mapper.Resolve(topic)
	if err != nil {
		return nil, err
	}
	key := target.Database + "." + target.Table
	t := w.tables[key]
	if t == nil {
		def, ok := w.prefetched[key]
		if !ok {
			def, err = w.schemas.Table(ctx, target.Database, target.Table)
		}
		if err != nil {
			return nil, fmt.Errorf("table %s: %w", key, err)
		}
		if t, err = newTableState(w, def, target.Options); err != nil {
			return nil, err
		}
		w.tables[key] = t
		go t.run()
	}
	w.topics[topic] = t
	return t, nil
}

// catalogParallel bounds the catalog reads prefetchSchemas runs at once:
// the catalog's connection pool holds 4 connections by default.
const catalogParallel = 4

// prefetchSchemas reads, side by side, the schemas of the tables a poll
// meets for the first time, for w.table to take from w.prefetched (process
// clears it after the poll). Each read is two catalog queries, and a
// replica that starts on (or takes over) 100 topics would otherwise make
// 200 round trips to the FE one after the other before its first load. A
// read that fails is left to w.table, which reads again and reports the
// error on the records.
func (w *Worker) prefetchSchemas(ctx context.Context, fetches kgo.Fetches) {
	var todo []mapping.Target
	fetches.EachTopic(func(ft kgo.FetchTopic) {
		if w.topics[ft.Topic] != nil {
			return
		}
		target, err := w.mapper.Resolve(ft.Topic)
		if err != nil {
			return
		}
		key := target.Database + "." + target.Table
		if w.tables[key] != nil || slices.ContainsFunc(todo, func(t mapping.Target) bool { return t.Database+"."+t.Table == key }) {
			return
		}
		todo = append(todo, target)
	})
	if len(todo) < 2 {
		return
	}
	defs := make([]*schema.Table, len(todo))
	sem := make(chan struct{}, catalogParallel)
	var wg sync.WaitGroup
	for i, t := range todo {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			defs[i], _ = w.schemas.Table(ctx, t.Database, t.Table)
		})
	}
	wg.Wait()
	for i, t := range todo {
		if defs[i] != nil {
			w.prefetched[t.Database+"."+t.Table] = defs[i]
		}
	}
}

func (w *Worker) flushAged() {
	for _, t := range w.tables {
		if t.cur != nil && time.Since(t.cur.opened) >= w.cfg.Batch.MaxAge {
			t.flush("age")
		}
	}
}

// flushIdle flushes the open batches when a poll found no record for
// pollWait: every assigned partition is caught up (or paused by the
// budget), so nothing more is coming for them now and waiting for max_age
// only delays the end of a burst or a backlog. A table is flushed this way
// at most once per max_age, so a trickle of rows, each arriving after an
// idle poll, loads at most twice as often as max_age alone allows.
func (w *Worker) flushIdle() {
	now := time.Now()
	for _, t := range w.tables {
		if t.cur != nil && now.Sub(t.idleAt) >= w.cfg.Batch.MaxAge {
			t.idleAt = now
			t.flush("idle")
		}
	}
}

func (w *Worker) flushAll(reason string) {
	for _, t := range w.tables {
		if t.cur != nil {
			t.flush(reason)
		}
	}
}

// budget pauses fetching when the buffers hold more than
// batch.buffer_memory and resumes below three quarters of it.
func (w *Worker) budget() {
	n := w.buffered.Load()
	w.m.buffered.Set(float64(n))
	limit := w.cfg.Batch.BufferMemory
	switch {
	case !w.paused && n >= limit:
		topics := w.cl.GetConsumeTopics()
		w.cl.PauseFetchTopics(topics...)
		w.paused = true
		parts := 0
		for _, ps := range w.parts {
			parts += len(ps)
		}
		w.pausedParts.Store(int64(parts))
		w.m.paused.Set(float64(parts))
		w.log.Warn("buffer budget reached: fetching paused", zap.Int64("buffered_bytes", n), zap.Int64("budget", limit), zap.Int("partitions", parts))
	case w.paused && n < limit*3/4:
		w.cl.ResumeFetchTopics(w.cl.PauseFetchTopics()...)
		w.paused = false
		w.pausedParts.Store(0)
		w.m.paused.Set(0)
		w.log.Info("fetching resumed", zap.Int64("buffered_bytes", n))
	}
}

// Paused reports whether fetching is paused by the buffer budget.
func (w *Worker) Paused() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.paused
}

// onRevoked flushes what is buffered, waits for the loads (at most
// commit.revoke_timeout) and commits, so the next owner starts where this
// one stopped.
func (w *Worker) onRevoked(ctx context.Context, cl *kgo.Client, revoked map[string][]int32) {
	w.mu.Lock()
	w.flushAll("revoke")
	w.mu.Unlock()
	if !w.drain(w.cfg.Commit.RevokeTimeout) {
		w.log.Error("revoke: loads still running after commit.revoke_timeout; their records stay uncommitted and the next owner replays them")
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := cl.CommitMarkedOffsets(cctx); err != nil {
		w.m.commits.WithLabelValues("error").Inc()
		w.log.Warn("commit on revoke failed", zap.Error(err))
	} else {
		w.m.commits.WithLabelValues("ok").Inc()
		w.committed.Add(1)
	}
	w.mu.Lock()
	for topic, ps := range revoked {
		for _, p := range ps {
			w.m.lag.DeleteLabelValues(topic, strconv.Itoa(int(p)))
			delete(w.parts[topic], p)
		}
	}
	w.mu.Unlock()
	w.log.Info("partitions revoked", zap.Any("partitions", revoked))
}

// onLost: the partitions already belong to another member, so nothing is
// committed; buffered rows still load (Primary Key loads are idempotent).
func (w *Worker) onLost(ctx context.Context, cl *kgo.Client, lost map[string][]int32) {
	w.mu.Lock()
	w.flushAll("revoke")
	w.mu.Unlock()
	w.drain(w.cfg.Commit.RevokeTimeout)
	w.log.Warn("partitions lost", zap.Any("partitions", lost))
}

func (w *Worker) fail(err error) {
	select {
	case w.fatal <- err:
	default:
	}
}

// tableState is one StarRocks table's batching and loading.
type tableState struct {
	w       *Worker
	def     *schema.Table
	opts    TableOptions
	deletes string // apply, skip, fail
	// skipTruncates counts and skips truncate events instead of rejecting them.
	skipTruncates bool
	pk            bool
	// versioned: changes are appended with a version and a deleted flag;
	// verSuffix is `"<version column>":` and delSuffix `,"<deleted column>":`.
	versioned            bool
	verSuffix, delSuffix []byte
	decs                 []*debezium.Decoder // one per decode lane
	cols                 []string            // full columns header
	name                 string
	o                    config.TableOptions
	// gen counts the table's schemas: a record decoded under an older one
	// is decoded again (see checkSchema). schemaRead is when checkSchema
	// last read the schema (zero at first: the schema the table started
	// with may have come from the catalog's cache, read before an ALTER
	// TABLE), unknown the fields already reported as having no column.
	gen        int
	schemaRead time.Time
	unknown    map[string]bool

	cur     *Batch // being filled; poll loop only (under w.mu)
	curKey  string // column set of cur ("" = full rows)
	scratch []byte

	qmu    sync.Mutex
	queue  []*Batch
	idleAt time.Time // when a batch of this table was last flushed by flushIdle
	notify chan struct{}
	failed atomic.Bool  // a batch failed for good: later batches must not mark
	last   atomic.Int64 // unix nanos of the last finished batch
}

func newTableState(w *Worker, def *schema.Table, o config.TableOptions) (*tableState, error) {
	t := &tableState{w: w, name: def.QualifiedName(), pk: def.Model == schema.ModelPrimaryKeys, o: o,
		notify: make(chan struct{}, 1), deletes: o.Deletes, versioned: o.Versioned(), skipTruncates: o.Truncates == "skip",
		opts: TableOptions{Format: o.Format, Headers: o.Headers, MergeCondition: o.MergeCondition, PartialUpdateMode: o.PartialUpdateMode}}
	if t.versioned && t.pk {
		return nil, fmt.Errorf("table %s: mapping.tables.%s.mode=versioned is for tables that cannot update in place; %s is a Primary Key table: use the default upsert mode", t.name, def.Name, t.name)
	}
	if err := t.useSchema(def); err != nil {
		return nil, err
	}
	if t.deletes == "" {
		t.deletes = "apply" // versioned: a delete is a row with the deleted flag
		if !t.pk && !t.versioned {
			t.deletes = "fail"
		}
	}
	t.last.Store(time.Now().UnixNano())
	return t, nil
}

// useSchema makes def the table's schema: its decoders (one per lane) and
// its columns header.
func (t *tableState) useSchema(def *schema.Table) error {
	dopts := t.w.decOpts
	dopts.OpColumn = t.pk
	if t.versioned {
		ver, del := t.o.VersionColumns()
		if err := versionColumns(def, ver, del); err != nil {
			return fmt.Errorf("table %s: mode versioned: %w", t.name, err)
		}
		dopts.Omit = []string{ver, del}
		verName, _ := json.Marshal(ver)
		delName, _ := json.Marshal(del)
		t.verSuffix = append(verName, ':')
		t.delSuffix = append(append([]byte{','}, delName...), ':')
	}
	decs := make([]*debezium.Decoder, len(t.w.lanes))
	for i := range decs {
		decs[i] = debezium.NewDecoder(def, dopts)
	}
	cols := make([]string, 0, len(def.Columns)+1)
	for _, c := range def.Columns {
		cols = append(cols, c.Name)
	}
	if t.pk {
		cols = append(cols, "__op")
	}
	t.def, t.decs, t.cols = def, decs, cols
	t.gen++
	return nil
}

// checkSchema is called for a record whose row has a field the table has no
// column for (unknown): a column may have been added with ALTER TABLE since
// the schema was read. At most once per starrocks.schema_refresh_interval
// per table it reads the schema again; when the columns changed, it closes
// the open batch (its rows keep the old columns header) and takes the new
// schema, and the records of this poll decoded under the old one are
// decoded again as the worker reaches them (see add). A field that still
// has no column is logged once per table and not loaded, as StarRocks
// ignores unknown keys. A change of the table's model or key stops the
// worker: a restart reads it from scratch.
func (t *tableState) checkSchema(ctx context.Context, r *kgo.Record, unknown string) error {
	w := t.w
	if every := w.cfg.StarRocks.SchemaRefreshInterval; every > 0 && time.Since(t.schemaRead) >= every {
		t.schemaRead = time.Now()
		if rf, ok := w.schemas.(interface{ Refresh(db, table string) }); ok {
			rf.Refresh(t.def.Database, t.def.Name)
		}
		def, err := w.schemas.Table(ctx, t.def.Database, t.def.Name)
		if err != nil {
			w.log.Warn("table schema not read again", zap.String("table", t.name), zap.Error(err))
		} else if added, removed := columnChanges(t.def, def); len(added) > 0 || len(removed) > 0 {
			if def.Model != t.def.Model || !slices.Equal(keyColumns(def), keyColumns(t.def)) {
				return fmt.Errorf("topic %s partition %d offset %d: table %s changed its model or key (%s %v → %s %v): restart starsink to load into the new table",
					r.Topic, r.Partition, r.Offset, t.name, t.def.Model, keyColumns(t.def), def.Model, keyColumns(def))
			}
			if t.cur != nil {
				t.flush("schema")
			}
			if err := t.useSchema(def); err != nil {
				return fmt.Errorf("topic %s partition %d offset %d: %w", r.Topic, r.Partition, r.Offset, err)
			}
			clear(t.unknown)
			w.log.Info("table schema changed", zap.String("table", t.name), zap.Strings("added", added), zap.Strings("removed", removed),
				zap.String("topic", r.Topic), zap.Int32("partition", r.Partition), zap.Int64("offset", r.Offset))
			return nil
		}
	}
	if !t.unknown[unknown] && len(t.unknown) < 100 {
		if t.unknown == nil {
			t.unknown = map[string]bool{}
		}
		t.unknown[unknown] = true
		w.log.Warn("field has no column in the table: not loaded", zap.String("table", t.name),
			zap.String("field", unknown), zap.String("topic", r.Topic), zap.Int32("partition", r.Partition), zap.Int64("offset", r.Offset))
	}
	return nil
}

// columnChanges lists the column names of b not in a, and of a not in b.
func columnChanges(a, b *schema.Table) (added, removed []string) {
	for _, c := range b.Columns {
		if a.Index(c.Name) < 0 {
			added = append(added, c.Name)
		}
	}
	for _, c := range a.Columns {
		if b.Index(c.Name) < 0 {
			removed = append(removed, c.Name)
		}
	}
	return added, removed
}

func keyColumns(t *schema.Table) []string {
	var ks []string
	for _, c := range t.Columns {
		if c.Key {
			ks = append(ks, c.Name)
		}
	}
	return ks
}

// versionColumns checks that a versioned table has its version column (an
// integer wide enough for a PostgreSQL LSN) and its deleted flag.
func versionColumns(def *schema.Table, ver, del string) error {
	var errs []error
	if i := def.Index(ver); i < 0 {
		errs = append(errs, fmt.Errorf("no column %s: add `%s BIGINT NOT NULL` (the change's source LSN; 0 for snapshot rows)", ver, ver))
	} else if k := def.Columns[i].Kind; k != schema.KindBigInt && k != schema.KindLargeInt {
		errs = append(errs, fmt.Errorf("column %s is %s: want BIGINT or LARGEINT", ver, def.Columns[i].Type))
	}
	if i := def.Index(del); i < 0 {
		errs = append(errs, fmt.Errorf("no column %s: add `%s BOOLEAN NOT NULL`", del, del))
	} else if k := def.Columns[i].Kind; k != schema.KindBoolean && k != schema.KindTinyInt && k != schema.KindSmallInt && k != schema.KindInt && k != schema.KindBigInt {
		errs = append(errs, fmt.Errorf("column %s is %s: want BOOLEAN or an integer", del, def.Columns[i].Type))
	}
	return errors.Join(errs...)
}

// version returns the version a change is stored with in the versioned
// mode: 0 for snapshot reads, which rank below every streamed change of
// their key, and the source LSN for streamed changes (per key it grows,
// since row locks serialise writers). docs/architecture.md has the
// argument and its limits.
func (t *tableState) version(r *kgo.Record, ev *debezium.Event) (int64, error) {
	switch {
	case ev.Snapshot:
		return 0, nil
	case ev.LSN > 0:
		return ev.LSN, nil
	}
	return 0, fmt.Errorf("topic %s partition %d offset %d: field source.lsn: the versioned mode of %s needs the change's LSN (raw Debezium envelopes carry it; with ExtractNewRecordState add it with add.fields=op,lsn)",
		r.Topic, r.Partition, r.Offset, t.name)
}

// addRow appends the row decoded from r (if its event has one) to the
// current batch. row is not kept.
func (t *tableState) addRow(r *kgo.Record, row []byte, ev debezium.Event) error {
	switch ev.Op {
	case debezium.OpSkip:
		t.skip(r, strings.ReplaceAll(ev.Reason, " ", "_"))
		return nil
	case debezium.OpTruncate:
		if t.skipTruncates {
			t.skip(r, "truncate")
			return nil
		}
		return t.w.reject(r, t, "transform", fmt.Errorf("topic %s partition %d offset %d: the source table was truncated; starsink does not truncate %s (truncate it by hand, then set mapping.tables.%s.truncates=skip to count and skip truncates, or add 't' to the connector's skipped.operations, its default, so that none are emitted)",
			r.Topic, r.Partition, r.Offset, t.name, t.def.Name))
	case debezium.OpDelete:
		if !t.pk && (!t.versioned || t.deletes != "apply") {
			if t.deletes == "skip" {
				t.skip(r, "delete_on_non_primary_key_table")
				return nil
			}
			return t.w.reject(r, t, "transform", fmt.Errorf("topic %s partition %d offset %d: delete on %s, a %s table: set mapping.tables.%s.deletes=skip to count and skip deletes, or mode=versioned to store changes as versioned rows",
				r.Topic, r.Partition, r.Offset, t.name, t.def.Model, t.def.Name))
		}
	}
	key := ""
	if len(ev.Unavailable) > 0 {
		if !t.pk {
			return t.w.reject(r, t, "transform", fmt.Errorf("topic %s partition %d offset %d: unchanged TOAST columns on %s, a %s table, cannot be loaded as a partial update: set REPLICA IDENTITY FULL on the source table",
				r.Topic, r.Partition, r.Offset, t.name, t.def.Model))
		}
		key = fmt.Sprint(ev.Unavailable)
	}
	if t.versioned {
		v, err := t.version(r, &ev)
		if err != nil {
			return t.w.reject(r, t, "transform", err)
		}
		t.scratch = t.appendVersion(append(t.scratch[:0], row...), v, ev.Op == debezium.OpDelete)
		row = t.scratch
	}
	if t.cur != nil && t.curKey != key {
		t.flush("columns")
	}
	b := t.batch(r)
	if key != "" && b.Rows == 0 {
		b.Partial = true
		b.Columns = b.Columns[:0]
		for i, c := range t.def.Columns {
			if !contains(ev.Unavailable, i) {
				b.Columns = append(b.Columns, c.Name)
			}
		}
		b.Columns = append(b.Columns, "__op")
	}
	t.curKey = key
	if b.Rows > 0 {
		b.body.writeByte(',')
	}
	b.body.write(row)
	b.Rows++
	if ev.Op == debezium.OpDelete && !t.versioned { // a versioned delete is an appended row
		b.Deletes++
	}
	if t.w.dlq != nil {
		b.keep(r)
	}
	t.charge(b)
	switch {
	case b.Rows >= t.w.cfg.Batch.MaxRows:
		t.flush("rows")
	case int64(b.body.Len()) >= t.w.cfg.Batch.MaxBytes:
		t.flush("bytes")
	}
	return nil
}

// appendVersion replaces the closing brace of row with the version and
// deleted columns.
func (t *tableState) appendVersion(row []byte, v int64, deleted bool) []byte {
	row = row[:len(row)-1]
	if row[len(row)-1] != '{' {
		row = append(row, ',')
	}
	row = append(row, t.verSuffix...)
	row = strconv.AppendInt(row, v, 10)
	row = append(row, t.delSuffix...)
	if deleted {
		row = append(row, "true}"...)
	} else {
		row = append(row, "false}"...)
	}
	return row
}

func contains(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// charge brings what b is charged to the budget up to the memory it holds:
// the capacity of its body's chunks and of its record copies, not their
// length. Charging only the rows let a 256 MiB budget hold 300 MiB of
// bodies.
func (t *tableState) charge(b *Batch) {
	n := int64(b.body.cap+cap(b.arena)) + b.held
	if d := n - b.bytes; d != 0 {
		t.w.buffered.Add(d)
		b.bytes = n
	}
}

// skip records r in the current batch without a row, so its offset is
// marked only after every earlier record of its partition is loaded.
func (t *tableState) skip(r *kgo.Record, reason string) {
	t.batch(r)
	t.w.skipped.Add(1)
	t.w.m.skipped.WithLabelValues(t.name, reason).Inc()
}

// batch returns the current batch with r's offset added to its ranges.
func (t *tableState) batch(r *kgo.Record) *Batch {
	b := t.cur
	if b == nil {
		b = getBatch()
		b.DB, b.Table, b.Options, b.opened = t.def.Database, t.def.Name, t.opts, time.Now()
		b.Columns = append(b.Columns[:0], t.cols...)
		b.body.writeByte('[')
		t.cur, t.curKey = b, ""
		t.charge(b)
	}
	for i := range b.Ranges {
		rg := &b.Ranges[i]
		if rg.Partition == r.Partition && rg.Topic == r.Topic {
			rg.Last = r.Offset
			return b
		}
	}
	b.Ranges = append(b.Ranges, streamload.OffsetRange{Topic: r.Topic, Partition: r.Partition, First: r.Offset, Last: r.Offset})
	return b
}

// flush closes the current batch and queues it for loading.
func (t *tableState) flush(reason string) {
	b := t.cur
	t.cur = nil
	b.body.writeByte(']')
	t.charge(b)
	b.reason = reason
	b.Label = streamload.Label(t.w.cfg.StarRocks.LabelPrefix, b.Table, b.Ranges)
	t.w.m.flushes.WithLabelValues(t.name, reason).Inc()
	t.w.outstanding.Add(1)
	t.qmu.Lock()
	t.queue = append(t.queue, b)
	t.qmu.Unlock()
	select {
	case t.notify <- struct{}{}:
	default:
	}
}

// run loads the table's batches one after another, for the worker's life.
func (t *tableState) run() {
	for {
		t.qmu.Lock()
		var b *Batch
		if len(t.queue) > 0 {
			b = t.queue[0]
		}
		t.qmu.Unlock()
		if b == nil {
			select {
			case <-t.notify:
				continue
			case <-t.w.loadCtx.Done():
				return
			}
		}
		t.load(b)
		t.qmu.Lock()
		t.queue = t.queue[1:]
		t.qmu.Unlock()
		t.w.buffered.Add(-b.bytes)
		putBatch(b)
		t.last.Store(time.Now().UnixNano())
		t.w.outstanding.Done()
	}
}

// load loads one batch and marks its offsets when it is in StarRocks.
func (t *tableState) load(b *Batch) {
	w := t.w
	if t.failed.Load() {
		return // an earlier batch failed for good: nothing after it may be marked
	}
	var err error
	start := time.Now()
	if b.Rows > 0 {
		w.sem <- struct{}{}
		err = w.loader.Load(w.loadCtx, b)
		<-w.sem
		w.m.loadDuration.WithLabelValues(t.name).Observe(time.Since(start).Seconds())
	}
	fields := []zap.Field{zap.String("table", t.name), zap.String("label", b.Label), zap.Int("rows", b.Rows),
		zap.Int("deletes", b.Deletes), zap.Int("bytes", b.body.Len()), zap.Duration("duration", time.Since(start)),
		zap.String("flush", b.reason), zap.Bool("partial", b.Partial), zap.Any("partitions", b.Ranges)}
	if err != nil {
		if w.loadCtx.Err() != nil {
			return // hard stop: the records stay uncommitted
		}
		w.m.batches.WithLabelValues(t.name, "failed").Inc()
		if w.dlq == nil {
			t.failed.Store(true)
			w.log.Error("batch failed", append(fields, zap.Error(err))...)
			w.fail(fmt.Errorf("load %s (label %s, %s): %w", t.name, b.Label, describeRanges(b.Ranges), err))
			return
		}
		for i := range b.kept {
			r := b.record(i)
			if derr := w.dlq.send(r, "load", err); derr != nil {
				t.failed.Store(true)
				w.fail(fmt.Errorf("load %s (label %s): %w; dead-letter topic failed too: %v", t.name, b.Label, err, derr))
				return
			}
			w.deadLettered.Add(1)
			w.m.deadLettered.WithLabelValues(r.Topic, "load").Inc()
		}
		w.m.batches.WithLabelValues(t.name, "dead_lettered").Inc()
		w.log.Warn("batch dead-lettered", append(fields, zap.Error(err))...)
	} else if b.Rows > 0 {
		w.m.batches.WithLabelValues(t.name, "loaded").Inc()
		w.m.rowsLoaded.WithLabelValues(t.name).Add(float64(b.Rows - b.Deletes))
		w.m.rowsDeleted.WithLabelValues(t.name).Add(float64(b.Deletes))
		w.m.loadBytes.WithLabelValues(t.name).Add(float64(b.body.Len()))
		w.rowsLoaded.Add(int64(b.Rows - b.Deletes))
		w.rowsDeleted.Add(int64(b.Deletes))
		w.batches.Add(1)
		w.log.Info("batch loaded", fields...)
	}
	offsets := make(map[string]map[int32]kgo.EpochOffset, 1)
	for _, rg := range b.Ranges {
		if offsets[rg.Topic] == nil {
			offsets[rg.Topic] = map[int32]kgo.EpochOffset{}
		}
		offsets[rg.Topic][rg.Partition] = kgo.EpochOffset{Epoch: -1, Offset: rg.Last + 1}
	}
	w.cl.MarkCommitOffsets(offsets)
}

func describeRanges(rs []streamload.OffsetRange) string {
	parts := make([]string, 0, len(rs))
	for _, r := range rs {
		parts = append(parts, fmt.Sprintf("%s[%d]@%d-%d", r.Topic, r.Partition, r.First, r.Last))
	}
	return strings.Join(parts, ", ")
}

var batchPool = sync.Pool{New: func() any { return &Batch{} }}

func getBatch() *Batch { return batchPool.Get().(*Batch) }

// putBatch returns a loaded batch to the pool, its body's chunks to theirs,
// and drops a large arena: a pooled buffer is memory the budget no longer
// counts (with 10 tables, one idle 16 MiB body per table was 160 MiB beyond
// batch.buffer_memory when each batch kept its own body). Chunks in their
// pools are taken by the next batches, and what stays idle there the
// garbage collector frees.
func putBatch(b *Batch) {
	b.body.release()
	arena := b.arena[:0]
	if cap(arena) > 1<<20 {
		arena = nil
	}
	clear(b.kept)
	*b = Batch{body: b.body, Columns: b.Columns[:0], Ranges: b.Ranges[:0], kept: b.kept[:0], arena: arena}
	batchPool.Put(b)
}
