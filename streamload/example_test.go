package streamload_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/starsink/starsink/streamload"
)

func ExampleLabel() {
	label := streamload.Label("starsink", "orders", []streamload.OffsetRange{
		{Topic: "pg.public.orders", Partition: 1, First: 500, Last: 999},
		{Topic: "pg.public.orders", Partition: 0, First: 0, Last: 41},
	})
	fmt.Println(label)
	// Output: starsink-orders-pg_public_orders-0-0_41-pg_public_orders-1-500_999-9fc12d77b474
}

func ExampleClient_Load() {
	// A stand-in for StarRocks: the FE redirects to the BE, which answers
	// Success.
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, `{"Status":"Success","Label":%q,"NumberLoadedRows":2,"LoadBytes":%d}`, r.Header.Get("label"), len(body))
	}))
	defer be.Close()
	fe := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, be.URL+r.URL.RequestURI(), http.StatusTemporaryRedirect)
	}))
	defer fe.Close()

	c, err := streamload.New(streamload.Config{FEURLs: []string{fe.URL}, User: "root"}, nil)
	if err != nil {
		panic(err)
	}
	defer c.Close()
	resp, err := c.Load(context.Background(), &streamload.Request{
		DB: "shop", Table: "orders", Label: "orders-0-0_1",
		Format:  streamload.FormatJSON,
		Columns: []string{"id", "name", "__op"},
		Body:    []byte(`[{"id":1,"name":"a","__op":0},{"id":2,"__op":1}]`),
	})
	if err != nil {
		fmt.Println("load failed:", err)
		return
	}
	fmt.Println(resp.Status, resp.Label, resp.NumberLoadedRows, resp.LoadBytes)
	// Output: Success orders-0-0_1 2 48
}
