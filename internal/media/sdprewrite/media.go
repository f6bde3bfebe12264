package sdprewrite

import (
	"slices"
	"strings"

	"github.com/pion/sdp/v3"
)

var (
	protoPlain  = []string{"RTP", "AVP"}
	protoWebRTC = []string{"UDP", "TLS", "RTP", "SAVPF"}
)

// audioIndex returns the index of the m-line that carries the call: the
// first audio m-line with a non-zero port and a usable codec, or -1. Any
// other m-line, a second audio one included, is rejected.
func audioIndex(d *sdp.SessionDescription) int {
	for i, m := range d.MediaDescriptions {
		if m.MediaName.Media == "audio" && m.MediaName.Port.Value != 0 &&
			hasAudio(usable(codecs(m, staticCodecs))) {
			return i
		}
	}
	return -1
}

// rejected returns m as a rejected m-line (RFC 3264 §6): port zero, its
// format list kept, and its RTP profile changed to proto, since the other
// leg may not know the original one. Non-RTP protos (SCTP) are kept.
func rejected(m *sdp.MediaDescription, proto []string) *sdp.MediaDescription {
	name := m.MediaName
	name.Port = sdp.RangedPort{}
	name.Formats = slices.Clone(name.Formats)
	name.Protos = slices.Clone(name.Protos)
	if slices.Contains(name.Protos, "RTP") {
		name.Protos = slices.Clone(proto)
	}
	return &sdp.MediaDescription{MediaName: name}
}

// passThrough returns the attributes of m that keep their meaning across the
// gateway untouched: packetisation times (RFC 8866 §6.4, §6.5).
func passThrough(m *sdp.MediaDescription) []sdp.Attribute {
	var as []sdp.Attribute
	for _, a := range m.Attributes {
		if a.Key == "ptime" || a.Key == "maxptime" {
			as = append(as, a)
		}
	}
	return as
}

// mid returns m's a=mid (RFC 5888 §4).
func mid(m *sdp.MediaDescription) string {
	v, _ := m.Attribute("mid")
	return strings.TrimSpace(v)
}

// assemble appends one m-line to d for each of lines, the offer's: audio in
// place of line i, and reject(j, line) for each other one.
func assemble(d *sdp.SessionDescription, lines []*sdp.MediaDescription, i int,
	audio *sdp.MediaDescription, reject func(int, *sdp.MediaDescription) *sdp.MediaDescription,
) *sdp.SessionDescription {
	for j, m := range lines {
		if j == i {
			d.MediaDescriptions = append(d.MediaDescriptions, audio)
		} else {
			d.MediaDescriptions = append(d.MediaDescriptions, reject(j, m))
		}
	}
	return d
}
