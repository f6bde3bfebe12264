package netns

import (
	"fmt"
	"net/netip"
)

// Policy is what the router lets out from the private side.
type Policy int

const (
	// Open lets everything out (a home NAT).
	Open Policy = iota
	// UDPOnlyTo drops outgoing UDP except to NAT.UDPPort (a firewall that
	// lets only the TURN port through); TCP goes out.
	UDPOnlyTo
	// TCP443Only lets out nothing but TCP to port 443 (a corporate
	// proxy network).
	TCP443Only
)

func (p Policy) String() string {
	return [...]string{"open", "udp-only-to-turn", "tcp-443-only"}[p]
}

// NAT is a private host behind a masquerading router on a public network:
//
//	Private 192.168.77.2 ── 192.168.77.1 Router 198.18.0.254 ── 198.18.0.1 Public
//
// (198.18.0.0/15 is the benchmarking range, RFC 2544: routable, not
// private, so a TURN server's deny list of private ranges lets it through.)
type NAT struct {
	Public, Router, Private *NS
	// PublicIP is the public host's address; RouterIP the router's on the
	// public side, the source every private packet arrives from.
	PublicIP, RouterIP, PrivateIP netip.Addr
}

// NewNAT builds the three namespaces and the router's rules for policy;
// udpPort is the one UDP port UDPOnlyTo lets out.
func (l *Lab) NewNAT(policy Policy, udpPort int) *NAT {
	l.t.Helper()
	n := &NAT{
		Public: l.Host("pub"), Router: l.Host("rtr"), Private: l.Host("priv"),
		PublicIP:  netip.MustParseAddr("198.18.0.1"),
		RouterIP:  netip.MustParseAddr("198.18.0.254"),
		PrivateIP: netip.MustParseAddr("192.168.77.2"),
	}
	l.Link(n.Public, "eth0", "198.18.0.1/24", n.Router, "wan", "198.18.0.254/24")
	l.Link(n.Private, "eth0", "192.168.77.2/24", n.Router, "lan", "192.168.77.1/24")
	n.Private.Must("ip", "route", "add", "default", "via", "192.168.77.1")
	r := n.Router
	r.Must("sysctl", "-q", "-w", "net.ipv4.ip_forward=1")
	r.Must("iptables", "-t", "nat", "-A", "POSTROUTING", "-o", "wan", "-j", "MASQUERADE")
	// Replies to what went out come back; nothing else comes in.
	r.Must("iptables", "-P", "FORWARD", "DROP")
	r.Must("iptables", "-A", "FORWARD", "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "ACCEPT")
	out := []string{"iptables", "-A", "FORWARD", "-i", "lan", "-o", "wan"}
	switch policy {
	case Open:
		r.Must(append(out, "-j", "ACCEPT")...)
	case UDPOnlyTo:
		r.Must(append(out, "-p", "udp", "--dport", fmt.Sprint(udpPort), "-j", "ACCEPT")...)
		r.Must(append(out, "-p", "tcp", "-j", "ACCEPT")...)
	case TCP443Only:
		r.Must(append(out, "-p", "tcp", "--dport", "443", "-j", "ACCEPT")...)
	}
	return n
}
