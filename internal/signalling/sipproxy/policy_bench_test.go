package sipproxy

import (
	"testing"

	"github.com/emiago/sipgo/sip"
)

// BenchmarkHeaderPolicy is the policy's cost on a JsSIP INVITE with nothing
// to remove: the common case, on every request forwarded.
func BenchmarkHeaderPolicy(b *testing.B) {
	raw := "INVITE sip:9555@192.0.2.10 SIP/2.0\r\nVia: SIP/2.0/WSS x.invalid;branch=z9hG4bK1\r\nMax-Forwards: 70\r\n" +
		"To: <sip:9555@x>\r\nFrom: <sip:alice@x>;tag=1\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n" +
		"Contact: <sip:a@x.invalid;transport=ws;ob>\r\nAllow: INVITE,ACK,CANCEL,BYE\r\nSupported: outbound\r\n" +
		"User-Agent: JsSIP 3.10.1\r\nContent-Type: application/sdp\r\nContent-Length: 0\r\n\r\n"
	m, err := sip.ParseMessage([]byte(raw))
	if err != nil {
		b.Fatal(err)
	}
	req := m.(*sip.Request)
	hp := newHeaderPolicy(Config{StripHeaders: []string{"X-Acme-*", "X-Tenant-ID"}})
	b.ReportAllocs()
	for b.Loop() {
		hp.apply(req, policyInput{}, nil)
	}
}
