package status

import (
	"testing"
	"time"
)

func TestTrackerFillsWhatStatusShowsOfATablesHistory(t *testing.T) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	tr := NewTracker(noRegistry{}, c.now)
	tr.Retried("shop.orders")
	tr.Retried("shop.orders")
	tr.Loaded("shop.orders", Load{Label: "l-1", Rows: 600, DurationSeconds: 0.5, Status: "Success", At: c.t},
		SourceTimes{Oldest: c.t.Add(-3 * time.Second).UnixMilli(), Newest: c.t.Add(-time.Second).UnixMilli()})
	tr.DeadLettered("shop.orders", 2, Error{Message: "decode: bad", Topic: "pg.orders", Partition: 1, Offset: 77, At: c.t})
	tr.Failed("shop.items", Error{Message: "schema: table gone", Offset: -1, At: c.t})
	c.advance(time.Second)

	orders := Table{Name: "shop.orders"}
	tr.Fill(&orders)
	if orders.Retries != 2 || orders.DeadLettered != 2 || orders.RowsPerSecond != 10 {
		t.Errorf("retries %d, dead-lettered %d, rows/s %v; want 2, 2, 10", orders.Retries, orders.DeadLettered, orders.RowsPerSecond)
	}
	if orders.LastLoad == nil || orders.LastLoad.Label != "l-1" || orders.LastError == nil || orders.LastError.Offset != 77 {
		t.Errorf("last load %+v, last error %+v", orders.LastLoad, orders.LastError)
	}
	if s, ok := tr.Freshness.Seconds("shop.orders"); !ok || s != 2 {
		t.Errorf("freshness %v %v, want 2 s", s, ok)
	}
	orders.LastLoad.Label = "changed by a reader"
	again := Table{Name: "shop.orders"}
	tr.Fill(&again)
	if again.LastLoad.Label != "l-1" {
		t.Error("Fill hands out the tracker's own Load")
	}

	items := Table{Name: "shop.items"}
	tr.Fill(&items)
	if items.LastError == nil || items.LastError.Message != "schema: table gone" || items.LastLoad != nil {
		t.Errorf("items: %+v", items)
	}

	tr.LoadFailed("shop.items", Load{Label: "l-2", Status: "Fail", Message: "too many filtered rows"}, Error{Message: "stream load failed", Offset: -1})
	items = Table{Name: "shop.items"}
	tr.Fill(&items)
	if items.LastLoad.Status != "Fail" || items.LastError.Message != "stream load failed" {
		t.Errorf("after a failed load: %+v %+v", items.LastLoad, items.LastError)
	}

	tr.Forget("shop.orders")
	gone := Table{Name: "shop.orders"}
	tr.Fill(&gone)
	if gone.LastLoad != nil || gone.Retries != 0 || gone.RowsPerSecond != 0 {
		t.Errorf("after Forget: %+v", gone)
	}
	if _, ok := tr.Freshness.Seconds("shop.orders"); ok {
		t.Error("freshness kept after Forget")
	}
}
