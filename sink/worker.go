package sink

import (
	"context"
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
	"github.com/starsink/starsink/ddl"
	"github.com/starsink/starsink/debezium"
	"github.com/starsink/starsink/mapping"
	"github.com/starsink/starsink/schema"
	"github.com/starsink/starsink/status"
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
	// DDL runs mapping.create_tables and mapping.evolve statements
	// (default: ddl.OpenExecutor on starrocks.mysql_addr).
	DDL ddl.Executor
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
	skip       map[tp]bool         // partitions whose records this poll skips (applyRewinds)
	topicIDs   map[string][16]byte // Kafka topic IDs from the fetches or metadata (labels; topicid.go)
	// lookupIDs asks the brokers for topic IDs (metadataTopicIDs);
	// recreated holds the topics whose fetches fail with UNKNOWN_TOPIC_ID,
	// since when (topicid.go; under mu).
	lookupIDs func(context.Context, []string) (map[string][16]byte, error)
	recreated map[string]time.Time
	// topicCommitted reports whether the group has committed on a topic
	// (groupCommitted; the version epoch check, epoch.go).
	topicCommitted func(ctx context.Context, topic string) (bool, error)
	// epochDue holds the topics assigned since their last version epoch
	// check (epoch.go): it runs again before their next batch. Under mu.
	epochDue map[string]bool
	// lookupAfter: no topic ID lookup before then (one failed; topicid.go).
	lookupAfter time.Time
	parts       map[string]map[int32]struct{} // partitions fetched from, by topic (dropped on revoke)

	sem         chan struct{} // bounds tables loading at once
	loadCtx     context.Context
	cancelLoads context.CancelFunc
	own         *owner      // partitions owned (nil: all, without a consumer group)
	closing     atomic.Bool // shutdown is leaving the group (see onRevoked)
	stopping    atomic.Bool // shutdown has begun (see rewind)
	// rewinds are the partitions to read again, from these offsets, before
	// their next records (rewind, applyRewinds; under mu); setOffsets is
	// the client's SetOffsets.
	rewinds    map[string]map[int32]int64
	setOffsets func(map[string]map[int32]kgo.EpochOffset)
	// mark and commit are the client's MarkCommitOffsets and
	// CommitMarkedOffsets (see commit.go).
	mark     func(map[string]map[int32]kgo.EpochOffset)
	commit   func(context.Context) error
	buffered atomic.Int64
	fatal    chan error
	dlq      *dlq
	closers  []func()

	lanes     []lane    // decode lanes (decoder.workers); lane i uses each table's decs[i]
	recs      []decoded // one poll's records, reused
	redecoded []byte    // a row decoded again under a table's new schema (add)

	// ddl creates and evolves tables (nil: mapping.create_tables and
	// mapping.evolve are off; see ddl.go). fetched and pollCtx are the
	// poll being processed, ddlBy the deadline of its DDL.
	ddl     *ddl.Manager
	fetched kgo.Fetches
	pollCtx context.Context
	ddlBy   time.Time

	records, rowsLoaded, rowsDeleted, skipped, deadLettered, batches, committed, pausedParts atomic.Int64

	// Operations (status.go): the tracker of load outcomes and freshness,
	// the catch-up log; under pmu (taken after w.mu, never before, and
	// never holding another lock of the worker), the tables an operator
	// paused and the assigned partitions; under w.mu, the tables whose
	// record stopped the worker and what the last fetch of each partition
	// said.
	tracker    *status.Tracker // see track
	trackOnce  sync.Once
	progress   *status.Progress
	pmu        sync.Mutex
	userPaused map[string]bool
	assigned   map[string]map[int32]struct{}
	stoppedBy  map[string]bool
	positions  map[tp]fetchPos
	qualified  atomic.Pointer[map[string]string] // "db.table" by table name (retried)
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
	w.tracker = status.NewTracker(reg, nil)
	w.progress = status.NewProgress(log, 0, 0, nil)
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
			RetryFor: cfg.StarRocks.RetryFor, MaxRetries: cfg.StarRocks.MaxRetries, RetryBackoff: cfg.StarRocks.RetryBackoff, MaxRetryBackoff: cfg.StarRocks.MaxRetryBackoff,
			MaxConcurrentLoads: max(1, cfg.Batch.MaxConcurrentLoads),
			OnRetry: func(table string, attempt int, err error) {
				w.m.retries.WithLabelValues(table).Inc()
				w.retried(table)
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
		cat, err := streamload.NewCatalog(CatalogConfig(cfg), log.Named("catalog"))
		if err != nil {
			return nil, fmt.Errorf("sink: catalog: %w", err)
		}
		w.closers = append(w.closers, func() { cat.Close() })
		w.schemas = cat
	}
	if err := w.newDDL(deps.DDL, reg); err != nil {
		return nil, err
	}
	opts, err := kafkaOptions(cfg)
	if err != nil {
		return nil, err
	}
	opts = append(opts,
		kgo.BlockRebalanceOnPoll(),
		kgo.AutoCommitMarks(),
		kgo.AutoCommitInterval(cfg.Commit.Interval),
		kgo.OnPartitionsAssigned(w.onAssigned),
		kgo.OnPartitionsRevoked(w.onRevoked),
		kgo.OnPartitionsLost(w.onLost),
		kgo.WithLogger(kzap.New(log.Named("kafka"), kzap.Level(kgo.LogLevelWarn))),
		kgo.WithHooks(kprom.NewMetrics("starsink_kafka", kprom.Registerer(reg))),
		kgo.WithHooks(newRefusalWatch(cfg.Kafka, w.fail, log)),
	)
	opts = append(opts, deps.KafkaOpts...)
	w.own = newOwner() // before the client: it may join the group at once
	if w.cl, err = kgo.NewClient(opts...); err != nil {
		return nil, fmt.Errorf("sink: kafka client: %w", err)
	}
	w.mark, w.commit, w.setOffsets = w.cl.MarkCommitOffsets, w.cl.CommitMarkedOffsets, w.cl.SetOffsets
	w.topicCommitted = w.groupCommitted
	w.lookupIDs = metadataTopicIDs(w.cl)
	w.rewinds = map[string]map[int32]int64{}
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
	env, err := debezium.ParseEnvelope(c.Envelope)
	if err != nil {
		return debezium.Options{}, fmt.Errorf("decoder.envelope: %w", err)
	}
	dates, err := debezium.ParseOutOfRangeDates(c.OutOfRangeDates)
	if err != nil {
		return debezium.Options{}, fmt.Errorf("decoder.out_of_range_dates: %w", err)
	}
	return debezium.Options{Framing: fr, Envelope: env, FieldsPrefix: c.FieldsPrefix, OutOfRangeDates: dates, TimeZone: loc, Placeholder: c.Placeholder,
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
			if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) && !w.fetchErr(t, p, err) {
				w.log.Warn("fetch error", zap.String("topic", t), zap.Int32("partition", p), zap.Error(err))
			}
		})
		w.mu.Lock()
		w.skip = w.applyRewinds()
		perr := w.process(ctx, fetches)
		w.flushAged()
		if fetches.NumRecords() == 0 && w.cfg.Batch.IdleFlush {
			w.flushIdle()
		}
		w.budget()
		w.pollDone()
		w.mu.Unlock()
		w.cl.AllowRebalance()
		if perr != nil {
			if ctx.Err() == nil || !errors.Is(perr, context.Canceled) && !errors.Is(perr, context.DeadlineExceeded) {
				runErr = perr
			}
			break
		}
	}
	return w.shutdown(runErr)
}

// shutdown flushes what is buffered, waits for loads within the grace
// period, fences what still runs (cancelled and settled: see owner.go),
// commits what is marked and leaves the group.
func (w *Worker) shutdown(runErr error) error {
	start := time.Now()
	grace := w.cfg.Shutdown.GracePeriod
	w.stopping.Store(true)
	w.mu.Lock()
	w.flushAll("shutdown")
	tables := w.tablesOf(nil)
	w.mu.Unlock()
	clean := w.waitIdle(tables, start.Add(grace))
	if !clean {
		w.log.Error("shutdown: loads still running after the grace period: cancelling and settling them; what did not land stays uncommitted", zap.Duration("grace_period", grace))
		w.fence(tables, nil, time.Now().Add(w.cfg.Kafka.RebalanceTimeout))
	}
	select {
	case err := <-w.fatal:
		if runErr == nil {
			runErr = err
		}
	default:
	}
	cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	if err := w.commitMarked(cctx); err != nil {
		// The partitions' next owner reads again from the last commit, as
		// after any revoke: nothing is lost, and the stop is clean when the
		// group moved on while this member was leaving, or the commit could
		// not be made in time (franz-go holds commits while the group joins
		// and syncs; a coordinator that does not answer looks the same).
		switch {
		case lostGroup(err):
			w.log.Warn("final commit refused: the group rebalanced while this member was leaving; the next owner reads again from the last commit", zap.Error(err))
		case errors.Is(err, context.DeadlineExceeded):
			w.log.Warn("final commit not made within 10s: the group is rebalancing or its coordinator does not answer; the next owner reads again from the last commit", zap.Error(err))
		default:
			w.log.Error("final commit failed", zap.Error(err))
			if runErr == nil {
				runErr = fmt.Errorf("sink: final commit: %w", err)
			}
		}
	}
	cancel()
	w.closing.Store(true)
	if w.cl != nil {
		w.cl.Close() // leaves the group
	}
	w.cancelLoads()
	st := w.Stats()
	w.log.Info("worker stopped", zap.Int64("records", st.Records), zap.Int64("rows_loaded", st.RowsLoaded),
		zap.Int64("rows_deleted", st.RowsDeleted), zap.Int64("dead_lettered", st.DeadLettered), zap.Bool("clean", clean && runErr == nil))
	if runErr == nil && !clean {
		runErr = fmt.Errorf("%w: loads did not finish within shutdown.grace_period", ErrUnfinishedAtShutdown)
	}
	return runErr
}

// process decodes every fetched record (decoder.workers lanes side by side,
// see decode.go), then routes the rows to their tables' batches in fetch
// order. It stops at the first record that can be neither loaded nor
// dead-lettered.
func (w *Worker) process(ctx context.Context, fetches kgo.Fetches) error {
	recs := w.recs[:0]
	w.fetched, w.pollCtx, w.ddlBy = fetches, ctx, time.Time{}
	defer func() {
		clear(recs) // no record outlives its poll here
		w.recs = recs[:0]
		w.fetched, w.pollCtx = nil, nil
		clear(w.prefetched)
		w.release()
	}()
	w.prefetchSchemas(ctx, fetches)
	// The topic's ID goes into the labels of its batches: offsets are
	// unique only within one incarnation of a topic (deleted and
	// re-created, or a migrated cluster, gives them to other rows). Zero:
	// the brokers have none (Kafka before 3.1).
	w.noteTopicIDs(ctx, fetches)
	fetches.EachPartition(func(p kgo.FetchTopicPartition) {
		if len(p.Records) == 0 {
			return
		}
		if w.own.gen(p.Topic, p.Partition) == 0 || w.skip[tp{p.Topic, p.Partition}] {
			// Fetched before the partition was revoked or lost (its
			// records are the next owner's to load, and must not join a
			// batch with the partitions this member keeps), or before it
			// was rewound (applyRewinds: they come again).
			return
		}
		last := p.Records[len(p.Records)-1]
		lag := max(0, p.HighWatermark-last.Offset-1)
		w.m.lag.WithLabelValues(p.Topic, strconv.Itoa(int(p.Partition))).Set(float64(lag))
		w.fetchedAt(&p, lag)
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
		err := fmt.Errorf("topic %s partition %d offset %d: %w", r.Topic, r.Partition, r.Offset, d.err)
		var um *mapping.UnmappedError
		if !errors.As(d.err, &um) {
			// The table's schema could not be read (the catalog is
			// unreachable, the table is missing, or the worker is stopping):
			// not the record's fault, so never dead-lettered; the worker
			// stops without committing it (a shutdown stays clean).
			return &stopError{err}
		}
		return w.reject(r, nil, "mapping", err)
	}
	t := d.t
	if d.err != nil {
		// mapping.evolve: a value out of its column's range may come from
		// a widened source type; once the table is evolved, the record is
		// decoded again (below), once.
		again := false
		if errors.Is(d.err, debezium.ErrRange) && w.evolving() {
			var err error
			if again, err = t.evolveRange(r, d.gen); err != nil {
				return err
			}
		}
		if !again {
			return w.reject(r, t, "decode", d.err)
		}
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
		if err != nil && errors.Is(err, debezium.ErrRange) && w.evolving() {
			// Out of range under a schema the table was not evolved
			// for: evolve (at most once per table and record schema).
			again, eerr := t.evolveRange(r, d.gen)
			if eerr != nil {
				return &evolveError{eerr}
			}
			if again {
				row, ev, err = t.decs[0].Decode(&rec, w.redecoded[:0])
				w.redecoded, d.gen = row, t.gen
			}
		}
		return err
	}
	if d.gen != t.gen {
		if err := redecode(); err != nil {
			return w.rejectDecode(r, t, err)
		}
	}
	if ev.Unknown != "" {
		if err := t.checkSchema(w.loadCtx, r, ev.Unknown); err != nil {
			return err
		}
		if d.gen != t.gen {
			if err := redecode(); err != nil {
				return w.rejectDecode(r, t, err)
			}
		}
	}
	if t.rawTombstone(r, &ev) {
		ev = debezium.Event{Op: debezium.OpSkip, Reason: debezium.ReasonTombstone}
		row = nil
	}
	return t.addRow(r, row, ev)
}

// stopError is an error that stops the worker whatever errors.tolerance
// says: it is not the record's fault.
type stopError struct{ err error }

func (e *stopError) Error() string { return e.err.Error() }
func (e *stopError) Unwrap() error { return e.err }

// reject dead-letters a record (errors.tolerance=all) or returns the error
// that stops the worker. t, when known, keeps the record's place in its
// partition's order.
func (w *Worker) reject(r *kgo.Record, t *tableState, stage string, err error) error {
	if w.dlq == nil {
		if t != nil {
			w.tableFailed(t, recordError(r, err))
		}
		return err
	}
	if derr := w.dlq.send(r, stage, err); derr != nil {
		err = fmt.Errorf("%w (and the dead-letter topic failed: %v)", err, derr)
		if t != nil {
			w.tableFailed(t, recordError(r, err))
		}
		return err
	}
	if t != nil {
		w.track().DeadLettered(t.name, 1, recordError(r, err))
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
	t := w.topics[topic]
	due := w.epochDue[topic]
	if t == nil {
		var err error
		if t, err = w.resolveTable(ctx, topic); err != nil {
			return nil, err
		}
		due = true
	}
	if due && t.byOffset && t.verCol != "" {
		// Before the topic's first batch, and after each assignment of it
		// (epoch.go).
		if err := w.checkEpoch(ctx, t, topic); err != nil {
			return nil, err
		}
	}
	if due {
		delete(w.epochDue, topic)
		w.topics[topic] = t
	}
	return t, nil
}

// resolveTable maps a topic to its table's state, reading (or creating)
// the table and starting its loader the first time the table is met.
func (w *Worker) resolveTable(ctx context.Context, topic string) (*tableState, error) {
	target, err := w.mapper.Resolve(topic)
	if err != nil {
		return nil, err
	}
	key := target.Database + "." + target.Table
	if t := w.tables[key]; t != nil {
		return t, nil
	}
	def, ok := w.prefetched[key]
	if !ok {
		def, err = w.schemas.Table(ctx, target.Database, target.Table)
		if err != nil && isTableNotFound(err) {
			def, err = w.createTable(topic, target, err)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("table %s: %w", key, err)
	}
	t, err := newTableState(w, def, target.Options)
	if err != nil {
		return nil, err
	}
	w.tables[key] = t
	go t.run()
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
	if n >= limit {
		// The budget counts the memory batches hold (chunk capacity), while
		// batch.max_bytes counts body length: open batches can fill the
		// budget with none due to flush, and fetching would stay paused
		// with nothing loading until batch.max_age. Flushing them starts
		// the loads that free the memory.
		for _, t := range w.tables {
			if t.cur != nil {
				t.flush("budget")
			}
		}
	}
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

func (w *Worker) fail(err error) {
	select {
	case w.fatal <- err:
	default:
	}
}

// CatalogConfig is the configuration of the MySQL-protocol catalog that
// reads StarRocks table schemas (and, for the checks that need them, rows).
func CatalogConfig(cfg *config.Config) streamload.CatalogConfig {
	return streamload.CatalogConfig{Addr: cfg.StarRocks.MySQLAddress(), User: cfg.StarRocks.User,
		Password: cfg.StarRocks.Password.Value(), TTL: cfg.StarRocks.SchemaTTL, Timeout: cfg.StarRocks.ConnectTimeout}
}
