package status

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/starsink/starsink/config"
)

// fakePauser knows the tables in known and records its calls.
type fakePauser struct {
	mu     sync.Mutex
	known  map[string]bool
	broken error
	calls  []string
}

func (f *fakePauser) call(action, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.known[name] {
		return &UnknownTableError{Table: name}
	}
	if f.broken != nil {
		return f.broken
	}
	f.calls = append(f.calls, action+" "+name)
	return nil
}

func (f *fakePauser) PauseTable(name string) error  { return f.call("pause", name) }
func (f *fakePauser) ResumeTable(name string) error { return f.call("resume", name) }

func TestAdminPauseAndResume(t *testing.T) {
	const token = "t0ken-value"
	tests := []struct {
		name    string
		enabled bool
		token   config.Secret
		broken  error
		method  string
		path    string
		auth    string
		code    int
		calls   string // the Pauser's calls, space-joined
		errPart string
	}{
		{name: "off by default", path: "/tables/shop.orders/pause", code: http.StatusForbidden, errPart: "http.admin: true"},
		{name: "no token configured", enabled: true, path: "/tables/shop.orders/pause", code: http.StatusOK, calls: "pause shop.orders"},
		{name: "token missing", enabled: true, token: token, path: "/tables/shop.orders/pause", code: http.StatusUnauthorized, errPart: "Bearer"},
		{name: "token wrong", enabled: true, token: token, path: "/tables/shop.orders/pause", auth: "Bearer nope", code: http.StatusUnauthorized},
		{name: "token not bearer", enabled: true, token: token, path: "/tables/shop.orders/pause", auth: "Basic " + token, code: http.StatusUnauthorized},
		{name: "token right", enabled: true, token: token, path: "/tables/shop.orders/pause", auth: "Bearer " + token, code: http.StatusOK, calls: "pause shop.orders"},
		{name: "resume", enabled: true, token: token, path: "/tables/shop.orders/resume", auth: "Bearer " + token, code: http.StatusOK, calls: "resume shop.orders"},
		{name: "unknown table", enabled: true, path: "/tables/shop.nothing/pause", code: http.StatusNotFound, errPart: "not loaded by this worker"},
		{name: "unknown table is checked after auth", enabled: true, token: token, path: "/tables/shop.nothing/pause", code: http.StatusUnauthorized},
		{name: "worker could not", enabled: true, broken: errors.New("table failed: stopped"), path: "/tables/shop.orders/pause", code: http.StatusInternalServerError, errPart: "table failed"},
		{name: "GET is not allowed", enabled: true, method: http.MethodGet, path: "/tables/shop.orders/pause", code: http.StatusMethodNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &fakePauser{known: map[string]bool{"shop.orders": true}, broken: tt.broken}
			a := NewAdmin(p, tt.enabled, tt.token, nil)
			mux := http.NewServeMux()
			a.Register(mux)
			method := tt.method
			if method == "" {
				method = http.MethodPost
			}
			req := httptest.NewRequest(method, tt.path, nil)
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, req)
			if rec.Code != tt.code {
				t.Fatalf("HTTP %d, want %d: %s", rec.Code, tt.code, rec.Body)
			}
			if got := strings.Join(p.calls, " "); got != tt.calls {
				t.Errorf("Pauser calls %q, want %q", got, tt.calls)
			}
			if tt.code == http.StatusMethodNotAllowed {
				return
			}
			var ans answer
			if err := json.Unmarshal(rec.Body.Bytes(), &ans); err != nil {
				t.Fatalf("body %q: %v", rec.Body, err)
			}
			if !strings.Contains(ans.Error, tt.errPart) {
				t.Errorf("error %q lacks %q", ans.Error, tt.errPart)
			}
			if strings.Contains(rec.Body.String(), token) {
				t.Errorf("the reply shows the token: %s", rec.Body)
			}
		})
	}
}

func TestAdminPausedGaugeFollowsPauseAndResume(t *testing.T) {
	p := &fakePauser{known: map[string]bool{"shop.orders": true}}
	a := NewAdmin(p, true, "", nil)
	mux := http.NewServeMux()
	a.Register(mux)
	post := func(path string) {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, path, nil))
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: HTTP %d", path, rec.Code)
		}
	}
	post("/tables/shop.orders/pause")
	if v := testutil.ToFloat64(a.paused.WithLabelValues("shop.orders")); v != 1 {
		t.Fatalf("after pause: %v, want 1", v)
	}
	post("/tables/shop.orders/resume")
	if v := testutil.ToFloat64(a.paused.WithLabelValues("shop.orders")); v != 0 {
		t.Fatalf("after resume: %v, want 0", v)
	}
}

// FuzzAuthorized checks that only the configured token passes, whatever
// the header holds.
func FuzzAuthorized(f *testing.F) {
	for _, h := range []string{"", "Bearer s3cret", "Bearer  s3cret ", "bearer s3cret", "Basic s3cret", "Bearer s3cre", "Bearer s3cretx", "Bearer"} {
		f.Add(h)
	}
	a := NewAdmin(nil, true, "s3cret", nil)
	f.Fuzz(func(t *testing.T, h string) {
		r := httptest.NewRequest(http.MethodPost, "/tables/t/pause", nil)
		r.Header.Set("Authorization", h)
		got := a.authorized(r)
		tok, bearer := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if want := bearer && strings.TrimSpace(tok) == "s3cret"; got != want {
			t.Fatalf("authorized(%q) = %v, want %v", h, got, want)
		}
	})
}
