package siptransport

import (
	"bytes"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"github.com/emiago/sipgo/sip"
)

var fuzzLimits = InboundConfig{MaxMessageSize: 65535, MaxHeaders: 128, MaxVia: 16}

// fuzzSeeds are messages as real peers send them, plus the faults Inbound
// answers with a 400.
var fuzzSeeds = []string{
	validOptions,
	// JsSIP REGISTER over WebSocket.
	"REGISTER sip:example.com SIP/2.0\r\n" +
		"Via: SIP/2.0/WSS 2lfn0mmnjpmd.invalid;branch=z9hG4bK1390946\r\n" +
		"Max-Forwards: 69\r\nTo: <sip:alice@example.com>\r\nFrom: <sip:alice@example.com>;tag=pvsqnbd3dg\r\n" +
		"Call-ID: 0r49c6fiv8llb1d9b9m7b0\r\nCSeq: 1 REGISTER\r\n" +
		"Contact: <sip:5t8l1q8u@2lfn0mmnjpmd.invalid;transport=ws>;+sip.ice;reg-id=1;+sip.instance=\"<urn:uuid:1c9b1f5e-8a52-4f1c-9d7c-2b1bd3f1f1a2>\";expires=600\r\n" +
		"Expires: 600\r\nAllow: INVITE,ACK,CANCEL,BYE,UPDATE,MESSAGE,OPTIONS,REFER,INFO,NOTIFY\r\n" +
		"Supported: path,gruu,outbound\r\nUser-Agent: JsSIP 3.10.1\r\nContent-Length: 0\r\n\r\n",
	// INVITE with a body and compact headers.
	"INVITE sip:bob@example.com SIP/2.0\r\nv: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKa;rport\r\n" +
		"Max-Forwards: 70\r\nf: <sip:alice@example.com>;tag=1\r\nt: <sip:bob@example.com>\r\ni: c2\r\n" +
		"CSeq: 7 INVITE\r\nm: <sip:alice@192.0.2.1:5060>\r\nc: application/sdp\r\nl: 24\r\n\r\n" +
		"v=0\r\no=- 1 1 IN IP4 x\r\n",
	// A response.
	"SIP/2.0 180 Ringing\r\nVia: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKb\r\nFrom: <sip:a@x>;tag=1\r\n" +
		"To: <sip:b@x>;tag=2\r\nCall-ID: c3\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n",
	strings.Replace(validOptions, "CSeq: 1", "CSeq: one", 1),
	strings.Replace(validOptions, "CSeq: 1 OPTIONS", "CSeq: 1 INVITE", 1),
	strings.Replace(validOptions, "Call-ID: c1\r\n", "", 1),
	strings.Replace(validOptions, "sip:127.0.0.1", "sip:", 1),
	strings.Replace(validOptions, "Via: SIP/2.0/WS x.invalid;branch=z9hG4bK1;rport", "Via: garbage", 1),
	"\r\n\r\n",
	// RFC 4475's kinds: loose white space (normalize.go), name-addr faults
	// and a foreign scheme (syntax.go).
	"OPTIONS sip:b@x SIP/2.0\r\nv:  SIP  / 2.0 / WS  x.invalid ;\r\n  branch = z9hG4bK1 ; rport\r\nMax-Forwards: 70\r\n" +
		"f: \"A \\\" ;\"<sip:a@x>\r\n ; tag = 1\r\nTo : b <sip:b@x>\r\nCall-ID: c1\r\ncseq: 1\r\n OPTIONS\r\nl: 0\r\n\r\n",
	strings.Replace(validOptions, "To: <sip:b@x>", "To: \"b <sip:b@x>\r\nm: sip:c@x?Route=%3Csip:d%3E", 1),
	strings.Replace(validOptions, "OPTIONS sip:127.0.0.1", "OPTIONS soap.beep://192.0.2.1:3002", 1),
}

// wireConn records the bytes sent to it.
type wireConn struct {
	fakeConn
	mu   sync.Mutex
	wire [][]byte
}

func (c *wireConn) Send(m sip.Message) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.wire = append(c.wire, Marshal(m))
	return nil
}

// checkParses fails unless every message in wire parses.
func checkParses(t *testing.T, what string, wire [][]byte) {
	t.Helper()
	for _, b := range wire {
		if _, err := sip.NewParser().ParseSIP(b); err != nil {
			t.Fatalf("%s does not parse: %v\n%q", what, err, b)
		}
	}
}

func marshalAll(msgs []sip.Message) [][]byte {
	out := make([][]byte, len(msgs))
	for i, m := range msgs {
		out[i] = Marshal(m)
	}
	return out
}

// FuzzInboundMessage feeds datagrams to Inbound: it must not panic, and what
// it answers must parse. What it delivers is sipgo's parse of the peer's
// bytes; sipgo accepts some header values it cannot write back in a form it
// parses again (a To of "<a:>>", say), and the proxy forwards those as the
// peer wrote them, so that is not checked here.
func FuzzInboundMessage(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rec := &recorder{}
		conn := &wireConn{}
		NewInbound(fuzzLimits, InboundDeps{Handler: rec}).Message(data, conn)
		checkParses(t, "response sent back", conn.wire)
	})
}

// streamHarness is a streamConn without a socket: what it sends is recorded.
type streamHarness struct {
	c    *streamConn
	rec  *recorder
	mu   sync.Mutex
	wire [][]byte
}

func newStreamHarness() *streamHarness {
	h := &streamHarness{rec: &recorder{}}
	l := &StreamListener{transport: TCP, in: NewInbound(fuzzLimits, InboundDeps{Handler: h.rec})}
	h.c = &streamConn{l: l, remote: netip.MustParseAddrPort("192.0.2.1:5060"), flowID: "tcp-1"}
	h.c.queue = NewWriteQueue(sendQueueLen, func(b []byte) error {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.wire = append(h.wire, bytes.Clone(b)) // b goes back to a pool once written
		return nil
	}, func(error) {})
	return h
}

// feed consumes the chunks in turn until the stream breaks.
func (h *streamHarness) feed(chunks ...[]byte) {
	f := &framer{max: fuzzLimits.MaxMessageSize}
	for _, chunk := range chunks {
		if len(chunk) > 0 && !h.c.consume(f, chunk) {
			break
		}
	}
	h.c.queue.Wait()
}

// sent returns what was sent, without the CRLF keepalive pongs.
func (h *streamHarness) sent() [][]byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out [][]byte
	for _, b := range h.wire {
		if !isKeepalive(b) {
			out = append(out, b)
		}
	}
	return out
}

// FuzzStreamFraming feeds a TCP byte stream to streamConn.consume whole and
// cut in two: it must not panic, what is sent back must parse, and where
// the stream is cut must not change what is delivered (RFC 3261 §18.3).
func FuzzStreamFraming(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s), uint16(len(s)/2))
	}
	two := validOptions + "\r\n\r\n" + strings.Replace(validOptions, "CSeq: 1", "CSeq: 2", 1)
	f.Add([]byte(two), uint16(len(validOptions)))
	f.Add([]byte(two), uint16(len(validOptions)+4))          // a ping between two messages
	f.Add([]byte(validOptions), uint16(len(validOptions)-2)) // the blank line alone in a read
	f.Fuzz(func(t *testing.T, data []byte, cut uint16) {
		k := int(cut) % (len(data) + 1)
		whole, split := newStreamHarness(), newStreamHarness()
		whole.feed(data)
		split.feed(data[:k], data[k:])
		checkParses(t, "response sent back", whole.sent())
		checkParses(t, "response sent back", split.sent())
		got, want := marshalAll(split.rec.got), marshalAll(whole.rec.got)
		if len(got) != len(want) {
			t.Fatalf("cut at %d: delivered %d messages, want %d as when whole", k, len(got), len(want))
		}
		for i := range got {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("cut at %d: message %d is\n%q\nwant\n%q", k, i, got[i], want[i])
			}
		}
	})
}

// FuzzFramingRule feeds header blocks to the framing rule: it must not
// panic, and a message whose Content-Length matches its body must get the
// same verdict as a datagram as when a framer cuts it from a stream.
func FuzzFramingRule(f *testing.F) {
	for _, tt := range framingCases {
		f.Add([]byte(tt.msg))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		datagram := checkMessage(data)
		fr := &framer{buf: bytes.Clone(data), max: len(data) + 1}
		if fr.skipCRLF() || len(fr.buf) != len(data) {
			return // a stream skips leading CRLFs; a datagram does not
		}
		kind, msg, stream := fr.next()
		if kind != frameMessage || len(msg) != len(data) {
			return // not one whole message with a matching Content-Length
		}
		if datagram != stream {
			t.Fatalf("datagram verdict %v, stream verdict %v for\n%q", datagram, stream, data)
		}
	})
}
