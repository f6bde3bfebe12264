package sdprewrite

import (
	"net/netip"
	"testing"
)

func TestParseCandidate(t *testing.T) {
	tests := []struct {
		name, value string
		want        Candidate // a zero Addr when the candidate is skipped
	}{
		{"host", "2880783752 1 udp 2122260223 172.20.48.1 50758 typ host generation 0",
			cand("172.20.48.1:50758", "host")},
		{"IPv6", "4000642609 1 udp 2122197247 2a02:8071::1163 50760 typ host",
			cand("[2a02:8071::1163]:50760", "host")},
		{"upper-case UDP", "0 1 UDP 2128609535 192.168.5.66 50458 typ host",
			cand("192.168.5.66:50458", "host")},
		{"srflx", "842163049 1 udp 1677729535 186.50.9.10 52200 typ srflx raddr 0.0.0.0 rport 0",
			cand("186.50.9.10:52200", "srflx")},
		{"relay", "1823432442 1 udp 41885695 198.18.0.1 50112 typ relay raddr 198.18.0.254 rport 40321 generation 0",
			cand("198.18.0.1:50112", "relay")},
		{"prflx, upper case", "1 1 udp 1845501695 203.0.113.9 4000 typ PRFLX", cand("203.0.113.9:4000", "prflx")},
		{"unknown type", "1 1 udp 1 203.0.113.9 4000 typ other", cand("203.0.113.9:4000", "")},
		{"RTCP component", "2608808550 2 udp 2113937151 192.168.1.33 53974 typ host", Candidate{}},
		{"TCP", "3047851516 1 tcp 1518280447 172.20.48.1 9 typ host tcptype active", Candidate{}},
		{"mDNS name", "1560499547 1 udp 2113937151 2cf0b2c0-0842-4fe3-aaa0-4556a2dfbadc.local 33192 typ host",
			Candidate{}},
		{"short", "1 1 udp 1 192.0.2.1 9", Candidate{}},
		{"bad port", "1 1 udp 1 192.0.2.1 99999 typ host", Candidate{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := parseCandidate(tt.value)
			if ok != tt.want.Addr.IsValid() || got != tt.want {
				t.Errorf("got %v, %v; want %v", got, ok, tt.want)
			}
		})
	}
}

func cand(addr, typ string) Candidate {
	return Candidate{Addr: netip.MustParseAddrPort(addr), Type: typ}
}

func TestHostPriority(t *testing.T) {
	// RFC 8445 §5.1.2.1 with type preference 126, local preference 65535.
	if got, want := hostPriority(0), uint32(2130706431); got != want {
		t.Errorf("got %d, want %d", got, want)
	}
}
