package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/pflag"

	"github.com/starsink/starsink/config"
	"github.com/starsink/starsink/debezium"
	"github.com/starsink/starsink/mapping"
	"github.com/starsink/starsink/schema"
	"github.com/starsink/starsink/sink"
	"github.com/starsink/starsink/streamload"
)

func init() {
	register("decode", "show how one record value (stdin) would be loaded", runDecode)
}

// decodeOutput is the line `starsink decode` prints.
type decodeOutput struct {
	Table       string          `json:"table"`
	Op          string          `json:"op"`
	Row         json.RawMessage `json:"row,omitempty"`
	Reason      string          `json:"reason,omitempty"`
	Unavailable []string        `json:"unavailable,omitempty"`
}

// runDecode reads one record value from stdin (empty: a tombstone) and
// prints the row starsink would load. With --config the topic is mapped and
// the table's schema read from StarRocks, as the worker does.
func runDecode(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := pflag.NewFlagSet("decode", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	topic := fs.String("topic", "", "the record's topic (required)")
	cfgFile := fs.String("config", "", "starsink configuration: map the topic and read the table's schema from StarRocks")
	keyFile := fs.String("key", "", "a file holding the record's key")
	partition := fs.Int32("partition", 0, "the record's partition (for error messages)")
	offset := fs.Int64("offset", 0, "the record's offset (for error messages)")
	envelope := fs.String("envelope", "", "auto, raw or unwrapped (decoder.envelope; default: the configuration's, else auto)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return nil
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if *topic == "" {
		return fmt.Errorf("%w: --topic is required", errUsage)
	}
	value, err := io.ReadAll(stdin)
	if err != nil {
		return fmt.Errorf("read stdin: %w", err)
	}
	rec := &debezium.Record{Topic: *topic, Partition: *partition, Offset: *offset}
	if len(strings.TrimSpace(string(value))) > 0 {
		rec.Value = value
	}
	if *keyFile != "" {
		if rec.Key, err = os.ReadFile(*keyFile); err != nil {
			return fmt.Errorf("--key: %w", err)
		}
	}
	var (
		table *schema.Table
		opts  = debezium.Options{OpColumn: true}
		name  = "default." + (*topic)[strings.LastIndexByte(*topic, '.')+1:]
	)
	if *cfgFile != "" {
		cfg, err := config.Load(config.LoadOptions{File: *cfgFile})
		if err != nil {
			return err
		}
		m, err := mapping.New(cfg.Mapping, cfg.StarRocks.Database)
		if err != nil {
			return err
		}
		target, err := m.Resolve(*topic)
		if err != nil {
			return err
		}
		cat, err := streamload.NewCatalog(sink.CatalogConfig(cfg), nil)
		if err != nil {
			return err
		}
		defer cat.Close()
		if table, err = cat.Table(ctx, target.Database, target.Table); err != nil {
			return err
		}
		name = table.QualifiedName()
		if opts, err = sink.DecoderOptions(cfg.Decoder); err != nil {
			return err
		}
		opts.OpColumn = table.Model == schema.ModelPrimaryKeys
	}
	if *envelope != "" {
		if opts.Envelope, err = debezium.ParseEnvelope(*envelope); err != nil {
			return fmt.Errorf("%w: --envelope: %v", errUsage, err)
		}
	}
	row, ev, err := debezium.NewDecoder(table, opts).Decode(rec, nil)
	if err != nil {
		return err
	}
	out := decodeOutput{Table: name, Op: ev.Op.String(), Reason: ev.Reason}
	if len(row) > 0 {
		out.Row = row
	}
	for _, i := range ev.Unavailable {
		if table != nil && i < len(table.Columns) {
			out.Unavailable = append(out.Unavailable, table.Columns[i].Name)
		} else {
			out.Unavailable = append(out.Unavailable, fmt.Sprint("#", i))
		}
	}
	b, err := json.Marshal(out)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "%s\n", b)
	return err
}
