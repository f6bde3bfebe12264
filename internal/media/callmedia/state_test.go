package callmedia

import (
	"testing"

	"github.com/switchboard-gw/switchboard/internal/media"
)

// up is a bridge whose browser leg connected, with the RTP counts given.
func up(browserIn, browserOut, plainIn, plainOut uint64) media.Stats {
	var st media.Stats
	st.ICE.State, st.DTLS.State = "connected", "connected"
	st.Browser.RTPIn.Packets, st.Browser.RTPOut.Packets = browserIn, browserOut
	st.Plain.RTPIn.Packets, st.Plain.RTPOut.Packets = plainIn, plainOut
	return st
}

func relayed(in, out uint64) media.PlainStats {
	var st media.PlainStats
	st.RTPIn.Packets, st.RTPOut.Packets = in, out
	return st
}

func TestVerdicts(t *testing.T) {
	failedICE := up(0, 0, 0, 0)
	failedICE.ICE.State = "failed"
	noDTLS := up(0, 0, 0, 0)
	noDTLS.DTLS.State = ""
	tests := []struct {
		name    string
		verdict func() (verdictClass, string)
		class   verdictClass
		text    string
	}{
		{"bridge: ICE failed", func() (verdictClass, string) { return bridgeVerdict(failedICE) }, noAudio,
			"no audio: ICE with the browser is failed (are switchboard's candidates reachable from the browser?)"},
		{"bridge: DTLS not begun", func() (verdictClass, string) { return bridgeVerdict(noDTLS) }, noAudio,
			"no audio: DTLS with the browser is new"},
		{"bridge: silence", func() (verdictClass, string) { return bridgeVerdict(up(0, 0, 0, 0)) }, noAudio,
			"no audio: no RTP from either leg"},
		{"bridge: muted browser", func() (verdictClass, string) { return bridgeVerdict(up(0, 9, 9, 0)) }, oneWay,
			"one-way audio: nothing from the browser (muted, or SRTP failing: see srtp_auth_failures)"},
		{"bridge: silent phone", func() (verdictClass, string) { return bridgeVerdict(up(9, 0, 0, 9)) }, oneWay,
			"one-way audio: nothing from the phone (can it reach switchboard's RTP address, media.rtp_ip, or is it not sending?)"},
		{"bridge: both ways", func() (verdictClass, string) { return bridgeVerdict(up(9, 9, 9, 9)) }, bothWays, flowed},
		{"bridges: callee's ICE failed", func() (verdictClass, string) { return bridgesVerdict(up(9, 9, 9, 9), failedICE) }, noAudio,
			"no audio: ICE with the callee's browser is failed (are switchboard's candidates reachable from the browser?)"},
		{"bridges: muted caller", func() (verdictClass, string) { return bridgesVerdict(up(0, 9, 9, 0), up(9, 0, 0, 9)) }, oneWay,
			"one-way audio: nothing from the caller's browser (muted, or SRTP failing: see srtp_auth_failures)"},
		{"bridges: lost between the bridges", func() (verdictClass, string) { return bridgesVerdict(up(9, 9, 9, 9), up(9, 0, 0, 9)) }, oneWay,
			"one-way audio: the caller's audio stops between the two bridges"},
		{"bridges: both ways", func() (verdictClass, string) { return bridgesVerdict(up(9, 9, 9, 9), up(9, 9, 9, 9)) }, bothWays, flowed},
		{"relay: silence", func() (verdictClass, string) { return relayVerdict(relayed(0, 0), relayed(0, 0)) }, noAudio,
			"no audio: no RTP from either phone"},
		{"relay: silent callee", func() (verdictClass, string) { return relayVerdict(relayed(9, 0), relayed(0, 9)) }, oneWay,
			"one-way audio: nothing from the callee (is switchboard's address reachable from it?)"},
		{"relay: callee unknown", func() (verdictClass, string) { return relayVerdict(relayed(9, 9), relayed(9, 0)) }, oneWay,
			"one-way audio: the callee's address is unknown, so it gets nothing"},
		{"relay: both ways", func() (verdictClass, string) { return relayVerdict(relayed(9, 9), relayed(9, 9)) }, bothWays, flowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			class, text := tt.verdict()
			if class != tt.class || text != tt.text {
				t.Errorf("got %s %q, want %s %q", class, text, tt.class, tt.text)
			}
		})
	}
}
