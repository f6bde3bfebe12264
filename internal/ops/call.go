package ops

import (
	"net/http"
	"net/netip"
	"slices"

	"github.com/switchboard-gw/switchboard/internal/media/callmedia"
)

// RegisterCall mounts GET /calls/{call-id} on mux, a public listener's: the
// media state of one anchored call, for the softphone's media panel. The
// Call-ID, random and known only to the call's parties, is the key: an
// unknown one gets 404, and nothing lists the calls. The entry is a /calls
// entry without addresses (see ownView). call looks a call up; nil (media
// off) finds none.
func RegisterCall(mux *http.ServeMux, call func(callID string) (callmedia.CallState, bool)) {
	// No method in the pattern: it would conflict with a websocket.path
	// such as /calls/x, which is more specific without one.
	mux.HandleFunc("/calls/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			writeText(w, http.StatusMethodNotAllowed, "method not allowed")
			return
		}
		var st callmedia.CallState
		ok := false
		if call != nil {
			st, ok = call(r.PathValue("id"))
		}
		if !ok || len(st.Media) == 0 {
			writeText(w, http.StatusNotFound, "no such call")
			return
		}
		writeJSON(w, ownView(st))
	})
}

// ownView is st as a browser in the call may see it. A call without a
// WebRTC leg has no browser, and is never shown (the caller checks). Its
// bridges keep their ICE, DTLS and SRTP state and their packet counts,
// which the browser could measure itself, but lose every address: the ICE
// pair's (in a WebRTC ⇄ WebRTC call the other bridge's remote is the other
// browser) and the plain leg's (switchboard's internal RTP port, the
// phone's or the other bridge's address). Since the Call-ID of a call that
// a phone placed may be guessable, that is all a guess could learn: that
// the call exists, its codec, and how its media fares. Who called whom is
// left out as well: a guess must not learn the parties, and the From and
// To of a call from a PBX may hold its address.
func ownView(st callmedia.CallState) callmedia.CallState {
	st.From, st.To = "", ""
	st.Media = slices.Clone(st.Media)
	for i := range st.Media {
		m := &st.Media[i]
		m.ICE.Local, m.ICE.Remote = netip.AddrPort{}, netip.AddrPort{}
		m.Plain.Local, m.Plain.RemoteRTP, m.Plain.RemoteRTCP = netip.AddrPort{}, netip.AddrPort{}, netip.AddrPort{}
	}
	st.Relay = nil
	return st
}
