package siptest

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"sync"

	"github.com/emiago/sipgo/sip"
)

// UDPPeer is a plain SIP phone or PBX on a UDP socket, bound when it is
// created. One goroutine, owned by the peer, reads the socket with one buffer
// and one parser; it queues messages for Recv, RecvRequest, RecvResponse and
// Next, or, in auto-answer mode, answers requests itself.
type UDPPeer struct {
	inbox
	conn *net.UDPConn
	addr netip.AddrPort
	// autoSDP is the 200 OK body in auto-answer mode; nil when the mode is off.
	autoSDP []byte
	done    chan struct{}

	writeMu sync.Mutex
	wbuf    bytes.Buffer // guarded by writeMu

	closeOnce sync.Once
	closeErr  error
	stats     udpCounters
}

// UDPOption configures NewUDPPeer.
type UDPOption func(*UDPPeer)

// WithAutoAnswer makes the peer answer every INVITE with 180 and 200 OK
// carrying sdp (AudioSDP if nil), absorb ACKs and answer every other request
// 200 OK, without queuing requests. Responses are still queued.
func WithAutoAnswer(sdp []byte) UDPOption {
	return func(p *UDPPeer) {
		if sdp == nil {
			sdp = AudioSDP(p.addr.Addr().String(), 40000)
		}
		p.autoSDP = sdp
	}
}

// NewUDPPeer binds a UDP socket on 127.0.0.1:0 and starts reading it.
func NewUDPPeer(opts ...UDPOption) (*UDPPeer, error) {
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, fmt.Errorf("siptest: listen udp: %w", err)
	}
	p := &UDPPeer{conn: conn, addr: conn.LocalAddr().(*net.UDPAddr).AddrPort(), done: make(chan struct{})}
	for _, o := range opts {
		o(p)
	}
	go p.readLoop()
	return p, nil
}

// Addr returns the bound address.
func (p *UDPPeer) Addr() netip.AddrPort { return p.addr }

func (p *UDPPeer) readLoop() {
	defer close(p.done)
	buf := make([]byte, 65535)
	parser := sip.NewParser()
	for {
		n, from, err := p.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			p.shut(fmt.Errorf("%w: %v", ErrClosed, err))
			return
		}
		p.receive(parser, buf[:n], from)
	}
}

// receive parses one datagram; the parser copies what it keeps, so buf can
// be reused.
func (p *UDPPeer) receive(parser *sip.Parser, buf []byte, from netip.AddrPort) {
	msg, err := parser.ParseSIP(buf)
	if err != nil {
		p.stats.parseErrors.Add(1)
		return
	}
	msg.SetSource(from.String())
	if p.autoSDP != nil && p.autoAnswer(msg, from) {
		return
	}
	p.push(msg)
}

// Send writes msg to to.
func (p *UDPPeer) Send(msg sip.Message, to netip.AddrPort) error {
	p.writeMu.Lock()
	defer p.writeMu.Unlock()
	p.wbuf.Reset()
	msg.StringWrite(&p.wbuf)
	_, err := p.conn.WriteToUDPAddrPort(p.wbuf.Bytes(), to)
	return err
}

// SendRequest writes req to to.
func (p *UDPPeer) SendRequest(req *sip.Request, to netip.AddrPort) error {
	return p.Send(req, to)
}

// Respond answers req, a request this peer received, at the address it came
// from (RFC 3581 symmetric response). An empty reason is filled in, the To
// tag is the same for all responses to req, and 1xx/2xx to INVITE carry a
// Contact and, with a body, Content-Type application/sdp.
func (p *UDPPeer) Respond(req *sip.Request, code int, reason string, body []byte) (*sip.Response, error) {
	to, err := netip.ParseAddrPort(req.Source())
	if err != nil {
		return nil, fmt.Errorf("siptest: respond: request source %q: %w", req.Source(), err)
	}
	contact := p.contact("peer")
	res := newResponse(req, code, reason, body, &contact)
	return res, p.Send(res, to)
}

func (p *UDPPeer) contact(user string) sip.Uri {
	return sip.Uri{Scheme: "sip", User: user, Host: p.addr.Addr().String(), Port: int(p.addr.Port())}
}

// Close closes the socket and waits for the reader to stop.
func (p *UDPPeer) Close() error {
	p.closeOnce.Do(func() {
		p.closeErr = p.conn.Close()
		<-p.done
	})
	return p.closeErr
}
