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

// remoteCandidates returns m's UDP candidates for component 1 whose address
// is an IP literal; mDNS names (RFC 8839 §5.1 and
// draft-ietf-mmusic-mdns-ice-candidates) and TCP candidates are left out.
func remoteCandidates(m *sdp.MediaDescription) []Candidate {
	var cs []Candidate
	for _, v := range values(m, "candidate") {
		if c, ok := parseCandidate(v); ok {
			cs = append(cs, c)
		}
	}
	return cs
}

// parseCandidate reads "<foundation> <component> <transport> <priority>
// <address> <port> typ <type> ..." (RFC 8839 §5.1). A type other than the
// four of RFC 8445 §5.1.1 is left empty.
func parseCandidate(v string) (Candidate, bool) {
	f := strings.Fields(v)
	if len(f) < 8 || f[1] != "1" || !strings.EqualFold(f[2], "udp") || f[6] != "typ" {
		return Candidate{}, false
	}
	ip, err := netip.ParseAddr(f[4])
	if err != nil {
		return Candidate{}, false
	}
	port, err := strconv.ParseUint(f[5], 10, 16)
	if err != nil {
		return Candidate{}, false
	}
	return Candidate{Addr: netip.AddrPortFrom(ip.Unmap(), uint16(port)), Type: candidateType(f[7])}, true
}

// candidateTypes are the candidate types of RFC 8445 §5.1.1.
var candidateTypes = [...]string{"host", "srflx", "prflx", "relay"}

// candidateType returns the type typ names, in lower case, or "".
func candidateType(typ string) string {
	for _, t := range candidateTypes {
		if strings.EqualFold(typ, t) {
			return t
		}
	}
	return ""
}
