package siptransport

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/netip"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/internal/testkit/leakcheck"

	"github.com/switchboard-gw/switchboard/internal/testkit/certtest"
)

// framingCase is one message and what every transport must do with it.
type framingCase struct {
	name string
	msg  string
	// status and reason are the answer; 0 means none.
	status int
	reason string
	// breaks is set when the message breaks the framing rule: a stream is
	// closed after it.
	breaks bool
	// only limits the case to datagrams ("datagram") or streams ("stream").
	only string
}

func replace(old, new string) string { return strings.Replace(validOptions, old, new, 1) }

const validVia = "Via: SIP/2.0/WS x.invalid;branch=z9hG4bK1;rport\r\n"

var framingCases = []framingCase{
	{name: "valid", msg: validOptions, status: 200, reason: "OK"},
	{name: "conflicting Content-Length", msg: replace("Content-Length: 0\r\n", "Content-Length: 0\r\nl: 4\r\n"),
		status: 400, reason: "Bad Request (conflicting Content-Length)", breaks: true},
	{name: "malformed Content-Length", msg: replace("Content-Length: 0", "Content-Length: 0x10"),
		status: 400, reason: "Bad Request (malformed Content-Length)", breaks: true},
	{name: "Content-Length beyond the datagram", msg: replace("Content-Length: 0", "Content-Length: 10"), only: "datagram",
		status: 400, reason: "Bad Request (Content-Length exceeds message)", breaks: true},
	{name: "no Content-Length on a stream", msg: replace("Content-Length: 0\r\n", ""), only: "stream",
		status: 400, reason: "Bad Request (missing Content-Length)", breaks: true},
	{name: "duplicate Call-ID compact", msg: replace("Call-ID: c1\r\n", "Call-ID: c1\r\ni: c2\r\n"),
		status: 400, reason: "Bad Request (duplicate Call-ID)", breaks: true},
	{name: "duplicate To", msg: replace("To: <sip:b@x>\r\n", "To: <sip:b@x>\r\nTo: <sip:c@x>\r\n"),
		status: 400, reason: "Bad Request (duplicate To)", breaks: true},
	{name: "duplicate From compact", msg: replace("From: <sip:a@x>;tag=1\r\n", "From: <sip:a@x>;tag=1\r\nf: <sip:a@x>;tag=2\r\n"),
		status: 400, reason: "Bad Request (duplicate From)", breaks: true},
	{name: "duplicate CSeq", msg: replace("CSeq: 1 OPTIONS\r\n", "CSeq: 1 OPTIONS\r\nCSeq: 2 OPTIONS\r\n"),
		status: 400, reason: "Bad Request (duplicate CSeq)", breaks: true},
	{name: "duplicate Max-Forwards", msg: replace("Max-Forwards: 70\r\n", "Max-Forwards: 70\r\nmax-forwards: 1\r\n"),
		status: 400, reason: "Bad Request (duplicate Max-Forwards)", breaks: true},
	{name: "duplicate Content-Type", msg: replace("Content-Length: 0\r\n", "c: text/plain\r\nContent-Type: application/sdp\r\nContent-Length: 0\r\n"),
		status: 400, reason: "Bad Request (duplicate Content-Type)", breaks: true},
	{name: "repeated To with the same value, folded", msg: replace("To: <sip:b@x>\r\n", "To: <sip:b@x>\r\nt:\r\n  <sip:b@x>\r\n"),
		status: 200, reason: "OK"},
	{name: "missing Call-ID", msg: replace("Call-ID: c1\r\n", ""), status: 400, reason: "Bad Request (missing Call-ID)", breaks: true},
	{name: "missing From", msg: replace("From: <sip:a@x>;tag=1\r\n", ""), status: 400, reason: "Bad Request (missing From)", breaks: true},
	{name: "empty To", msg: replace("To: <sip:b@x>\r\n", "To: \r\n"), status: 400, reason: "Bad Request (missing To)", breaks: true},
	{name: "missing Via is not answered", msg: replace(validVia, ""), breaks: true},
	{name: "missing Max-Forwards is fine", msg: replace("Max-Forwards: 70\r\n", ""), status: 200, reason: "OK"},
	{name: "SIP/7.0", msg: replace(" SIP/2.0\r\n", " SIP/7.0\r\n"), status: 505, reason: "Version Not Supported", breaks: true},
	{name: "version not SIP/x.y", msg: replace(" SIP/2.0\r\n", " HTTP/1.1\r\n"), breaks: true},
	{name: "CSeq 2^31", msg: replace("CSeq: 1 ", "CSeq: 2147483648 "), status: 400, reason: "Bad Request (CSeq out of range)", breaks: true},
	{name: "CSeq 2^64", msg: replace("CSeq: 1 ", "CSeq: 18446744073709551616 "), status: 400, reason: "Bad Request (CSeq out of range)", breaks: true},
	{name: "CSeq 2^31-1", msg: replace("CSeq: 1 ", "CSeq: 2147483647 "), status: 200, reason: "OK"},
	{name: "start line with two parts", msg: replace(" SIP/2.0\r\n", "\r\n"), breaks: true},
	{name: "header line without a colon", msg: replace("Max-Forwards: 70\r\n", "Max-Forwards 70\r\n"),
		status: 400, reason: "Bad Request (malformed header)", breaks: true},
	{name: "ACK is never answered", msg: strings.NewReplacer("OPTIONS", "ACK", "Call-ID: c1\r\n", "Call-ID: c1\r\ni: c2\r\n").Replace(validOptions), breaks: true},
	{name: "response with conflicting Content-Length is dropped",
		msg:    strings.Replace(response(200, "OK"), "Content-Length: 0\r\n", "Content-Length: 0\r\nl: 3\r\n", 1),
		breaks: true},
	{name: "malformed value keeps the stream", msg: replace("CSeq: 1", "CSeq: one"), status: 400, reason: "Bad Request (malformed header)"},

	// The syntax rule (syntax.go): answered, and a stream stays open.
	{name: "Request-URI in <>", msg: replace("OPTIONS sip:127.0.0.1 ", "OPTIONS <sip:127.0.0.1> "),
		status: 400, reason: "Bad Request (malformed start line)", breaks: true},
	{name: "white space in the Request-URI is answered", msg: replace("OPTIONS sip:127.0.0.1 ", "OPTIONS sip:127.0.0.1; lr "),
		status: 400, reason: "Bad Request (malformed start line)", breaks: true},
	{name: "unknown URI scheme", msg: replace("OPTIONS sip:127.0.0.1 ", "OPTIONS nobodyKnowsThisScheme:opaque "),
		status: 416, reason: "Unsupported URI Scheme"},
	{name: "atypical URI scheme", msg: replace("OPTIONS sip:127.0.0.1 ", "OPTIONS soap.beep://192.0.2.1:3002 "),
		status: 416, reason: "Unsupported URI Scheme"},
	{name: "tel URI", msg: replace("OPTIONS sip:127.0.0.1 ", "OPTIONS tel:+15551234 "), status: 200, reason: "OK"},
	{name: "unquoted display name with a comma", msg: replace("From: <sip:a@x>", "From: Evil, Mallory <sip:a@x>"),
		status: 400, reason: "Bad Request (malformed From)"},
	{name: "unterminated quoted display name", msg: replace("To: <sip:b@x>", `To: "Bob <sip:b@x>`),
		status: 400, reason: "Bad Request (malformed To)"},
	{name: "white space inside <>", msg: replace("To: <sip:b@x>", "To: <sip:b@ x>"),
		status: 400, reason: "Bad Request (malformed To)"},
	{name: "Contact addr-spec with a header", msg: replace("Max-Forwards: 70\r\n", "Max-Forwards: 70\r\nm: sip:a@192.0.2.1?Route=%3Csip:x%3E\r\n"),
		status: 400, reason: "Bad Request (malformed Contact)"},
	{name: "Contact list, escaped header in <>", msg: replace("Max-Forwards: 70\r\n",
		"Max-Forwards: 70\r\nContact: <sip:a@192.0.2.1?Route=%3Csip:x%3E>;q=0.5\r\nm: sip:b@192.0.2.2;expires=5\r\n"),
		status: 200, reason: "OK"},
	{name: "empty Via list elements get a repaired answer", msg: replace(validVia, "Via: SIP/2.0/WS x.invalid;branch=z9hG4bK1;rport;;,;,,\r\n"),
		status: 400, reason: "Bad Request (malformed header)"},
}

// answering collects what arrives and answers every request but ACK 200.
type answering struct{ collector }

func (a *answering) HandleMessage(m sip.Message, from Conn) {
	a.collector.HandleMessage(m, from)
	if req, ok := m.(*sip.Request); ok && req.Method != sip.ACK {
		_ = from.Send(sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil))
	}
}

// probe is a valid request with its own Call-ID, sent after a case to show
// what the connection does next.
var probe = strings.Replace(validOptions, "Call-ID: c1", "Call-ID: probe", 1)

func TestFramingRuleOverUDP(t *testing.T) {
	leakcheck.Check(t)
	h := &answering{}
	l, err := ListenUDP(netip.MustParseAddrPort("127.0.0.1:0"), NewInbound(InboundConfig{MaxMessageSize: 65535}, InboundDeps{Handler: h}))
	if err != nil {
		t.Fatal(err)
	}
	go l.Serve()
	t.Cleanup(func() { l.Close() })
	for _, tt := range framingCases {
		if tt.only == "stream" {
			continue
		}
		t.Run(tt.name, func(t *testing.T) {
			c, err := net.Dial("udp", l.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			// The probe follows the case: its 200 comes first when the
			// case is not answered, and comes at all when the socket
			// still serves.
			_, _ = c.Write([]byte(tt.msg))
			_, _ = c.Write([]byte(probe))
			buf := make([]byte, 65536)
			if tt.status != 0 {
				res := readDatagram(t, c, buf)
				checkStatus(t, res, tt.status, tt.reason)
			}
			if res := readDatagram(t, c, buf); res.CallID().Value() != "probe" || res.StatusCode != 200 {
				t.Errorf("after the case: got %d for Call-ID %q, want 200 for the probe", res.StatusCode, res.CallID().Value())
			}
		})
	}
}

func readDatagram(t *testing.T, c net.Conn, buf []byte) *sip.Response {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
	n, err := c.Read(buf)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	return parseResponse(t, buf[:n])
}

func parseResponse(t *testing.T, b []byte) *sip.Response {
	t.Helper()
	m, err := sip.ParseMessage(b)
	res, ok := m.(*sip.Response)
	if err != nil || !ok {
		t.Fatalf("got %q (%v), want a response", b, err)
	}
	return res
}

func checkStatus(t *testing.T, res *sip.Response, status int, reason string) {
	t.Helper()
	if res.StatusCode != status || res.Reason != reason {
		t.Errorf("got %d %q, want %d %q", res.StatusCode, res.Reason, status, reason)
	}
}

func TestFramingRuleOverTCP(t *testing.T) {
	testFramingOverStream(t, func(t *testing.T, in *Inbound) (*StreamListener, func() (net.Conn, error)) {
		l, err := ListenTCP(netip.MustParseAddrPort("127.0.0.1:0"), StreamConfig{}, in, NewRegistry(RegistryConfig{}))
		if err != nil {
			t.Fatal(err)
		}
		return l, func() (net.Conn, error) { return net.Dial("tcp", l.Addr().String()) }
	})
}

func TestFramingRuleOverTLS(t *testing.T) {
	testFramingOverStream(t, func(t *testing.T, in *Inbound) (*StreamListener, func() (net.Conn, error)) {
		l, err := ListenTLS(netip.MustParseAddrPort("127.0.0.1:0"), StreamConfig{}, serverTLS(t), nil, in, NewRegistry(RegistryConfig{}))
		if err != nil {
			t.Fatal(err)
		}
		return l, func() (net.Conn, error) {
			return tls.Dial("tcp", l.Addr().String(), &tls.Config{InsecureSkipVerify: true}) // a test's own certificate
		}
	})
}

func testFramingOverStream(t *testing.T, listen func(*testing.T, *Inbound) (*StreamListener, func() (net.Conn, error))) {
	leakcheck.Check(t)
	h := &answering{}
	l, dial := listen(t, NewInbound(InboundConfig{MaxMessageSize: 65535}, InboundDeps{Handler: h}))
	go l.Serve()
	t.Cleanup(func() { l.Close() })
	for _, tt := range framingCases {
		if tt.only == "datagram" {
			continue
		}
		t.Run(tt.name, func(t *testing.T) {
			c, err := dial()
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_, _ = c.Write([]byte(tt.msg + probe))
			_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
			r := bufio.NewReader(c)
			if tt.status != 0 {
				checkStatus(t, readStreamResponse(t, r), tt.status, tt.reason)
			}
			if tt.breaks {
				// Nothing more, not even the probe's answer: the stream is closed.
				rest, err := io.ReadAll(r)
				if err != nil || len(rest) != 0 {
					t.Errorf("after the fault: got %q, %v; want the connection closed", rest, err)
				}
				return
			}
			if res := readStreamResponse(t, r); res.CallID().Value() != "probe" {
				t.Errorf("after the case: got %d for Call-ID %q, want 200 for the probe", res.StatusCode, res.CallID().Value())
			}
		})
	}
}

// readStreamResponse reads one response with no body from r.
func readStreamResponse(t *testing.T, r *bufio.Reader) *sip.Response {
	t.Helper()
	var b bytes.Buffer
	for !bytes.HasSuffix(b.Bytes(), crlfCRLF) {
		c, err := r.ReadByte()
		if err != nil {
			t.Fatalf("got %q, then %v; want a response", b.Bytes(), err)
		}
		b.WriteByte(c)
	}
	return parseResponse(t, b.Bytes())
}

// serverTLS returns a server config with a fresh self-signed certificate.
func serverTLS(t *testing.T) *tls.Config {
	t.Helper()
	return &tls.Config{Certificates: []tls.Certificate{certtest.New(t).TLS}, MinVersion: tls.VersionTLS12}
}

// breakRecorder is a StreamConn without a socket.
type breakRecorder struct {
	fakeConn
	broken int
}

func (c *breakRecorder) BreakFraming() { c.broken++ }

// TestFramingRuleBreaksStreams checks, without sockets, that Inbound breaks
// a stream exactly for the faults of the framing rule, and counts each.
func TestFramingRuleBreaksStreams(t *testing.T) {
	for _, tt := range framingCases {
		if tt.only == "stream" {
			continue
		}
		t.Run(tt.name, func(t *testing.T) {
			c := &breakRecorder{}
			NewInbound(InboundConfig{MaxMessageSize: 65535}, InboundDeps{Handler: &recorder{}}).Message([]byte(tt.msg), c)
			if got := c.broken == 1; got != tt.breaks {
				t.Errorf("broken: got %v, want %v", got, tt.breaks)
			}
		})
	}
}

// reasonShape is every reason phrase Inbound may write: a fixed phrase, or
// "Bad Request" with a fixed fault in words.
var reasonShape = regexp.MustCompile(`^(Version Not Supported|Message Too Large|Service Unavailable \(rate limit\)|Bad Request \([A-Za-z][A-Za-z -]*\))$`)

// TestReasonsEchoNothing sends faults whose offending bytes carry a marker
// and checks that no reason phrase holds the marker, a Go error or anything
// but a fixed phrase.
func TestReasonsEchoNothing(t *testing.T) {
	const marker = "Zq9'%x\"<>"
	leaks := []string{"Zq9", "'", "%", "<", "\"", "sip:", "parse", "strconv", "invalid syntax", "EOF", "error", "transmission"}
	tests := []struct{ name, msg string }{
		{"start line", strings.Replace(validOptions, "sip:127.0.0.1", "sip:"+marker+"@[", 1)},
		{"Request-URI", strings.Replace(validOptions, "sip:127.0.0.1", "sip:a@b:"+marker, 1)},
		{"CSeq", replace("CSeq: 1", "CSeq: "+marker)},
		{"CSeq number", replace("CSeq: 1 ", "CSeq: 99999999999999999999"+marker+" ")},
		{"header name", replace("Max-Forwards: 70", marker+": 70")},
		{"header without colon", replace("Max-Forwards: 70", marker)},
		{"Content-Length", replace("Content-Length: 0", "Content-Length: "+marker)},
		{"duplicate To", replace("To: <sip:b@x>\r\n", "To: <sip:b@x>\r\nTo: <sip:"+marker+"@x>\r\n")},
		{"version", replace("SIP/2.0\r\n", "SIP/9"+marker+"\r\n")},
		{"From", replace("From: <sip:a@x>;tag=1", "From: "+marker)},
		{"Via", replace("Via: SIP/2.0/WS x.invalid;branch=z9hG4bK1;rport", "Via: SIP/2.0/WS "+marker+";branch=z9hG4bK1")},
		{"Max-Forwards", replace("Max-Forwards: 70", "Max-Forwards: "+marker)},
		{"Contact", replace("Max-Forwards: 70", "Contact: <"+marker+">\r\nMax-Forwards: 70")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &fakeConn{}
			NewInbound(InboundConfig{MaxMessageSize: 65535}, InboundDeps{Handler: &recorder{}}).Message([]byte(tt.msg), c)
			for _, m := range c.sent {
				reason := m.(*sip.Response).Reason
				if !reasonShape.MatchString(reason) {
					t.Errorf("reason %q: not a fixed phrase", reason)
				}
				for _, leak := range leaks {
					if strings.Contains(reason, leak) {
						t.Errorf("reason %q holds %q", reason, leak)
					}
				}
			}
		})
	}
}

// TestStreamDeadlines checks that a TCP or TLS connection that sends no
// message, or falls silent, is closed, and that keep-alives count only
// after the first message.
func TestStreamDeadlines(t *testing.T) {
	const first, idle = 300 * time.Millisecond, 400 * time.Millisecond
	tests := []struct {
		name string
		tls  bool
		// send is what the client does; it returns what it expects to
		// read before the connection is closed.
		send       func(c net.Conn) string
		wantReason string
		// wantAfter bounds when the close must come, from the dial.
		wantAfter, wantBefore time.Duration
	}{
		{name: "TCP silent", send: func(net.Conn) string { return "" },
			wantReason: "first_message_timeout", wantAfter: first, wantBefore: first + time.Second},
		{name: "TCP keep-alives only", send: func(c net.Conn) string {
			for range 5 {
				_, _ = c.Write([]byte("\r\n\r\n"))
				time.Sleep(first / 4)
			}
			return "pongs" // CRLFs, as many as arrived before the deadline
		}, wantReason: "first_message_timeout", wantAfter: first, wantBefore: first + time.Second},
		{name: "TCP half a message", send: func(c net.Conn) string {
			_, _ = c.Write([]byte(validOptions[:40]))
			return ""
		}, wantReason: "first_message_timeout", wantAfter: first, wantBefore: first + time.Second},
		{name: "TLS no handshake", tls: true, send: func(net.Conn) string { return "" },
			wantReason: "tls_handshake", wantAfter: first, wantBefore: first + time.Second},
		{name: "TCP idle after a message", send: func(c net.Conn) string {
			_, _ = c.Write([]byte(validOptions))
			return "response"
		}, wantReason: "idle_timeout", wantAfter: idle, wantBefore: idle + time.Second},
		{name: "TCP keep-alives keep a flow", send: func(c net.Conn) string {
			_, _ = c.Write([]byte(validOptions))
			for range 8 {
				time.Sleep(idle / 4)
				_, _ = c.Write([]byte("\r\n\r\n"))
			}
			return "response"
		}, wantReason: "idle_timeout", wantAfter: 2 * idle, wantBefore: 3*idle + time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			leakcheck.Check(t)
			reg := prometheusRegistry()
			in := NewInbound(InboundConfig{MaxMessageSize: 65535}, InboundDeps{Handler: &answering{}, Metrics: NewMetrics(reg)})
			cfg := StreamConfig{FirstMessageTimeout: first, IdleTimeout: idle}
			var l *StreamListener
			var err error
			if tt.tls {
				l, err = ListenTLS(netip.MustParseAddrPort("127.0.0.1:0"), cfg, serverTLS(t), nil, in, NewRegistry(RegistryConfig{}))
			} else {
				l, err = ListenTCP(netip.MustParseAddrPort("127.0.0.1:0"), cfg, in, NewRegistry(RegistryConfig{}))
			}
			if err != nil {
				t.Fatal(err)
			}
			go l.Serve()
			defer l.Close()
			start := time.Now()
			c, err := net.Dial("tcp", l.Addr().String()) // raw TCP, even to TLS: a client that never handshakes
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			var got bytes.Buffer
			done := make(chan error, 1)
			go func() {
				_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
				_, err := io.Copy(&got, c)
				done <- err
			}()
			want := tt.send(c)
			// A reset is a close too: closing a socket whose peer's
			// keep-alives are still unread sends RST, not FIN.
			if err := <-done; err != nil && !errors.Is(err, syscall.ECONNRESET) {
				t.Fatalf("got %v, want the server to close the connection", err)
			}
			elapsed := time.Since(start)
			if elapsed < tt.wantAfter || elapsed > tt.wantBefore {
				t.Errorf("closed after %v, want between %v and %v", elapsed, tt.wantAfter, tt.wantBefore)
			}
			switch {
			case want == "response" && !strings.HasPrefix(got.String(), "SIP/2.0 200 OK"):
				t.Errorf("read %q, want the 200 before the close", got.String())
			case want == "pongs" && strings.Trim(got.String(), "\r\n") != "":
				t.Errorf("read %q, want only CRLF pongs", got.String())
			case want == "" && got.Len() != 0:
				t.Errorf("read %q, want nothing", got.String())
			}
			waitUntil(t, "the close to be counted", func() bool {
				return counter(reg, "switchboard_sip_connections_closed_total", "reason", tt.wantReason) == 1
			})
		})
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
