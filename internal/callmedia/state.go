package callmedia

import (
	"time"

	"github.com/switchboard-gw/switchboard/internal/media"
)

// CallState is one anchored call's media as the operator sees it, at the
// HTTP endpoint and in the log line that ends the call.
type CallState struct {
	CallID  string      `json:"call_id"`
	Started time.Time   `json:"started"`
	Codec   string      `json:"codec,omitempty"`
	Verdict string      `json:"verdict"`
	Media   media.Stats `json:"media"`
}

func (c *call) state() CallState {
	c.mu.Lock()
	codec := c.codec
	c.mu.Unlock()
	st := c.bridge.Stats()
	return CallState{CallID: c.id, Started: c.created, Codec: codec, Verdict: verdict(st), Media: st}
}

// verdict says in plain words whether audio flowed, and where it stopped
// when it did not: the start of "why is there no audio?".
func verdict(st media.Stats) string {
	fromBrowser, fromPlain := st.Browser.RTPIn.Packets, st.Plain.RTPIn.Packets
	switch {
	case st.ICE.State != "connected" && st.ICE.State != "completed":
		return "no audio: ICE with the browser is " + orNew(st.ICE.State) + " (are switchboard's candidates reachable from the browser?)"
	case st.DTLS.State != "connected":
		return "no audio: DTLS with the browser is " + orNew(st.DTLS.State)
	case fromBrowser == 0 && fromPlain == 0:
		return "no audio: no RTP from either leg"
	case fromBrowser == 0:
		return "one-way audio: nothing from the browser (muted, or SRTP failing: see srtp_auth_failures)"
	case fromPlain == 0:
		return "one-way audio: nothing from the phone (is its SDP address reachable, or behind NAT?)"
	case st.Plain.RTPOut.Packets == 0:
		return "one-way audio: the phone's address is unknown, so its leg gets nothing"
	}
	return "audio flowed both ways"
}

func orNew(s string) string {
	if s == "" {
		return "new"
	}
	return s
}
