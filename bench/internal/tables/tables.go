// Package tables names the benchmark's topics and StarRocks tables: n copies
// of the reference case's passengers table, t000…t(n-1), each fed by the
// topic bench.public.tNNN.
package tables

import (
	"fmt"
	"strings"

	"github.com/starsink/starsink/internal/subway"
)

// Database is the StarRocks database of the benchmark tables.
const Database = "bench"

// TopicRegex matches every benchmark topic.
const TopicRegex = `^bench\.public\.t[0-9]+$`

// Name is the i-th table.
func Name(i int) string { return fmt.Sprintf("t%03d", i) }

// Topic is the i-th table's topic.
func Topic(i int) string { return "bench.public." + Name(i) }

// Topics lists n topics.
func Topics(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = Topic(i)
	}
	return out
}

// DDL creates the database and n tables shaped like subway_passengers_copy.
func DDL(n int) []string {
	out := []string{"CREATE DATABASE " + Database, "USE " + Database}
	ddl := subway.StarRocksDDL[1]
	for i := 0; i < n; i++ {
		out = append(out, strings.Replace(ddl, "CREATE TABLE "+subway.PassengerTable+" ", "CREATE TABLE "+Name(i)+" ", 1))
	}
	return out
}
