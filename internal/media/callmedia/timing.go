package callmedia

import (
	"time"

	"github.com/switchboard-gw/switchboard/internal/media"
)

// Timing is the start of a webrtc-plain call's media, in milliseconds
// after the answer (the SDP of the 200, or of the ACK for a late offer)
// was applied. A step that has not happened is absent.
//
// They answer "were the first words heard?": audio that a party sends
// between the answer and FirstToPhone or FirstToBrowser is lost, unless it
// was sent before its side was ready to send at all.
type Timing struct {
	// DTLS is when the SRTP keys were in place.
	DTLS *float64 `json:"dtls_ms,omitempty"`
	// DTLSRound is from the browser's first DTLS record to the keys: one
	// round trip when nothing is lost.
	DTLSRound *float64 `json:"dtls_round_ms,omitempty"`
	// FirstToPhone and FirstToBrowser are when the first RTP packet left
	// switchboard towards each.
	FirstToPhone   *float64 `json:"first_to_phone_ms,omitempty"`
	FirstToBrowser *float64 `json:"first_to_browser_ms,omitempty"`
}

// timing reads a bridge's stamps against the answer; nil before it.
func timing(answered time.Time, st media.Stats) *Timing {
	if answered.IsZero() {
		return nil
	}
	return &Timing{
		DTLS:           millisBetween(answered, st.DTLS.Connected),
		DTLSRound:      millisBetween(st.DTLS.FirstRecord, st.DTLS.Connected),
		FirstToPhone:   millisBetween(answered, st.Plain.FirstRTPOut),
		FirstToBrowser: millisBetween(answered, st.Browser.FirstRTPOut),
	}
}

// millisBetween is to−from in milliseconds, to 0.1 ms, or nil when either
// is unset. It may be negative: a browser that answers sends its DTLS
// before switchboard sees its 200.
func millisBetween(from, to time.Time) *float64 {
	if from.IsZero() || to.IsZero() {
		return nil
	}
	ms := float64(to.Sub(from).Round(100*time.Microsecond)) / float64(time.Millisecond)
	return &ms
}
