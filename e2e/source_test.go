//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// measureSource runs the bulk steps without starsink and reports how fast
// Debezium publishes them: the time from the PostgreSQL commit until the
// topic's end offsets hold every change. It bounds what any sink can reach
// on the same machine, and checks the bulk SQL.
func measureSource(ctx context.Context, t *testing.T, e env, c cell, pg *pgx.Conn) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.kafka))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	topic := c.topic(e, "subway_passengers_copy")
	end := func() (int64, error) {
		offs, err := adm.ListEndOffsets(ctx, topic)
		if err != nil {
			return 0, err
		}
		var n int64
		offs.Each(func(o kadm.ListedOffset) { n += o.Offset })
		return n, nil
	}
	steps := []struct {
		name   string
		sql    string
		perRow int64 // records per changed row (a delete adds a tombstone)
	}{
		{"insert", bulkInsertSQL(e.bulkRows), 1},
		{"update", bulkUpdateSQL(e.changeRows), 1},
		{"delete", bulkDeleteSQL(e.changeRows), 2},
	}
	if c.unwrapped() { // unwrapped topics carry one record per delete
		steps[2].perRow = 1
	}
	for _, st := range steps {
		base, err := end()
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		tag, err := pg.Exec(ctx, st.sql)
		if err != nil {
			t.Fatalf("bulk %s: %v", st.name, err)
		}
		committed := time.Now()
		want := base + tag.RowsAffected()*st.perRow
		at, err := waitUntil(ctx, 15*time.Minute, 200*time.Millisecond, "Debezium publishing the bulk "+st.name, func() (bool, string) {
			n, err := end()
			if err != nil {
				return false, err.Error()
			}
			return n >= want, fmt.Sprintf("%d of %d records", n-base, want-base)
		})
		if err != nil {
			t.Fatal(err)
		}
		secs := at.Sub(committed).Seconds()
		t.Logf("FIGURE source-only bulk %s: %d rows (PostgreSQL %.1f s), all in Kafka %.1f s after the commit: %.0f rows/s",
			st.name, tag.RowsAffected(), committed.Sub(start).Seconds(), secs, float64(tag.RowsAffected())/secs)
	}
}
