// Package ops is switchboard's operator surface over HTTP.
//
// New builds the admin listener's handler: the Prometheus metrics at
// /metrics, the media state of every anchored call at /calls, and /healthz
// and /readyz for supervisors and load balancers, all behind an optional
// bearer token. RegisterCall mounts on a public listener the one thing a
// browser may read there: the media state of its own call, by Call-ID.
//
// It reads the components; it changes nothing in them.
package ops

import (
	"encoding/json"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/switchboard-gw/switchboard/internal/media/callmedia"
)

// Config configures the admin handler.
type Config struct {
	// Token, when not empty, is the bearer token every request must carry
	// (RFC 6750 §2.1); "" serves everyone who reaches the listener.
	Token string
}

// Deps are what the admin handler reads.
type Deps struct {
	// Metrics is the gateway's registry, served at /metrics.
	Metrics prometheus.Gatherer
	// Calls returns the anchored calls, oldest first, for /calls; nil
	// (media off) serves an empty list.
	Calls func() []callmedia.CallState
	// Ready says whether the gateway takes new traffic: nil when it does,
	// else why not, in a few words ("draining"), for /readyz. nil is
	// always ready.
	Ready func() error
}

// New returns the admin listener's handler.
func New(cfg Config, deps Deps) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(deps.Metrics, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /calls", func(w http.ResponseWriter, _ *http.Request) { serveCalls(w, deps.Calls) })
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { writeText(w, http.StatusOK, "ok") })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) { serveReady(w, deps.Ready) })
	if cfg.Token == "" {
		return mux
	}
	return requireToken(cfg.Token, mux)
}

// serveCalls writes the media state of every anchored call as JSON: legs,
// their addresses, ICE and DTLS state, packets each way and a verdict in
// plain words.
func serveCalls(w http.ResponseWriter, snapshot func() []callmedia.CallState) {
	var calls []callmedia.CallState
	if snapshot != nil {
		calls = snapshot()
	}
	if calls == nil {
		calls = []callmedia.CallState{} // a list, never null
	}
	writeJSON(w, map[string]any{"calls": calls})
}

// serveReady answers 200 when the gateway is ready, else 503 with the
// reason.
func serveReady(w http.ResponseWriter, ready func() error) {
	if ready != nil {
		if err := ready(); err != nil {
			writeText(w, http.StatusServiceUnavailable, "not ready: "+err.Error())
			return
		}
	}
	writeText(w, http.StatusOK, "ready")
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeText(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = w.Write([]byte(msg + "\n"))
}
