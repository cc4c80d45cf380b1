package offsets

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/starsink/starsink/config"
	"github.com/starsink/starsink/mapping"
)

// Partition is one partition's committed offset, its bounds, and the
// table its topic loads into.
type Partition struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Table     string `json:"table"`     // db.table; "" when the topic maps no table
	Committed int64  `json:"committed"` // -1: the group committed nothing here
	Start     int64  `json:"start"`     // the earliest offset Kafka still holds
	End       int64  `json:"end"`       // the high watermark
	Lag       int64  `json:"lag"`       // End - Committed; -1 with no commit
}

// Tables names the table of a topic through the mapping package, "" when
// none matches.
func Tables(cfg *config.Config) (func(topic string) string, error) {
	m, err := mapping.New(cfg.Mapping, cfg.StarRocks.Database)
	if err != nil {
		return nil, err
	}
	return func(topic string) string {
		t, err := m.Resolve(topic)
		if err != nil {
			return ""
		}
		return t.Database + "." + t.Table
	}, nil
}

// Topics returns the topics the worker of k would consume, as the cluster
// has them now (kafka.topics, and kafka.topic_regex less
// kafka.exclude_regex), and every topic group has committed offsets on,
// sorted.
func Topics(ctx context.Context, adm *kadm.Client, group string, k config.Kafka) ([]string, error) {
	set := map[string]bool{}
	committed, err := adm.FetchOffsets(ctx, group)
	if err != nil && !errors.Is(err, kerr.GroupIDNotFound) { // a group that never committed
		return nil, fmt.Errorf("fetch offsets of group %s: %w", group, err)
	}
	for t := range committed {
		set[t] = true
	}
	listed, err := adm.ListTopics(ctx)
	if err != nil {
		return nil, fmt.Errorf("list topics: %w", err)
	}
	match, err := subscription(k)
	if err != nil {
		return nil, err
	}
	for _, t := range listed.Names() {
		if match(t) {
			set[t] = true
		}
	}
	out := make([]string, 0, len(set))
	for t := range set {
		out = append(out, t)
	}
	sort.Strings(out)
	return out, nil
}

// subscription mirrors the worker's: listed topics exactly; with regexes,
// any topic one matches unless an exclude regex does.
func subscription(k config.Kafka) (func(string) bool, error) {
	compile := func(key string, pats []string) ([]*regexp.Regexp, error) {
		var out []*regexp.Regexp
		for _, p := range pats {
			re, err := regexp.Compile(p)
			if err != nil {
				return nil, fmt.Errorf("%s: %q: %w", key, p, err)
			}
			out = append(out, re)
		}
		return out, nil
	}
	incl, err := compile("kafka.topic_regex", k.TopicRegex)
	if err != nil {
		return nil, err
	}
	excl, err := compile("kafka.exclude_regex", k.ExcludeRegex)
	if err != nil {
		return nil, err
	}
	return func(t string) bool {
		for _, n := range k.Topics {
			if n == t {
				return true
			}
		}
		if len(incl) == 0 {
			return false
		}
		for _, re := range excl {
			if re.MatchString(t) {
				return false
			}
		}
		for _, re := range incl {
			if re.MatchString(t) {
				return true
			}
		}
		return false
	}, nil
}

// Show returns every partition of topics with group's committed offset,
// the partition's bounds and lag, and the table tableOf names, sorted by
// topic and partition.
func Show(ctx context.Context, adm *kadm.Client, group string, topics []string, tableOf func(string) string) ([]Partition, error) {
	if len(topics) == 0 {
		return nil, nil
	}
	committed, err := adm.FetchOffsetsForTopics(ctx, group, topics...)
	if err == nil {
		err = committed.Error()
	}
	switch {
	case errors.Is(err, kerr.GroupIDNotFound): // a group that never committed
		committed = nil
	case err != nil:
		return nil, fmt.Errorf("fetch offsets of group %s: %w", group, err)
	}
	starts, err := adm.ListStartOffsets(ctx, topics...)
	if err != nil {
		return nil, fmt.Errorf("list start offsets: %w", err)
	}
	ends, err := adm.ListEndOffsets(ctx, topics...)
	if err != nil {
		return nil, fmt.Errorf("list end offsets: %w", err)
	}
	var out []Partition
	var errs []string
	ends.Each(func(e kadm.ListedOffset) {
		if e.Err != nil {
			errs = append(errs, fmt.Sprintf("topic %s partition %d: %v", e.Topic, e.Partition, e.Err))
			return
		}
		p := Partition{Topic: e.Topic, Partition: e.Partition, End: e.Offset, Committed: -1, Lag: -1}
		if tableOf != nil {
			p.Table = tableOf(e.Topic)
		}
		if s, ok := starts.Lookup(e.Topic, e.Partition); ok && s.Err == nil {
			p.Start = s.Offset
		}
		if c, ok := committed.Lookup(e.Topic, e.Partition); ok && c.Err == nil && c.At >= 0 {
			p.Committed = c.At
			p.Lag = max(p.End-c.At, 0)
		}
		out = append(out, p)
	})
	if len(errs) > 0 {
		sort.Strings(errs)
		return nil, fmt.Errorf("list end offsets: %s", strings.Join(errs, "; "))
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Topic != out[j].Topic {
			return out[i].Topic < out[j].Topic
		}
		return out[i].Partition < out[j].Partition
	})
	return out, nil
}

// Of keeps the partitions of table: its name as db.table, or a bare name
// that matches the table part of exactly one db.table (an error names the
// candidates otherwise).
func Of(parts []Partition, table string) ([]Partition, error) {
	var out []Partition
	tables := map[string]bool{}
	for _, p := range parts {
		if p.Table == "" {
			continue
		}
		_, bare, _ := strings.Cut(p.Table, ".")
		if p.Table == table || !strings.Contains(table, ".") && bare == table {
			out = append(out, p)
			tables[p.Table] = true
		}
	}
	if len(tables) > 1 {
		names := make([]string, 0, len(tables))
		for t := range tables {
			names = append(names, t)
		}
		sort.Strings(names)
		return nil, fmt.Errorf("table %s is ambiguous: %s; name it as db.table", table, strings.Join(names, ", "))
	}
	return out, nil
}
