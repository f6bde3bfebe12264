package gateway

import (
	"encoding/json"
	"net/http"

	"github.com/switchboard-gw/switchboard/internal/media/callmedia"
)

// serveCalls writes the media state of every anchored call as JSON: legs,
// ICE and DTLS state, packets each way and a verdict in plain words.
func (g *Gateway) serveCalls(w http.ResponseWriter, _ *http.Request) {
	calls := []callmedia.CallState{}
	if g.calls != nil {
		calls = g.calls.Snapshot()
	}
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(map[string]any{"calls": calls})
}
