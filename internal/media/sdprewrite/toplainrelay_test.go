package sdprewrite

import (
	"bytes"
	"testing"
)

// TestPlainToPlainDropsICE checks a plain SDP's ICE candidates, which name
// the sender's own addresses, do not reach the far end of a relayed call.
func TestPlainToPlainDropsICE(t *testing.T) {
	in := crlf("v=0", "o=- 1 2 IN IP4 192.0.2.1", "s=-", "c=IN IP4 192.0.2.1", "t=0 0",
		"a=ice-lite", "m=audio 4000 RTP/AVP 0", "a=rtpmap:0 PCMU/8000",
		"a=ice-ufrag:abcd", "a=ice-pwd:abcdefghijklmnopqrstuv",
		"a=candidate:1 1 UDP 2130706431 192.0.2.1 4000 typ host", "a=rtcp-mux")
	out, remote, err := PlainToPlain(in, testPlain)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"ice-", "candidate", "192.0.2.1"} {
		if bytes.Contains(out, []byte(s)) {
			t.Errorf("output has %q:\n%s", s, out)
		}
	}
	if !bytes.Contains(out, []byte("a=rtcp-mux\r\n")) {
		t.Errorf("output lost a=rtcp-mux:\n%s", out)
	}
	if got, want := remote.RTCP.String(), "192.0.2.1:4000"; got != want || !remote.RTCPMux {
		t.Errorf("remote RTCP: got %s (mux %v), want %s multiplexed", got, remote.RTCPMux, want)
	}
}
