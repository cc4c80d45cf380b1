package streamload

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"
)

func TestTransaction(t *testing.T) {
	f := newFakeSR(t)
	var (
		mu  sync.Mutex
		ops []string
	)
	f.txn = func(op string, r *http.Request) string {
		mu.Lock()
		ops = append(ops, op+":"+r.Header.Get("label")+":"+r.Header.Get("db")+":"+r.Header.Get("table")+":"+r.Header.Get("timeout"))
		mu.Unlock()
		if r.Method != http.MethodPost {
			t.Errorf("%s with %s", op, r.Method)
		}
		return `{"Status":"OK","Label":"` + r.Header.Get("label") + `","TxnId":42}`
	}
	c := newTestClient(t, Config{FEURLs: []string{f.fe.URL}})
	ctx := context.Background()
	tx := TxnRequest{DB: "db1", Table: "orders", Label: "txn-1", Timeout: 30 * time.Second}
	b, err := c.Begin(ctx, tx)
	if err != nil || b.TxnID != 42 {
		t.Fatalf("Begin: %+v %v", b, err)
	}
	req := jsonReq("txn-1")
	if _, err := c.LoadTxn(ctx, req); err != nil {
		t.Fatal(err)
	}
	for _, step := range []func(context.Context, TxnRequest) (*TxnResponse, error){c.Prepare, c.Commit, c.Rollback} {
		if _, err := step(ctx, tx); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"begin:txn-1:db1:orders:30", "prepare:txn-1:db1:orders:", "commit:txn-1:db1:orders:", "rollback:txn-1:db1:orders:"}
	if len(ops) != len(want) {
		t.Fatalf("ops %v", ops)
	}
	for i := range want {
		if ops[i] != want[i] {
			t.Errorf("op %d = %q, want %q", i, ops[i], want[i])
		}
	}
	rec := f.recorded()
	if len(rec) != 1 || rec[0].Path != "/api/transaction/load" || rec[0].Header.Get("db") != "db1" ||
		rec[0].Header.Get("table") != "orders" || !bytes.Equal(rec[0].Body, req.Body) {
		t.Errorf("transaction load %+v", rec)
	}
}

func TestTransactionErrors(t *testing.T) {
	f := newFakeSR(t)
	f.txn = func(op string, r *http.Request) string {
		if op == "begin" {
			return `{"Status":"LABEL_ALREADY_EXISTS","ExistingJobStatus":"RUNNING","Label":"x"}`
		}
		return `{"Status":"FAILED","Message":"transaction with label x not exists"}`
	}
	c := newTestClient(t, Config{FEURLs: []string{f.fe.URL}})
	tx := TxnRequest{DB: "db1", Table: "orders", Label: "x"}
	if _, err := c.Begin(context.Background(), tx); !errors.Is(err, ErrLabelExists) {
		t.Errorf("Begin: %v", err)
	}
	_, err := c.Commit(context.Background(), tx)
	var le *LoadError
	if !errors.As(err, &le) || le.Retryable || le.Status != "commit: FAILED" {
		t.Errorf("Commit: %v", err)
	}
	if _, err := c.Begin(context.Background(), TxnRequest{DB: "db1", Label: "bad label"}); err == nil {
		t.Error("bad label accepted")
	}
}
