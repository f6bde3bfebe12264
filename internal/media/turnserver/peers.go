package turnserver

import (
	"net/netip"
)

// deniedPeers are the networks a relay never reaches unless
// Config.AllowedPeers lists them: whatever is on this host or behind it,
// and addresses that are no single host on the internet.
var deniedPeers = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),      // "this network" (RFC 1122); 0.0.0.0 is this host
	netip.MustParsePrefix("10.0.0.0/8"),     // private (RFC 1918)
	netip.MustParsePrefix("100.64.0.0/10"),  // shared address space, CGNAT (RFC 6598)
	netip.MustParsePrefix("127.0.0.0/8"),    // loopback
	netip.MustParsePrefix("169.254.0.0/16"), // link-local, cloud metadata 169.254.169.254
	netip.MustParsePrefix("172.16.0.0/12"),  // private (RFC 1918)
	netip.MustParsePrefix("192.0.0.0/24"),   // IETF protocol assignments (RFC 6890)
	netip.MustParsePrefix("192.168.0.0/16"), // private (RFC 1918)
	netip.MustParsePrefix("198.18.0.0/15"),  // benchmarking (RFC 2544)
	netip.MustParsePrefix("224.0.0.0/4"),    // multicast
	netip.MustParsePrefix("240.0.0.0/4"),    // reserved, and broadcast 255.255.255.255
	netip.MustParsePrefix("::/128"),         // unspecified
	netip.MustParsePrefix("::1/128"),        // loopback
	netip.MustParsePrefix("64:ff9b:1::/48"), // local-use NAT64 (RFC 8215)
	netip.MustParsePrefix("100::/64"),       // discard-only (RFC 6666)
	netip.MustParsePrefix("fc00::/7"),       // unique local, cloud metadata fd00:ec2::254
	netip.MustParsePrefix("fe80::/10"),      // link-local
	netip.MustParsePrefix("fec0::/10"),      // deprecated site-local
	netip.MustParsePrefix("ff00::/8"),       // multicast
}

// embeddedV4 returns the IPv4 address an IPv6 address spells, in every
// spelling a relay socket or a translator on the path would turn into that
// IPv4 address: IPv4-mapped ::ffff:a.b.c.d, IPv4-compatible ::a.b.c.d
// (RFC 4291 §2.5.5.1), IPv4-translated ::ffff:0:a.b.c.d (RFC 2765), NAT64
// 64:ff9b::a.b.c.d (RFC 6052) and 6to4 2002:AABB:CCDD:: (RFC 3056).
func embeddedV4(ip netip.Addr) (netip.Addr, bool) {
	if ip.Is4() {
		return ip, true
	}
	b := ip.As16()
	v4 := netip.AddrFrom4([4]byte(b[12:16]))
	zero := func(from, to int) bool {
		for _, x := range b[from:to] {
			if x != 0 {
				return false
			}
		}
		return true
	}
	switch {
	case ip.Is4In6(): // ::ffff:a.b.c.d
		return v4, true
	case zero(0, 12) && ip != netip.IPv6Unspecified() && ip != netip.IPv6Loopback(): // ::a.b.c.d
		return v4, true
	case zero(0, 8) && b[8] == 0xff && b[9] == 0xff && b[10] == 0 && b[11] == 0: // ::ffff:0:a.b.c.d
		return v4, true
	case b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b && zero(4, 12): // 64:ff9b::/96
		return v4, true
	case b[0] == 0x20 && b[1] == 0x02: // 2002::/16
		return netip.AddrFrom4([4]byte(b[2:6])), true
	}
	return netip.Addr{}, false
}

// PeerPolicy decides which peers a relay may reach (RFC 8656 §9: the
// server's own policy on CreatePermission and ChannelBind).
type PeerPolicy struct {
	// allowed are the operator's exceptions, Config.AllowedPeers.
	allowed []netip.Prefix
	// own is switchboard's media address as browsers reach it: a relayed
	// browser may send there, to that port only, whatever its range.
	own []netip.AddrPort
}

// NewPeerPolicy returns the policy that denies deniedPeers, except the
// networks in allowed and the addresses in own (by port).
func NewPeerPolicy(allowed []netip.Prefix, own []netip.AddrPort) *PeerPolicy {
	p := &PeerPolicy{allowed: allowed}
	for _, a := range own {
		p.own = append(p.own, netip.AddrPortFrom(a.Addr().Unmap(), a.Port()))
	}
	return p
}

// denied reports whether ip is, in any spelling, in a denied network and
// in no allowed one.
func (p *PeerPolicy) denied(ip netip.Addr) bool {
	ip = ip.WithZone("")
	forms := []netip.Addr{ip}
	if v4, ok := embeddedV4(ip); ok && v4 != ip {
		forms = append(forms, v4)
	}
	bad := false
	for _, f := range forms {
		for _, n := range deniedPeers {
			bad = bad || n.Contains(f)
		}
	}
	if !bad {
		return false
	}
	for _, f := range forms {
		for _, n := range p.allowed {
			if n.Contains(f) {
				return false
			}
		}
	}
	return true
}

// PermitIP reports whether a permission for ip may be installed
// (CreatePermission: permissions are per IP address, RFC 8656 §9).
func (p *PeerPolicy) PermitIP(ip netip.Addr) bool {
	return !p.denied(ip) || p.ownIP(ip)
}

// PermitAddr reports whether data may be relayed to peer
// (ChannelBind, Send): the own media address counts with its port only.
func (p *PeerPolicy) PermitAddr(peer netip.AddrPort) bool {
	if !p.denied(peer.Addr()) {
		return true
	}
	canon := netip.AddrPortFrom(peer.Addr().WithZone("").Unmap(), peer.Port())
	for _, o := range p.own {
		if o == canon {
			return true
		}
	}
	return false
}

func (p *PeerPolicy) ownIP(ip netip.Addr) bool {
	ip = ip.WithZone("").Unmap()
	for _, o := range p.own {
		if o.Addr() == ip {
			return true
		}
	}
	return false
}
