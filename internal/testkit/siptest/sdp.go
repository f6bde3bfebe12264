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
