package media

import "encoding/binary"

// Packet kinds on the browser leg, told apart by the first byte
// (RFC 7983 §7): STUN 0-3 (handled inside pion/ice), DTLS 20-63, RTP and
// RTCP 128-191.
const (
	kindOther = iota
	kindDTLS
	kindRTP
	kindRTCP
)

// classify sorts a browser-leg packet; RTP and RTCP share 128-191 and are
// told apart by the payload type in the second byte (RFC 5761 §4: RTCP
// packet types 192-223).
func classify(p []byte) int {
	if len(p) < 2 {
		return kindOther
	}
	switch b := p[0]; {
	case b >= 20 && b <= 63:
		return kindDTLS
	case b >= 128 && b <= 191:
		if isRTCPType(p[1]) {
			return kindRTCP
		}
		return kindRTP
	}
	return kindOther
}

func isRTCPType(b byte) bool { return b >= 192 && b <= 223 }

// plainKind sorts a plain-leg packet: version 2 (RFC 3550 §5.1), with a
// full fixed header, RTCP when the PBX multiplexes it on the RTP port.
func plainKind(p []byte) int {
	if len(p) < 8 || p[0]>>6 != 2 {
		return kindOther
	}
	if isRTCPType(p[1]) {
		return kindRTCP
	}
	if len(p) < 12 {
		return kindOther
	}
	return kindRTP
}

// rtpSSRC and rtcpSSRC read the SSRC of an RTP packet and the sender SSRC
// of the first packet of a compound RTCP packet; callers checked lengths.
func rtpSSRC(p []byte) uint32  { return binary.BigEndian.Uint32(p[8:12]) }
func rtcpSSRC(p []byte) uint32 { return binary.BigEndian.Uint32(p[4:8]) }

// RTCP packet types (RFC 3550 §12.1, RFC 4585 §6.1).
const (
	rtcpSR    = 200
	rtcpRR    = 201
	rtcpSDES  = 202
	rtcpBYE   = 203
	rtcpRTPFB = 205
	rtcpPSFB  = 206
)

// setRTCPSender rewrites, in place, the SSRC that follows every header of a
// compound RTCP packet (RFC 3550 §6.1): the sender of SR, RR and feedback,
// the first SDES chunk, the first BYE source. It stops at a malformed
// length.
func setRTCPSender(p []byte, ssrc uint32) {
	for len(p) >= 8 {
		n := 4 * (int(binary.BigEndian.Uint16(p[2:4])) + 1)
		if n > len(p) {
			return
		}
		noSource := (p[1] == rtcpSDES || p[1] == rtcpBYE) && p[0]&0x1f == 0
		if !noSource {
			binary.BigEndian.PutUint32(p[4:8], ssrc)
		}
		p = p[n:]
	}
}

// mapRTCPSource rewrites, in place, every reference to the media source
// from (SR and RR report blocks, feedback media SSRC) to to, so that the
// receiver of a relayed report recognises its own stream.
func mapRTCPSource(p []byte, from, to uint32) {
	for len(p) >= 8 {
		n := 4 * (int(binary.BigEndian.Uint16(p[2:4])) + 1)
		if n > len(p) {
			return
		}
		sub := p[:n]
		rc := int(sub[0] & 0x1f)
		switch sub[1] {
		case rtcpSR:
			mapReportBlocks(sub, 28, rc, from, to)
		case rtcpRR:
			mapReportBlocks(sub, 8, rc, from, to)
		case rtcpRTPFB, rtcpPSFB:
			if len(sub) >= 12 && binary.BigEndian.Uint32(sub[8:12]) == from {
				binary.BigEndian.PutUint32(sub[8:12], to)
			}
		}
		p = p[n:]
	}
}

// mapReportBlocks rewrites the SSRC of each 24-byte report block
// (RFC 3550 §6.4.1) starting at off.
func mapReportBlocks(p []byte, off, count int, from, to uint32) {
	for i := 0; i < count && off+24 <= len(p); i++ {
		if binary.BigEndian.Uint32(p[off:off+4]) == from {
			binary.BigEndian.PutUint32(p[off:off+4], to)
		}
		off += 24
	}
}
