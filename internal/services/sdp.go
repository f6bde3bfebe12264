package services

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/pion/sdp/v3"

	"github.com/switchboard-gw/switchboard/internal/media/sdprewrite"
)

// codec is the G.711 law of a call's audio.
type codec uint8

const (
	pcmu codec = iota
	pcma
)

// String is the codec's encoding name in SDP.
func (c codec) String() string {
	if c == pcma {
		return "PCMA"
	}
	return "PCMU"
}

// Offer errors; each is answered 488 Not Acceptable Here.
var (
	errBadSDP  = errors.New("services: SDP does not parse")
	errNoAudio = errors.New("services: no plain RTP audio with PCMU or PCMA")
)

// remote is what the services need of the caller's session description:
// an offer, or the answer to their own offer.
type remote struct {
	mlines []sdp.MediaName // every m-line, to answer each in order (RFC 3264 §6)
	audio  int             // index of the m-line used
	pt     uint8           // payload type of the codec used
	codec  codec
	dtmf   int            // payload type of telephone-event/8000; -1 without
	addr   netip.AddrPort // where the caller wants RTP; invalid on hold (c=0.0.0.0)
	dir    string         // the caller's direction attribute
	mux    bool           // the caller offered rtcp-mux (RFC 5761)
}

// parseRemote reads a session description and picks, in the first plain
// RTP audio m-line that has one, the first codec of the caller's the
// services speak (RFC 3264 §6.1). Codecs, direction and address are read
// as sdprewrite reads them for the gateway's own legs.
func parseRemote(body []byte) (*remote, error) {
	var d sdp.SessionDescription
	if err := d.Unmarshal(body); err != nil {
		return nil, fmt.Errorf("%w: %v", errBadSDP, err)
	}
	r := &remote{audio: -1, dtmf: -1}
	for i, m := range d.MediaDescriptions {
		r.mlines = append(r.mlines, m.MediaName)
		if r.audio >= 0 || m.MediaName.Media != "audio" || m.MediaName.Port.Value == 0 || !plain(m.MediaName.Protos) {
			continue
		}
		cs := sdprewrite.Codecs(m)
		pt, c, ok := pickCodec(cs)
		if !ok {
			continue
		}
		r.audio, r.pt, r.codec = i, pt, c
		r.dtmf = telephoneEvent(cs)
		r.addr = mediaAddr(&d, m)
		r.dir = sdprewrite.Direction(&d, m)
		_, r.mux = m.Attribute("rtcp-mux")
	}
	if r.audio < 0 {
		return nil, errNoAudio
	}
	return r, nil
}

// plain reports whether an m-line's protocol is RTP without SRTP or DTLS.
func plain(protos []string) bool {
	p := strings.ToUpper(strings.Join(protos, "/"))
	return p == "RTP/AVP" || p == "RTP/AVPF"
}

// pickCodec returns the first of cs that is PCMU or PCMA at 8 kHz on a
// payload type RTP can carry (below 128, RFC 3550 §5.1).
func pickCodec(cs []sdprewrite.Codec) (uint8, codec, bool) {
	for _, c := range cs {
		if c.PT >= 128 || c.Rate != 8000 {
			continue
		}
		switch {
		case strings.EqualFold(c.Name, "PCMU"):
			return c.PT, pcmu, true
		case strings.EqualFold(c.Name, "PCMA"):
			return c.PT, pcma, true
		}
	}
	return 0, 0, false
}

// telephoneEvent returns the payload type of telephone-event/8000 in cs
// (RFC 4733), or -1.
func telephoneEvent(cs []sdprewrite.Codec) int {
	for _, c := range cs {
		if strings.EqualFold(c.Name, "telephone-event") && c.Rate == 8000 && c.Channels == 0 {
			return int(c.PT)
		}
	}
	return -1
}

// mediaAddr is the m-line's port at its connection address; invalid
// without one, or on hold (c=0.0.0.0, RFC 3264 §8.4).
func mediaAddr(d *sdp.SessionDescription, m *sdp.MediaDescription) netip.AddrPort {
	ip, err := sdprewrite.ConnAddr(d, m)
	if err != nil || ip.IsUnspecified() {
		return netip.AddrPort{}
	}
	return netip.AddrPortFrom(ip, uint16(m.MediaName.Port.Value))
}

// mirror is the direction that answers dir, RFC 3264 §6.1.
func mirror(dir string) string {
	switch dir {
	case "sendonly":
		return "recvonly"
	case "recvonly":
		return "sendonly"
	}
	return dir
}

// sends reports whether a side whose direction is dir sends media.
func sends(dir string) bool { return dir == "sendrecv" || dir == "sendonly" }

// local is what the services put in their own session descriptions.
type local struct {
	name     string // the service, as s=
	addr     netip.AddrPort
	rtcpPort int // 0: RTCP multiplexed on the RTP port
}

// answer is the media part of the answer to r (everything after t=): the
// chosen audio m-line at l with r's codec, telephone-event and mirrored
// direction; every other m-line rejected with port 0 (RFC 3264 §6).
func (l local) answer(r *remote) string {
	var b strings.Builder
	for i, m := range r.mlines {
		if i != r.audio {
			fmt.Fprintf(&b, "m=%s 0 %s %s\r\n", m.Media, strings.Join(m.Protos, "/"), strings.Join(m.Formats, " "))
			continue
		}
		fmt.Fprintf(&b, "m=audio %d %s %d", l.addr.Port(), strings.Join(m.Protos, "/"), r.pt)
		if r.dtmf >= 0 {
			fmt.Fprintf(&b, " %d", r.dtmf)
		}
		b.WriteString("\r\n")
		fmt.Fprintf(&b, "a=rtpmap:%d %s/8000\r\n", r.pt, r.codec)
		if r.dtmf >= 0 {
			fmt.Fprintf(&b, "a=rtpmap:%d telephone-event/8000\r\na=fmtp:%d 0-16\r\n", r.dtmf, r.dtmf)
		}
		b.WriteString("a=ptime:20\r\n")
		l.writeRTCP(&b, r.mux)
		b.WriteString("a=" + mirror(r.dir) + "\r\n")
	}
	return b.String()
}

// offer is the media part of the services' own offer, for an INVITE that
// came without one (RFC 3261 §13.2.1): PCMU, PCMA and telephone-event.
func (l local) offer() string {
	var b strings.Builder
	fmt.Fprintf(&b, "m=audio %d RTP/AVP 0 8 101\r\n", l.addr.Port())
	b.WriteString("a=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n")
	b.WriteString("a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\n")
	l.writeRTCP(&b, false)
	b.WriteString("a=sendrecv\r\n")
	return b.String()
}

// writeRTCP says where RTCP goes: multiplexed (RFC 5761), or the port held
// for it (RFC 3605), which need not be the RTP port plus one.
func (l local) writeRTCP(b *strings.Builder, mux bool) {
	if mux || l.rtcpPort == 0 {
		b.WriteString("a=rtcp-mux\r\n")
		return
	}
	fmt.Fprintf(b, "a=rtcp:%d\r\n", l.rtcpPort)
}

// session wraps media lines into a whole session description.
func (l local) session(id, version uint64, media string) []byte {
	ip := l.addr.Addr()
	family := "IP4"
	if ip.Is6() {
		family = "IP6"
	}
	return fmt.Appendf(nil, "v=0\r\no=switchboard %d %d IN %[3]s %[4]s\r\ns=%[5]s\r\nc=IN %[3]s %[4]s\r\nt=0 0\r\n%[6]s",
		id, version, family, ip, l.name, media)
}
