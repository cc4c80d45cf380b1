package sink

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"

	"github.com/starsink/starsink/config"
	"github.com/starsink/starsink/debezium"
	"github.com/starsink/starsink/emulator"
	"github.com/starsink/starsink/sink/internal/chaos"
	"github.com/starsink/starsink/streamload"
)

// The fault-schedule test (docs/architecture.md, "Fault-schedule testing").
// `go test -run TestChaos ./sink/` runs -chaos.seeds seeds from 1, each with
// the version guard on and off; -chaos.seed=N runs one seed; -chaos.guard
// picks one mode. `make chaos SEEDS=N` runs more.
var (
	chaosSeed    = flag.Int64("chaos.seed", 0, "run only this fault-schedule seed")
	chaosSeeds   = flag.Int("chaos.seeds", 3, "fault-schedule seeds to run, from chaos.first")
	chaosFirst   = flag.Int64("chaos.first", 1, "first fault-schedule seed")
	chaosGuard   = flag.String("chaos.guard", "both", "version guard mode: on, off or both")
	chaosVerbose = flag.Bool("chaos.v", false, "log the workers' warnings")
	chaosKnown   = flag.Bool("chaos.known", false, "fail on known, named worker bugs instead of skipping the schedule")
	// The topics hold raw Debezium envelopes, and the members say so, as
	// docs/configuration.md asks users to; auto runs the schedules with
	// the decoder guessing (see bugTombstoneFirst).
	chaosEnvelope = flag.String("chaos.envelope", "raw", "decoder.envelope of the members: raw or auto")
	// Schedules mostly wait (sessions, slow loads, frozen members): side
	// by side they take little more CPU than one after another.
	chaosParallel = flag.Bool("chaos.parallel", false, "run the schedules side by side (as many as -test.parallel)")
	// The version guard's versions: source positions (the generator's
	// LSNs) or Kafka offsets (mapping.version_from kafka_offset; the checks
	// map each stored version back to the LSN of the record it names).
	chaosVersion = flag.String("chaos.version", "source", "with the guard on, versions from source positions (source) or Kafka offsets (offset)")
)

// Timings of a schedule: short, so that many schedules fit in a CI run,
// with every fault longer than the timeout it is meant to outlast.
const (
	chaosSession   = time.Second            // kafka.session_timeout
	chaosRevoke    = 300 * time.Millisecond // commit.revoke_timeout
	chaosGrace     = 500 * time.Millisecond // shutdown.grace_period
	chaosSlow      = 900 * time.Millisecond // a slow load's wait: past both
	chaosFrozen    = 2500 * time.Millisecond
	chaosConverge  = 60 * time.Second
	chaosGroup     = "starsink-chaos"
	chaosDatabase  = "chaos"
	chaosPerChange = 4 * time.Millisecond // pause between source changes
)

func TestChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("fault schedules take seconds each")
	}
	seeds := []int64{*chaosSeed}
	if *chaosSeed == 0 {
		seeds = seeds[:0]
		for i := range *chaosSeeds {
			seeds = append(seeds, *chaosFirst+int64(i))
		}
	}
	var modes []bool
	switch *chaosGuard {
	case "on":
		modes = []bool{true}
	case "off":
		modes = []bool{false}
	default:
		modes = []bool{true, false}
	}
	for _, seed := range seeds {
		for _, guard := range modes {
			s := chaos.NewSchedule(seed, chaos.Options{Guard: guard})
			t.Run(fmt.Sprintf("seed=%d/guard=%s", seed, onOff(guard)), func(t *testing.T) {
				if *chaosParallel {
					t.Parallel()
				}
				runSchedule(t, s)
			})
		}
	}
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// chaosRun is one schedule being run: kfake, the emulator behind a proxy,
// the model, the members, and the violations found.
type chaosRun struct {
	t       *testing.T
	s       chaos.Schedule
	cluster *kfake.Cluster
	emu     *emulator.Server
	proxy   *beProxy
	model   *chaos.Model
	prod    *kgo.Client
	cfg     config.Config

	mu         sync.Mutex
	violations []string          // failures of checks (a), (b), (c)
	tolerated  []string          // what this mode allows (see check)
	cut        map[string]string // member ID → "kill" or "freeze"
	members    []*chaosMember
	next       int                 // members started
	commits    int                 // commits checked
	known      map[string][]string // failures by known bug
	ending     bool                // the members are being stopped: none is restarted
	sentBy     sync.Map            // label → the members that sent it
	// evicted: a member neither killed nor frozen lost its partitions (its
	// heartbeats starved past kafka.session_timeout, as under a loaded
	// machine): an unplanned freeze, judged as one.
	evicted bool
	pending []func() // findings judged after the schedule (judgeLater)
	// epochs maps, per table, each version epoch given to it to the
	// incarnation of its topic it was given for (version_from kafka_offset).
	epochs map[int]map[int64]int
	// epochReplay: a table got a new epoch for the incarnation it was
	// loaded from (after an EpochError; see newEpoch).
	epochReplay bool
}

// chaosMember is one worker of the group.
type chaosMember struct {
	name    string
	w       *Worker
	loader  *faultLoader
	cancel  context.CancelFunc
	done    chan error
	state   string // running, leaving, killed, frozen
	mayFail bool   // its Run may end with an error (killed, slow at shutdown, frozen)
	// early: it left while faults were being injected: loads retried
	// through a fault window may outlast shutdown.grace_period, and Run
	// then says so (docs/architecture.md, Shutdown).
	early bool
	// slowed: its loads were made slow; one may still wait when it shuts
	// down, past shutdown.grace_period (ErrUnfinishedAtShutdown).
	slowed bool
	err    error
}

func runSchedule(t *testing.T, s chaos.Schedule) {
	r := &chaosRun{t: t, s: s, model: chaos.NewModel(chaos.Tables()), cut: map[string]string{}}
	r.setup()
	defer r.teardown()
	r.play()
	r.settle()
	r.report()
}

// Known worker bugs, named: a schedule whose only failures are these is
// skipped with the bug's name (failed with -chaos.known), so that CI stays
// green until the fix lands and the seed keeps reproducing it.
const (
	bugRewind = "rewind: a member frozen past its session marks the offsets of its late loads after its partitions were lost, " +
		"and commits them in its next generation over the new owner's commits"
	bugResurrect = "resurrect: with the version guard on, a member frozen past its session and then released loads an upsert it held " +
		"after the new owner loaded that key's delete, and the key comes back with an older image for good " +
		"(a deleted key leaves no version for merge_condition to compare with)"
	bugLateDelete = "late-delete: with the version guard on, a member frozen (or evicted) past its session loads, after the new owner loaded newer images of a key, " +
		"a batch holding that key's delete: deletes are unconditional in StarRocks, so the key is removed, or removed and given an older image by the rest of the batch, " +
		"until it changes again (the versioned mode has no such gap)"
	bugTombstoneFirst = "tombstone-first: with decoder.envelope=auto and the version guard, a member whose committed offset points at a delete's " +
		"tombstone, with no change event of the table in that poll or before, takes it for an unwrapped delete without a source position, and stops " +
		"(the fix, as its error says: decoder.envelope=raw, the schedules' default)"
)

// failKnown records a failure caused by a named known bug.
func (r *chaosRun) failKnown(bug, format string, args ...any) {
	r.mu.Lock()
	if r.known == nil {
		r.known = map[string][]string{}
	}
	r.known[bug] = append(r.known[bug], fmt.Sprintf(format, args...))
	r.mu.Unlock()
}

func (r *chaosRun) fail(format string, args ...any) {
	r.mu.Lock()
	r.violations = append(r.violations, fmt.Sprintf(format, args...))
	r.mu.Unlock()
}

// finding judges one finding of check (c) by the schedule. Without the
// version guard, a schedule whose faults make the next owner replay records
// already loaded (Schedule.Replays) re-applies older images for a while:
// at-least-once delivery does that, and the guard is what stops it. With
// the guard, such a replay can still bring a deleted key back with an old
// image, or delete a newer one, for a while: deletes are not conditional.
// A phantom image is always a failure.
func (r *chaosRun) finding(k chaos.Kind, err error) {
	r.judgeLater(func() { r.judgeFinding(k, err) })
}

// judgeLater keeps a finding to be judged after the schedule: whether a
// member was evicted unplanned (frozen) is known only once it learns it
// lost its partitions, which can be after its late load was found.
func (r *chaosRun) judgeLater(f func()) {
	r.mu.Lock()
	r.pending = append(r.pending, f)
	r.mu.Unlock()
}

func (r *chaosRun) judgeFinding(k chaos.Kind, err error) {
	switch {
	case k == chaos.Phantom:
	case r.epochReplayed():
		r.tolerate("(c) %v", err)
		return
	case !r.s.Replays() && !r.frozen():
	case !r.s.Guard, k == chaos.DeleteOrder:
		r.tolerate("(c) %v", err)
		return
	}
	r.fail("(c) %v", err)
}

// commitViolation judges a failure of check (b). Without the guard, a
// frozen member released after its partitions moved can overwrite what the
// new owner loaded and committed; with it, such a member can still bring a
// deleted key back (bugResurrect).
func (r *chaosRun) commitViolation(err error, resurrected bool) {
	r.judgeLater(func() { r.judgeCommit(err, resurrected) })
}

func (r *chaosRun) judgeCommit(err error, resurrected bool) {
	switch {
	case r.frozen() && !r.s.Guard:
		r.tolerate("(b) %v", err)
	case r.frozen() && resurrected:
		r.failKnown(bugResurrect, "(b) %v", err)
	case r.frozen() && r.proxy.deletedAll(err.Error()):
		r.failKnown(bugLateDelete, "(b) %v", err)
	default:
		r.fail("(b) %v", err)
	}
}

// revertsAccepted reports whether the final differences of a table are
// all what a released frozen member may leave: any older state of a key
// without the guard (tolerated), deleted keys come back with an older image
// with it (bugResurrect).
func (r *chaosRun) revertsAccepted(diffs, reverted, resurrected int) bool {
	if diffs == 0 || !r.frozen() {
		return diffs == 0
	}
	if r.s.Guard {
		return resurrected == diffs
	}
	return reverted == diffs
}

// lateDeletes reports whether every difference of a table (with the
// guard, a member frozen or evicted) is a key a delete was loaded for
// (bugLateDelete).
func (r *chaosRun) lateDeletes(diffs []string) bool {
	return r.s.Guard && r.frozen() && len(diffs) > 0 && r.proxy.deletedAll(strings.Join(diffs, "\n"))
}

// frozen reports whether a member may have had a load land after its
// partitions moved: frozen past its session by the schedule, evicted
// unplanned, or killed with a load on the wire (a killed process's last
// request still reaches StarRocks, as after a SIGKILL).
func (r *chaosRun) frozen() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.s.Has(chaos.Freeze) || r.s.Has(chaos.Kill) || r.evicted
}

// lostWatch is a log core that calls onLost when the worker logs that its
// partitions were lost.
type lostWatch struct {
	zapcore.LevelEnabler
	onLost func()
}

func (w lostWatch) With([]zapcore.Field) zapcore.Core { return w }
func (w lostWatch) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if w.Enabled(e.Level) {
		return ce.AddCore(e, w)
	}
	return ce
}
func (w lostWatch) Write(e zapcore.Entry, _ []zapcore.Field) error {
	if strings.HasPrefix(e.Message, "partitions lost") {
		w.onLost()
	}
	return nil
}
func (w lostWatch) Sync() error { return nil }

func (r *chaosRun) tolerate(format string, args ...any) {
	r.mu.Lock()
	r.tolerated = append(r.tolerated, fmt.Sprintf(format, args...))
	r.mu.Unlock()
}

func (r *chaosRun) setup() {
	t := r.t
	var topics []string
	for _, tb := range r.model.Tables {
		topics = append(topics, tb.Topic)
	}
	var err error
	r.cluster, err = kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(r.s.Partitions, topics...),
		kfake.GroupMinSessionTimeout(200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	r.emu, err = emulator.Start(emulator.Config{NoMySQL: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := r.emu.Exec(ctx, "CREATE DATABASE "+chaosDatabase+"; USE "+chaosDatabase); err != nil {
		t.Fatal(err)
	}
	for _, tb := range r.model.Tables {
		if err := r.emu.Exec(ctx, tb.DDL); err != nil {
			t.Fatal(err)
		}
	}
	r.proxy = newBEProxy(r, r.emu)
	r.controls()

	cfg := config.Default()
	cfg.Kafka.Brokers = r.cluster.ListenAddrs()
	cfg.Kafka.Topics = topics
	cfg.Kafka.GroupID = chaosGroup
	cfg.Kafka.SessionTimeout = chaosSession
	cfg.Kafka.RebalanceTimeout = 3 * time.Second
	cfg.StarRocks.LoadURLs = []string{r.emu.FEURL()}
	cfg.StarRocks.Database = chaosDatabase
	cfg.Mapping.Template = "{table}"
	cfg.Batch.MaxAge = 20 * time.Millisecond
	cfg.Batch.MaxRows = 60
	cfg.HTTP.Addr = ""
	cfg.Commit.Interval = 100 * time.Millisecond
	cfg.Commit.RevokeTimeout = chaosRevoke
	cfg.Shutdown.GracePeriod = chaosGrace
	cfg.Decoder.Envelope = *chaosEnvelope
	if r.s.Guard {
		// The version guard: starsink fills seq with the change's version
		// (the LSN, 0 for snapshot rows: what the generator wrote there)
		// and loads with merge_condition on it.
		cfg.Mapping.VersionColumn = "seq"
		if *chaosVersion == "offset" {
			// Versions from Kafka offsets; a re-created topic gets its
			// table a new epoch (recreate), as docs/operations.md asks.
			cfg.Mapping.VersionFrom = config.VersionFromOffset
			cfg.Mapping.Tables = map[string]config.TableOptions{}
		}
	}
	r.cfg = cfg
	r.prod = r.newProducer()
	for range r.s.Members {
		r.join()
	}
}

func (r *chaosRun) teardown() {
	r.mu.Lock()
	r.ending = true
	ms := slices.Clone(r.members)
	r.mu.Unlock()
	for _, m := range ms {
		m.loader.release()
		m.cancel()
	}
	for _, m := range ms {
		select {
		case <-m.done:
		case <-time.After(60 * time.Second):
			r.t.Errorf("member %s did not stop", m.name)
		}
	}
	r.prod.Close()
	r.proxy.srv.Close()
	r.emu.Close()
	r.cluster.Close()
}

// controls installs the kfake hooks: every OffsetCommit is checked before
// the broker applies it (check b), and the requests of members cut off (a
// kill, a freeze) are refused or answered without effect.
func (r *chaosRun) controls() {
	errCut := errors.New("chaos: member cut off")
	member := func(req kmsg.Request) string {
		switch q := req.(type) {
		case *kmsg.HeartbeatRequest:
			return q.MemberID
		case *kmsg.JoinGroupRequest:
			return q.MemberID
		case *kmsg.SyncGroupRequest:
			return q.MemberID
		case *kmsg.LeaveGroupRequest:
			if len(q.Members) > 0 {
				return q.Members[0].MemberID
			}
			return q.MemberID
		case *kmsg.OffsetCommitRequest:
			return q.MemberID
		}
		return ""
	}
	for _, key := range []kmsg.Key{kmsg.Heartbeat, kmsg.JoinGroup, kmsg.SyncGroup, kmsg.LeaveGroup, kmsg.OffsetCommit} {
		r.cluster.ControlKey(int16(key), func(req kmsg.Request) (kmsg.Response, error, bool) {
			r.cluster.KeepControl()
			id := member(req)
			r.mu.Lock()
			how := r.cut[id]
			r.mu.Unlock()
			switch {
			case id != "" && how == "kill" && key == kmsg.LeaveGroup:
				// A killed process sends no leave; answer its client so its
				// shutdown ends, without the broker removing it.
				return req.ResponseKind(), nil, true
			case id != "" && how == "kill" && key == kmsg.OffsetCommit:
				resp := req.ResponseKind().(*kmsg.OffsetCommitResponse)
				for _, rt := range req.(*kmsg.OffsetCommitRequest).Topics {
					st := kmsg.OffsetCommitResponseTopic{Topic: rt.Topic, TopicID: rt.TopicID}
					for _, p := range rt.Partitions {
						st.Partitions = append(st.Partitions, kmsg.OffsetCommitResponseTopicPartition{Partition: p.Partition, ErrorCode: kerr.UnknownMemberID.Code})
					}
					resp.Topics = append(resp.Topics, st)
				}
				return resp, nil, true
			case id != "" && how != "":
				return nil, errCut, true // the connection closes: nothing arrives
			case key == kmsg.OffsetCommit:
				r.checkCommit(req.(*kmsg.OffsetCommitRequest))
			}
			return nil, nil, false
		})
	}
}

// checkCommit is check (b), run on the broker's goroutine before it applies
// the commit: every record before each committed offset is in the target.
// A commit the broker will refuse (an old generation, a member it no
// longer knows) is not checked.
func (r *chaosRun) checkCommit(req *kmsg.OffsetCommitRequest) {
	gi := r.cluster.GroupInfo(req.Group)
	if gi == nil || gi.Epoch != req.Generation || !slices.ContainsFunc(gi.Members, func(m kfake.GroupMember) bool { return m.MemberID == req.MemberID }) {
		return
	}
	snap := map[int]chaos.Target{}
	target := func(ti int) chaos.Target {
		if tg, ok := snap[ti]; ok {
			return tg
		}
		tb := r.model.Tables[ti]
		rows, err := r.emu.Rows(chaosDatabase, tb.Name)
		if err != nil {
			r.fail("read %s: %v", tb.Name, err)
		}
		snap[ti] = r.target(ti, rows)
		return snap[ti]
	}
	for _, rt := range req.Topics {
		topic := rt.Topic
		if req.Version >= 10 {
			ti := r.cluster.TopicIDInfo(rt.TopicID)
			if ti == nil {
				continue // an old incarnation: the broker refuses it
			}
			topic = ti.Topic
		} else if r.cluster.TopicInfo(topic) == nil {
			continue
		}
		for _, p := range rt.Partitions {
			if owner := ownerOf(gi, topic, p.Partition); owner != "" && owner != req.MemberID {
				r.failKnown(bugRewind, "(b) member %s generation %d commits %s[%d]@%d, which the group assigned to %s: it rewinds that member's commits",
					memberName(gi, req.MemberID), req.Generation, topic, p.Partition, p.Offset, memberName(gi, owner))
			}
			if resurrected, err := r.model.CheckCommit(chaos.TP{Topic: topic, Partition: p.Partition}, p.Offset, target); err != nil {
				r.commitViolation(fmt.Errorf("member %s generation %d: %w%s", memberName(gi, req.MemberID), req.Generation, err, r.proxy.histories(err.Error())), resurrected)
			}
		}
	}
	r.mu.Lock()
	r.commits++
	r.mu.Unlock()
}

// ownerOf returns the member the group's current generation assigned a
// partition to ("" when none: in a cooperative rebalance a revoked
// partition belongs to no one for a generation).
func ownerOf(gi *kfake.GroupInfo, topic string, p int32) string {
	for _, m := range gi.Members {
		if slices.Contains(m.Assignment[topic], p) {
			return m.MemberID
		}
	}
	return ""
}

func memberName(gi *kfake.GroupInfo, id string) string {
	for _, m := range gi.Members {
		if m.MemberID == id {
			return m.ClientID
		}
	}
	return id
}

// join starts a new member.
func (r *chaosRun) join() {
	r.mu.Lock()
	name := fmt.Sprintf("m%d", r.next)
	r.next++
	cfg := r.cfg
	r.mu.Unlock()
	cfg.Kafka.ClientID = name
	level := zap.FatalLevel
	if *chaosVerbose {
		level = zap.WarnLevel
	}
	var m *chaosMember
	watch := lostWatch{LevelEnabler: zap.WarnLevel, onLost: func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		if m != nil && (m.state == "running" || m.state == "leaving") {
			r.evicted = true
		}
	}}
	log := zap.New(zapcore.NewTee(zaptest.NewLogger(r.t, zaptest.Level(level)).Core(), watch)).Named(name)
	be, _ := url.Parse(r.emu.BEURL())
	client, err := streamload.New(streamload.Config{
		FEURLs: cfg.StarRocks.LoadURLs, User: "root",
		BEHostRewrite: map[string]string{be.Host: r.proxy.addr},
		MaxRetries:    40, RetryBackoff: 5 * time.Millisecond, MaxRetryBackoff: 40 * time.Millisecond,
		LabelPollInterval: 20 * time.Millisecond,
	}, log.Named("streamload"))
	if err != nil {
		r.t.Fatal(err)
	}
	fl := &faultLoader{inner: &StreamLoader{Client: client}, name: name, sent: &r.sentBy}
	w, err := New(&cfg, Deps{Loader: fl, Schemas: emuSchemas{r.emu},
		KafkaOpts: []kgo.Opt{kgo.HeartbeatInterval(100 * time.Millisecond)}}, log)
	if err != nil {
		r.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.mu.Lock()
	m = &chaosMember{name: name, w: w, loader: fl, cancel: cancel, done: make(chan error, 1), state: "running"}
	r.mu.Unlock()
	go func() {
		err := w.Run(ctx)
		client.Close()
		m.err = err
		// A worker stops on a re-created topic (TopicRecreatedError) for
		// its supervisor to start it again with a new client: so does
		// the schedule, as a container's restart policy would.
		var recreated *TopicRecreatedError
		var epochErr *EpochError
		restart := false
		switch {
		case errors.As(err, &epochErr):
			// A member that loaded rows and was killed before its first
			// commit leaves versions of this epoch and no committed
			// offset: the next one stops, naming the epoch to set. So
			// does the operator.
			for ti, tb := range r.model.Tables {
				if epochErr.Table == chaosDatabase+"."+tb.Name {
					r.newEpoch(ti, epochErr.Stored)
				}
			}
			fallthrough
		case errors.As(err, &recreated):
			r.mu.Lock()
			m.mayFail, m.state = true, "restarted"
			restart = !r.ending
			r.mu.Unlock()
		}
		if restart {
			r.join() // before done closes: the schedule never sees no member alive in between
		}
		close(m.done)
	}()
	r.mu.Lock()
	r.members = append(r.members, m)
	r.mu.Unlock()
}

// pick returns the i-th running member (modulo their number), or nil.
func (r *chaosRun) pick(i int) *chaosMember {
	r.mu.Lock()
	defer r.mu.Unlock()
	var running []*chaosMember
	for _, m := range r.members {
		if m.state == "running" {
			running = append(running, m)
		}
	}
	if len(running) == 0 {
		return nil
	}
	return running[i%len(running)]
}

// memberID returns the group member ID of a member's client ("" before
// it joined).
func (r *chaosRun) memberID(m *chaosMember) string {
	gi := r.cluster.GroupInfo(chaosGroup)
	if gi == nil {
		return ""
	}
	for _, gm := range gi.Members {
		if gm.ClientID == m.name {
			return gm.MemberID
		}
	}
	return ""
}

// play produces the schedule's changes and injects its faults on the way.
func (r *chaosRun) play() {
	g := chaos.NewGenerator(r.s.Seed, r.model.Tables, r.s.Partitions)
	r.produce(g.Snapshot(r.s.Snapshot))
	steps := r.s.Steps
	endAt := map[int][]func(){} // a window's end, by change
	for i := range r.s.Changes {
		for len(steps) > 0 && steps[0].At == i {
			if end, at := r.inject(steps[0]); end != nil {
				endAt[at] = append(endAt[at], end)
			}
			steps = steps[1:]
		}
		for _, end := range endAt[i] {
			end()
		}
		r.produce(g.Next())
		time.Sleep(chaosPerChange)
	}
	for i, fs := range endAt {
		if i >= r.s.Changes {
			for _, end := range fs {
				end()
			}
		}
	}
}

// produce appends events to the model, then produces them, checking that
// each lands at the offset the model gave it.
func (r *chaosRun) produce(evs []chaos.Event) {
	recs := make([]*kgo.Record, len(evs))
	offs := make(map[*kgo.Record]int64, len(evs))
	for i, ev := range evs {
		recs[i] = &kgo.Record{Topic: ev.Topic, Partition: ev.Partition, Key: ev.Key, Value: ev.Value}
		offs[recs[i]] = r.model.Append(ev)
	}
	res := r.prod.ProduceSync(context.Background(), recs...)
	if err := res.FirstErr(); err != nil {
		r.t.Fatalf("produce: %v", err)
	}
	for _, pr := range res {
		if want := offs[pr.Record]; pr.Record.Offset != want {
			r.t.Fatalf("%s[%d]: produced at offset %d, the model expected %d", pr.Record.Topic, pr.Record.Partition, pr.Record.Offset, want)
		}
	}
}

// inject starts one fault; a fault with a window returns the function that
// ends it and the change at which to call it.
func (r *chaosRun) inject(st chaos.Step) (end func(), at int) {
	switch st.Fault {
	case chaos.Join:
		r.join()
	case chaos.Leave:
		if m := r.pick(st.Member); m != nil {
			r.mu.Lock()
			m.early = true
			r.mu.Unlock()
			r.leave(m)
		}
	case chaos.Kill:
		if m := r.pick(st.Member); m != nil {
			r.kill(m)
		}
	case chaos.Freeze:
		if m := r.pick(st.Member); m != nil {
			id := r.memberID(m)
			r.mu.Lock()
			m.state, m.mayFail = "frozen", true
			if id != "" {
				r.cut[id] = "freeze"
			}
			r.mu.Unlock()
			m.loader.freeze()
			time.AfterFunc(chaosFrozen, func() {
				r.mu.Lock()
				delete(r.cut, id)
				m.state = "running"
				r.mu.Unlock()
				m.loader.release()
			})
		}
	case chaos.Slow:
		// Slow loads matter when something waits for them: a revoke (a
		// join) for even members, a shutdown (a leave) for odd ones.
		if m := r.pick(st.Member); m != nil {
			r.mu.Lock()
			m.slowed = true
			r.mu.Unlock()
			m.loader.slowNext(3)
			time.Sleep(30 * time.Millisecond)
			if st.Member%2 == 0 {
				r.join()
			} else {
				r.mu.Lock()
				m.mayFail = true
				r.mu.Unlock()
				r.leave(m)
			}
		}
	case chaos.Transient:
		third := st.Ratio / 3
		r.emu.SetFaults(emulator.Faults{FailRatio: third, ResetRatio: third, PublishTimeoutRatio: third, Seed: r.s.Seed*1000 + int64(st.At)})
		return func() { r.emu.SetFaults(emulator.Faults{}) }, st.At + st.For
	case chaos.LostAnswer:
		r.proxy.setLoss(st.Ratio, r.s.Seed*1000+int64(st.At))
		return func() { r.proxy.setLoss(0, 0) }, st.At + st.For
	case chaos.Recreate:
		r.recreate(r.model.Tables[st.Table].Topic)
	}
	return nil, 0
}

func (r *chaosRun) leave(m *chaosMember) {
	r.mu.Lock()
	m.state = "leaving"
	r.mu.Unlock()
	m.cancel()
}

// kill cuts a member off at the broker (no heartbeat, join, commit or leave
// of its member ID reaches the group), stops its loads, then cancels it.
// The group evicts it after kafka.session_timeout.
func (r *chaosRun) kill(m *chaosMember) {
	id := r.memberID(m)
	r.mu.Lock()
	m.state, m.mayFail = "killed", true
	if id != "" {
		r.cut[id] = "kill"
	}
	r.mu.Unlock()
	m.loader.kill()
	m.cancel()
}

// recreate deletes topic and creates it again with the same partitions;
// the changes after it go to the new topic from offset 0.
func (r *chaosRun) recreate(topic string) {
	// Deleting a topic deletes its records: wait until they are all
	// committed, as an operator would before re-creating it (the records a
	// deletion drops are not the worker's to load).
	if r.pick(0) == nil {
		r.join()
	}
	deadline := time.Now().Add(30 * time.Second)
	for !r.committedToEnd(topic) {
		if time.Now().After(deadline) {
			r.fail("%s not committed to its end within 30s before its re-creation; %s", topic, r.describeGroup())
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := r.cluster.DeleteTopic(topic); err != nil {
		r.t.Fatalf("delete %s: %v", topic, err)
	}
	r.model.Recreate(topic)
	if r.cfg.Mapping.VersionFrom == config.VersionFromOffset {
		r.newEpoch(r.model.Table(topic), -1)
	}
	if err := r.cluster.CreateTopic(topic, r.s.Partitions, nil); err != nil {
		r.t.Fatalf("create %s: %v", topic, err)
	}
	// A new producer: the old one knows the old topic's ID.
	r.prod.Close()
	r.prod = r.newProducer()
	// franz-go 1.22.2 keeps fetching a re-created topic by its old ID
	// (UNKNOWN_TOPIC_ID) until the client is rebuilt, so the workers are
	// restarted, as an operator would.
	r.mu.Lock()
	var running []*chaosMember
	for _, m := range r.members {
		if m.state == "running" {
			running = append(running, m)
		}
	}
	r.mu.Unlock()
	for _, m := range running {
		r.mu.Lock()
		m.mayFail = true // its final commit names the old topic's ID: refused
		r.mu.Unlock()
		r.leave(m)
	}
	for _, m := range running {
		select {
		case <-m.done:
		case <-time.After(30 * time.Second):
			r.fail("member %s did not stop within 30s for the restart after re-creating %s", m.name, topic)
		}
	}
	for range running {
		r.join()
	}
}

func (r *chaosRun) newProducer() *kgo.Client {
	cl, err := kgo.NewClient(kgo.SeedBrokers(r.cluster.ListenAddrs()...), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProducerLinger(0))
	if err != nil {
		r.t.Fatal(err)
	}
	return cl
}

// newEpoch gives table ti a version epoch above its last one (and above
// stored, when not -1) for its topic's current incarnation, as an operator
// does after re-creating a topic or when a worker stops with an
// EpochError.
func (r *chaosRun) newEpoch(ti int, stored int64) {
	tb := r.model.Tables[ti]
	inc := r.model.Incarnation(tb.Topic)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.epochs == nil {
		r.epochs = map[int]map[int64]int{}
	}
	if r.epochs[ti] == nil {
		r.epochs[ti] = map[int64]int{0: 0}
	}
	next := stored + 1
	for e := range r.epochs[ti] {
		next = max(next, e+1)
	}
	if stored >= 0 {
		// An EpochError on the topic's incarnation that loaded the stored
		// rows (a member killed before its first commit): the new epoch
		// reads the topic again from its start, ranked above what is
		// stored, so its older images land again until it catches up,
		// as a replay without the guard does.
		r.epochReplay = true
	}
	r.epochs[ti][next] = inc
	tables := maps.Clone(r.cfg.Mapping.Tables)
	tables[tb.Name] = config.TableOptions{VersionEpoch: next}
	r.cfg.Mapping.Tables = tables
}

func (r *chaosRun) epochReplayed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.epochReplay
}

// incarnation returns the incarnation of table ti's topic that versions of
// epoch e name.
func (r *chaosRun) incarnation(ti int, e int64) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if inc, ok := r.epochs[ti][e]; ok {
		return inc
	}
	return int(e) // before any new epoch: epoch 0, incarnation 0
}

// target reads table ti's rows as the model knows them: a version from
// Kafka offsets in the seq column is replaced by the LSN of the change of
// the record it names (for the guard on kafka_offset; source positions are
// LSNs already).
func (r *chaosRun) target(ti int, rows [][]any) chaos.Target {
	tb := r.model.Tables[ti]
	tg := tb.Target(rows)
	if r.cfg.Mapping.VersionFrom != config.VersionFromOffset {
		return tg
	}
	for k, row := range tg {
		row = slices.Clone(row)
		row[tb.Seq] = r.origin(ti, k, tb.SeqOf(row))
		tg[k] = row
	}
	return tg
}

// origin maps a version from Kafka offsets back to the LSN of the change
// it stands for (a version it cannot place is returned as it is, and shows
// as a difference).
func (r *chaosRun) origin(ti int, key string, v int64) int64 {
	if r.cfg.Mapping.VersionFrom != config.VersionFromOffset || v < 1<<62 {
		return v
	}
	inc, off := r.incarnation(ti, (v-1<<62)>>44), v&(1<<44-1)
	if lsn, ok := r.model.Origin(ti, inc, off, key); ok {
		return lsn
	}
	return v
}

// settle ends the faults, makes sure a member runs, waits until the
// target equals the source and every partition is committed to its end,
// then stops every member cleanly.
func (r *chaosRun) settle() {
	r.emu.SetFaults(emulator.Faults{})
	r.proxy.setLoss(0, 0)
	deadline := time.Now().Add(chaosFrozen + time.Second)
	for time.Now().Before(deadline) {
		r.mu.Lock()
		frozen := slices.ContainsFunc(r.members, func(m *chaosMember) bool { return m.state == "frozen" })
		r.mu.Unlock()
		if !frozen {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if r.pick(0) == nil {
		r.join()
	}
	start := time.Now()
	deadline = start.Add(chaosConverge)
	var why string
	for time.Now().Before(deadline) {
		if why = r.converged(); why == "" {
			break
		}
		r.mu.Lock()
		failed := len(r.violations) > 0 || len(r.known) > 0
		alive := slices.ContainsFunc(r.members, func(m *chaosMember) bool {
			select {
			case <-m.done:
				return false
			default:
				return true
			}
		})
		r.mu.Unlock()
		if !alive {
			break // every member stopped: nothing more will load
		}
		if failed && time.Until(deadline) > chaosConverge-10*time.Second {
			deadline = time.Now().Add(10 * time.Second) // already failing: do not wait long
		}
		time.Sleep(50 * time.Millisecond)
	}
	if why != "" {
		switch {
		case r.stoppedBy(debezium.ErrNoVersion) && *chaosEnvelope == "auto":
			r.failKnown(bugTombstoneFirst, "(a) not converged: %s; %s", why, r.describeGroup())
		default:
			r.fail("(a) not converged after %s: %s; %s", time.Since(start).Round(time.Second), why, r.describeGroup())
		}
		if *chaosVerbose {
			buf := make([]byte, 8<<20)
			r.t.Logf("goroutines:\n%s", buf[:runtime.Stack(buf, true)])
		}
	}
	r.mu.Lock()
	r.ending = true
	ms := slices.Clone(r.members)
	var running []*chaosMember
	for _, m := range ms {
		if m.state == "running" {
			running = append(running, m)
		}
	}
	r.mu.Unlock()
	for _, m := range running {
		r.leave(m)
	}
	for _, m := range ms {
		select {
		case <-m.done:
		case <-time.After(30 * time.Second):
			r.fail("member %s did not stop within 30s", m.name)
			continue
		}
		switch {
		case m.err == nil || m.mayFail || errors.Is(m.err, context.Canceled):
		case m.slowed && errors.Is(m.err, ErrUnfinishedAtShutdown):
			r.tolerate("member %s, its loads slowed: %v", m.name, m.err)
		case m.early:
			r.tolerate("member %s, stopped during the faults: %v", m.name, m.err)
		case errors.Is(m.err, debezium.ErrNoVersion) && *chaosEnvelope == "auto":
			r.failKnown(bugTombstoneFirst, "member %s stopped with: %v", m.name, m.err)
		default:
			r.fail("member %s stopped with: %v", m.name, m.err)
		}
	}
}

// stoppedBy reports whether a member's Run ended with target.
func (r *chaosRun) stoppedBy(target error) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range r.members {
		select {
		case <-m.done:
			if errors.Is(m.err, target) {
				return true
			}
		default:
		}
	}
	return false
}

// describeGroup says who holds what, for a schedule that did not converge.
func (r *chaosRun) describeGroup() string {
	var b strings.Builder
	if gi := r.cluster.GroupInfo(chaosGroup); gi != nil {
		fmt.Fprintf(&b, "group %s generation %d:", gi.State, gi.Epoch)
		for _, m := range gi.Members {
			fmt.Fprintf(&b, " %s=%v", m.ClientID, m.Assignment)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range r.members {
		select {
		case <-m.done:
			fmt.Fprintf(&b, "; %s %s, stopped: %v", m.name, m.state, m.err)
		default:
			cl := m.w.Client()
			fmt.Fprintf(&b, "; %s %s: %+v, paused %v %v, uncommitted %v, committed %v", m.name, m.state, m.w.Stats(),
				cl.PauseFetchTopics(), cl.PauseFetchPartitions(nil), cl.UncommittedOffsets(), cl.CommittedOffsets())
		}
	}
	return b.String()
}

// committedToEnd reports whether every partition of topic is committed to
// its end.
func (r *chaosRun) committedToEnd(topic string) bool {
	gi := r.cluster.GroupInfo(chaosGroup)
	for p := range r.s.Partitions {
		end := r.model.End(chaos.TP{Topic: topic, Partition: p})
		if end > 0 && (gi == nil || gi.Commits[topic][p].Offset != end) {
			return false
		}
	}
	return true
}

// converged returns "" when every partition is committed to its end and
// the target equals the source; otherwise what is not there yet.
func (r *chaosRun) converged() string {
	gi := r.cluster.GroupInfo(chaosGroup)
	for _, tb := range r.model.Tables {
		for p := range r.s.Partitions {
			tp := chaos.TP{Topic: tb.Topic, Partition: p}
			end := r.model.End(tp)
			var got int64
			if gi != nil {
				got = gi.Commits[tb.Topic][p].Offset
			}
			if got != end && end > 0 {
				return fmt.Sprintf("%s committed at %d, end %d", tp, got, end)
			}
		}
	}
	for ti, tb := range r.model.Tables {
		rows, err := r.emu.Rows(chaosDatabase, tb.Name)
		if err != nil {
			return err.Error()
		}
		if diffs, reverted, resurrected := r.model.Diff(ti, r.target(ti, rows)); !r.revertsAccepted(len(diffs), reverted, resurrected) && !r.lateDeletes(diffs) {
			return fmt.Sprintf("%d differences, first %s", len(diffs), diffs[0])
		}
	}
	return ""
}

// report runs check (a) on the final state and fails the test with the
// schedule and how to run it again.
func (r *chaosRun) report() {
	r.mu.Lock()
	pending := r.pending
	r.pending = nil
	r.mu.Unlock()
	for _, judge := range pending {
		judge()
	}
	for ti, tb := range r.model.Tables {
		rows, err := r.emu.Rows(chaosDatabase, tb.Name)
		if err != nil {
			r.fail("read %s: %v", tb.Name, err)
			continue
		}
		diffs, reverted, resurrected := r.model.Diff(ti, r.target(ti, rows))
		switch {
		case len(diffs) == 0:
		case r.revertsAccepted(len(diffs), reverted, resurrected) && r.s.Guard:
			r.failKnown(bugResurrect, "(a) %s differs from the source:\n    %s", tb.Name, strings.Join(diffs, "\n    "))
		case r.lateDeletes(diffs):
			r.failKnown(bugLateDelete, "(a) %s differs from the source:\n    %s", tb.Name, strings.Join(diffs, "\n    "))
		case r.revertsAccepted(len(diffs), reverted, resurrected):
			r.tolerate("(a) %d keys of %s reverted by the released frozen member", reverted, tb.Name)
		default:
			if len(diffs) > 10 {
				diffs = append(diffs[:10], fmt.Sprintf("… %d more", len(diffs)-10))
			}
			if r.stoppedBy(debezium.ErrNoVersion) && *chaosEnvelope == "auto" {
				r.failKnown(bugTombstoneFirst, "(a) %s differs from the source:\n    %s", tb.Name, strings.Join(diffs, "\n    "))
				continue
			}
			r.fail("(a) %s differs from the source (%d reverted):\n    %s", tb.Name, reverted, strings.Join(diffs, "\n    "))
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.emu.Stats()
	r.t.Logf("%s\n  %d commits checked, %d loads (%d failed, %d label conflicts), %d loads lost their answer, %d tolerated",
		r.s, r.commits, st.Loads, st.FailedLoads, st.LabelConflict, r.proxy.lost.Load(), len(r.tolerated))
	for i, v := range r.tolerated {
		if i == 5 {
			r.t.Logf("  tolerated: … %d more", len(r.tolerated)-5)
			break
		}
		r.t.Logf("  tolerated: %s", v)
	}
	if len(r.violations) == 0 && len(r.known) > 0 && !*chaosKnown {
		var names []string
		for bug, vs := range r.known {
			names = append(names, fmt.Sprintf("%s (%d failures, first: %s)", bug, len(vs), vs[0]))
		}
		slices.Sort(names)
		r.t.Skipf("known: %s\nfail instead: go test -race -count=1 -run 'TestChaos' ./sink/ -chaos.seed=%d -chaos.guard=%s -chaos.envelope=%s -chaos.known",
			strings.Join(names, "; "), r.s.Seed, onOff(r.s.Guard), *chaosEnvelope)
	}
	for bug, vs := range r.known {
		for _, v := range vs {
			r.violations = append(r.violations, "[known "+strings.SplitN(bug, ":", 2)[0]+"] "+v)
		}
	}
	if len(r.violations) == 0 {
		return
	}
	vs := r.violations
	if len(vs) > 20 {
		vs = append(vs[:20:20], fmt.Sprintf("… %d more", len(r.violations)-20))
	}
	r.t.Errorf("schedule %s\nreproduce: go test -race -count=1 -run 'TestChaos' ./sink/ -chaos.seed=%d -chaos.guard=%s\n  %s",
		r.s, r.s.Seed, onOff(r.s.Guard), strings.Join(vs, "\n  "))
}

// faultLoader wraps a member's Loader with the faults that act at the
// moment a load is about to be sent: killed (nothing is sent, the load
// waits for cancellation), frozen (the load waits for the release, deaf
// to cancellation, as a stopped process is), slow (the load waits past
// the revoke timeout and grace period, honouring cancellation).
type faultLoader struct {
	inner  Loader
	name   string    // the member's
	sent   *sync.Map // label → the members that sent it ("m0 m3")
	mu     sync.Mutex
	dead   bool
	frozen chan struct{}
	slow   int
}

func (l *faultLoader) Load(ctx context.Context, b *Batch) error {
	l.mu.Lock()
	dead, frozen, slow := l.dead, l.frozen, l.slow > 0
	if slow {
		l.slow--
	}
	l.mu.Unlock()
	if dead {
		<-ctx.Done()
		return ctx.Err()
	}
	if frozen != nil {
		<-frozen
	}
	if slow {
		select {
		case <-time.After(chaosSlow):
		case <-ctx.Done():
			return ctx.Err()
		}
		l.mu.Lock()
		dead = l.dead
		l.mu.Unlock()
		if dead { // killed while waiting: a killed process sends nothing more
			<-ctx.Done()
			return ctx.Err()
		}
	}
	if l.sent != nil {
		by, _ := l.sent.LoadOrStore(b.Label, "")
		if !strings.Contains(by.(string), l.name+" ") {
			l.sent.Store(b.Label, by.(string)+l.name+" ")
		}
	}
	return l.inner.Load(ctx, b)
}

// LoadState passes label look-ups through (LoadStater: the worker settles
// a cancelled load with them); a killed member looks nothing up.
func (l *faultLoader) LoadState(ctx context.Context, db, label string) (string, error) {
	l.mu.Lock()
	dead := l.dead
	l.mu.Unlock()
	if dead {
		<-ctx.Done()
		return "", ctx.Err()
	}
	return l.inner.(LoadStater).LoadState(ctx, db, label)
}

func (l *faultLoader) kill() {
	l.mu.Lock()
	l.dead = true
	l.mu.Unlock()
}

func (l *faultLoader) freeze() {
	l.mu.Lock()
	if l.frozen == nil {
		l.frozen = make(chan struct{})
	}
	l.mu.Unlock()
}

func (l *faultLoader) release() {
	l.mu.Lock()
	if l.frozen != nil {
		close(l.frozen)
		l.frozen = nil
	}
	l.mu.Unlock()
}

func (l *faultLoader) slowNext(n int) {
	l.mu.Lock()
	l.slow += n
	l.mu.Unlock()
}

// beProxy stands between the workers and the emulator's BE (the FE's
// redirects are rewritten to it). It loses the answer of a share of loads
// after the BE applied them, and it runs check (c): loads of one table pass
// one at a time, and the table is read before and after each, so every
// state the target goes through is seen.
type beProxy struct {
	r      *chaosRun
	emu    *emulator.Server
	srv    *httptest.Server
	addr   string
	be     string
	mu     sync.Mutex
	tables map[string]*sync.Mutex
	watch  map[string]*chaos.Watch
	labels map[string][]byte // the first body sent under each label
	// history holds, per table and key, the last loads that wrote the
	// key (label, its seq or delete, when), for failure messages.
	history map[string][]string
	deletes map[string]bool // "table key": a load applied a delete of the key
	loss    float64
	rnd     *rand.Rand
	lost    atomic.Int64 // loads whose answer was lost
}

func newBEProxy(r *chaosRun, emu *emulator.Server) *beProxy {
	p := &beProxy{r: r, emu: emu, be: emu.BEURL(), tables: map[string]*sync.Mutex{}, watch: map[string]*chaos.Watch{}, labels: map[string][]byte{}, history: map[string][]string{}, deletes: map[string]bool{}}
	for ti, tb := range r.model.Tables {
		p.tables[tb.Name] = &sync.Mutex{}
		p.watch[tb.Name] = r.model.NewWatch(ti)
	}
	p.srv = httptest.NewServer(p)
	u, _ := url.Parse(p.srv.URL)
	p.addr = u.Host
	return p
}

func (p *beProxy) setLoss(ratio float64, seed int64) {
	p.mu.Lock()
	p.loss, p.rnd = ratio, rand.New(rand.NewPCG(uint64(seed), 1))
	p.mu.Unlock()
}

func (p *beProxy) lose() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.loss > 0 && p.rnd.Float64() < p.loss
}

func (p *beProxy) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		hijackClose(w)
		return
	}
	parts := strings.Split(strings.Trim(req.URL.Path, "/"), "/")
	var tb *chaos.Table
	var ti int
	if len(parts) == 4 && parts[3] == "_stream_load" {
		for i, x := range p.r.model.Tables {
			if x.Name == parts[2] {
				tb, ti = x, i
			}
		}
	}
	var before chaos.Target
	if tb != nil {
		p.checkLabel(tb, req.Header.Get("label"), body)
		mu := p.tables[tb.Name]
		mu.Lock()
		defer mu.Unlock()
		rows, _ := p.emu.Rows(chaosDatabase, tb.Name)
		before = p.r.target(ti, rows)
	}
	out, _ := http.NewRequest(req.Method, p.be+req.URL.RequestURI(), bytes.NewReader(body))
	out.Header = req.Header.Clone()
	out.Header.Del("Expect")
	resp, err := http.DefaultTransport.RoundTrip(out)
	if err != nil {
		hijackClose(w) // the BE reset the connection: so does the proxy
		return
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if tb != nil {
		var st struct{ Status string }
		json.Unmarshal(answer, &st)
		if st.Status == "Success" || st.Status == "Publish Timeout" {
			p.check(ti, tb, before, body, req.Header)
		}
		if p.lose() {
			p.lost.Add(1)
			hijackClose(w) // applied, and the answer never arrives
			return
		}
	}
	for k, vs := range resp.Header {
		w.Header()[k] = vs
	}
	w.WriteHeader(resp.StatusCode)
	w.Write(answer)
}

// checkLabel: a label always names the same rows. A retry sends the same
// body; a different body under a known label is a batch StarRocks will
// take for one already loaded.
func (p *beProxy) checkLabel(tb *chaos.Table, label string, body []byte) {
	p.mu.Lock()
	prev, seen := p.labels[label]
	if !seen {
		p.labels[label] = slices.Clone(body)
	}
	p.mu.Unlock()
	if !seen || bytes.Equal(prev, body) || sameRowsPerKey(tb, prev, body) {
		return
	}
	p.r.fail("(d) label %s sent again with other rows:\n  first: %s\n  then:  %s", label, clip(prev), clip(body))
}

// sameRowsPerKey reports whether two bodies hold the same rows of each key
// in the same order. A batch of several partitions interleaves them as
// its polls fetched them, which a replay may do differently; rows of one
// key (one partition) keep their order, and those of different keys do
// not meet, so such bodies load the same.
func sameRowsPerKey(tb *chaos.Table, a, b []byte) bool {
	group := func(body []byte) (map[string][]string, bool) {
		var rows []map[string]json.RawMessage
		if err := json.Unmarshal(body, &rows); err != nil {
			return nil, false
		}
		out := map[string][]string{}
		for _, r := range rows {
			var key strings.Builder
			for _, c := range tb.Columns {
				if c.Key {
					key.Write(r[c.Name])
					key.WriteByte('|')
				}
			}
			canon, _ := json.Marshal(r) // map keys sorted
			out[key.String()] = append(out[key.String()], string(canon))
		}
		return out, true
	}
	ga, okA := group(a)
	gb, okB := group(b)
	if !okA || !okB || len(ga) != len(gb) {
		return false
	}
	for k, rs := range ga {
		if !slices.Equal(rs, gb[k]) {
			return false
		}
	}
	return true
}

// clip shortens a load's body for a failure message.
func clip(b []byte) string {
	const max = 4096
	if len(b) > max {
		return string(b[:max]) + "…"
	}
	return string(b)
}

// check is check (c) for one applied load: no delete in it removes a newer
// image than the one it deletes (the delete's before image carries its
// seq), and afterwards no key of the table holds an older image than
// before.
func (p *beProxy) check(ti int, tb *chaos.Table, before chaos.Target, body []byte, h http.Header) {
	guard := h.Get("merge_condition") != ""
	var rows []map[string]any
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	if err := d.Decode(&rows); err != nil {
		p.r.fail("load into %s: body is not a JSON array: %v", tb.Name, err)
		return
	}
	cur := map[string]int64{}
	for k, row := range before {
		cur[k] = tb.SeqOf(row)
	}
	for _, m := range rows {
		row := make(chaos.Row, len(tb.Columns))
		for i, c := range tb.Columns {
			switch v := m[c.Name].(type) {
			case json.Number:
				row[i], _ = v.Int64()
			default:
				row[i] = v
			}
		}
		k, seq := tb.Key(row), tb.SeqOf(row)
		seq = p.r.origin(ti, k, seq)
		by, _ := p.r.sentBy.Load(h.Get("label"))
		p.note(tb.Name, k, fmt.Sprintf("%s by %v%s seq %d op %v", time.Now().Format("15:04:05.000"), by, h.Get("label"), seq, m["__op"]))
		old, present := cur[k]
		if m["__op"] == json.Number("1") {
			p.mu.Lock()
			p.deletes[tb.Name+" "+k] = true
			p.mu.Unlock()
			if present && chaos.StaleDelete(seq, old) {
				p.r.finding(chaos.DeleteOrder, fmt.Errorf("load %s into %s deletes key %s, which holds lsn %d, with the delete of its image at lsn %d", h.Get("label"), tb.Name, k, old, seq))
			}
			delete(cur, k)
			continue
		}
		if guard && present && seq < old {
			continue // the emulator skips it as StarRocks does
		}
		cur[k] = seq
	}
	rows2, err := p.emu.Rows(chaosDatabase, tb.Name)
	if err != nil {
		p.r.fail("read %s: %v", tb.Name, err)
		return
	}
	for _, f := range p.watch[tb.Name].Observe(p.r.target(ti, rows2)) {
		p.r.finding(f.Kind, fmt.Errorf("after load %s: %w", h.Get("label"), f.Err))
	}
}

// note records that a load wrote key k of table tb.
func (p *beProxy) note(tb, k, what string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	h := append(p.history[tb+" "+k], what)
	if len(h) > 6 {
		h = h[len(h)-6:]
	}
	p.history[tb+" "+k] = h
}

// histories renders the load history of the keys a failure names.
func (p *beProxy) histories(msg string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var b strings.Builder
	seen := map[string]bool{}
	for _, m := range reFailedKey.FindAllStringSubmatch(msg, 8) {
		for name := range p.tables {
			k := name + " " + m[1]
			if h, ok := p.history[k]; ok && !seen[k] {
				seen[k] = true
				fmt.Fprintf(&b, "\n            loads of %s: %s", k, strings.Join(h, " | "))
			}
		}
	}
	return b.String()
}

var reFailedKey = regexp.MustCompile(`key (\S+): its`)

// reDiffKey finds the keys of check (a)'s differences and check (b)'s
// failures.
var reDiffKey = regexp.MustCompile(`(\w+) key (\S+):|key (\S+): its`)

// deletedAll reports whether every key a failure names had a delete
// loaded (by any member), so that an unconditional delete may explain it.
func (p *beProxy) deletedAll(msg string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	ms := reDiffKey.FindAllStringSubmatch(msg, -1)
	if len(ms) == 0 {
		return false
	}
	for _, m := range ms {
		found := false
		if m[1] != "" {
			found = p.deletes[m[1]+" "+m[2]]
		} else {
			for name := range p.tables {
				found = found || p.deletes[name+" "+m[3]]
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// hijackClose drops the client's connection without an answer.
func hijackClose(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if c, _, err := hj.Hijack(); err == nil {
			c.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}
