package emulator

import (
	"encoding/json"
	"fmt"
	"time"
)

// Settings are the emulator's StarRocks-side configuration: what a be.conf,
// fe.conf or cluster mode would decide. The zero value is not StarRocks'
// defaults; DefaultSettings is. They can be changed while the server runs
// (Server.SetSettings, or POST /_emulator/config on the FE port).
type Settings struct {
	// StrictMode is the strict_mode a load has when it sends no
	// strict_mode header (StarRocks: false).
	StrictMode bool `json:"strict_mode"`
	// SharedData emulates a shared-data (lake) cluster, with the Primary
	// Key ordering bug of StarRocks issue #75014: within one load, a DELETE
	// of a key in one memtable and a later UPSERT of it in a later memtable
	// leave the key deleted.
	SharedData bool `json:"shared_data"`
	// MemtableRows and MemtableBytes bound one memtable of a load in
	// shared-data mode (the first reached flushes it); 0 means no bound.
	// StarRocks flushes by memory (write_buffer_size, 100 MiB); the rows
	// bound lets a test place a flush exactly.
	MemtableRows  int `json:"memtable_rows"`
	MemtableBytes int `json:"memtable_bytes"`
	// LabelKeepMaxSecond and LabelKeepMaxNum evict finished labels as the
	// FE's DatabaseTransactionMgr.removeExpiredTxns does: older than the
	// age, or beyond the number per database, oldest first (StarRocks:
	// label_keep_max_second 3 days, label_keep_max_num 1000).
	LabelKeepMaxSecond Duration `json:"label_keep_max_second"`
	LabelKeepMaxNum    int      `json:"label_keep_max_num"`
	// InfoSchema is the spelling of information_schema.columns: "fe" (the
	// FE's toMysqlColumnTypeString: decimal(p, s), array<…>, real
	// IS_NULLABLE) or "be" (the BE scanner's type_to_string: decimal(p,s),
	// unknown for ARRAY/MAP/STRUCT, IS_NULLABLE always NO).
	InfoSchema string `json:"info_schema"`
	// StreamingLoadMaxBatchSizeMB is be.conf streaming_load_max_batch_size_mb
	// (100): a JSON load with a larger Content-Length fails unless it sends
	// ignore_json_size: true.
	StreamingLoadMaxBatchSizeMB int `json:"streaming_load_max_batch_size_mb"`
	// SchemaChangeDuration is how long an ALTER TABLE job takes from
	// creation to FINISHED; 0 finishes it at once (as a fast schema
	// evolution ADD/DROP COLUMN does).
	SchemaChangeDuration Duration `json:"schema_change_duration"`
	// RollbackDelay is how long the label of a load whose client broke
	// the upload stays RUNNING before its transaction is rolled back
	// (StarRocks rolls back when the load's context is destroyed, after the
	// fragment notices the cancelled pipe).
	RollbackDelay Duration `json:"rollback_delay"`
	// TxnTimeout is the timeout of a transaction-interface transaction
	// that sends no timeout header (stream_load_default_timeout_second,
	// 600 s); past it the BE aborts the transaction. An idle timeout
	// applies only when idle_transaction_timeout is sent.
	TxnTimeout Duration `json:"txn_timeout"`
	// EmptyLoadAsError is fe.conf empty_load_as_error (true): a load that
	// loads no row fails with "all partitions have no load data".
	EmptyLoadAsError bool `json:"empty_load_as_error"`
}

// DefaultSettings are StarRocks 3.5's defaults.
func DefaultSettings() Settings {
	return Settings{
		LabelKeepMaxSecond:          Duration(72 * time.Hour),
		LabelKeepMaxNum:             1000,
		InfoSchema:                  "fe",
		StreamingLoadMaxBatchSizeMB: 100,
		RollbackDelay:               Duration(time.Second),
		TxnTimeout:                  Duration(600 * time.Second),
		EmptyLoadAsError:            true,
	}
}

// validate checks settings read from a flag or the control endpoint.
func (st Settings) validate() error {
	switch st.InfoSchema {
	case "fe", "be":
	default:
		return fmt.Errorf("info_schema %q: want fe or be", st.InfoSchema)
	}
	if st.MemtableRows < 0 || st.MemtableBytes < 0 || st.LabelKeepMaxNum < 0 || st.StreamingLoadMaxBatchSizeMB < 0 {
		return fmt.Errorf("negative size in settings")
	}
	return nil
}

// Duration is a time.Duration that reads and writes JSON as "90s" (or a
// number of nanoseconds).
type Duration time.Duration

func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var n int64
		if err2 := json.Unmarshal(b, &n); err2 != nil {
			return fmt.Errorf("duration: %w", err)
		}
		*d = Duration(n)
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// SetSettings replaces the settings.
func (s *Server) SetSettings(st Settings) error {
	if err := st.validate(); err != nil {
		return err
	}
	s.mu.Lock()
	s.set = st
	s.mu.Unlock()
	return nil
}

// Settings returns the current settings.
func (s *Server) Settings() Settings {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.set
}
