package status

import (
	"time"

	"github.com/starsink/starsink/offsets"
)

// Source is what the worker implements for GET /status: a snapshot of
// its own view, taken under its locks and copied (the handler reads it
// after the call returns). Status must not block on Kafka or StarRocks;
// the handler adds the group's other members and the committed and end
// offsets from Kafka itself.
type Source interface {
	Status() Member
}

// State is a table's state on this member.
type State string

// Table states.
const (
	// StateLoading: a batch is being loaded or waits for a load slot.
	StateLoading State = "loading"
	// StateIdle: nothing to load; the table is caught up.
	StateIdle State = "idle"
	// StatePaused: fetching is paused, by an operator (POST
	// /tables/<t>/pause) or by the buffer budget; Reason says which.
	StatePaused State = "paused"
	// StateFailed: the table stopped on an error; Reason says which.
	StateFailed State = "failed"
)

// TopicPartitions is a topic and some of its partitions, sorted.
type TopicPartitions = offsets.TopicPartitions

// GroupMember is another member of the group as Kafka describes it.
type GroupMember = offsets.Member

// Member is the body of GET /status: one worker's view of its group and
// tables.
type Member struct {
	Group      string            `json:"group"`
	MemberID   string            `json:"member_id"`
	Generation int32             `json:"generation"`
	Assigned   []TopicPartitions `json:"assigned"`
	Tables     []Table           `json:"tables"`

	// Filled by the handler from Kafka; GroupError says why they are
	// missing.
	GroupState string        `json:"group_state,omitempty"`
	Members    []GroupMember `json:"members"`
	GroupError string        `json:"group_error,omitempty"`

	Time time.Time `json:"time"` // when the snapshot was taken
}

// Table is one table this member loads.
type Table struct {
	Name   string `json:"name"` // db.table
	State  State  `json:"state"`
	Reason string `json:"reason,omitempty"` // why paused or failed

	Partitions []Partition `json:"partitions"`
	// LagRecords is the sum of the partitions' lag. LagSeconds is the
	// table's freshness (starsink_freshness_seconds) while records wait,
	// 0 when none do.
	LagRecords int64   `json:"lag_records"`
	LagSeconds float64 `json:"lag_seconds"`

	RowsPerSecond float64 `json:"rows_per_second"` // over the last minute (Rates)
	LastLoad      *Load   `json:"last_load,omitempty"`
	Retries       int64   `json:"retries"`
	DeadLettered  int64   `json:"dead_lettered"`
	LastError     *Error  `json:"last_error,omitempty"`
}

// Partition is one assigned partition of a table. The worker fills Topic,
// Partition and what it knows (-1 for unknown offsets); the handler
// replaces Committed, End and Lag with Kafka's answer when it has one.
type Partition struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Committed int64  `json:"committed"` // -1: none
	End       int64  `json:"end"`       // high watermark; -1: unknown
	Lag       int64  `json:"lag"`       // records; -1: unknown
}

// Load is the outcome of a table's last Stream Load.
type Load struct {
	Label           string    `json:"label"`
	Rows            int64     `json:"rows"`
	DurationSeconds float64   `json:"duration_seconds"`
	Status          string    `json:"status"`            // StarRocks' Status: Success, Publish Timeout, Fail…
	Message         string    `json:"message,omitempty"` // StarRocks' Message
	At              time.Time `json:"at"`
}

// Error is a table's last error and the record it is about.
type Error struct {
	Message   string    `json:"message"`
	Topic     string    `json:"topic,omitempty"`
	Partition int32     `json:"partition"`
	Offset    int64     `json:"offset"` // -1 when the error is about no record
	At        time.Time `json:"at"`
}
