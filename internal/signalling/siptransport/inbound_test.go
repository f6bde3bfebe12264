package siptransport

import (
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/emiago/sipgo/sip"
)

// fakeConn records what is sent to it.
type fakeConn struct {
	mu   sync.Mutex
	sent []sip.Message
}

func (c *fakeConn) Transport() string          { return WS }
func (c *fakeConn) LocalAddr() netip.AddrPort  { return netip.MustParseAddrPort("127.0.0.1:8080") }
func (c *fakeConn) RemoteAddr() netip.AddrPort { return netip.MustParseAddrPort("127.0.0.1:40000") }
func (c *fakeConn) FlowID() string             { return "ws-1" }
func (c *fakeConn) Send(m sip.Message) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	// Round-trip through the wire format, as a peer would see it.
	parsed, err := sip.NewParser().ParseSIP(Marshal(m))
	if err != nil {
		return err
	}
	c.sent = append(c.sent, parsed)
	return nil
}

// recorder is a Handler that keeps what it is given.
type recorder struct{ got []sip.Message }

func (r *recorder) HandleMessage(m sip.Message, _ Conn) { r.got = append(r.got, m) }
func (r *recorder) ConnClosed(Conn)                     {}

const validOptions = "OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/WS x.invalid;branch=z9hG4bK1;rport\r\n" +
	"Max-Forwards: 70\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:b@x>\r\nCall-ID: c1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"

func TestInbound(t *testing.T) {
	tests := []struct {
		name       string
		msg        string
		limits     InboundConfig
		wantCode   int
		wantReason string
		delivered  bool
	}{
		{name: "valid", msg: validOptions, delivered: true},
		{name: "bad CSeq", msg: strings.Replace(validOptions, "CSeq: 1", "CSeq: one", 1), wantCode: 400, wantReason: "Bad Request ("},
		{name: "CSeq method mismatch", msg: strings.Replace(validOptions, "CSeq: 1 OPTIONS", "CSeq: 1 INVITE", 1), wantCode: 400, wantReason: "Bad Request (CSeq method"},
		{name: "missing Call-ID", msg: strings.Replace(validOptions, "Call-ID: c1\r\n", "", 1), wantCode: 400, wantReason: "Bad Request (missing Call-ID)"},
		{name: "missing Via", msg: strings.Replace(validOptions, "Via: SIP/2.0/WS x.invalid;branch=z9hG4bK1;rport\r\n", "", 1), wantCode: 0},
		{name: "too large", msg: validOptions + strings.Repeat("x", 2000), limits: InboundConfig{MaxMessageSize: 1024}, wantCode: 513},
		{name: "too many Via", msg: strings.Replace(validOptions, "Max-Forwards", "Via: SIP/2.0/UDP a;branch=z9hG4bK2\r\nVia: SIP/2.0/UDP b;branch=z9hG4bK3\r\nMax-Forwards", 1),
			limits: InboundConfig{MaxVia: 2}, wantCode: 400, wantReason: "Bad Request (too many Via"},
		{name: "keepalive", msg: "\r\n\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.limits.MaxMessageSize == 0 {
				tt.limits.MaxMessageSize = 65535
			}
			rec := &recorder{}
			conn := &fakeConn{}
			NewInbound(tt.limits, InboundDeps{Handler: rec}).Message([]byte(tt.msg), conn)
			if got := len(rec.got) == 1; got != tt.delivered {
				t.Errorf("delivered: got %v, want %v", got, tt.delivered)
			}
			if tt.wantCode == 0 {
				if len(conn.sent) != 0 {
					t.Errorf("sent %v, want nothing", conn.sent)
				}
				return
			}
			if len(conn.sent) != 1 {
				t.Fatalf("sent %d messages, want 1", len(conn.sent))
			}
			res := conn.sent[0].(*sip.Response)
			if res.StatusCode != tt.wantCode || !strings.HasPrefix(res.Reason, tt.wantReason) {
				t.Errorf("got %d %q, want %d %q...", res.StatusCode, res.Reason, tt.wantCode, tt.wantReason)
			}
		})
	}
}

func TestStampVia(t *testing.T) {
	rec := &recorder{}
	NewInbound(InboundConfig{MaxMessageSize: 65535}, InboundDeps{Handler: rec}).Message([]byte(validOptions), &fakeConn{})
	via := rec.got[0].Via()
	if got, _ := via.Params.Get("received"); got != "127.0.0.1" {
		t.Errorf("received: got %q, want 127.0.0.1", got)
	}
	if got, _ := via.Params.Get("rport"); got != "40000" {
		t.Errorf("rport: got %q, want 40000", got)
	}
}

// stampVia cuts received and rport from the source address it renders; they
// must read as netip renders them on their own.
func TestStampViaAddresses(t *testing.T) {
	for _, remote := range []string{"192.0.2.1:5060", "[2001:db8::1]:5070", "[::ffff:192.0.2.7]:40000", "[fe80::1%eth0]:5062"} {
		t.Run(remote, func(t *testing.T) {
			ap := netip.MustParseAddrPort(remote)
			m, err := sip.ParseMessage([]byte(validOptions))
			if err != nil {
				t.Fatal(err)
			}
			req := m.(*sip.Request)
			stampVia(req, ap, ap.String())
			via := req.Via()
			if got, want := via.Params.GetOr("received", ""), ap.Addr().Unmap().String(); got != want {
				t.Errorf("received: got %q, want %q", got, want)
			}
			if got, want := via.Params.GetOr("rport", ""), strconv.Itoa(int(ap.Port())); got != want {
				t.Errorf("rport: got %q, want %q", got, want)
			}
			if got, want := req.Source(), ap.String(); got != want {
				t.Errorf("source: got %q, want %q", got, want)
			}
		})
	}
}
