package callmedia

import (
	"time"

	"github.com/switchboard-gw/switchboard/internal/media"
)

// CallState is one anchored call's media as the operator sees it, at the
// HTTP endpoint and in the log line that ends the call.
type CallState struct {
	CallID string `json:"call_id"`
	// From and To are who called whom, as user@host from the call's
	// From and To headers.
	From    string    `json:"from,omitempty"`
	To      string    `json:"to,omitempty"`
	Started time.Time `json:"started"`
	// Anchor is how the media is anchored: "webrtc-plain" (one bridge),
	// "webrtc-webrtc" (two bridges back to back) or "plain-plain" (a
	// relay).
	Anchor  string `json:"anchor"`
	Codec   string `json:"codec,omitempty"`
	Verdict string `json:"verdict"`
	// Timing is how long after the answer each step of a webrtc-plain
	// call's media came: absent until the call is answered.
	Timing *Timing `json:"timing,omitempty"`
	// Media is the bridge of each WebRTC leg, the caller's first.
	Media []media.Stats `json:"media,omitempty"`
	// Relay is a plain-plain call's relay, the caller's leg first.
	Relay *media.RelayStats `json:"relay,omitempty"`

	class verdictClass
}

// state reads the call's media. It takes c.mu.
func (c *call) state() CallState {
	st := CallState{CallID: c.id, From: c.from, To: c.to, Started: c.created, Anchor: c.kind.String()}
	order := [2]int{c.caller, 1 - c.caller}
	for _, i := range order {
		if b := c.bridges[i]; b != nil {
			st.Media = append(st.Media, b.Stats())
		}
	}
	c.mu.Lock()
	codec, answered, settled := c.codec, c.answered, c.settled
	j := 0
	for _, i := range order {
		if c.bridges[i] != nil { // then legs[i] is its *webrtcLeg
			c.legs[i].(*webrtcLeg).describeRemoteLocked(&st.Media[j].ICE, c.relays)
			j++
		}
	}
	c.mu.Unlock()
	st.Codec = codec
	if c.relay != nil {
		rs := c.relay.Stats()
		if c.caller == 1 {
			rs.Legs[0], rs.Legs[1] = rs.Legs[1], rs.Legs[0]
		}
		st.Relay = &rs
	}
	switch {
	case !answered:
		// Nothing was set up: ICE and DTLS start on the answer, so what
		// the bridges say would blame them for a call nobody answered.
		st.class, st.Verdict = notAnswered, "no media: the offer has had no answer"
	case c.kind == webrtcPlain:
		st.class, st.Verdict = bridgeVerdict(st.Media[0])
		st.Timing = timing(settled, st.Media[0])
	case c.kind == webrtcWebRTC:
		st.class, st.Verdict = bridgesVerdict(st.Media[0], st.Media[1])
	case c.kind == plainPlain:
		st.class, st.Verdict = relayVerdict(st.Relay.Legs[0], st.Relay.Legs[1])
	}
	return st
}

// verdictClass sums a verdict up for the metrics.
type verdictClass string

const (
	bothWays    verdictClass = "both_ways"
	oneWay      verdictClass = "one_way"
	noAudio     verdictClass = "none"
	notAnswered verdictClass = "not_answered" // the call ended (or is) before any answer
)

const flowed = "audio flowed both ways"

// bridgeVerdict says in plain words whether audio flowed through a
// webrtc-plain call, and where it stopped when it did not: the start of
// "why is there no audio?".
func bridgeVerdict(st media.Stats) (verdictClass, string) {
	if v := webrtcFailure(st, "the browser"); v != "" {
		return noAudio, v
	}
	fromBrowser, fromPlain := st.Browser.RTPIn.Packets, st.Plain.RTPIn.Packets
	switch {
	case fromBrowser == 0 && fromPlain == 0:
		return noAudio, "no audio: no RTP from either leg"
	case fromBrowser == 0:
		return oneWay, "one-way audio: nothing from the browser (muted, or SRTP failing: see srtp_auth_failures)"
	case fromPlain == 0:
		return oneWay, "one-way audio: nothing from the phone (can it reach switchboard's RTP address, media.rtp_ip, or is it not sending?)"
	case st.Plain.RTPOut.Packets == 0:
		return oneWay, "one-way audio: the phone's address is unknown, so its leg gets nothing"
	}
	return bothWays, flowed
}

// bridgesVerdict is the verdict of a webrtc-webrtc call, from the caller's
// and the callee's bridge.
func bridgesVerdict(caller, callee media.Stats) (verdictClass, string) {
	for _, b := range []struct {
		st   media.Stats
		name string
	}{{caller, "the caller's browser"}, {callee, "the callee's browser"}} {
		if v := webrtcFailure(b.st, b.name); v != "" {
			return noAudio, v
		}
	}
	fromCaller, fromCallee := caller.Browser.RTPIn.Packets, callee.Browser.RTPIn.Packets
	switch {
	case fromCaller == 0 && fromCallee == 0:
		return noAudio, "no audio: no RTP from either browser"
	case fromCaller == 0:
		return oneWay, "one-way audio: nothing from the caller's browser (muted, or SRTP failing: see srtp_auth_failures)"
	case fromCallee == 0:
		return oneWay, "one-way audio: nothing from the callee's browser (muted, or SRTP failing: see srtp_auth_failures)"
	case callee.Browser.RTPOut.Packets == 0:
		return oneWay, "one-way audio: the caller's audio stops between the two bridges"
	case caller.Browser.RTPOut.Packets == 0:
		return oneWay, "one-way audio: the callee's audio stops between the two bridges"
	}
	return bothWays, flowed
}

// webrtcFailure names what keeps a bridge's browser leg from carrying
// audio, "" when ICE and DTLS are up.
func webrtcFailure(st media.Stats, browser string) string {
	switch {
	case st.ICE.State != "connected" && st.ICE.State != "completed":
		return "no audio: ICE with " + browser + " is " + orNew(st.ICE.State) + " (are switchboard's candidates reachable from the browser?)"
	case st.DTLS.State != "connected":
		return "no audio: DTLS with " + browser + " is " + orNew(st.DTLS.State)
	}
	return ""
}

// relayVerdict is the verdict of a plain-plain call, from the caller's and
// the callee's leg of its relay.
func relayVerdict(caller, callee media.PlainStats) (verdictClass, string) {
	fromCaller, fromCallee := caller.RTPIn.Packets, callee.RTPIn.Packets
	switch {
	case fromCaller == 0 && fromCallee == 0:
		return noAudio, "no audio: no RTP from either phone"
	case fromCaller == 0:
		return oneWay, "one-way audio: nothing from the caller (is switchboard's address reachable from it?)"
	case fromCallee == 0:
		return oneWay, "one-way audio: nothing from the callee (is switchboard's address reachable from it?)"
	case callee.RTPOut.Packets == 0:
		return oneWay, "one-way audio: the callee's address is unknown, so it gets nothing"
	case caller.RTPOut.Packets == 0:
		return oneWay, "one-way audio: the caller's address is unknown, so it gets nothing"
	}
	return bothWays, flowed
}

func orNew(s string) string {
	if s == "" {
		return "new"
	}
	return s
}
