package status

import (
	"context"
	_ "embed"
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"go.uber.org/zap"

	"github.com/starsink/starsink/offsets"
)

//go:embed page.html
var page []byte

// Handler serves GET /status (Member as JSON) and GET / (an HTML page
// that reads /status every 2 s; no external assets).
type Handler struct {
	Source Source
	// Admin, when set, describes the group (its other members) and
	// supplies committed and end offsets. Nil: the worker's view alone.
	Admin *kadm.Client
	// Freshness, when set, gives LagSeconds of tables with records
	// waiting.
	Freshness *Freshness
	// Timeout bounds the Kafka requests of one /status (default 3 s).
	Timeout time.Duration
	// CacheFor is how long one answer from Kafka serves every /status
	// (default 2 s, the page's refresh; negative: never cached).
	CacheFor time.Duration
	Log      *zap.Logger

	mu     sync.Mutex
	cached *kafkaView
}

// Register mounts the handler's routes on mux.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /status", h.serveJSON)
	mux.HandleFunc("GET /{$}", h.servePage)
}

func (h *Handler) servePage(rw http.ResponseWriter, _ *http.Request) {
	rw.Header().Set("Content-Type", "text/html; charset=utf-8")
	rw.Header().Set("Cache-Control", "no-store")
	rw.Write(page)
}

func (h *Handler) serveJSON(rw http.ResponseWriter, r *http.Request) {
	m := h.Snapshot(r.Context())
	rw.Header().Set("Content-Type", "application/json")
	rw.Header().Set("Cache-Control", "no-store")
	enc := json.NewEncoder(rw)
	enc.SetIndent("", "  ")
	if err := enc.Encode(m); err != nil && h.Log != nil {
		h.Log.Debug("status: write", zap.Error(err))
	}
}

// Snapshot is the worker's view completed from Kafka: the group's members
// and state, committed and end offsets, and each table's lag.
func (h *Handler) Snapshot(ctx context.Context) Member {
	m := h.Source.Status()
	if m.Time.IsZero() {
		m.Time = time.Now()
	}
	if h.Admin != nil && m.Group != "" {
		timeout := h.Timeout
		if timeout <= 0 {
			timeout = 3 * time.Second
		}
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		if err := h.fromKafka(ctx, &m); err != nil {
			m.GroupError = err.Error()
		}
	}
	for i := range m.Tables {
		t := &m.Tables[i]
		sort.Slice(t.Partitions, func(a, b int) bool {
			pa, pb := t.Partitions[a], t.Partitions[b]
			if pa.Topic != pb.Topic {
				return pa.Topic < pb.Topic
			}
			return pa.Partition < pb.Partition
		})
		t.LagRecords = 0
		for _, p := range t.Partitions {
			if p.Lag > 0 {
				t.LagRecords += p.Lag
			}
		}
		if t.LagRecords > 0 && h.Freshness != nil {
			t.LagSeconds, _ = h.Freshness.Seconds(t.Name)
		} else if t.LagRecords == 0 {
			t.LagSeconds = 0
		}
	}
	sort.Slice(m.Tables, func(a, b int) bool { return m.Tables[a].Name < m.Tables[b].Name })
	if m.Members == nil {
		m.Members = []GroupMember{}
	}
	return m
}

// kafkaView is one answer from Kafka, kept for Handler.CacheFor.
type kafkaView struct {
	at     time.Time
	topics string // the sorted topics asked about, joined
	group  offsets.Group
	parts  map[string]map[int32]offsets.Partition
	err    error
}

// fromKafka adds the group's description and the offsets of the member's
// partitions. Answers are shared for CacheFor, so that open pages and
// scrapers cost Kafka a few requests per interval, not per viewer.
func (h *Handler) fromKafka(ctx context.Context, m *Member) error {
	var topics []string
	seen := map[string]bool{}
	for _, t := range m.Tables {
		for _, p := range t.Partitions {
			if !seen[p.Topic] {
				seen[p.Topic] = true
				topics = append(topics, p.Topic)
			}
		}
	}
	sort.Strings(topics)
	key := strings.Join(topics, "\x00")

	h.mu.Lock()
	defer h.mu.Unlock() // one request to Kafka at a time; the others wait and share it
	v := h.cached
	cacheFor := h.CacheFor
	if cacheFor == 0 {
		cacheFor = 2 * time.Second
	}
	if v == nil || v.topics != key || time.Since(v.at) >= cacheFor {
		v = &kafkaView{at: time.Now(), topics: key}
		v.group, v.err = offsets.Describe(ctx, h.Admin, m.Group)
		if v.err == nil && len(topics) > 0 {
			var parts []offsets.Partition
			parts, v.err = offsets.Show(ctx, h.Admin, m.Group, topics, nil)
			v.parts = make(map[string]map[int32]offsets.Partition, len(topics))
			for _, p := range parts {
				if v.parts[p.Topic] == nil {
					v.parts[p.Topic] = map[int32]offsets.Partition{}
				}
				v.parts[p.Topic][p.Partition] = p
			}
		}
		h.cached = v
	}
	if v.err != nil {
		return v.err
	}
	m.GroupState, m.Members = v.group.State, append([]GroupMember(nil), v.group.Members...)
	for i := range m.Tables {
		for j := range m.Tables[i].Partitions {
			p := &m.Tables[i].Partitions[j]
			if k, ok := v.parts[p.Topic][p.Partition]; ok {
				p.End = k.End
				// With nothing committed yet, the worker's own lag
				// (from its fetches) is the best figure there is.
				if k.Committed >= 0 {
					p.Committed, p.Lag = k.Committed, k.Lag
				}
			}
		}
	}
	return nil
}
