// Package ops is switchboard's operator surface over HTTP: the Prometheus
// metrics at /metrics and the media state of every anchored call at /calls.
// It reads the components; it changes nothing in them.
package ops

import (
	"encoding/json"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/switchboard-gw/switchboard/internal/media/callmedia"
)

// Deps are what the operator surface reads.
type Deps struct {
	// Metrics is the gateway's registry, served at /metrics.
	Metrics prometheus.Gatherer
	// Calls returns the anchored calls, oldest first, for /calls; nil
	// (media off) serves an empty list.
	Calls func() []callmedia.CallState
}

// Register mounts the operator endpoints on mux.
func Register(mux *http.ServeMux, deps Deps) {
	mux.Handle("/metrics", promhttp.HandlerFor(deps.Metrics, promhttp.HandlerOpts{}))
	mux.HandleFunc("/calls", func(w http.ResponseWriter, _ *http.Request) { serveCalls(w, deps.Calls) })
}

// serveCalls writes the media state of every anchored call as JSON: legs,
// ICE and DTLS state, packets each way and a verdict in plain words.
func serveCalls(w http.ResponseWriter, snapshot func() []callmedia.CallState) {
	var calls []callmedia.CallState
	if snapshot != nil {
		calls = snapshot()
	}
	if calls == nil {
		calls = []callmedia.CallState{} // a list, never null
	}
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(map[string]any{"calls": calls})
}
