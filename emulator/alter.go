package emulator

import (
	"fmt"
	"strings"
	"time"

	"github.com/starsink/starsink/schema"
)

// Schema change job states (AlterJobV2.JobState).
const (
	alterPending    = "PENDING"
	alterWaitingTxn = "WAITING_TXN"
	alterRunning    = "RUNNING"
	alterFinished   = "FINISHED"
	alterCancelled  = "CANCELLED"
)

// alterClause is one clause of ALTER TABLE: ADD, DROP or MODIFY COLUMN.
type alterClause struct {
	op     string // "add", "drop", "modify"
	column schema.Column
	extra  colExtra
	name   string // the column dropped
}

// alterJob is a schema change job (SchemaChangeJobV2) as SHOW ALTER TABLE
// COLUMN reports it. Its state follows time: PENDING for the first tenth
// of its duration, WAITING_TXN for the next, then RUNNING, and FINISHED
// once the change is applied to the table at the end.
type alterJob struct {
	id, indexID, txnID int64
	table              string
	created, finished  time.Time
	duration           time.Duration
	state              string // set only when FINISHED or CANCELLED
	msg                string
	schemaVersion      int
}

// stateAt is the job's state at now.
func (j *alterJob) stateAt(now time.Time) string {
	if j.state != "" {
		return j.state
	}
	switch e := now.Sub(j.created); {
	case e < j.duration/10:
		return alterPending
	case e < j.duration/5:
		return alterWaitingTxn
	}
	return alterRunning
}

// checkAlter checks clauses against a table as SchemaChangeHandler does
// (Column.checkSchemaChangeAllowed for MODIFY). Callers hold the table's
// lock.
func checkAlter(t *table, clauses []alterClause) error {
	cols := append([]schema.Column(nil), t.def.Columns...)
	for _, c := range clauses {
		i := -1
		for k := range cols {
			if strings.EqualFold(cols[k].Name, c.column.Name) || c.op == "drop" && strings.EqualFold(cols[k].Name, c.name) {
				i = k
			}
		}
		switch c.op {
		case "add":
			if i >= 0 {
				return fmt.Errorf("Can not add column which already exists in base table: %s", c.column.Name)
			}
			if t.def.Model == schema.ModelAggKeys && c.extra.agg == "" {
				c.column.Key = true // an Aggregate Key table's column without a function is a key
			}
			cols = append(cols, c.column)
		case "drop":
			if i < 0 {
				return fmt.Errorf("Column does not exists: %s", c.name)
			}
			if cols[i].Key && (t.def.Model == schema.ModelPrimaryKeys || t.def.Model == schema.ModelUniqueKeys) {
				return fmt.Errorf("Can not drop key column in %s data model table", modelWord(t.def.Model))
			}
			cols = append(cols[:i], cols[i+1:]...)
		case "modify":
			if i < 0 {
				return fmt.Errorf("Column[%s] does not exists", c.column.Name)
			}
			if err := modifyAllowed(&cols[i], t.extra[i], &c.column, c.extra); err != nil {
				return err
			}
		}
	}
	return nil
}

func modelWord(m schema.Model) string {
	if m == schema.ModelUniqueKeys {
		return "Unique"
	}
	return "primary"
}

// modifyAllowed is Column.checkSchemaChangeAllowed and the type rules a
// MODIFY COLUMN meets: no NULL to NOT NULL, no new default, no shorter
// string; a DECIMAL may widen its precision with its scale kept; integers
// widen; other type changes are refused.
func modifyAllowed(old *schema.Column, ox colExtra, nw *schema.Column, nx colExtra) error {
	if old.Nullable && !nw.Nullable {
		return fmt.Errorf("Can not change from nullable to non-nullable")
	}
	if (ox.def == nil) != (nx.def == nil) || ox.def != nil && *ox.def != *nx.def {
		return fmt.Errorf("Can not change default value")
	}
	text := func(k schema.Kind) bool {
		return k == schema.KindVarchar || k == schema.KindChar || k == schema.KindString
	}
	ints := map[schema.Kind]int{schema.KindTinyInt: 1, schema.KindSmallInt: 2, schema.KindInt: 3, schema.KindBigInt: 4, schema.KindLargeInt: 5}
	switch {
	case text(old.Kind) && text(nw.Kind):
		if old.Kind == schema.KindVarchar && nw.Kind == schema.KindChar {
			break
		}
		if lenOf(old) > lenOf(nw) {
			return fmt.Errorf("Cannot shorten string length")
		}
		return nil
	case old.Kind == schema.KindDecimal && nw.Kind == schema.KindDecimal:
		if nw.Scale == old.Scale && nw.Precision >= old.Precision {
			return nil
		}
	case old.Kind == schema.KindDecimal && text(nw.Kind):
		return nil // "now we support convert decimal to varchar type"
	case ints[old.Kind] > 0 && ints[nw.Kind] > 0:
		if ints[nw.Kind] >= ints[old.Kind] {
			return nil
		}
	case old.Kind == nw.Kind && old.Type == nw.Type:
		return nil
	}
	return fmt.Errorf("Can not change %s to %s", strings.ToUpper(old.Type), strings.ToUpper(nw.Type))
}

func lenOf(c *schema.Column) int {
	if c.Kind == schema.KindString {
		return 65533
	}
	return c.Length
}

// applyAlter changes the table's schema and rows. Callers hold the lock.
func (t *table) applyAlter(clauses []alterClause) {
	for _, c := range clauses {
		switch c.op {
		case "add":
			col := c.column
			if t.def.Model == schema.ModelAggKeys && c.extra.agg == "" {
				col.Key = true
			}
			t.def.Columns = append(t.def.Columns[:len(t.def.Columns):len(t.def.Columns)], col)
			t.extra = append(t.extra[:len(t.extra):len(t.extra)], c.extra)
			var fill any
			if c.extra.def != nil {
				fill, _ = convert(&col, jsonString(*c.extra.def))
			}
			for i, r := range t.rows {
				if r != nil {
					t.rows[i] = append(r, fill)
				}
			}
		case "drop":
			i := t.def.Index(c.name)
			t.def.Columns = append(append([]schema.Column(nil), t.def.Columns[:i]...), t.def.Columns[i+1:]...)
			t.extra = append(append([]colExtra(nil), t.extra[:i]...), t.extra[i+1:]...)
			for k, r := range t.rows {
				if r != nil {
					t.rows[k] = append(append([]any(nil), r[:i]...), r[i+1:]...)
				}
			}
		case "modify":
			i := t.def.Index(c.column.Name)
			cols := append([]schema.Column(nil), t.def.Columns...)
			col := c.column
			col.Key = cols[i].Key
			if col.Agg == "" {
				col.Agg = cols[i].Agg
			}
			cols[i] = col
			t.def.Columns = cols
			x := c.extra
			if x.agg == "" {
				x.agg = t.extra[i].agg
			}
			t.extra = append([]colExtra(nil), t.extra...)
			t.extra[i] = x
		}
	}
	t.applied++
	t.keys = t.keys[:0]
	for i, c := range t.def.Columns {
		if c.Key {
			t.keys = append(t.keys, i)
		}
	}
}

// alter starts a schema change job; with no duration it finishes at once.
// Callers hold s.mu.
func (s *Server) alter(d *database, t *table, name string, clauses []alterClause) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := time.Now()
	for _, j := range d.alters {
		if j.table == name && j.stateAt(now) != alterFinished && j.stateAt(now) != alterCancelled {
			// SchemaChangeHandler: one job per table at a time.
			return fmt.Errorf("Table[%s]'s state(SCHEMA_CHANGE) is not NORMAL. Do not allow doing ALTER ops", name)
		}
	}
	if err := checkAlter(t, clauses); err != nil {
		return err
	}
	s.txnID++
	t.schemaVersion++
	j := &alterJob{id: 10000 + s.txnID, indexID: 20000 + s.txnID, txnID: s.txnID, table: name, created: now,
		duration: time.Duration(s.set.SchemaChangeDuration), schemaVersion: t.schemaVersion}
	if j.indexID == 0 {
		j.indexID = 1
	}
	d.alters = append(d.alters, j)
	finish := func() {
		j.state, j.finished = alterFinished, time.Now()
		t.applyAlter(clauses)
	}
	if j.duration <= 0 {
		finish()
		return nil
	}
	time.AfterFunc(j.duration, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		t.mu.Lock()
		defer t.mu.Unlock()
		if j.state == "" {
			finish()
		}
	})
	return nil
}

// AlterJob is one row of SHOW ALTER TABLE COLUMN.
type AlterJob struct {
	JobID                  int64
	TableName              string
	CreateTime, FinishTime string // "yyyy-MM-dd HH:mm:ss", FinishTime "NULL" until finished
	IndexName              string
	IndexID, OriginIndexID int64
	SchemaVersion          string // "version:hash"
	TransactionID          int64
	State, Msg, Progress   string
	Timeout                int64 // seconds (alter_table_timeout_second, 86400)
}

// AlterJobs answers SHOW ALTER TABLE COLUMN FROM db [WHERE TableName =
// table] ("" for every table), oldest first.
func (s *Server) AlterJobs(db, table string) ([]AlterJob, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.dbs[db]
	if d == nil {
		return nil, fmt.Errorf("Unknown database '%s'", db)
	}
	now := time.Now()
	var out []AlterJob
	for _, j := range d.alters {
		if table != "" && !strings.EqualFold(j.table, table) {
			continue
		}
		st := j.stateAt(now)
		a := AlterJob{JobID: j.id, TableName: j.table, CreateTime: j.created.Format("2006-01-02 15:04:05"), FinishTime: "NULL",
			IndexName: j.table, IndexID: j.indexID, OriginIndexID: j.indexID - 1, SchemaVersion: fmt.Sprintf("%d:%d", j.schemaVersion, 1000000+j.id),
			TransactionID: j.txnID, State: st, Msg: j.msg, Progress: "NULL", Timeout: 86400}
		if !j.finished.IsZero() {
			a.FinishTime = j.finished.Format("2006-01-02 15:04:05")
		}
		if st == alterRunning {
			a.Progress = "0/1"
		}
		out = append(out, a)
	}
	return out, nil
}
