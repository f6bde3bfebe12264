package turnserver

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// fakeUsers has alice, password "wonderland", registered, and bob,
// password "builder", not registered.
type fakeUsers struct{}

func (fakeUsers) Authenticate(user, password string, _ netip.Addr) bool {
	return user == "alice" && password == "wonderland" || user == "bob" && password == "builder"
}

func (fakeUsers) Registered(user string) bool { return user == "alice" }

func TestCredentialsEndpoint(t *testing.T) {
	secret := []byte("endpoint-secret-0123")
	s := &Server{creds: NewCredentials(secret, "switchboard")}
	m := NewMetrics(prometheus.NewRegistry())
	h := s.Handler(HandlerConfig{TTL: time.Hour, URLs: []string{"turn:127.0.0.1:3478?transport=udp"}},
		HandlerDeps{Users: fakeUsers{}, Metrics: m})
	tests := []struct {
		name, method, remote, body string
		tls                        bool
		want                       int
	}{
		{"registered user", "POST", "127.0.0.1:4000", `{"username":"alice","password":"wonderland"}`, false, 200},
		{"over TLS from afar", "POST", "198.51.100.1:4000", `{"username":"alice","password":"wonderland"}`, true, 200},
		{"plain HTTP from afar", "POST", "198.51.100.2:4000", `{"username":"alice","password":"wonderland"}`, false, 403},
		{"wrong password", "POST", "127.0.0.2:4000", `{"username":"alice","password":"guess"}`, false, 403},
		{"not registered", "POST", "127.0.0.3:4000", `{"username":"bob","password":"builder"}`, false, 403},
		{"GET", "GET", "127.0.0.4:4000", ``, false, 405},
		{"not JSON", "POST", "127.0.0.5:4000", `username=alice`, false, 400},
		{"too long", "POST", "127.0.0.6:4000", `{"username":"` + strings.Repeat("a", 5000) + `"}`, false, 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, "/turn/credentials", strings.NewReader(tc.body))
			req.RemoteAddr = tc.remote
			if tc.tls {
				req.TLS = &tls.ConnectionState{}
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.want {
				t.Fatalf("got %d %q, want %d", rec.Code, rec.Body.String(), tc.want)
			}
			if strings.Contains(rec.Body.String(), "wonderland") || strings.Contains(rec.Body.String(), "aaaa") {
				t.Errorf("answer echoes the request: %q", rec.Body.String())
			}
			if rec.Code != 200 {
				return
			}
			var got credentialsResponse
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || len(got.IceServers) != 1 || got.TTL != 3600 {
				t.Fatalf("body: %q (%v)", rec.Body.String(), err)
			}
			is := got.IceServers[0]
			user, key, res := s.creds.check(is.Username, time.Now(), 0)
			if res != credOK || user != "alice" || key == nil {
				t.Errorf("username %q: got %v %q, want valid for alice", is.Username, res, user)
			}
			if want := s.creds.password(is.Username); is.Credential != want {
				t.Errorf("credential: got %q, want %q", is.Credential, want)
			}
			if rec.Header().Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control: got %q, want no-store", rec.Header().Get("Cache-Control"))
			}
		})
	}
}

// fiveEach lets each client ask five times.
type fiveEach map[netip.Addr]int

func (f fiveEach) Allow(c netip.Addr) bool { f[c]++; return f[c] <= 5 }

// TestCredentialsRateLimit: the limiter counts an IPv6 client by its /64,
// and its refusal is a 429.
func TestCredentialsRateLimit(t *testing.T) {
	s := &Server{creds: NewCredentials([]byte("endpoint-secret-0123"), "switchboard")}
	h := s.Handler(HandlerConfig{TTL: time.Hour}, HandlerDeps{Users: fakeUsers{}, Limiter: fiveEach{}, Metrics: NewMetrics(prometheus.NewRegistry())})
	ask := func(remote string) int {
		req := httptest.NewRequest("POST", "/turn/credentials", strings.NewReader(`{"username":"alice","password":"wonderland"}`))
		req.RemoteAddr = remote
		req.TLS = &tls.ConnectionState{}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		_, _ = io.Copy(io.Discard, rec.Body)
		return rec.Code
	}
	for i := range 5 {
		if got := ask(fmt.Sprintf("[::1:0:0:%x]:4000", i)); got != http.StatusOK {
			t.Fatalf("request %d: got %d, want 200", i+1, got)
		}
	}
	if got := ask("[::1]:4001"); got != http.StatusTooManyRequests {
		t.Errorf("sixth request from the same /64: got %d, want 429", got)
	}
	if got := ask("[2001:db8::1]:4000"); got != http.StatusOK {
		t.Errorf("another address: got %d, want 200", got)
	}
}
