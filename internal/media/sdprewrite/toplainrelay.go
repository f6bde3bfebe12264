package sdprewrite

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"
)

// PlainToPlain translates a plain leg's offer or answer for the other plain
// leg of a call switchboard relays, and reports what the sender said of its
// media. The first audio m-line with a port moves to local.Addr (the
// session's c=, the m= port, a=rtcp on the next port); its codecs, direction and every other
// attribute cross untouched, since the relay does not look into the
// payload. ICE attributes are dropped: the far end must send to
// switchboard, not to the sender's candidates. Every other m-line is
// rejected with its formats kept, as the relay carries one stream. Whether
// RTCP is multiplexed (RFC 5761) is for the two ends to agree: a=rtcp-mux
// crosses as written and local.RTCPMux is ignored.
func PlainToPlain(desc []byte, local PlainLocal) ([]byte, PlainRemote, error) {
	local.RTCPMux = false // a=rtcp always names the next port
	if err := local.check(); err != nil {
		return nil, PlainRemote{}, err
	}
	d, err := parse(desc)
	if err != nil {
		return nil, PlainRemote{}, err
	}
	i := slices.IndexFunc(d.MediaDescriptions, func(m *sdp.MediaDescription) bool {
		return m.MediaName.Media == "audio" && m.MediaName.Port.Value != 0
	})
	if i < 0 {
		return nil, PlainRemote{}, fmt.Errorf("%w: no audio m-line with a port", ErrNoCommonCodec)
	}
	m := d.MediaDescriptions[i]
	remote, err := plainRemote(d, m, codecs(m, staticCodecs))
	if err != nil {
		return nil, PlainRemote{}, err
	}
	// d is this call's own parse: it is edited in place.
	addr := local.Addr.Addr().Unmap()
	d.Origin.AddressType, d.Origin.UnicastAddress = addrType(addr), addr.String()
	d.ConnectionInformation = connection(addr)
	d.Attributes = withoutICE(d.Attributes)
	lines := d.MediaDescriptions
	d.MediaDescriptions = nil
	b, err := assemble(d, lines, i, relayedAudio(m, local), rejectAsOffered).Marshal()
	return b, remote, err
}

// relayedAudio moves m to local: its port, a=rtcp, no ICE, and no c= of
// its own, the session's being local's.
func relayedAudio(m *sdp.MediaDescription, local PlainLocal) *sdp.MediaDescription {
	out := *m
	out.MediaName.Port = sdp.RangedPort{Value: int(local.Addr.Port())}
	out.ConnectionInformation = nil
	out.Attributes = nil
	for _, a := range withoutICE(m.Attributes) {
		if a.Key == "rtcp" {
			a = sdp.NewAttribute("rtcp", rtcpValue(a.Value, local))
		}
		out.Attributes = append(out.Attributes, a)
	}
	return &out
}

// rtcpValue rewrites an a=rtcp value (RFC 3605) to local's next port, with
// local's address when the original named one.
func rtcpValue(v string, local PlainLocal) string {
	port := strconv.Itoa(int(local.Addr.Port()) + 1)
	if len(strings.Fields(v)) < 4 {
		return port
	}
	ip := local.Addr.Addr().Unmap()
	return port + " IN " + addrType(ip) + " " + ip.String()
}

// iceAttributes are the ICE attributes (RFC 8839 §5) a relayed SDP loses.
var iceAttributes = []string{
	"candidate", "remote-candidates", "end-of-candidates", "ice-ufrag", "ice-pwd",
	"ice-options", "ice-lite", "ice-mismatch", "ice-pacing",
}

func withoutICE(as []sdp.Attribute) []sdp.Attribute {
	var out []sdp.Attribute
	for _, a := range as {
		if !slices.Contains(iceAttributes, a.Key) {
			out = append(out, a)
		}
	}
	return out
}
