package ops

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-gw/switchboard/internal/media/callmedia"
)

// get sends one request to h.
func get(h http.Handler, method, path, auth string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "ops_test_total", Help: "A test counter."})
	reg.MustRegister(c)
	c.Add(3)
	rec := get(New(Config{}, Deps{Metrics: reg}), http.MethodGet, "/metrics", "")
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "ops_test_total 3") {
		t.Errorf("/metrics: got %d %q, want 200 with ops_test_total 3", rec.Code, rec.Body.String())
	}
}

func TestCalls(t *testing.T) {
	tests := []struct {
		name  string
		calls func() []callmedia.CallState
		want  []string
	}{
		{"media off", nil, nil},
		{"none", func() []callmedia.CallState { return nil }, nil},
		{"two", func() []callmedia.CallState {
			return []callmedia.CallState{{CallID: "a"}, {CallID: "b"}}
		}, []string{"a", "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := get(New(Config{}, Deps{Metrics: prometheus.NewRegistry(), Calls: tt.calls}), http.MethodGet, "/calls", "")
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type: got %q, want application/json", ct)
			}
			var body struct {
				Calls []callmedia.CallState `json:"calls"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("body %q: %v", rec.Body.String(), err)
			}
			if body.Calls == nil {
				t.Errorf("calls: got null, want a list")
			}
			var got []string
			for _, c := range body.Calls {
				got = append(got, c.CallID)
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("calls: got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestHealth(t *testing.T) {
	tests := []struct {
		name     string
		path     string
		ready    func() error
		wantCode int
		wantBody string
	}{
		{"healthz", "/healthz", func() error { return errors.New("draining") }, http.StatusOK, "ok\n"},
		{"readyz without a check", "/readyz", nil, http.StatusOK, "ready\n"},
		{"readyz ready", "/readyz", func() error { return nil }, http.StatusOK, "ready\n"},
		{"readyz starting", "/readyz", func() error { return errors.New("starting") }, http.StatusServiceUnavailable, "not ready: starting\n"},
		{"readyz draining", "/readyz", func() error { return errors.New("draining") }, http.StatusServiceUnavailable, "not ready: draining\n"},
		{"unknown path", "/nope", nil, http.StatusNotFound, ""},
		{"calls of one call", "/calls/x", nil, http.StatusNotFound, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := get(New(Config{}, Deps{Metrics: prometheus.NewRegistry(), Ready: tt.ready}), http.MethodGet, tt.path, "")
			if rec.Code != tt.wantCode {
				t.Errorf("GET %s: got status %d, want %d", tt.path, rec.Code, tt.wantCode)
			}
			if tt.wantBody != "" && rec.Body.String() != tt.wantBody {
				t.Errorf("GET %s: got body %q, want %q", tt.path, rec.Body.String(), tt.wantBody)
			}
		})
	}
}

func TestToken(t *testing.T) {
	const token = "s3cret-t0ken"
	h := New(Config{Token: token}, Deps{Metrics: prometheus.NewRegistry()})
	challenge := `Bearer realm="switchboard admin"`
	invalid := challenge + `, error="invalid_token"`
	tests := []struct {
		name          string
		path          string
		auth          string
		wantCode      int
		wantChallenge string
	}{
		{"metrics without token", "/metrics", "", http.StatusUnauthorized, challenge},
		{"calls without token", "/calls", "", http.StatusUnauthorized, challenge},
		{"healthz without token", "/healthz", "", http.StatusUnauthorized, challenge},
		{"readyz without token", "/readyz", "", http.StatusUnauthorized, challenge},
		{"unknown path without token", "/nope", "", http.StatusUnauthorized, challenge},
		{"basic scheme", "/metrics", "Basic czNjcmV0LXQwa2Vu", http.StatusUnauthorized, challenge},
		{"bearer with nothing", "/metrics", "Bearer ", http.StatusUnauthorized, challenge},
		{"token alone", "/metrics", token, http.StatusUnauthorized, challenge},
		{"wrong token", "/metrics", "Bearer guess-123", http.StatusUnauthorized, invalid},
		{"token with more", "/metrics", "Bearer " + token + "x", http.StatusUnauthorized, invalid},
		{"prefix of token", "/metrics", "Bearer " + token[:5], http.StatusUnauthorized, invalid},
		{"metrics", "/metrics", "Bearer " + token, http.StatusOK, ""},
		{"calls", "/calls", "Bearer " + token, http.StatusOK, ""},
		{"healthz", "/healthz", "Bearer " + token, http.StatusOK, ""},
		{"readyz", "/readyz", "Bearer " + token, http.StatusOK, ""},
		{"scheme in lower case", "/metrics", "bearer " + token, http.StatusOK, ""},
		{"unknown path", "/nope", "Bearer " + token, http.StatusNotFound, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := get(h, http.MethodGet, tt.path, tt.auth)
			if rec.Code != tt.wantCode {
				t.Errorf("GET %s: got status %d, want %d", tt.path, rec.Code, tt.wantCode)
			}
			if got := rec.Header().Get("WWW-Authenticate"); got != tt.wantChallenge {
				t.Errorf("WWW-Authenticate: got %q, want %q", got, tt.wantChallenge)
			}
			if _, sent, _ := strings.Cut(tt.auth, " "); rec.Code == http.StatusUnauthorized && len(sent) > 3 &&
				strings.Contains(rec.Body.String()+rec.Header().Get("WWW-Authenticate"), sent) {
				t.Errorf("401 %q echoes what was sent", rec.Body.String())
			}
		})
	}
}
