package sdprewrite

import (
	"strings"

	"github.com/pion/sdp/v3"
)

// IsWebRTC reports whether desc is a WebRTC SDP: an m-line of profile
// UDP/TLS/RTP/SAVPF (RFC 5764 §8) with a DTLS fingerprint at media or
// session level. RTP/SAVPF with a fingerprint counts too: it is what
// browsers and JsSIP wrote for DTLS-SRTP before they adopted RFC 5764's
// token. An SDP that does not parse is not WebRTC.
func IsWebRTC(desc []byte) bool {
	d, err := parse(desc)
	if err != nil {
		return false
	}
	for _, m := range d.MediaDescriptions {
		if isSAVPF(m) {
			if _, ok := attr(d, m, "fingerprint"); ok {
				return true
			}
		}
	}
	return false
}

func isSAVPF(m *sdp.MediaDescription) bool {
	p := strings.Join(m.MediaName.Protos, "/")
	return p == "UDP/TLS/RTP/SAVPF" || p == "RTP/SAVPF"
}
