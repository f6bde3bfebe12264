package gateway

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/switchboard-gw/switchboard/internal/config"
	"github.com/switchboard-gw/switchboard/web"
)

// TestSoftphonePage checks "/" serves the softphone (or, in a checkout
// where `make web` has not run, the page saying how to build it), that
// softphone.enabled: false takes it away, and that the public listener
// lists no calls and serves no metrics either way.
func TestSoftphonePage(t *testing.T) {
	want := "run <code>make web</code>"
	if web.Built() {
		want = `<script src="app.js"></script>`
	}
	tests := []struct {
		name     string
		enabled  bool
		path     string
		wantCode int
		wantBody string
	}{
		{"page at root", true, "/", http.StatusOK, want},
		{"unknown path", true, "/nope", http.StatusNotFound, ""},
		{"no list of calls", true, "/calls", http.StatusNotFound, ""},
		{"no list of calls with a slash", true, "/calls/", http.StatusNotFound, ""},
		{"no metrics", true, "/metrics", http.StatusNotFound, ""},
		{"no readiness", true, "/readyz", http.StatusNotFound, ""},
		{"unknown call", true, "/calls/a84b4c76e66710", http.StatusNotFound, "no such call"},
		{"disabled root", false, "/", http.StatusNotFound, ""},
		{"disabled list of calls", false, "/calls", http.StatusNotFound, ""},
		{"disabled metrics", false, "/metrics", http.StatusNotFound, ""},
		{"disabled unknown call", false, "/calls/a84b4c76e66710", http.StatusNotFound, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := startGateway(t, func(c *config.Config) { c.Softphone.Enabled = tt.enabled })
			res, err := http.Get("http://" + g.Addrs().HTTP.String() + tt.path)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != tt.wantCode {
				t.Errorf("GET %s: got status %d, want %d", tt.path, res.StatusCode, tt.wantCode)
			}
			if !strings.Contains(string(body), tt.wantBody) {
				t.Errorf("GET %s: got body %.200q, want it to contain %q", tt.path, body, tt.wantBody)
			}
			if tt.path == "/" && tt.enabled {
				if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "connect-src 'self' ws://") {
					t.Errorf("got Content-Security-Policy %q, want a connect-src for the WebSocket", csp)
				}
			}
		})
	}
}

// The start-up log names the URL to open: the page on the https listener
// when there is one, else on the http one; nothing when the page is off.
func TestSoftphoneURL(t *testing.T) {
	on := startGateway(t, nil)
	if got, want := on.softphoneURL(), "http://"+on.Addrs().HTTP.String()+"/"; got != want {
		t.Errorf("softphone URL: got %q, want %q", got, want)
	}
	off := startGateway(t, func(c *config.Config) { c.Softphone.Enabled = false })
	if got := off.softphoneURL(); got != "" {
		t.Errorf("softphone URL with the page off: got %q, want none", got)
	}
}
