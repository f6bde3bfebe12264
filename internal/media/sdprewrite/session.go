package sdprewrite

import (
	"net/netip"

	"github.com/pion/sdp/v3"
)

// newSession starts a description from addr. The origin's session id and
// version are the far party's (src): switchboard speaks for that party, so
// when its re-offer bumps the version (RFC 3264 §8), so does ours, and no
// state or randomness is needed.
func newSession(src *sdp.SessionDescription, addr netip.Addr) *sdp.SessionDescription {
	addr = addr.Unmap()
	return &sdp.SessionDescription{
		Origin: sdp.Origin{
			Username:       "-",
			SessionID:      src.Origin.SessionID,
			SessionVersion: src.Origin.SessionVersion,
			NetworkType:    "IN",
			AddressType:    addrType(addr),
			UnicastAddress: addr.String(),
		},
		SessionName:           "-",
		ConnectionInformation: connection(addr),
		TimeDescriptions:      []sdp.TimeDescription{{}},
	}
}

// connection returns the c= line for addr (RFC 8866 §5.7).
func connection(addr netip.Addr) *sdp.ConnectionInformation {
	return &sdp.ConnectionInformation{
		NetworkType: "IN",
		AddressType: addrType(addr),
		Address:     &sdp.Address{Address: addr.String()},
	}
}

func addrType(addr netip.Addr) string {
	if addr.Is4() {
		return "IP4"
	}
	return "IP6"
}
