package sdprewrite

import "testing"

func TestIsWebRTC(t *testing.T) {
	tests := []struct {
		name string
		sdp  []byte
		want bool
	}{
		{"Chrome", readFile(t, "testdata/chrome-av-offer", "in.sdp"), true},
		{"Firefox, fingerprint at session level", readFile(t, "testdata/firefox-av-offer", "in.sdp"), true},
		{"Safari", readFile(t, "testdata/safari-audio-offer", "in.sdp"), true},
		{"JsSIP", readFile(t, "testdata/jssip-chrome-offer", "in.sdp"), true},
		{"SIP.js legacy RTP/SAVPF", readFile(t, "testdata/sipjs-legacy-offer", "in.sdp"), true},
		{"Chrome answer", readFile(t, "testdata/chrome-answer", "in.sdp"), true},
		{"Asterisk", readFile(t, "testdata/asterisk-offer", "in.sdp"), false},
		{"FreeSWITCH", readFile(t, "testdata/freeswitch-offer", "in.sdp"), false},
		{"baresip", readFile(t, "testdata/baresip-offer", "in.sdp"), false},
		{"SAVPF without fingerprint", crlf("v=0", "o=- 1 2 IN IP4 192.0.2.1", "s=-",
			"c=IN IP4 192.0.2.1", "t=0 0", "m=audio 4000 UDP/TLS/RTP/SAVPF 0"), false},
		// DTLS-SRTP without AVPF, as Linphone offers (baresip/baresip#763).
		{"UDP/TLS/RTP/SAVP", crlf("v=0", "o=1005 3435 2813 IN IP4 192.0.2.1", "s=Talk",
			"c=IN IP4 192.0.2.1", "t=0 0", "m=audio 49933 UDP/TLS/RTP/SAVP 8 101",
			"a=setup:actpass", "a=fingerprint:SHA-256 25:DE:37:C6"), false},
		{"not SDP", garbage, false},
		{"empty", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsWebRTC(tt.sdp); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}
