package gateway

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/internal/config"
	"github.com/switchboard-gw/switchboard/internal/media/callmedia"
	"github.com/switchboard-gw/switchboard/internal/testkit/leakcheck"
)

// httpGet sends GET url with an optional bearer token and returns the
// status and body.
func httpGet(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// tokenFile writes token to a file and returns its path.
func tokenFile(t *testing.T, token string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "admin.token")
	if err := os.WriteFile(path, []byte(token), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestAdminListener: the operator endpoints are on the admin listener,
// behind its token, and on no public one.
func TestAdminListener(t *testing.T) {
	leakcheck.Check(t)
	const token = "Zm9vYmFy-admin_token"
	g := startGateway(t, func(c *config.Config) { c.Admin.TokenFile = tokenFile(t, token+"\n") })
	public, admin := "http://"+g.Addrs().HTTP.String(), "http://"+g.Addrs().Admin.String()
	waitFor(t, func() bool { code, _ := httpGet(t, admin+"/readyz", token); return code == http.StatusOK })
	tests := []struct {
		name     string
		url      string
		token    string
		wantCode int
		wantBody string
	}{
		{"public metrics", public + "/metrics", token, http.StatusNotFound, ""},
		{"public calls", public + "/calls", token, http.StatusNotFound, ""},
		{"public healthz", public + "/healthz", token, http.StatusNotFound, ""},
		{"public readyz", public + "/readyz", token, http.StatusNotFound, ""},
		{"public unknown call", public + "/calls/nope", "", http.StatusNotFound, ""},
		{"admin metrics", admin + "/metrics", token, http.StatusOK, "switchboard_"},
		{"admin calls", admin + "/calls", token, http.StatusOK, `"calls": []`},
		{"admin healthz", admin + "/healthz", token, http.StatusOK, "ok"},
		{"admin readyz", admin + "/readyz", token, http.StatusOK, "ready"},
		{"admin without token", admin + "/metrics", "", http.StatusUnauthorized, ""},
		{"admin with a wrong token", admin + "/calls", "Zm9vYmFy", http.StatusUnauthorized, ""},
		{"admin page", admin + "/", token, http.StatusNotFound, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := httpGet(t, tt.url, tt.token)
			if code != tt.wantCode {
				t.Errorf("GET %s: got status %d, want %d", tt.url, code, tt.wantCode)
			}
			if !strings.Contains(body, tt.wantBody) {
				t.Errorf("GET %s: got body %.200q, want it to contain %q", tt.url, body, tt.wantBody)
			}
		})
	}
}

// TestOwnCallOnPublicListener: a browser reads its own call's media state
// on the public listener by Call-ID, without addresses, while the admin
// listener's /calls lists it with them.
func TestOwnCallOnPublicListener(t *testing.T) {
	leakcheck.Check(t)
	g := startGateway(t, nil)
	c := startMediaCall(t, g)
	hearEcho(t, g, c.br, 5) // ICE pairs and the phone's address known
	own := "http://" + g.Addrs().HTTP.String() + "/calls/" + url.PathEscape(c.browserSide.CallID)
	code, body := httpGet(t, own, "")
	if code != http.StatusOK {
		t.Fatalf("GET /calls/{call-id}: got status %d %q, want 200", code, body)
	}
	var st callmedia.CallState
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatalf("body %q: %v", body, err)
	}
	if st.CallID != c.browserSide.CallID || st.Anchor != "webrtc-plain" || len(st.Media) != 1 {
		t.Errorf("got %+v, want the webrtc-plain call %s with one bridge", st, c.browserSide.CallID)
	}
	if strings.Contains(body, "127.0.0.1") {
		t.Errorf("public entry shows addresses:\n%s", body)
	}
	if calls := getCalls(t, g); len(calls) != 1 || !calls[0].Media[0].Plain.Local.IsValid() {
		t.Errorf("admin /calls: got %+v, want the call with its plain address", calls)
	}
	if code, _ := httpGet(t, "http://"+g.Addrs().HTTP.String()+"/calls/"+url.PathEscape(c.phoneSide.CallID+"x"), ""); code != http.StatusNotFound {
		t.Errorf("GET another Call-ID: got status %d, want 404", code)
	}
	off := startGateway(t, func(c *config.Config) { c.Softphone.Enabled = false })
	oc := startMediaCall(t, off)
	if code, _ := httpGet(t, "http://"+off.Addrs().HTTP.String()+"/calls/"+url.PathEscape(oc.browserSide.CallID), ""); code != http.StatusNotFound {
		t.Errorf("softphone off: GET /calls/{call-id}: got status %d, want 404", code)
	}
}

// TestReadyzWhileDraining: /readyz answers 503 "draining" from the first
// stop signal, while the admin listener still serves, and the admin
// listener is gone once the gateway stopped.
func TestReadyzWhileDraining(t *testing.T) {
	leakcheck.Check(t)
	g := startGateway(t, nil)
	admin := "http://" + g.Addrs().Admin.String()
	waitFor(t, func() bool { code, _ := httpGet(t, admin+"/readyz", ""); return code == http.StatusOK })
	go g.stop()
	var code int
	var body string
	waitFor(t, func() bool { code, body = httpGet(t, admin+"/readyz", ""); return code != http.StatusOK })
	if code != http.StatusServiceUnavailable || body != "not ready: draining\n" {
		t.Errorf("/readyz while draining: got %d %q, want 503 %q", code, body, "not ready: draining\n")
	}
	if code, _ := httpGet(t, admin+"/healthz", ""); code != http.StatusOK {
		t.Errorf("/healthz while draining: got %d, want 200", code)
	}
	g.shutdown()
	c, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(c, http.MethodGet, admin+"/healthz", nil)
	if res, err := http.DefaultClient.Do(req); err == nil {
		res.Body.Close()
		t.Errorf("/healthz after shutdown: got %d, want no listener", res.StatusCode)
	}
}

// TestAdminTokenFile: a token file that cannot serve stops New with an
// error naming the key, never the file's content.
func TestAdminTokenFile(t *testing.T) {
	leakcheck.Check(t)
	tests := []struct {
		name    string
		content string // "-" for no file at all
		wantErr string
	}{
		{"no file", "-", "admin.token_file: open "},
		{"empty", " \n", "is empty"},
		{"two words", "secret1 secret2\n", "may hold only letters"},
		{"quoted", `"secret1"`, "may hold only letters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "missing")
			if tt.content != "-" {
				path = tokenFile(t, tt.content)
			}
			cfg := config.Embedded()
			cfg.Listen = config.Listen{HTTP: loopback0, UDP: loopback0, Admin: loopback0}
			cfg.Media.WebRTCListen = loopback0
			cfg.Admin.TokenFile = path
			g, err := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
			if err == nil {
				g.Close()
				t.Fatalf("got no error, want one containing %q", tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) || strings.Contains(err.Error(), "secret") {
				t.Errorf("got %q, want it to contain %q and not the token", err, tt.wantErr)
			}
		})
	}
}
