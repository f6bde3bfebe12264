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
	// autoAnswerOn is set by WithAutoAnswer; ip by WithIP.
	autoAnswerOn bool
	ip           netip.Addr
	done         chan struct{}

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
		p.autoAnswerOn, p.autoSDP = true, sdp
	}
}

// WithIP binds the peer on ip instead of 127.0.0.1: another loopback
// address, such as 127.0.0.2, is another host as far as the gateway's
// trust in addresses goes.
func WithIP(ip netip.Addr) UDPOption {
	return func(p *UDPPeer) { p.ip = ip }
}

// NewUDPPeer binds a UDP socket on 127.0.0.1:0 (or WithIP's address) and
// starts reading it.
func NewUDPPeer(opts ...UDPOption) (*UDPPeer, error) {
	p := &UDPPeer{ip: netip.AddrFrom4([4]byte{127, 0, 0, 1}), done: make(chan struct{})}
	for _, o := range opts {
		o(p)
	}
	conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(p.ip, 0)))
	if err != nil {
		return nil, fmt.Errorf("siptest: listen udp: %w", err)
	}
	p.conn, p.addr = conn, conn.LocalAddr().(*net.UDPAddr).AddrPort()
	if p.autoAnswerOn && p.autoSDP == nil {
		p.autoSDP = AudioSDP(p.addr.Addr().String(), 40000)
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
