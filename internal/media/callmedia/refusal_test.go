package callmedia

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-gw/switchboard/internal/signalling/sipmsg"
	"github.com/switchboard-gw/switchboard/internal/testkit/leakcheck"
)

// TestRefusals: an SDP switchboard will not forward is refused with the
// status and reason its fault calls for, counted under its label, and
// leaves no call behind when it was the call's first; the reason never
// quotes the SDP.
func TestRefusals(t *testing.T) {
	leakcheck.Check(t)
	chrome := sdpFile(t, "chrome-audio-offer")
	replace := func(b []byte, re, with string) []byte {
		return regexp.MustCompile(`(?m)`+re).ReplaceAll(b, []byte(with))
	}
	// A private address in a line the parser refuses: it must not show.
	malformed := []byte("v=0\r\no=- 1 1 IN IP4 10.1.2.3\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nzz 10.1.2.3:5060\r\n")
	tests := []struct {
		name   string
		before []sipmsg.SDPMessage // accepted first
		msg    sipmsg.SDPMessage
		code   int
		reason string
		label  string
		calls  int // left afterwards
	}{
		{name: "browser offer without fingerprint",
			msg:  browserToPlain(0, "a", replace(chrome, `^a=fingerprint:.*\r\n`, "")),
			code: 488, reason: "Not Acceptable Here (no DTLS fingerprint)", label: "no_fingerprint"},
		{name: "browser offer with a sha-1 fingerprint",
			msg:  browserToPlain(0, "a", replace(chrome, `^a=fingerprint:.*`, "a=fingerprint:sha-1 "+strings.Repeat("AB:", 19)+"AB")),
			code: 488, reason: "Not Acceptable Here (unsupported fingerprint algorithm)", label: "fingerprint_algorithm"},
		{name: "browser offer with a short ufrag",
			msg:  browserToPlain(0, "a", replace(chrome, `^a=ice-ufrag:.*`, "a=ice-ufrag:abc")),
			code: 488, reason: "Not Acceptable Here (ICE ufrag too short)", label: "ice_ufrag_too_short"},
		{name: "browser to browser, not anchored, holdconn",
			msg:  browserToBrowser(0, "a", replace(chrome, `^a=setup:.*`, "a=setup:holdconn")),
			code: 488, reason: "Not Acceptable Here (invalid a=setup)", label: "setup_invalid"},
		{name: "browser answers actpass",
			before: []sipmsg.SDPMessage{plainToBrowser(0, "a", sdpFile(t, "asterisk-offer"))},
			msg:    browserToPlain(200, "b", replace(sdpFile(t, "chrome-answer"), `^a=setup:.*`, "a=setup:actpass")),
			code:   488, reason: "Not Acceptable Here (invalid a=setup)", label: "setup_invalid", calls: 1},
		{name: "malformed",
			msg:  browserToPlain(0, "a", malformed),
			code: 488, reason: "Not Acceptable Here (malformed SDP)", label: "malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			m, _ := newTestManager(t, 2, Config{}, NewMetrics(reg))
			for _, msg := range tt.before {
				if _, err := m.Rewrite(msg); err != nil {
					t.Fatal(err)
				}
			}
			out, err := m.Rewrite(tt.msg)
			se, ok := err.(interface{ SIPStatus() (int, string) })
			if !ok {
				t.Fatalf("got %v, want a status error", err)
			}
			if code, reason := se.SIPStatus(); code != tt.code || reason != tt.reason {
				t.Errorf("got %d %q, want %d %q", code, reason, tt.code, tt.reason)
			}
			if out != nil {
				t.Errorf("got a body with the error:\n%s", out)
			}
			if _, reason := se.SIPStatus(); strings.Contains(reason, "10.1.2.3") || bytes.Contains(tt.msg.Body, []byte(reason)) {
				t.Errorf("reason %q quotes the SDP", reason)
			}
			if got := gather(t, reg, "switchboard_media_sdp_refused_total", "fault="+tt.label); got != 1 {
				t.Errorf("sdp_refused_total{fault=%s}: got %v, want 1", tt.label, got)
			}
			if got := len(m.Snapshot()); got != tt.calls {
				t.Errorf("calls: got %d, want %d", got, tt.calls)
			}
		})
	}
}

// TestRefusalLabels: every label shows at 0 before any refusal.
func TestRefusalLabels(t *testing.T) {
	reg := prometheus.NewRegistry()
	NewMetrics(reg)
	for _, l := range refusalLabels() {
		if got := gather(t, reg, "switchboard_media_sdp_refused_total", "fault="+l); got != 0 {
			t.Errorf("sdp_refused_total{fault=%s}: got %v, want 0", l, got)
		}
	}
}
