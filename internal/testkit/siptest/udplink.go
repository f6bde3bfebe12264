package siptest

import (
	"context"
	"net/netip"

	"github.com/emiago/sipgo/sip"
)

// udpLink is a Transport over a UDPPeer's socket that sends to one address.
type udpLink struct {
	p   *UDPPeer
	dst netip.AddrPort
}

// Link returns a Transport that sends every message to dst, normally the
// gateway, over this peer's socket and receives from the peer's queue.
func (p *UDPPeer) Link(dst netip.AddrPort) Transport {
	return &udpLink{p: p, dst: dst}
}

func (l *udpLink) Send(msg sip.Message) error { return l.p.Send(msg, l.dst) }

func (l *udpLink) Next(ctx context.Context, match func(sip.Message) bool) (sip.Message, error) {
	return l.p.Next(ctx, match)
}

// Via names the peer's address and asks for rport (RFC 3581).
func (l *udpLink) Via() *sip.ViaHeader {
	a := l.p.addr
	return &sip.ViaHeader{
		ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: "UDP",
		Host: a.Addr().String(), Port: int(a.Port()), Params: params("rport", ""),
	}
}

func (l *udpLink) Contact(user string) sip.Uri { return l.p.contact(user) }

// UA returns a user agent for user whose requests go to dst over this peer's
// socket; its domain is the peer's address. Do not use it on an auto-answer
// peer if it is to receive requests.
func (p *UDPPeer) UA(user string, dst netip.AddrPort) *UA {
	return &UA{Transport: p.Link(dst), User: user, Domain: p.addr.Addr().String()}
}

// Call places a call as user "phone" to target through dst, normally the
// gateway, as UA.Invite does, and returns the dialog.
func (p *UDPPeer) Call(ctx context.Context, dst netip.AddrPort, target sip.Uri, sdp []byte) (*Dialog, error) {
	return p.UA("phone", dst).Invite(ctx, target, sdp)
}
