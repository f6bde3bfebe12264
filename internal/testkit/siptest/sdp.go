package siptest

import "fmt"

// AudioSDP returns a plain RTP audio offer or answer (PCMU, PCMA,
// telephone-event) with media at ip:port, as a SIP phone or PBX sends.
func AudioSDP(ip string, port int) []byte {
	return fmt.Appendf(nil, "v=0\r\n"+
		"o=siptest 1 1 IN IP4 %[1]s\r\n"+
		"s=siptest\r\n"+
		"c=IN IP4 %[1]s\r\n"+
		"t=0 0\r\n"+
		"m=audio %[2]d RTP/AVP 0 8 101\r\n"+
		"a=rtpmap:0 PCMU/8000\r\n"+
		"a=rtpmap:8 PCMA/8000\r\n"+
		"a=rtpmap:101 telephone-event/8000\r\n"+
		"a=fmtp:101 0-16\r\n"+
		"a=sendrecv\r\n", ip, port)
}

// WebRTCOffer returns a browser's audio offer (UDP/TLS/RTP/SAVPF, ICE
// credentials, a sha-256 DTLS fingerprint, a=setup:actpass, one host
// candidate at ip:port), as JsSIP sends it: what switchboard requires of
// an SDP from a WebSocket. Nothing answers its ICE checks; use rtptest's
// browser for a call whose media must flow.
func WebRTCOffer(ip string, port int) []byte { return webrtcSDP(ip, port, "actpass") }

// WebRTCAnswer is WebRTCOffer as an answer: a=setup:active.
func WebRTCAnswer(ip string, port int) []byte { return webrtcSDP(ip, port, "active") }

func webrtcSDP(ip string, port int, setup string) []byte {
	return fmt.Appendf(nil, "v=0\r\n"+
		"o=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n"+
		"s=-\r\n"+
		"t=0 0\r\n"+
		"a=group:BUNDLE 0\r\n"+
		"m=audio %[2]d UDP/TLS/RTP/SAVPF 0 8 101\r\n"+
		"c=IN IP4 %[1]s\r\n"+
		"a=candidate:1 1 udp 2122260223 %[1]s %[2]d typ host\r\n"+
		"a=ice-ufrag:sTst\r\n"+
		"a=ice-pwd:siptestPassword0123456789\r\n"+
		"a=fingerprint:sha-256 A4:67:3A:52:5C:D4:9C:65:45:9D:61:43:B2:EC:31:E8:42:4E:EC:54:C9:70:E3:89:28:94:3E:5C:3C:ED:FC:64\r\n"+
		"a=setup:%[3]s\r\n"+
		"a=mid:0\r\n"+
		"a=sendrecv\r\n"+
		"a=rtcp-mux\r\n"+
		"a=rtpmap:0 PCMU/8000\r\n"+
		"a=rtpmap:8 PCMA/8000\r\n"+
		"a=rtpmap:101 telephone-event/8000\r\n"+
		"a=fmtp:101 0-16\r\n", ip, port, setup)
}
