package sdprewrite

import (
	"bytes"
	"net/netip"
	"slices"
	"testing"
)

// TestFirefoxSDP checks by name what the golden files of Firefox 153's
// offer and answer show, so that an -update cannot accept a regression
// unseen: the session-level fingerprint is the one used, only the
// component-1 UDP candidates of both families are kept (not the TCP-active
// ones, not component 2, whose port a=rtcp also names), rtcp-mux wins over
// a=rtcp, and the plain side gets switchboard's RTCP port alone.
func TestFirefoxSDP(t *testing.T) {
	tests := []struct {
		name      string
		run       func(in, offer []byte) ([]byte, WebRTCRemote, error)
		setup     string
		wantCands []string
	}{
		{"firefox-audio-offer", func(in, _ []byte) ([]byte, WebRTCRemote, error) { return WebRTCOfferToPlain(in, testPlain) },
			"actpass", []string{"192.0.2.2:41149", "[fd00::2]:58220"}},
		{"firefox-answer", func(in, offer []byte) ([]byte, WebRTCRemote, error) { return WebRTCAnswerToPlain(in, offer, testPlain) },
			"active", []string{"192.0.2.2:49292", "[fd00::2]:56179"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := "testdata/" + tt.name
			in := readFile(t, dir, "in.sdp")
			out, remote, err := tt.run(in, readFile(t, dir, "offer.sdp"))
			if err != nil {
				t.Fatal(err)
			}
			// The browser's only a=fingerprint is at session level.
			if bytes.Count(in, []byte("a=fingerprint:")) != 1 || remote.Fingerprint == "" ||
				!bytes.Contains(in, []byte("\r\na=fingerprint:"+remote.Fingerprint+"\r\n")) {
				t.Errorf("fingerprint %q, want the session-level one", remote.Fingerprint)
			}
			if remote.Setup != tt.setup {
				t.Errorf("setup %q, want %q", remote.Setup, tt.setup)
			}
			var want []Candidate
			for _, c := range tt.wantCands {
				want = append(want, Candidate{Addr: netip.MustParseAddrPort(c), Type: "host"})
			}
			if !slices.Equal(remote.Candidates, want) {
				t.Errorf("candidates %v, want %v (UDP, component 1, IPv4 and IPv6)", remote.Candidates, want)
			}
			if !remote.RTCPMux || !remote.Bundle {
				t.Errorf("rtcp-mux %v, bundle %v, want both", remote.RTCPMux, remote.Bundle)
			}
			if !bytes.Contains(out, []byte("\r\na=rtcp:30001\r\n")) || bytes.Count(out, []byte("a=rtcp:")) != 1 {
				t.Errorf("plain SDP's a=rtcp lines, want only switchboard's 30001:\n%s", out)
			}
			for _, leak := range []string{"fd00::2", "192.0.2.2", "tcptype", "a=candidate", "a=fingerprint"} {
				if bytes.Contains(out, []byte(leak)) {
					t.Errorf("plain SDP holds %q:\n%s", leak, out)
				}
			}
		})
	}
}
