package ddl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/starsink/starsink/config"
	"github.com/starsink/starsink/mapping"
	"github.com/starsink/starsink/schema"
	"github.com/starsink/starsink/streamload"
)

// TableReader reads a table's schema; a missing table is an error wrapping
// streamload.ErrTableNotFound (streamload.Catalog is one).
type TableReader interface {
	Table(ctx context.Context, db, table string) (*schema.Table, error)
}

// Planner plans every topic a configuration selects: it resolves the
// topics against the cluster's metadata, reads each topic's latest record
// and the StarRocks catalog, and calls Plan.
type Planner struct {
	// Dial reaches the brokers (sink.DialOptions): no consumer group, so
	// planning never disturbs the worker's group.
	Dial    []kgo.Opt
	Catalog TableReader
	Mapper  *mapping.Mapper
	Mapping config.Mapping
	// Source says how records are read (SourceOptionsFor(cfg.Decoder)).
	Source SourceOptions
	// Tail is how many records at the end of each partition are read to
	// find the newest that carries a value (default 16: a delete is
	// followed by its tombstone).
	Tail int64
	// Timeout bounds reading one topic's records (default 10s).
	Timeout time.Duration
}

// TopicPlan is one topic's plan, or why it could not be planned.
type TopicPlan struct {
	Topic string `json:"topic"`
	*TablePlan
	Error string `json:"error,omitempty"`
}

// Failed reports whether the topic could not be planned or its plan has
// an error.
func (t TopicPlan) Failed() bool { return t.Error != "" || t.TablePlan != nil && t.HasErrors() }

// Topics returns the topics the kafka section selects, as the worker
// would consume them: listed topics as listed (a missing one is an error
// in its plan), topics matching topic_regex but no exclude_regex, internal
// topics never.
func (p *Planner) Topics(ctx context.Context, k config.Kafka) (existing, missing []string, err error) {
	cl, err := kgo.NewClient(p.Dial...)
	if err != nil {
		return nil, nil, fmt.Errorf("kafka client: %w", err)
	}
	defer cl.Close()
	details, err := kadm.NewClient(cl).ListTopics(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("list topics: %w", err)
	}
	compile := func(pats []string) ([]*regexp.Regexp, error) {
		out := make([]*regexp.Regexp, 0, len(pats))
		for _, s := range pats {
			re, err := regexp.Compile(s)
			if err != nil {
				return nil, fmt.Errorf("regex %q: %w", s, err)
			}
			out = append(out, re)
		}
		return out, nil
	}
	match := func(res []*regexp.Regexp, t string) bool {
		return slices.ContainsFunc(res, func(re *regexp.Regexp) bool { return re.MatchString(t) })
	}
	incl, err := compile(k.TopicRegex)
	if err != nil {
		return nil, nil, fmt.Errorf("kafka.topic_regex: %w", err)
	}
	excl, err := compile(k.ExcludeRegex)
	if err != nil {
		return nil, nil, fmt.Errorf("kafka.exclude_regex: %w", err)
	}
	for name, d := range details {
		if d.IsInternal {
			continue
		}
		if slices.Contains(k.Topics, name) || len(incl) > 0 && match(incl, name) && !match(excl, name) {
			existing = append(existing, name)
		}
	}
	for _, t := range k.Topics {
		if _, ok := details[t]; !ok {
			missing = append(missing, t)
		}
	}
	sort.Strings(existing)
	return existing, missing, nil
}

// PlanAll plans every topic the configuration selects, in name order.
func (p *Planner) PlanAll(ctx context.Context, k config.Kafka) ([]TopicPlan, error) {
	topics, missing, err := p.Topics(ctx, k)
	if err != nil {
		return nil, err
	}
	out := make([]TopicPlan, 0, len(topics)+len(missing))
	for _, t := range topics {
		out = append(out, p.PlanTopic(ctx, t))
	}
	for _, t := range missing {
		out = append(out, TopicPlan{Topic: t, Error: "topic does not exist"})
	}
	return out, nil
}

// PlanTopic plans one topic.
func (p *Planner) PlanTopic(ctx context.Context, topic string) TopicPlan {
	tp := TopicPlan{Topic: topic}
	target, err := p.Mapper.Resolve(topic)
	if err != nil {
		tp.Error = err.Error()
		return tp
	}
	src, err := p.latest(ctx, topic)
	if err != nil {
		tp.Error = err.Error()
		return tp
	}
	table, err := p.Catalog.Table(ctx, target.Database, target.Table)
	if errors.Is(err, streamload.ErrTableNotFound) {
		table, err = nil, nil
	}
	if err != nil {
		tp.Error = err.Error()
		return tp
	}
	tp.TablePlan = Plan(target.Database, target.Table, src, table, OptionsFor(target.Options, p.Mapping))
	return tp
}

// latest reads the last records of each partition of topic and returns
// the source described by the newest (by timestamp) that carries a value;
// nil when the topic holds none.
func (p *Planner) latest(ctx context.Context, topic string) (*Source, error) {
	tail, timeout := p.Tail, p.Timeout
	if tail <= 0 {
		tail = 16
	}
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	admCl, err := kgo.NewClient(p.Dial...)
	if err != nil {
		return nil, fmt.Errorf("kafka client: %w", err)
	}
	adm := kadm.NewClient(admCl)
	starts, err := adm.ListStartOffsets(ctx, topic)
	if err == nil {
		err = starts.Error()
	}
	var ends kadm.ListedOffsets
	if err == nil {
		ends, err = adm.ListEndOffsets(ctx, topic)
		if err == nil {
			err = ends.Error()
		}
	}
	admCl.Close()
	if err != nil {
		return nil, fmt.Errorf("topic %s: offsets: %w", topic, err)
	}
	from := map[int32]kgo.Offset{}
	last := map[int32]int64{} // the last offset of each partition still to read
	ends.Each(func(o kadm.ListedOffset) {
		start := int64(0)
		if s, ok := starts.Lookup(topic, o.Partition); ok {
			start = s.Offset
		}
		if o.Offset <= start {
			return // empty
		}
		from[o.Partition] = kgo.NewOffset().At(max(start, o.Offset-tail))
		last[o.Partition] = o.Offset - 1
	})
	if len(from) == 0 {
		return nil, nil
	}
	cl, err := kgo.NewClient(append(slices.Clone(p.Dial), kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: from}))...)
	if err != nil {
		return nil, fmt.Errorf("kafka client: %w", err)
	}
	defer cl.Close()
	var recs []*kgo.Record
	for len(last) > 0 {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			break // control records or a short read: plan with what arrived
		}
		var ferr error
		fs.EachError(func(t string, part int32, err error) {
			ferr = fmt.Errorf("topic %s partition %d: fetch: %w", t, part, err)
		})
		if ferr != nil {
			return nil, ferr
		}
		fs.EachRecord(func(r *kgo.Record) {
			recs = append(recs, r)
			if l, ok := last[r.Partition]; ok && r.Offset >= l {
				delete(last, r.Partition)
			}
		})
	}
	// Newest first: by timestamp, then offset.
	sort.SliceStable(recs, func(i, j int) bool {
		if !recs[i].Timestamp.Equal(recs[j].Timestamp) {
			return recs[i].Timestamp.After(recs[j].Timestamp)
		}
		return recs[i].Offset > recs[j].Offset
	})
	var firstErr error
	for _, r := range recs {
		src, err := ReadSource(Record{Key: r.Key, Value: r.Value}, p.Source)
		if err == nil {
			return src, nil
		}
		if firstErr == nil && !errors.Is(err, ErrNoValue) {
			firstErr = fmt.Errorf("topic %s partition %d offset %d: %w", r.Topic, r.Partition, r.Offset, err)
		}
	}
	return nil, firstErr
}

// WriteJSON prints the plans as one JSON document.
func WriteJSON(w io.Writer, plans []TopicPlan) error {
	out := struct {
		Topics []TopicPlan `json:"topics"`
		Errors int         `json:"errors"`
	}{Topics: plans}
	for _, p := range plans {
		if p.Failed() {
			out.Errors++
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(out)
}

// WriteText prints the plans for people: per topic the table, whether it
// exists, the differences (errors first) and the DDL.
func WriteText(w io.Writer, plans []TopicPlan) error {
	var b strings.Builder
	for i, p := range plans {
		if i > 0 {
			b.WriteByte('\n')
		}
		if p.Error != "" {
			fmt.Fprintf(&b, "%s\n  error    %s\n", p.Topic, p.Error)
			continue
		}
		state := "exists"
		if !p.Exists {
			state = "missing"
		}
		fmt.Fprintf(&b, "%s → %s.%s (%s)\n", p.Topic, p.Database, p.Table, state)
		width := 1
		for _, d := range p.Differences {
			width = max(width, len(d.Column))
		}
		for _, c := range []Class{ClassError, ClassWarning, ClassOK} {
			for _, d := range p.Differences {
				if d.Class == c {
					col := d.Column
					if col == "" {
						col = "-"
					}
					fmt.Fprintf(&b, "  %-8s %-*s  %s\n", c, width, col, d.Message)
				}
			}
		}
		for _, u := range p.Unknown {
			fmt.Fprintf(&b, "  unknown  %s\n", u)
		}
		if len(p.DDL) > 0 {
			who := "mapping.evolve: add_columns would run"
			if !p.Exists {
				who = "mapping.create_tables would run"
			}
			fmt.Fprintf(&b, "  DDL (%s):\n", who)
			for _, c := range p.DDL {
				b.WriteString("    " + strings.ReplaceAll(c.SQL, "\n", "\n    ") + ";\n")
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
