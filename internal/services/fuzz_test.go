package services

import (
	"net/netip"
	"strings"
	"testing"
)

// FuzzParseRemote feeds offers to the SDP reader: it must not panic, and
// an answer to what it accepts keeps the offer's m-lines, in order.
func FuzzParseRemote(f *testing.F) {
	f.Add([]byte("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
		"m=audio 4000 RTP/AVP 0 8 101\r\na=rtpmap:101 telephone-event/8000\r\na=sendonly\r\n"))
	f.Add([]byte("v=0\r\no=- 1 1 IN IP4 198.51.100.5\r\ns=-\r\nc=IN IP4 198.51.100.5\r\nt=0 0\r\n" +
		"m=audio 30000 RTP/AVP 111 9 0 8 110 126\r\na=rtpmap:111 opus/48000/2\r\na=rtpmap:126 telephone-event/8000\r\n" +
		"a=rtcp:30001\r\nm=video 0 RTP/AVP 96\r\n"))
	f.Add([]byte("v=0\r\no=- 1 1 IN IP6 ::1\r\ns=-\r\nt=0 0\r\nm=audio 5 RTP/AVPF 97\r\nc=IN IP6 ::1\r\n" +
		"a=rtpmap:97 PCMA/8000\r\na=rtcp-mux\r\n"))
	l := local{name: Echo, addr: netip.MustParseAddrPort("127.0.0.1:20000"), rtcpPort: 20001}
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := parseRemote(body)
		if err != nil {
			return
		}
		media := l.answer(r)
		got := 0
		for _, line := range strings.Split(media, "\r\n") {
			if strings.HasPrefix(line, "m=") {
				got++
			}
		}
		if got != len(r.mlines) {
			t.Errorf("answer has %d m-lines, want %d:\n%s", got, len(r.mlines), media)
		}
	})
}
