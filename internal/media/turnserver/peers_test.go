package turnserver

import (
	"net/netip"
	"testing"
)

// deniedSpellings are peers no relay may reach by default, in every
// spelling a relay socket or a translator would take to the same place.
var deniedSpellings = []string{
	"127.0.0.1", "127.255.255.254", "0.0.0.0", "0.1.2.3", "10.1.2.3", "172.16.0.1", "172.31.255.255",
	"192.168.1.1", "100.64.0.1", "100.127.255.254", "100.100.100.200", "169.254.169.254", "169.254.0.1",
	"224.0.0.1", "239.255.255.250", "240.0.0.1", "255.255.255.255", "192.0.0.170", "198.18.0.1",
	"::", "::1", "fd00:ec2::254", "fc00::1", "fe80::1", "fec0::1", "ff02::1", "ff05::1:3", "100::1",
	"::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254", "::ffff:192.168.0.1", "::ffff:0.0.0.0",
	"::127.0.0.1", "::10.0.0.1", "::169.254.169.254", "::0.0.0.2",
	"::ffff:0:127.0.0.1", "::ffff:0:169.254.169.254",
	"64:ff9b::127.0.0.1", "64:ff9b::10.0.0.1", "64:ff9b::169.254.169.254", "64:ff9b:1::1",
	"2002:7f00:1::", "2002:a9fe:a9fe::1", "2002:c0a8:101::1",
	"fe80::1%lo",
}

func TestPeerPolicyDeniesEverySpelling(t *testing.T) {
	p := NewPeerPolicy(nil, nil)
	for _, s := range deniedSpellings {
		t.Run(s, func(t *testing.T) {
			ip := netip.MustParseAddr(s)
			if p.PermitIP(ip) {
				t.Errorf("PermitIP(%s): got true, want false", s)
			}
			if p.PermitAddr(netip.AddrPortFrom(ip, 10000)) {
				t.Errorf("PermitAddr(%s): got true, want false", s)
			}
		})
	}
}

func TestPeerPolicyAllows(t *testing.T) {
	own := []netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:10000")}
	allowed := []netip.Prefix{netip.MustParsePrefix("10.9.0.0/16")}
	p := NewPeerPolicy(allowed, own)
	tests := []struct {
		name     string
		peer     string
		ip, addr bool // PermitIP, PermitAddr
	}{
		{"public IPv4", "203.0.113.9:5000", true, true},
		{"public IPv6", "[2001:db8::9]:5000", true, true},
		{"NAT64 of a public address", "[64:ff9b::203.0.113.9]:5000", true, true},
		{"own media address", "127.0.0.1:10000", true, true},
		{"own media address mapped", "[::ffff:127.0.0.1]:10000", true, true},
		{"own IP, another port", "127.0.0.1:5060", true, false},
		{"own IP, another port, mapped", "[::ffff:127.0.0.1]:9060", true, false},
		{"another loopback address", "127.0.0.2:10000", false, false},
		{"allowed network", "10.9.1.1:5060", true, true},
		{"allowed network mapped", "[::ffff:10.9.1.1]:5060", true, true},
		{"allowed network as NAT64", "[64:ff9b::10.9.1.1]:5060", true, true},
		{"beside the allowed network", "10.10.0.1:5060", false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ap := netip.MustParseAddrPort(tc.peer)
			if got := p.PermitIP(ap.Addr()); got != tc.ip {
				t.Errorf("PermitIP(%s): got %v, want %v", ap.Addr(), got, tc.ip)
			}
			if got := p.PermitAddr(ap); got != tc.addr {
				t.Errorf("PermitAddr(%s): got %v, want %v", ap, got, tc.addr)
			}
		})
	}
}
