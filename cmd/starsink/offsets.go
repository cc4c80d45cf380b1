package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/starsink/starsink/config"
	"github.com/starsink/starsink/offsets"
	"github.com/starsink/starsink/sink"
)

func init() {
	register("offsets", "show or reset the group's committed offsets (show | reset)", runOffsets)
}

const offsetsUsage = `usage:
  starsink offsets show  [--config F] [--table T]
  starsink offsets reset [--config F] --table T (--to-earliest | --to-latest | --to-timestamp RFC3339 | --to-offset N) [--execute]

show lists committed offset, end and lag per partition, with the table each
topic loads into. reset moves one table's partitions; it is a dry run unless
--execute is given, and refuses while the group has active members (stop
every worker of the group first), as kafka-consumer-groups does.`

func runOffsets(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "show" && args[0] != "reset") {
		fmt.Fprintln(stderr, offsetsUsage)
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			return nil
		}
		return fmt.Errorf("%w: want show or reset", errUsage)
	}
	sub := args[0]
	fs := pflag.NewFlagSet("offsets "+sub, pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, offsetsUsage); fs.PrintDefaults() }
	file := fs.String("config", "", "configuration file (YAML or JSON)")
	table := fs.String("table", "", "only the partitions of this table (db.table, or table when unambiguous)")
	var (
		earliest, latest, execute bool
		at                        string
		offset                    int64
	)
	if sub == "reset" {
		fs.BoolVar(&earliest, "to-earliest", false, "reset to the earliest offset Kafka holds (load every retained change again)")
		fs.BoolVar(&latest, "to-latest", false, "reset to the end (skip everything up to now)")
		fs.StringVar(&at, "to-timestamp", "", "reset to the first record at or after this time (RFC 3339)")
		fs.Int64Var(&offset, "to-offset", -1, "reset every partition to this offset (kept within each partition's start and end)")
		fs.BoolVar(&execute, "execute", false, "commit the new offsets (default: show what would change)")
	}
	config.AddFlags(fs)
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return nil
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	var to offsets.To
	if sub == "reset" {
		if *table == "" {
			return fmt.Errorf("%w: reset needs --table", errUsage)
		}
		n := 0
		if earliest {
			n, to = n+1, offsets.Earliest()
		}
		if latest {
			n, to = n+1, offsets.Latest()
		}
		if at != "" {
			t, err := time.Parse(time.RFC3339Nano, at)
			if err != nil {
				return fmt.Errorf("%w: --to-timestamp: want RFC 3339 (2026-11-30T01:00:00Z): %v", errUsage, err)
			}
			n, to = n+1, offsets.AtTime(t)
		}
		if fs.Changed("to-offset") {
			if offset < 0 {
				return fmt.Errorf("%w: --to-offset: want 0 or more", errUsage)
			}
			n, to = n+1, offsets.AtOffset(offset)
		}
		if n != 1 {
			return fmt.Errorf("%w: reset needs exactly one of --to-earliest, --to-latest, --to-timestamp, --to-offset", errUsage)
		}
	}

	cfg, err := config.Load(config.LoadOptions{File: *file, Flags: fs})
	if err != nil {
		return err
	}
	opts, err := sink.DialOptions(cfg)
	if err != nil {
		return err
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("kafka client: %w", err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	group := cfg.Kafka.GroupID

	g, err := offsets.Describe(ctx, adm, group)
	if err != nil {
		return err
	}
	tableOf, err := offsets.Tables(cfg)
	if err != nil {
		return err
	}
	topics, err := offsets.Topics(ctx, adm, group, cfg.Kafka)
	if err != nil {
		return err
	}
	parts, err := offsets.Show(ctx, adm, group, topics, tableOf)
	if err != nil {
		return err
	}
	if *table != "" {
		if parts, err = offsets.Of(parts, *table); err != nil {
			return err
		}
		if len(parts) == 0 {
			return fmt.Errorf("table %s: no partition of a consumed topic maps to it (%d topic(s) looked at)", *table, len(topics))
		}
	}

	if sub == "show" {
		fmt.Fprintf(stdout, "group %s: %s, %d member(s)\n", group, stateOf(g), len(g.Members))
		for _, m := range g.Members {
			fmt.Fprintf(stdout, "  member %s client %s host %s: %s\n", m.MemberID, m.ClientID, m.Host, assignedString(m.Assigned))
		}
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "TOPIC\tPARTITION\tTABLE\tCOMMITTED\tSTART\tEND\tLAG\t")
		for _, p := range parts {
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%d\t%d\t%s\t\n", p.Topic, p.Partition, orDash(p.Table), num(p.Committed), p.Start, p.End, num(p.Lag))
		}
		return tw.Flush()
	}

	if g.Active() {
		return &offsets.ActiveError{Group: g}
	}
	moves, err := offsets.Plan(ctx, adm, parts, to)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TOPIC\tPARTITION\tTABLE\tCOMMITTED\tNEW\tNOTE")
	for _, m := range moves {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%d\t%s\n", m.Topic, m.Partition.Partition, m.Table, num(m.Committed), m.To, m.Note)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if !execute {
		fmt.Fprintf(stdout, "dry run: group %s not changed; add --execute to reset %d partition(s) of %s to %s\n", group, len(moves), *table, to)
		return nil
	}
	if err := offsets.Execute(ctx, adm, group, moves); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "group %s: %d partition(s) of %s reset to %s\n", group, len(moves), *table, to)
	return nil
}

func stateOf(g offsets.Group) string {
	if g.State == "Dead" {
		return "unknown to Kafka (nothing committed yet)"
	}
	return g.State
}

func num(n int64) string {
	if n < 0 {
		return "-"
	}
	return strconv.FormatInt(n, 10)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func assignedString(tps []offsets.TopicPartitions) string {
	if len(tps) == 0 {
		return "nothing assigned"
	}
	s := ""
	for i, tp := range tps {
		if i > 0 {
			s += "; "
		}
		s += tp.Topic + " ["
		for j, p := range tp.Partitions {
			if j > 0 {
				s += ","
			}
			s += strconv.Itoa(int(p))
		}
		s += "]"
	}
	return s
}
