package loadgen

import (
	"errors"
	"strings"
	"testing"

	"github.com/pion/ice/v4"
	"github.com/pion/sdp/v3"
)

// gatewayAnswer is an answer as switchboard writes it (sdprewrite's
// baresip-answer golden file, addresses on loopback).
const gatewayAnswer = `v=0
o=- 3054263734 2163396453 IN IP4 127.0.0.1
s=-
c=IN IP4 127.0.0.1
t=0 0
a=ice-lite
a=group:BUNDLE 0
m=audio 40000 UDP/TLS/RTP/SAVPF 0 126
a=mid:0
a=ice-ufrag:sbQ2
a=ice-pwd:switchboardPwd0123456789
a=fingerprint:sha-256 0F:54:5D:2B:6E:9A:11:C3:47:88:B0:2A:FD:63:90:1E:7C:25:D4:E8:39:A6:5B:F0:12:8D:C7:4E:A3:96:0B:71
a=setup:passive
a=candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host
a=end-of-candidates
a=rtcp-mux
a=rtpmap:0 PCMU/8000
a=rtpmap:126 telephone-event/8000
a=ptime:20
a=sendrecv
a=ssrc:1527411466 cname:switchboard
`

func crlf(s string) []byte { return []byte(strings.ReplaceAll(s, "\n", "\r\n")) }

func TestParseAnswer(t *testing.T) {
	a, err := parseAnswer(crlf(gatewayAnswer))
	if err != nil {
		t.Fatal(err)
	}
	if a.Ufrag != "sbQ2" || a.Pwd != "switchboardPwd0123456789" || !a.DTLSClient {
		t.Errorf("got ufrag %q pwd %q DTLS client %v, want sbQ2, switchboardPwd0123456789, true", a.Ufrag, a.Pwd, a.DTLSClient)
	}
	if len(a.Candidates) != 1 || a.Candidates[0].Address() != "127.0.0.1" || a.Candidates[0].Port() != 40000 {
		t.Errorf("got candidates %v, want 127.0.0.1:40000", a.Candidates)
	}
}

func TestParseAnswerRejects(t *testing.T) {
	tests := []struct {
		name, old, new string
	}{
		{name: "m-line rejected", old: "m=audio 40000", new: "m=audio 0"},
		{name: "no PCMU", old: "SAVPF 0 126", new: "SAVPF 126"},
		{name: "no ice-pwd", old: "a=ice-pwd:switchboardPwd0123456789\n", new: ""},
		{name: "sha-1 fingerprint", old: "sha-256 0F", new: "sha-1 0F"},
		{name: "no candidate", old: "a=candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host\n", new: ""},
		{name: "bad candidate", old: "typ host", new: "typ nonsense"},
		{name: "not SDP", old: "v=0", new: "x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseAnswer(crlf(strings.Replace(gatewayAnswer, tt.old, tt.new, 1)))
			if !errors.Is(err, errAnswer) {
				t.Errorf("got %v, want errAnswer", err)
			}
		})
	}
}

func TestParseAnswerActiveMakesServer(t *testing.T) {
	a, err := parseAnswer(crlf(strings.Replace(gatewayAnswer, "setup:passive", "setup:active", 1)))
	if err != nil || a.DTLSClient {
		t.Errorf("got DTLS client %v, %v; want server", a.DTLSClient, err)
	}
}

func TestBuildOffer(t *testing.T) {
	c, err := ice.UnmarshalCandidate("candidate:1 1 udp 2130706431 127.0.0.1 50000 typ host")
	if err != nil {
		t.Fatal(err)
	}
	body, err := buildOffer(offerParams{Ufrag: "uf", Pwd: "pwdpwdpwdpwdpwdpwdpwdpwd", Fingerprint: "sha-256 AB:CD", Candidates: []ice.Candidate{c}, SSRC: 7})
	if err != nil {
		t.Fatal(err)
	}
	var d sdp.SessionDescription
	if err := d.Unmarshal(body); err != nil {
		t.Fatalf("offer does not parse: %v\n%s", err, body)
	}
	m := d.MediaDescriptions[0]
	if got := strings.Join(m.MediaName.Protos, "/") + " " + strings.Join(m.MediaName.Formats, " "); got != "UDP/TLS/RTP/SAVPF 0" {
		t.Errorf("m-line %q, want UDP/TLS/RTP/SAVPF 0", got)
	}
	want := map[string]string{"ice-ufrag": "uf", "setup": "actpass", "mid": "0", "fingerprint": "sha-256 AB:CD",
		"rtcp-mux": "", "rtpmap": "0 PCMU/8000", "candidate": "1 1 udp 2130706431 127.0.0.1 50000 typ host"}
	for k, v := range want {
		if got, ok := m.Attribute(k); !ok || got != v {
			t.Errorf("a=%s: got %q (present %v), want %q", k, got, ok, v)
		}
	}
	if got, _ := d.Attribute("group"); got != "BUNDLE 0" {
		t.Errorf("a=group: got %q, want BUNDLE 0", got)
	}
}
