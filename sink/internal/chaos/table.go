// Package chaos is the model side of starsink's fault-schedule test
// (sink/chaos_test.go): a seeded generator of Debezium change events over a
// few Primary Key tables, the model of the source those events describe
// (every image of every key, every record of every partition by offset),
// the checks run against the target, and the seeded schedule of faults.
//
// Everything here is plain Go with no Kafka and no StarRocks: the test
// wires it to kfake and the emulator. A schedule is a pure function of its
// seed; the interleaving of a run with real goroutines and timers is not,
// so a seed reproduces the faults and the data, not the exact timing.
package chaos

import (
	"fmt"
	"strconv"
	"strings"
)

// Type is a column's type, as the generator writes it and the target
// returns it.
type Type int

const (
	Int64   Type = iota // BIGINT: int64 both ways
	Int32               // INT: int32 in the source, int64 in the target
	String              // VARCHAR
	Decimal             // DECIMAL(p,2): base64 unscaled in the source, "123.45" in the target
)

// Column is one column of a table.
type Column struct {
	Name string
	Type Type
	Key  bool
	Null bool // nullable
}

// Table is one source table, its topic and its StarRocks twin.
type Table struct {
	Name  string // StarRocks and PostgreSQL table name
	Topic string
	// Schemas: values are written with JsonConverter schemas (true) or
	// without (false).
	Schemas bool
	Columns []Column
	DDL     string // CREATE TABLE for the target (Primary Key)
	Seq     int    // index of the seq column: the LSN of the change that wrote the image
}

// Tables are the source tables of every schedule: one keyed by a BIGINT
// written with schemas, one keyed by two columns written without.
func Tables() []*Table {
	return []*Table{
		{
			Name: "accounts", Topic: "chaos.public.accounts", Schemas: true,
			Columns: []Column{
				{Name: "id", Type: Int64, Key: true},
				{Name: "owner", Type: String},
				{Name: "balance", Type: Decimal, Null: true},
				{Name: "seq", Type: Int64},
			},
			DDL: "CREATE TABLE accounts (id BIGINT NOT NULL, owner VARCHAR(64) NOT NULL, balance DECIMAL(14,2), seq BIGINT NOT NULL) " +
				"PRIMARY KEY(id) DISTRIBUTED BY HASH(id) BUCKETS 4",
			Seq: 3,
		},
		{
			Name: "orders", Topic: "chaos.public.orders", Schemas: false,
			Columns: []Column{
				{Name: "region", Type: String, Key: true},
				{Name: "order_no", Type: Int32, Key: true},
				{Name: "status", Type: String},
				{Name: "qty", Type: Int32, Null: true},
				{Name: "note", Type: String, Null: true},
				{Name: "seq", Type: Int64},
			},
			DDL: "CREATE TABLE orders (region VARCHAR(16) NOT NULL, order_no INT NOT NULL, status VARCHAR(16) NOT NULL, qty INT, note VARCHAR(100), seq BIGINT NOT NULL) " +
				"PRIMARY KEY(region, order_no) DISTRIBUTED BY HASH(region) BUCKETS 4",
			Seq: 5,
		},
	}
}

// Row is a row image in the target's representation, in column order:
// int64, string (decimals as text with their scale) or nil.
type Row []any

// Key returns the row's primary key as one comparable string.
func (t *Table) Key(r Row) string {
	var b strings.Builder
	for i, c := range t.Columns {
		if c.Key {
			if b.Len() > 0 {
				b.WriteByte('|')
			}
			fmt.Fprint(&b, r[i])
		}
	}
	return b.String()
}

// SeqOf returns the seq column of a row (0 when it is not an integer).
func (t *Table) SeqOf(r Row) int64 {
	v, _ := r[t.Seq].(int64)
	return v
}

// Equal reports whether two images are the same, column by column.
func Equal(a, b Row) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// cents renders an amount in cents as DECIMAL(p,2) text.
func cents(v int64) string {
	sign := ""
	if v < 0 {
		sign, v = "-", -v
	}
	return sign + strconv.FormatInt(v/100, 10) + "." + fmt.Sprintf("%02d", v%100)
}
