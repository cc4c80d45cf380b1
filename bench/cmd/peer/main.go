// Command peer measures the Java StarRocks Kafka connector (in a Kafka
// Connect 4.0 worker) and starsink on the same topic of the same Kafka
// broker, each loading into its own in-process StarRocks emulator, and
// prints both rates and their ratio. bench/peer.sh drives it.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/starsink/starsink/config"
	"github.com/starsink/starsink/emulator"
	"github.com/starsink/starsink/internal/subway"
	"github.com/starsink/starsink/schema"
	"github.com/starsink/starsink/sink"
)

type emuSchemas struct{ s *emulator.Server }

func (e emuSchemas) Table(_ context.Context, db, table string) (*schema.Table, error) {
	return e.s.Schema(db, table)
}

func main() {
	brokers := flag.String("brokers", "127.0.0.1:59092", "Kafka bootstrap")
	rows := flag.Int64("rows", 200000, "events in the topic")
	plugin := flag.String("plugin", "", "the Java connector's plugin folder (empty: starsink only)")
	libs := flag.String("kafka-libs", ".cache/e2e/kafka/libs", "Kafka and Connect jars")
	work := flag.String("work", ".cache/bench", "work and log folder")
	flag.Parse()
	if err := run(*brokers, *rows, *plugin, *libs, *work); err != nil {
		fmt.Fprintln(os.Stderr, "peer:", err)
		os.Exit(1)
	}
}

func newEmulator(ctx context.Context) (*emulator.Server, error) {
	emu, err := emulator.Start(emulator.Config{NoMySQL: true})
	if err != nil {
		return nil, err
	}
	for _, q := range append([]string{"CREATE DATABASE subway", "USE subway"}, subway.StarRocksDDL...) {
		if err := emu.Exec(ctx, q); err != nil {
			return nil, err
		}
	}
	return emu, nil
}

// waitRows waits until the emulator holds n rows and returns when.
func waitRows(emu *emulator.Server, n int64, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if c, _ := emu.Count(subway.Database, subway.PassengerTable); c >= n {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	c, _ := emu.Count(subway.Database, subway.PassengerTable)
	return fmt.Errorf("only %d of %d rows after %s", c, n, timeout)
}

func run(brokers string, rows int64, plugin, libs, work string) error {
	ctx := context.Background()
	var javaRate float64
	if plugin != "" {
		emu, err := newEmulator(ctx)
		if err != nil {
			return err
		}
		rate, err := runJava(brokers, rows, plugin, libs, work, emu)
		emu.Close()
		if err != nil {
			return fmt.Errorf("java connector: %w", err)
		}
		javaRate = rate
		fmt.Printf("java connector: %d rows, %.0f rows/s\n", rows, rate)
	}
	emu, err := newEmulator(ctx)
	if err != nil {
		return err
	}
	defer emu.Close()
	cfg := config.Default()
	cfg.Kafka.Brokers = []string{brokers}
	cfg.Kafka.GroupID = fmt.Sprintf("bench-starsink-%d", time.Now().UnixNano())
	cfg.Kafka.Topics = []string{subway.Passengers.Topic()}
	cfg.StarRocks.LoadURLs = []string{emu.FEURL()}
	cfg.StarRocks.Database = subway.Database
	cfg.Mapping.Template = "{table}"
	cfg.HTTP.Addr = ""
	w, err := sink.New(&cfg, sink.Deps{Schemas: emuSchemas{emu}}, nil)
	if err != nil {
		return err
	}
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- w.Run(wctx) }()
	err = waitRows(emu, rows, 10*time.Minute)
	rate := float64(rows) / time.Since(start).Seconds()
	cancel()
	if werr := <-done; err == nil {
		err = werr
	}
	if err != nil {
		return fmt.Errorf("starsink: %w", err)
	}
	fmt.Printf("starsink: %d rows, %.0f rows/s\n", rows, rate)
	if javaRate > 0 {
		fmt.Printf("starsink / java connector: %.1fx\n", rate/javaRate)
	}
	return nil
}

// runJava starts a Connect worker with the connector's plugin folder,
// registers the connector as its documentation says for Debezium, and
// times it to the last row.
func runJava(brokers string, rows int64, plugin, libs, work string, emu *emulator.Server) (float64, error) {
	if err := os.MkdirAll(work, 0o755); err != nil {
		return 0, err
	}
	const port = "58084"
	props := fmt.Sprintf(`bootstrap.servers=%s
group.id=bench-connect-%d
key.converter=org.apache.kafka.connect.json.JsonConverter
value.converter=org.apache.kafka.connect.json.JsonConverter
config.storage.topic=_bench_configs_%[2]d
offset.storage.topic=_bench_offsets_%[2]d
status.storage.topic=_bench_status_%[2]d
config.storage.replication.factor=1
offset.storage.replication.factor=1
status.storage.replication.factor=1
listeners=http://127.0.0.1:%s
plugin.path=%s
plugin.discovery=hybrid_warn
`, brokers, time.Now().Unix(), port, filepath.Dir(plugin)) // plugin.path names the folder holding plugin folders
	pf := filepath.Join(work, "connect.properties")
	if err := os.WriteFile(pf, []byte(props), 0o644); err != nil {
		return 0, err
	}
	logf, err := os.Create(filepath.Join(work, "connect.log"))
	if err != nil {
		return 0, err
	}
	defer logf.Close()
	cmd := exec.Command("java", "-Xms512m", "-Xmx1500m", "-cp", libs+"/*", "org.apache.kafka.connect.cli.ConnectDistributed", pf)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	base := "http://127.0.0.1:" + port
	for i := 0; ; i++ {
		if resp, err := http.Get(base + "/connectors"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if i > 240 {
			return 0, fmt.Errorf("connect did not start (log %s)", logf.Name())
		}
		time.Sleep(500 * time.Millisecond)
	}
	fe := emu.FEURL()[len("http://"):]
	body := fmt.Sprintf(`{"connector.class":"com.starrocks.connector.kafka.StarRocksSinkConnector","tasks.max":"1",
"topics":%q,"starrocks.http.url":%q,"starrocks.database.name":"subway","starrocks.username":"root","starrocks.password":"",
"starrocks.topic2table.map":%q,
"key.converter":"org.apache.kafka.connect.json.JsonConverter","key.converter.schemas.enable":"true",
"value.converter":"org.apache.kafka.connect.json.JsonConverter","value.converter.schemas.enable":"true",
"sink.properties.format":"json","sink.properties.strip_outer_array":"true",
"transforms":"addfield,unwrap",
"transforms.addfield.type":"com.starrocks.connector.kafka.transforms.AddOpFieldForDebeziumRecord",
"transforms.unwrap.type":"io.debezium.transforms.ExtractNewRecordState",
"transforms.unwrap.drop.tombstones":"true","transforms.unwrap.delete.handling.mode":"rewrite",
"consumer.override.auto.offset.reset":"earliest"}`,
		subway.Passengers.Topic(), fe, subway.Passengers.Topic()+":"+subway.PassengerTable)
	req, _ := http.NewRequest(http.MethodPut, base+"/connectors/starrocks-sink/config", bytes.NewBufferString(body))
	req.Header.Set("Content-Type", "application/json")
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		msg, _ := io.ReadAll(resp.Body)
		return 0, fmt.Errorf("register: HTTP %d: %s (log %s)", resp.StatusCode, msg, logf.Name())
	}
	if err := waitRows(emu, rows, 15*time.Minute); err != nil {
		return 0, fmt.Errorf("%w (log %s)", err, logf.Name())
	}
	return float64(rows) / time.Since(start).Seconds(), nil
}
