package ops

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-gw/switchboard/internal/media/callmedia"
)

func serve(t *testing.T, deps Deps, path string) *httptest.ResponseRecorder {
	t.Helper()
	mux := http.NewServeMux()
	Register(mux, deps)
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "ops_test_total", Help: "A test counter."})
	reg.MustRegister(c)
	c.Add(3)
	rec := serve(t, Deps{Metrics: reg}, "/metrics")
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
			rec := serve(t, Deps{Metrics: prometheus.NewRegistry(), Calls: tt.calls}, "/calls")
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
