package sdprewrite

import (
	"net/netip"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"
)

// hostPriority is the RFC 8445 §5.1.2.1 priority of the i-th host candidate
// of component 1: type preference 126, local preference falling with i.
func hostPriority(i int) uint32 {
	return 126<<24 | uint32(65535-i)<<8 | 255
}

// candidateAttributes writes one a=candidate per address, typ host on UDP
// for component 1 (RFC 8839 §5.1), then a=end-of-candidates (RFC 8840):
// an ICE-lite agent has no more to trickle. The foundation is the index, as
// each address is its own base.
func candidateAttributes(aps []netip.AddrPort) []sdp.Attribute {
	var as []sdp.Attribute
	for i, ap := range aps {
		v := strconv.Itoa(i+1) + " 1 udp " + strconv.FormatUint(uint64(hostPriority(i)), 10) +
			" " + ap.Addr().Unmap().String() + " " + strconv.Itoa(int(ap.Port())) + " typ host"
		as = append(as, sdp.NewAttribute("candidate", v))
	}
	return append(as, sdp.NewPropertyAttribute("end-of-candidates"))
}

// remoteCandidates returns the addresses of m's UDP candidates for
// component 1 whose address is an IP literal; mDNS names (RFC 8839 §5.1 and
// draft-ietf-mmusic-mdns-ice-candidates) and TCP candidates are left out.
func remoteCandidates(m *sdp.MediaDescription) []netip.AddrPort {
	var aps []netip.AddrPort
	for _, v := range values(m, "candidate") {
		if ap, ok := parseCandidate(v); ok {
			aps = append(aps, ap)
		}
	}
	return aps
}

// parseCandidate reads "<foundation> <component> <transport> <priority>
// <address> <port> typ <type> ...".
func parseCandidate(v string) (netip.AddrPort, bool) {
	f := strings.Fields(v)
	if len(f) < 8 || f[1] != "1" || !strings.EqualFold(f[2], "udp") || f[6] != "typ" {
		return netip.AddrPort{}, false
	}
	ip, err := netip.ParseAddr(f[4])
	if err != nil {
		return netip.AddrPort{}, false
	}
	port, err := strconv.ParseUint(f[5], 10, 16)
	if err != nil {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(ip.Unmap(), uint16(port)), true
}
