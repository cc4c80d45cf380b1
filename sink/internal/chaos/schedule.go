package chaos

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
)

// Fault is one kind of injected failure.
type Fault int

const (
	// Join starts a new member: the group rebalances and revokes
	// partitions from the others.
	Join Fault = iota
	// Leave shuts a member down cleanly (Run's context cancelled).
	Leave
	// Kill cuts a member off at the broker (its heartbeats, joins, commits
	// and leave are answered by nothing or refused there) and stops its
	// loads, then cancels it: it vanishes without leaving the group, and
	// the group evicts it after kafka.session_timeout.
	Kill
	// Freeze blocks a member's loads and heartbeats past
	// kafka.session_timeout, then releases them: the in-process SIGSTOP and
	// SIGCONT. Its partitions move to others meanwhile, and its blocked
	// loads then run late.
	Freeze
	// Slow makes a member's next loads wait past commit.revoke_timeout and
	// shutdown.grace_period before they are sent (honouring cancellation).
	Slow
	// Transient makes the BE fail (HTTP 500), reset the connection, or apply
	// and answer Publish Timeout, for a share of loads during a window.
	Transient
	// LostAnswer makes the BE apply loads and then lose their answer (the
	// connection closes after the body was received), for a share of loads
	// during a window.
	LostAnswer
	// Recreate deletes a topic and creates it again; the new topic carries
	// the following changes from offset 0.
	Recreate
	numFaults
)

var faultNames = [...]string{"join", "leave", "kill", "freeze", "slow", "transient", "lost-answer", "recreate"}

func (f Fault) String() string {
	if f >= 0 && int(f) < len(faultNames) {
		return faultNames[f]
	}
	return fmt.Sprintf("fault(%d)", int(f))
}

// Step is one fault, injected once At changes have been produced.
type Step struct {
	At     int
	Fault  Fault
	Member int     // which running member (taken modulo their number)
	Table  int     // Recreate: which table's topic
	Ratio  float64 // Transient, LostAnswer: share of loads affected
	For    int     // Transient, LostAnswer: changes the window lasts
}

func (s Step) String() string {
	switch s.Fault {
	case Transient, LostAnswer:
		return fmt.Sprintf("@%d %s ratio=%.2f for=%d", s.At, s.Fault, s.Ratio, s.For)
	case Recreate:
		return fmt.Sprintf("@%d %s table=%d", s.At, s.Fault, s.Table)
	case Join:
		return fmt.Sprintf("@%d %s", s.At, s.Fault)
	}
	return fmt.Sprintf("@%d %s member=%d", s.At, s.Fault, s.Member)
}

// Schedule is everything a seed decides: the data and the faults.
type Schedule struct {
	Seed       int64
	Guard      bool  // the version guard (merge_condition on seq) is on
	Partitions int32 // per topic
	Members    int   // members at the start
	Snapshot   int   // snapshot rows per table
	Changes    int   // source changes after the snapshot
	Steps      []Step
}

// Options bound what NewSchedule draws.
type Options struct {
	Guard    bool
	Faults   []Fault // the faults to draw from; nil means all
	MaxSteps int     // default 6
	Changes  int     // default 400–700
}

// NewSchedule draws the schedule of seed.
func NewSchedule(seed int64, o Options) Schedule {
	rnd := rand.New(rand.NewPCG(uint64(seed), 0xfa017))
	kinds := o.Faults
	if kinds == nil {
		for f := range numFaults {
			kinds = append(kinds, f)
		}
	}
	if o.MaxSteps == 0 {
		o.MaxSteps = 6
	}
	s := Schedule{Seed: seed, Guard: o.Guard, Partitions: 2 + rnd.Int32N(3), Members: 1 + rnd.IntN(3), Snapshot: 10 + rnd.IntN(20), Changes: o.Changes}
	if s.Changes == 0 {
		s.Changes = 400 + rnd.IntN(300)
	}
	n := 2 + rnd.IntN(max(1, o.MaxSteps-1))
	for range n {
		st := Step{At: rnd.IntN(s.Changes * 9 / 10), Fault: kinds[rnd.IntN(len(kinds))], Member: rnd.IntN(8)}
		switch st.Fault {
		case Transient, LostAnswer:
			st.Ratio = 0.1 + 0.3*rnd.Float64()
			st.For = 50 + rnd.IntN(150)
		case Recreate:
			st.Table = rnd.IntN(len(Tables()))
		}
		s.Steps = append(s.Steps, st)
	}
	slices.SortStableFunc(s.Steps, func(a, b Step) int { return a.At - b.At })
	return s
}

// Has reports whether the schedule injects f.
func (s Schedule) Has(f Fault) bool {
	return slices.ContainsFunc(s.Steps, func(st Step) bool { return st.Fault == f })
}

// Replays reports whether a fault of the schedule can leave loaded but
// uncommitted records that the next owner loads again (a kill, a frozen
// member, loads past the revoke timeout or grace period): without the
// version guard such a replay re-applies older images for a while.
func (s Schedule) Replays() bool {
	return s.Has(Kill) || s.Has(Freeze) || s.Has(Slow)
}

func (s Schedule) String() string {
	var b strings.Builder
	guard := "off"
	if s.Guard {
		guard = "on"
	}
	fmt.Fprintf(&b, "seed=%d guard=%s partitions=%d members=%d snapshot=%d changes=%d", s.Seed, guard, s.Partitions, s.Members, s.Snapshot, s.Changes)
	for _, st := range s.Steps {
		b.WriteString("\n  ")
		b.WriteString(st.String())
	}
	return b.String()
}
