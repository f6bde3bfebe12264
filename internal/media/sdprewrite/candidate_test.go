package sdprewrite

import (
	"net/netip"
	"testing"
)

func TestParseCandidate(t *testing.T) {
	tests := []struct {
		name, value string
		want        netip.AddrPort // invalid when the candidate is skipped
	}{
		{"host", "2880783752 1 udp 2122260223 172.20.48.1 50758 typ host generation 0",
			netip.MustParseAddrPort("172.20.48.1:50758")},
		{"IPv6", "4000642609 1 udp 2122197247 2a02:8071::1163 50760 typ host",
			netip.MustParseAddrPort("[2a02:8071::1163]:50760")},
		{"upper-case UDP", "0 1 UDP 2128609535 192.168.5.66 50458 typ host",
			netip.MustParseAddrPort("192.168.5.66:50458")},
		{"srflx", "842163049 1 udp 1677729535 186.50.9.10 52200 typ srflx raddr 0.0.0.0 rport 0",
			netip.MustParseAddrPort("186.50.9.10:52200")},
		{"RTCP component", "2608808550 2 udp 2113937151 192.168.1.33 53974 typ host", netip.AddrPort{}},
		{"TCP", "3047851516 1 tcp 1518280447 172.20.48.1 9 typ host tcptype active", netip.AddrPort{}},
		{"mDNS name", "1560499547 1 udp 2113937151 2cf0b2c0-0842-4fe3-aaa0-4556a2dfbadc.local 33192 typ host",
			netip.AddrPort{}},
		{"short", "1 1 udp 1 192.0.2.1 9", netip.AddrPort{}},
		{"bad port", "1 1 udp 1 192.0.2.1 99999 typ host", netip.AddrPort{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := parseCandidate(tt.value)
			if ok != tt.want.IsValid() || got != tt.want {
				t.Errorf("got %v, %v; want %v", got, ok, tt.want)
			}
		})
	}
}

func TestHostPriority(t *testing.T) {
	// RFC 8445 §5.1.2.1 with type preference 126, local preference 65535.
	if got, want := hostPriority(0), uint32(2130706431); got != want {
		t.Errorf("got %d, want %d", got, want)
	}
}
