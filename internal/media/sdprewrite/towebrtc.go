package sdprewrite

import (
	"slices"
	"strconv"

	"github.com/pion/sdp/v3"
)

// PlainOfferToWebRTC translates a plain leg's offer into the offer
// switchboard sends to a browser, and reports what the plain leg said of its
// media. The audio m-line becomes UDP/TLS/RTP/SAVPF at local's first
// candidate, with ICE-lite, a=setup:actpass (RFC 8842 §5), rtcp-mux and a
// BUNDLE group; each m-line's mid is its position, so audio first is "0".
// Every other m-line is rejected with its formats kept.
func PlainOfferToWebRTC(offer []byte, local WebRTCLocal) ([]byte, PlainRemote, error) {
	if err := local.check(); err != nil {
		return nil, PlainRemote{}, err
	}
	off, err := readOffer(offer)
	if err != nil {
		return nil, PlainRemote{}, err
	}
	remote, err := plainRemote(off.d, off.m, off.codecs)
	if err != nil {
		return nil, PlainRemote{}, err
	}
	t := transport{mid: strconv.Itoa(off.i), setup: "actpass", mux: true}
	audio := webrtcAudio(off.m, off.codecs, off.direction(), local, t)
	out := assemble(webrtcSession(off.d, local, t.mid), off.d.MediaDescriptions, off.i, audio, rejectToWebRTC)
	b, err := out.Marshal()
	return b, remote, err
}

// PlainAnswerToWebRTC translates a plain leg's answer into the answer
// switchboard sends to the browser whose offer was browserOffer, and reports
// what the plain leg said of its media. The answer keeps the browser's mids,
// answers its DTLS role (passive to actpass), and keeps a BUNDLE group of
// the accepted audio if the browser bundled it. Rejected m-lines leave the
// group: RFC 8843 §7.3.3 requires it, and browsers refuse an answer whose
// group names a rejected m-line. (Were the group tagged by a video m-line,
// listed first, §7.3.3 would reject the whole group; switchboard keeps the
// audio, which then tags the answer's group.)
func PlainAnswerToWebRTC(answer, browserOffer []byte, local WebRTCLocal) ([]byte, PlainRemote, error) {
	if err := local.check(); err != nil {
		return nil, PlainRemote{}, err
	}
	ans, err := readAnswer(answer, browserOffer)
	if err != nil {
		return nil, PlainRemote{}, err
	}
	remote, err := plainRemote(ans.d, ans.m, ans.codecs)
	if err != nil {
		return nil, PlainRemote{}, err
	}
	off := ans.offer
	setup, _ := attr(off.d, off.m, "setup")
	t := transport{mid: mid(off.m), setup: answerSetup(setup), mux: has(off.m, "rtcp-mux")}
	audio := webrtcAudio(ans.m, ans.codecs, ans.direction(), local, t)
	out := assemble(webrtcSession(ans.d, local, bundleAnswer(off.d, t.mid)), off.d.MediaDescriptions, off.i, audio, rejectAnswered)
	b, err := out.Marshal()
	return b, remote, err
}

// transport is what distinguishes the WebRTC audio m-line of an offer from
// that of an answer.
type transport struct {
	mid, setup string
	mux        bool
}

// webrtcSession starts a description for a browser: ICE-lite is
// session-level only (RFC 8839 §5.3); bundle, if set, is the one mid of the
// BUNDLE group.
func webrtcSession(src *sdp.SessionDescription, local WebRTCLocal, bundle string) *sdp.SessionDescription {
	d := newSession(src, local.Candidates[0].Addr())
	d.Attributes = []sdp.Attribute{sdp.NewPropertyAttribute("ice-lite")}
	if bundle != "" {
		d.Attributes = append(d.Attributes, sdp.NewAttribute("group", "BUNDLE "+bundle))
	}
	return d
}

// webrtcAudio builds the browser's audio m-line from m, the plain leg's,
// carrying its codecs cs and direction dir (RFC 3264 §5.1).
func webrtcAudio(m *sdp.MediaDescription, cs []Codec, dir string, local WebRTCLocal, t transport) *sdp.MediaDescription {
	out := &sdp.MediaDescription{MediaName: sdp.MediaName{
		Media: "audio", Port: sdp.RangedPort{Value: int(local.Candidates[0].Port())},
		Protos: slices.Clone(protoWebRTC), Formats: formats(cs),
	}}
	out.Attributes = transportAttributes(local, t)
	out.Attributes = append(out.Attributes, codecAttributes(cs)...)
	out.Attributes = append(out.Attributes, passThrough(m)...)
	out.Attributes = append(out.Attributes, sdp.NewPropertyAttribute(dir))
	out.Attributes = append(out.Attributes, sourceAttributes(local)...)
	return out
}

// transportAttributes writes the mid, ICE credentials (RFC 8839 §5.4),
// fingerprint (RFC 8122 §5), DTLS role, candidates and rtcp-mux.
func transportAttributes(local WebRTCLocal, t transport) []sdp.Attribute {
	var as []sdp.Attribute
	if t.mid != "" {
		as = append(as, sdp.NewAttribute("mid", t.mid))
	}
	as = append(as,
		sdp.NewAttribute("ice-ufrag", local.Ufrag),
		sdp.NewAttribute("ice-pwd", local.Pwd),
		sdp.NewAttribute("fingerprint", local.Fingerprint),
		sdp.NewAttribute("setup", t.setup))
	as = append(as, candidateAttributes(local.Candidates)...)
	if t.mux {
		as = append(as, sdp.NewPropertyAttribute("rtcp-mux"))
	}
	return as
}

// sourceAttributes names the stream switchboard sends: a=msid (RFC 8830)
// when set, and a=ssrc with its CNAME (RFC 5576 §4.1) when both are set.
func sourceAttributes(local WebRTCLocal) []sdp.Attribute {
	var as []sdp.Attribute
	if local.MSID != "" {
		as = append(as, sdp.NewAttribute("msid", local.MSID))
	}
	if local.SSRC != 0 && local.CNAME != "" {
		v := strconv.FormatUint(uint64(local.SSRC), 10) + " cname:" + local.CNAME
		as = append(as, sdp.NewAttribute("ssrc", v))
	}
	return as
}

// answerSetup returns the answerer's DTLS role for the offerer's (RFC 8842
// §5, RFC 4145 §4.1): passive to actpass, so the browser opens the DTLS
// handshake, and the other role to active or passive.
func answerSetup(offered string) string {
	if offered == "passive" {
		return "active"
	}
	return "passive"
}

// bundleAnswer returns the mid to keep in the answer's BUNDLE group: the
// audio's, if the offer bundled it (RFC 8843 §7.3).
func bundleAnswer(off *sdp.SessionDescription, mid string) string {
	if mid != "" && inBundle(off, mid) {
		return mid
	}
	return ""
}

// rejectToWebRTC rejects a plain leg's m-line in an offer to a browser,
// giving it the mid of its position.
func rejectToWebRTC(j int, m *sdp.MediaDescription) *sdp.MediaDescription {
	r := rejected(m, protoWebRTC)
	r.Attributes = []sdp.Attribute{sdp.NewAttribute("mid", strconv.Itoa(j))}
	return r
}

// rejectAnswered rejects a browser's m-line in the answer, keeping its
// profile and mid.
func rejectAnswered(_ int, m *sdp.MediaDescription) *sdp.MediaDescription {
	r := rejected(m, m.MediaName.Protos)
	if v := mid(m); v != "" {
		r.Attributes = []sdp.Attribute{sdp.NewAttribute("mid", v)}
	}
	return r
}
