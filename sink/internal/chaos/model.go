package chaos

import (
	"fmt"
	"slices"
	"sync"
)

// TP names a partition of a topic.
type TP struct {
	Topic     string
	Partition int32
}

func (tp TP) String() string { return fmt.Sprintf("%s[%d]", tp.Topic, tp.Partition) }

// Version is one state of a key in the source: an image, or deleted (nil).
type Version struct {
	LSN   int64
	Image Row
}

// Model is the source as the events describe it: every record of every
// partition by offset (the topic's current incarnation), and every version
// of every key. It is safe for concurrent use: the producer appends while
// commit checks read.
type Model struct {
	Tables  []*Table
	mu      sync.Mutex
	byTopic map[string]int
	parts   map[TP][]Event
	keys    []map[string][]Version
	// inc numbers each topic's incarnations (Recreate), and old keeps the
	// records of the earlier ones, for Origin.
	inc map[string]int
	old map[incTP][]Event
}

type incTP struct {
	TP
	inc int
}

// NewModel returns the empty model of tables.
func NewModel(tables []*Table) *Model {
	m := &Model{Tables: tables, byTopic: map[string]int{}, parts: map[TP][]Event{}, inc: map[string]int{}, old: map[incTP][]Event{}}
	for i, t := range tables {
		m.byTopic[t.Topic] = i
		m.keys = append(m.keys, map[string][]Version{})
	}
	return m
}

// Append records ev as the next record of its partition and returns its
// offset. Call it before the record is produced, so that a commit check
// never meets an offset the model has not seen.
func (m *Model) Append(ev Event) int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	tp := TP{ev.Topic, ev.Partition}
	off := int64(len(m.parts[tp]))
	m.parts[tp] = append(m.parts[tp], ev)
	if ev.Op != OpTombstone {
		m.keys[ev.Table][ev.KeyID] = append(m.keys[ev.Table][ev.KeyID], Version{LSN: ev.LSN, Image: ev.Image})
	}
	return off
}

// Recreate forgets the records of topic: it was deleted and created again,
// and its offsets start at 0. The versions of its keys stay: the source
// table is the same.
func (m *Model) Recreate(topic string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for tp, recs := range m.parts {
		if tp.Topic == topic {
			m.old[incTP{tp, m.inc[topic]}] = recs
			delete(m.parts, tp)
		}
	}
	m.inc[topic]++
}

// Incarnation returns the number of topic's current incarnation: 0, then
// one more at each Recreate.
func (m *Model) Incarnation(topic string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.inc[topic]
}

// Origin returns the LSN of the change of key written by the record at
// offset off of incarnation inc of table ti's topic (its partition is the
// key's): what a version from Kafka offsets stands for.
func (m *Model) Origin(ti, inc int, off int64, key string) (int64, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	topic := m.Tables[ti].Topic
	for tp := range m.parts {
		if tp.Topic != topic {
			continue
		}
		recs := m.parts[tp]
		if inc != m.inc[topic] {
			recs = m.old[incTP{tp, inc}]
		}
		if off < int64(len(recs)) && recs[off].KeyID == key && recs[off].Op != OpTombstone {
			return recs[off].LSN, true
		}
	}
	for it, recs := range m.old {
		if it.Topic == topic && it.inc == inc && off < int64(len(recs)) && recs[off].KeyID == key && recs[off].Op != OpTombstone {
			return recs[off].LSN, true
		}
	}
	return 0, false
}

// End returns the offset after the last record of a partition.
func (m *Model) End(tp TP) int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return int64(len(m.parts[tp]))
}

// Table returns the index of the table of topic, or -1.
func (m *Model) Table(topic string) int {
	if i, ok := m.byTopic[topic]; ok {
		return i
	}
	return -1
}

// Final returns the source's rows of table ti now, by key.
func (m *Model) Final(ti int) map[string]Row {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]Row{}
	for k, vs := range m.keys[ti] {
		if img := vs[len(vs)-1].Image; img != nil {
			out[k] = img
		}
	}
	return out
}

// Versions returns the versions of a key, oldest first.
func (m *Model) Versions(ti int, key string) []Version {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.keys[ti][key])
}

// lastBefore returns, for every key with a change among the first n
// records of tp, its last change there (tombstones change nothing).
func (m *Model) lastBefore(tp TP, n int64) (map[string]Event, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	recs := m.parts[tp]
	if n > int64(len(recs)) {
		return nil, fmt.Errorf("offset %d is past the end of %s (%d records)", n, tp, len(recs))
	}
	last := map[string]Event{}
	for _, ev := range recs[:n] {
		if ev.Op != OpTombstone {
			last[ev.KeyID] = ev
		}
	}
	return last, nil
}

// deletedAfter reports whether the source deletes key at an LSN above lsn,
// and the lowest such LSN.
func deletedAfter(vs []Version, lsn int64) (int64, bool) {
	for _, v := range vs {
		if v.LSN > lsn && v.Image == nil {
			return v.LSN, true
		}
	}
	return 0, false
}

// imageAt returns the image of key written at lsn, if any.
func imageAt(vs []Version, lsn int64) (Row, bool) {
	for _, v := range vs {
		if v.LSN == lsn && v.Image != nil {
			return v.Image, true
		}
	}
	return nil, false
}
