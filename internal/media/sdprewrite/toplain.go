package sdprewrite

import (
	"slices"
	"strconv"

	"github.com/pion/sdp/v3"
)

// WebRTCOfferToPlain translates a browser's offer into the offer switchboard
// sends to the plain leg, and reports what the browser said of its media.
// The browser's audio m-line becomes RTP/AVP at local.Addr, keeping the
// usable codecs in the browser's order; every other m-line is rejected with
// its formats kept. ICE, DTLS, BUNDLE, RTP extensions and stream
// identification do not cross. An offer that breaks a rule of WebRTC or a
// limit (see ValidateWebRTC) is refused with a *Fault.
func WebRTCOfferToPlain(offer []byte, local PlainLocal) ([]byte, WebRTCRemote, error) {
	if err := local.check(); err != nil {
		return nil, WebRTCRemote{}, err
	}
	off, err := readWebRTCOffer(offer)
	if err != nil {
		return nil, WebRTCRemote{}, err
	}
	audio := plainAudio(off.m, off.codecs, off.direction(), local, local.RTCPMux)
	out := assemble(newSession(off.d, local.Addr.Addr()), off.d.MediaDescriptions, off.i, audio, rejectToPlain)
	b, err := out.Marshal()
	return b, webrtcRemote(off.d, off.m, off.codecs), err
}

// WebRTCAnswerToPlain translates a browser's answer into the answer
// switchboard sends to the plain leg whose offer was plainOffer, and reports
// what the browser said of its media. The plain leg gets RTCP multiplexing
// only if it offered it and local.RTCPMux allows it (RFC 5761 §5.1.1). An
// answer that breaks a rule of WebRTC or a limit (see ValidateWebRTC; an
// answer may not be actpass) is refused with a *Fault.
func WebRTCAnswerToPlain(answer, plainOffer []byte, local PlainLocal) ([]byte, WebRTCRemote, error) {
	if err := local.check(); err != nil {
		return nil, WebRTCRemote{}, err
	}
	ans, err := readWebRTCAnswer(answer, plainOffer)
	if err != nil {
		return nil, WebRTCRemote{}, err
	}
	off := ans.offer
	audio := plainAudio(ans.m, ans.codecs, ans.direction(), local, local.RTCPMux && has(off.m, "rtcp-mux"))
	out := assemble(newSession(ans.d, local.Addr.Addr()), off.d.MediaDescriptions, off.i, audio, rejectAsOffered)
	b, err := out.Marshal()
	return b, webrtcRemote(ans.d, ans.m, ans.codecs), err
}

// plainAudio builds the RTP/AVP audio m-line at local from m, the other
// leg's, carrying its codecs cs and direction dir (RFC 3264 §5.1).
func plainAudio(m *sdp.MediaDescription, cs []Codec, dir string, local PlainLocal, mux bool) *sdp.MediaDescription {
	port := int(local.Addr.Port())
	out := &sdp.MediaDescription{MediaName: sdp.MediaName{
		Media: "audio", Port: sdp.RangedPort{Value: port},
		Protos: slices.Clone(protoPlain), Formats: formats(cs),
	}}
	out.Attributes = append(codecAttributes(cs), passThrough(m)...)
	out.Attributes = append(out.Attributes, sdp.NewPropertyAttribute(dir))
	if mux {
		out.Attributes = append(out.Attributes, sdp.NewPropertyAttribute("rtcp-mux"))
	} else {
		out.Attributes = append(out.Attributes, sdp.NewAttribute("rtcp", strconv.Itoa(port+1)))
	}
	return out
}

// rejectToPlain rejects a browser's m-line in an offer to the plain leg.
func rejectToPlain(_ int, m *sdp.MediaDescription) *sdp.MediaDescription {
	return rejected(m, protoPlain)
}

// rejectAsOffered rejects an offered m-line in the answer, keeping the
// offer's profile, which the answer must echo (RFC 3264 §6).
func rejectAsOffered(_ int, m *sdp.MediaDescription) *sdp.MediaDescription {
	return rejected(m, m.MediaName.Protos)
}
