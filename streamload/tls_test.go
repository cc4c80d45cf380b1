package streamload

import (
	"context"
	"encoding/pem"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
)

// https with a custom CA: the FE and BE present the test certificate, which
// the client trusts only through CAFile.
func TestLoadHTTPSWithCAFile(t *testing.T) {
	be := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != testUser || p != testPass {
			http.Error(w, "denied", http.StatusUnauthorized)
			return
		}
		w.Write([]byte(`{"Status":"Success"}`))
	}))
	defer be.Close()
	fe := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", be.URL+r.URL.RequestURI())
		w.WriteHeader(http.StatusTemporaryRedirect)
	}))
	fe.Config.ErrorLog = log.New(io.Discard, "", 0) // the untrusted handshake below is expected
	fe.StartTLS()
	defer fe.Close()

	ca := filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: fe.Certificate().Raw})
	if err := os.WriteFile(ca, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	c := newTestClient(t, Config{FEURLs: []string{fe.URL}, CAFile: ca, MaxRetries: -1})
	if _, err := c.Load(context.Background(), jsonReq("lbl-tls")); err != nil {
		t.Fatal(err)
	}

	// Without the CA the certificate is not trusted: a transport error.
	c2 := newTestClient(t, Config{FEURLs: []string{fe.URL}, MaxRetries: -1})
	if _, err := c2.Load(context.Background(), jsonReq("lbl-tls")); err == nil {
		t.Fatal("untrusted certificate accepted")
	}
}
