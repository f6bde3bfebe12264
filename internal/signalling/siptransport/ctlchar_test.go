package siptransport

import (
	"bufio"
	"bytes"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-gw/switchboard/internal/testkit/leakcheck"
)

// controlCases are validOptions with one fault put where a peer could put
// it, and spellings that must stay allowed.
var controlCases = []struct {
	name string
	msg  string
	bad  bool
}{
	{name: "valid", msg: validOptions},
	{name: "tab in a value", msg: strings.Replace(validOptions, "Max-Forwards: 70", "Max-Forwards:\t70", 1)},
	{name: "folded line", msg: strings.Replace(validOptions, "From: <sip:a@x>;tag=1", "From: <sip:a@x>\r\n ;tag=1", 1)},
	{name: "UTF-8 in a value", msg: strings.Replace(validOptions, "From: <sip:a@x>", "From: \"Zoë ☎\" <sip:a@x>", 1)},
	{name: "control character in the body", msg: strings.Replace(validOptions, "Content-Length: 0\r\n\r\n", "Content-Length: 3\r\n\r\n\x00\n\r", 1)},
	{name: "bare LF in a value", bad: true, msg: strings.Replace(validOptions, "Max-Forwards: 70", "Subject: hi\nP-Asserted-Identity: <sip:boss@x>\r\nMax-Forwards: 70", 1)},
	{name: "bare CR in a value", bad: true, msg: strings.Replace(validOptions, "Max-Forwards: 70", "Subject: a\rb\r\nMax-Forwards: 70", 1)},
	{name: "NUL in a value", bad: true, msg: strings.Replace(validOptions, "Max-Forwards: 70", "Subject: a\x00b\r\nMax-Forwards: 70", 1)},
	{name: "NUL in a name", bad: true, msg: strings.Replace(validOptions, "Max-Forwards: 70", "P-Asserted-Identity\x00: <sip:boss@x>\r\nMax-Forwards: 70", 1)},
	{name: "vertical tab before the colon", bad: true, msg: strings.Replace(validOptions, "Max-Forwards: 70", "P-Asserted-Identity\v: <sip:boss@x>\r\nMax-Forwards: 70", 1)},
	{name: "ESC in a value", bad: true, msg: strings.Replace(validOptions, "Max-Forwards: 70", "Subject: \x1b[2J\r\nMax-Forwards: 70", 1)},
	{name: "DEL in a value", bad: true, msg: strings.Replace(validOptions, "Max-Forwards: 70", "Subject: a\x7f\r\nMax-Forwards: 70", 1)},
	{name: "control character in the request line", bad: true, msg: strings.Replace(validOptions, "sip:127.0.0.1", "sip:127.0.0.1\x01", 1)},
	{name: "control character in the last header", bad: true, msg: strings.Replace(validOptions, "Content-Length: 0\r\n", "Content-Length: 0\r\nSubject: \x02\r\n", 1)},
}

// hasControlCharSlow is hasControlChar written plainly, byte by byte.
func hasControlCharSlow(data []byte) bool {
	head, _, _ := bytes.Cut(data, []byte("\r\n\r\n"))
	for i, c := range head {
		switch {
		case c == '\r':
			if i+1 >= len(head) || head[i+1] != '\n' {
				return true
			}
		case c == '\n':
			if i == 0 || head[i-1] != '\r' {
				return true
			}
		case c < 0x20 && c != '\t', c == 0x7f:
			return true
		}
	}
	return false
}

func TestHasControlChar(t *testing.T) {
	for _, tt := range controlCases {
		t.Run(tt.name, func(t *testing.T) {
			if got := hasControlChar([]byte(tt.msg)); got != tt.bad {
				t.Errorf("got %v, want %v", got, tt.bad)
			}
			if got := hasControlCharSlow([]byte(tt.msg)); got != tt.bad {
				t.Errorf("reference: got %v, want %v", got, tt.bad)
			}
		})
	}
	if !hasControlChar([]byte(strings.ReplaceAll(validOptions, "\r\n", "\n"))) {
		t.Error("LF line ends: got false, want true")
	}
	// Every byte at every offset within and across the 8-byte words.
	base := []byte(validOptions)
	for pos := 20; pos < 40; pos++ {
		for c := range 256 {
			msg := bytes.Clone(base)
			msg[pos] = byte(c)
			if got, want := hasControlChar(msg), hasControlCharSlow(msg); got != want {
				t.Fatalf("byte %#02x at %d: got %v, want %v", c, pos, got, want)
			}
		}
	}
}

// FuzzHasControlChar holds the word-at-a-time scan to the plain one.
func FuzzHasControlChar(f *testing.F) {
	for _, tt := range controlCases {
		f.Add([]byte(tt.msg))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if got, want := hasControlChar(data), hasControlCharSlow(data); got != want {
			t.Fatalf("got %v, want %v for %q", got, want, data)
		}
	})
}

// A message with a control character in its head is answered 400 over UDP
// and TCP sockets, counted, and never delivered; the others are delivered.
func TestControlCharacterOverSockets(t *testing.T) {
	leakcheck.Check(t)
	for _, transport := range []string{UDP, TCP} {
		for _, tt := range controlCases {
			t.Run(transport+"/"+tt.name, func(t *testing.T) {
				reg := prometheus.NewRegistry()
				m := NewMetrics(reg)
				h := &collector{}
				in := NewInbound(InboundConfig{MaxMessageSize: 65535}, InboundDeps{Handler: h, Metrics: m})
				c := dialInbound(t, transport, in)
				msg := strings.Replace(tt.msg, "SIP/2.0/WS x.invalid", "SIP/2.0/"+transport+" 127.0.0.1", 1)
				if _, err := c.Write([]byte(msg)); err != nil {
					t.Fatal(err)
				}
				if !tt.bad {
					waitFor(t, func() bool { n, _ := h.count(); return n == 1 })
					return
				}
				_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
				line, err := bufio.NewReader(c).ReadString('\n')
				if want := "SIP/2.0 400 " + reasonControlChar + "\r\n"; err != nil || line != want {
					t.Fatalf("got %q, %v; want %q", line, err, want)
				}
				if n, _ := h.count(); n != 0 {
					t.Errorf("delivered %d messages, want 0", n)
				}
				if rejected := rejectedCount(t, reg, "control_character"); rejected != 1 {
					t.Errorf("rejected{reason=control_character}: got %v, want 1", rejected)
				}
			})
		}
	}
}

// A control character in a header the 400 must echo is never sent back:
// the request is dropped, or answered with the header repaired (CSeq).
func TestControlCharacterInEchoedHeaderIsDropped(t *testing.T) {
	for _, name := range []string{"Via", "From", "To", "Call-ID", "CSeq"} {
		t.Run(name, func(t *testing.T) {
			i := strings.Index(validOptions, "\r\n"+name+": ") + 2 + len(name) + 2
			msg := validOptions[:i] + "\x1b" + validOptions[i:]
			conn := &wireConn{}
			rec := &recorder{}
			NewInbound(fuzzLimits, InboundDeps{Handler: rec}).Message([]byte(msg), conn)
			if len(rec.got) != 0 {
				t.Errorf("delivered %d messages, want 0", len(rec.got))
			}
			for _, w := range conn.wire {
				if hasControlChar(w) {
					t.Errorf("sent %q, a control character back", w)
				}
			}
		})
	}
}

// dialInbound binds a listener of transport on loopback delivering to in,
// and connects a client socket to it.
func dialInbound(t *testing.T, transport string, in *Inbound) net.Conn {
	t.Helper()
	any := netip.MustParseAddrPort("127.0.0.1:0")
	var addr netip.AddrPort
	switch transport {
	case UDP:
		l, err := ListenUDP(any, in)
		if err != nil {
			t.Fatal(err)
		}
		go l.Serve()
		t.Cleanup(func() { l.Close() })
		addr = l.Addr()
	case TCP:
		l, err := ListenTCP(any, StreamConfig{}, in, NewRegistry(RegistryConfig{}))
		if err != nil {
			t.Fatal(err)
		}
		go l.Serve()
		t.Cleanup(func() { l.Close() })
		addr = l.Addr()
	}
	c, err := net.Dial(strings.ToLower(transport), addr.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// rejectedCount reads switchboard_sip_messages_rejected_total{reason}.
func rejectedCount(t *testing.T, reg *prometheus.Registry, reason string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "switchboard_sip_messages_rejected_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			if l := m.GetLabel(); len(l) == 1 && l[0].GetValue() == reason {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func BenchmarkHasControlChar(b *testing.B) {
	msg := []byte(fuzzSeeds[1]) // a JsSIP REGISTER
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		if hasControlChar(msg) {
			b.Fatal("control character found")
		}
	}
}

func BenchmarkInboundMessage(b *testing.B) {
	msg := []byte(fuzzSeeds[1])
	in := NewInbound(fuzzLimits, InboundDeps{Handler: discard{}})
	conn := &fakeConn{}
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		in.Message(msg, conn)
	}
}

type discard struct{}

func (discard) HandleMessage(sip.Message, Conn) {}
func (discard) ConnClosed(Conn)                 {}

// BenchmarkCheckMessage is the framing rule alone on a JsSIP REGISTER.
func BenchmarkCheckMessage(b *testing.B) {
	msg := []byte(fuzzSeeds[1])
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		if f := checkMessage(msg); f != nil {
			b.Fatal(f.reason)
		}
	}
}

// TestScanControlFindsTheHeadEnd checks that, when it finds no control
// character, scanControl puts the end of the head where bytes.Index finds
// the first CRLF CRLF, so checkMessage can skip that search.
func TestScanControlFindsTheHeadEnd(t *testing.T) {
	msgs := slices.Clone(fuzzSeeds)
	for _, tt := range framingCases {
		msgs = append(msgs, tt.msg)
	}
	msgs = append(msgs, "REGISTER sip:a SIP/2.0\r\n\r\n", "no blank line\r\n", "\r\n\r\n", "a\r\n\r\r\n\r\n", "")
	for _, m := range msgs {
		end, found := scanControl([]byte(m))
		if found != hasControlChar([]byte(m)) {
			t.Errorf("%q: scanControl found %v, hasControlChar %v", m, found, !found)
		}
		if want := strings.Index(m, "\r\n\r\n"); !found && end != want {
			t.Errorf("%q: head ends at %d, want %d", m, end, want)
		}
	}
}
