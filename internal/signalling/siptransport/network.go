package siptransport

import (
	"context"
	"net/netip"
	"strings"
)

// Endpoint is an address switchboard writes into Via and Record-Route for
// one transport: what peers must use to reach it.
type Endpoint struct {
	Host string
	Port int
}

// Network is every transport of one gateway seen as one: it finds flows by
// ID, dials out, and knows which addresses are switchboard's own.
type Network struct {
	UDP       *UDPListener
	TCP       *StreamListener
	TLS       *StreamListener
	Registry  *Registry
	Endpoints map[string]Endpoint // by transport name
}

// Lookup returns the live flow with the given ID: a connection, or for a
// "udp:" flow the path through the UDP socket.
func (n *Network) Lookup(flowID string) (Conn, bool) {
	if rest, ok := strings.CutPrefix(flowID, "udp:"); ok {
		addr, err := netip.ParseAddrPort(rest)
		if err != nil || n.UDP == nil {
			return nil, false
		}
		return n.UDP.Conn(addr), true
	}
	return n.Registry.Lookup(flowID)
}

// Dial returns a path to addr over transport. UDP never blocks; TCP and TLS
// reuse an open connection or dial one.
func (n *Network) Dial(ctx context.Context, transport string, addr netip.AddrPort) (Conn, error) {
	switch transport {
	case UDP:
		if n.UDP != nil {
			return n.UDP.Conn(addr), nil
		}
	case TCP:
		if n.TCP != nil {
			return n.TCP.Dial(ctx, addr)
		}
	case TLS:
		if n.TLS != nil {
			return n.TLS.Dial(ctx, addr)
		}
	}
	return nil, ErrUnsupportedTransport
}

// Endpoint returns the advertised address for transport.
func (n *Network) Endpoint(transport string) (Endpoint, bool) {
	e, ok := n.Endpoints[transport]
	return e, ok
}

// IsLocal reports whether host and port (0: any) name switchboard itself.
func (n *Network) IsLocal(host string, port int) bool {
	for _, e := range n.Endpoints {
		if strings.EqualFold(e.Host, host) && (port == 0 || port == e.Port) {
			return true
		}
	}
	return false
}
