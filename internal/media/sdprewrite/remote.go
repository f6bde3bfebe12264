package sdprewrite

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"
)

// webrtcRemote reads what a browser's SDP says of its audio m-line m.
func webrtcRemote(s *sdp.SessionDescription, m *sdp.MediaDescription, cs []Codec) WebRTCRemote {
	r := WebRTCRemote{
		Candidates: remoteCandidates(m),
		Mid:        mid(m),
		RTCPMux:    has(m, "rtcp-mux"),
		Direction:  Direction(s, m),
		Codecs:     cs,
	}
	r.Ufrag, _ = attr(s, m, "ice-ufrag")
	r.Pwd, _ = attr(s, m, "ice-pwd")
	r.Fingerprint, _ = attr(s, m, "fingerprint")
	r.Setup, _ = attr(s, m, "setup")
	r.Bundle = r.Mid != "" && inBundle(s, r.Mid)
	return r
}

// plainRemote reads what a plain leg's SDP says of its audio m-line m.
func plainRemote(s *sdp.SessionDescription, m *sdp.MediaDescription, cs []Codec) (PlainRemote, error) {
	ip, err := ConnAddr(s, m)
	if err != nil {
		return PlainRemote{}, err
	}
	port := m.MediaName.Port.Value
	if port <= 0 || port > 65535 {
		return PlainRemote{}, fmt.Errorf("%w: audio port %d", ErrMalformed, port)
	}
	rtp := netip.AddrPortFrom(ip, uint16(port))
	mux := has(m, "rtcp-mux")
	return PlainRemote{
		RTP:       rtp,
		RTCP:      rtcpAddr(m, rtp, mux),
		RTCPMux:   mux,
		Direction: Direction(s, m),
		Codecs:    cs,
	}, nil
}

// ConnAddr returns the connection address of m, an m-line of s: its
// media-level c=, else the session-level one (RFC 8866 §5.7). Hold with
// c=0.0.0.0 (RFC 3264 §8.4) is an address like any other. No c= line, or
// one that is not an IP address, is ErrMalformed.
func ConnAddr(s *sdp.SessionDescription, m *sdp.MediaDescription) (netip.Addr, error) {
	c := m.ConnectionInformation
	if c == nil {
		c = s.ConnectionInformation
	}
	if c == nil || c.Address == nil {
		return netip.Addr{}, fmt.Errorf("%w: audio has no connection address", ErrMalformed)
	}
	ip, err := netip.ParseAddr(c.Address.Address)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("%w: connection address %q is not an IP address", ErrMalformed, c.Address.Address)
	}
	return ip.Unmap(), nil
}

// rtcpAddr returns where m's RTCP goes: the RTP address when multiplexed
// (RFC 5761), a=rtcp's port and address (RFC 3605), or the
// next port (RFC 3550 §11).
func rtcpAddr(m *sdp.MediaDescription, rtp netip.AddrPort, mux bool) netip.AddrPort {
	if mux {
		return rtp
	}
	next := netip.AddrPortFrom(rtp.Addr(), rtp.Port()+1)
	v, ok := m.Attribute("rtcp")
	f := strings.Fields(v)
	if !ok || len(f) == 0 {
		return next
	}
	port, err := strconv.ParseUint(f[0], 10, 16)
	if err != nil {
		return next
	}
	ip := rtp.Addr()
	if len(f) == 4 {
		if a, err := netip.ParseAddr(f[3]); err == nil {
			ip = a.Unmap()
		}
	}
	return netip.AddrPortFrom(ip, uint16(port))
}
