package status

import (
	"bytes"
	"context"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

var updateScreenshot = flag.Bool("update-screenshot", false, "write the status page's screenshot to docs/status.png")

// browser returns the path of a Chromium-family browser, or skips: `make
// test-deps` installs Debian's chromium package.
func browser(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("STARSINK_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no Chromium on PATH (make test-deps installs Debian's chromium package; STARSINK_CHROMIUM names another)")
	return ""
}

// TestStatusPageInBrowser renders GET / in headless Chromium against a
// handler fed by a fake worker and a kfake group, and reads what the page
// shows from the DOM.
func TestStatusPageInBrowser(t *testing.T) {
	exe := browser(t)
	adm, id := groupCluster(t)
	now := time.Now()
	fresh := NewFreshness(noRegistry{}, func() time.Time { return now })
	fresh.Loaded("shop.orders", now, SourceTimes{Oldest: now.Add(-95 * time.Second).UnixMilli(), Newest: now.Add(-90 * time.Second).UnixMilli()})
	h := &Handler{Source: &fakeSource{m: view(id)}, Admin: adm, Freshness: fresh}
	mux := http.NewServeMux()
	h.Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox, // tests may run as root, where Chromium's sandbox refuses to start
		chromedp.WindowSize(1400, 640),
		chromedp.Flag("disable-dev-shm-usage", true),
	)
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 60*time.Second)
	defer cancel()

	if err := chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS(`body[data-loaded="true"]`)),
	); err != nil {
		t.Fatalf("browser: %v", err)
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("browser: text of %s: %v", sel, err)
		}
		return s
	}
	group, generation := text(`#group`), text(`#generation`)
	orders, ordersState := text(`tr[data-table="shop.orders"]`), text(`tr[data-table="shop.orders"] .state`)
	items, itemsState := text(`tr[data-table="shop.items"]`), text(`tr[data-table="shop.items"] .state`)
	members, self := text(`#members tbody`), text(`#members tr.self`)
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100: PNG
	if err != nil {
		t.Fatalf("browser: screenshot: %v", err)
	}
	checks := []struct{ what, got, want string }{
		{"group", group, testGroup},
		{"generation", generation, "1"},
		{"orders state", ordersState, "loading"},
		{"orders committed/end from Kafka", orders, testTopic + "/0: 3 / 5"},
		{"orders lag", orders, "7 rec"},
		{"orders lag seconds", orders, "90.0 s"},
		{"orders rows/s", orders, "1250.5"},
		{"orders last load", orders, "3 rows in 42 ms: Success"},
		{"orders label", orders, "starsink-shop-orders-pg_public_orders-0-0-2"},
		{"items state", itemsState, "failed"},
		{"items reason", items, "column count mismatch"},
		{"items error coordinates", items, "pg.public.items/3@1234"},
		{"items dead-lettered", items, "7"},
		{"member client", members, "starsink-a"},
		{"member assignment", members, testTopic + " [0,1]"},
		{"this member", self, "(this one)"},
	}
	for _, c := range checks {
		if !strings.Contains(c.got, c.want) {
			t.Errorf("%s: page shows %q, want it to contain %q", c.what, c.got, c.want)
		}
	}
	if !bytes.HasPrefix(shot, []byte("\x89PNG")) {
		t.Fatalf("screenshot is not a PNG (%d bytes)", len(shot))
	}
	if *updateScreenshot {
		if err := os.WriteFile(filepath.Join("..", "docs", "status.png"), shot, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
