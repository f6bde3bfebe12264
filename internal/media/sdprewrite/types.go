package sdprewrite

import "net/netip"

// WebRTCLocal is what switchboard puts in the SDP it sends to a browser.
type WebRTCLocal struct {
	// Ufrag and Pwd are switchboard's ICE credentials (RFC 8839 §5.4).
	Ufrag, Pwd string
	// Fingerprint is the certificate hash as "sha-256 AB:CD:...".
	Fingerprint string
	// Candidates are switchboard's UDP host candidates, most preferred
	// first; the first also gives the c= address and m= port.
	Candidates []netip.AddrPort
	// SSRC and CNAME name the stream switchboard sends to the browser
	// (a=ssrc:SSRC cname:CNAME, RFC 5576); SSRC 0 leaves them out.
	SSRC  uint32
	CNAME string
	// MSID, if set, is written as a=msid:MSID (RFC 8830), e.g.
	// "<stream-id> <track-id>", so the browser puts the track in a stream.
	MSID string
}

// PlainLocal is what switchboard puts in the SDP it sends to a plain leg.
type PlainLocal struct {
	// Addr is switchboard's RTP address (c= and m= port).
	Addr netip.AddrPort
	// RTCPMux offers RTCP on the RTP port (RFC 5761); when false, RTCP is on
	// the next port and announced with a=rtcp (RFC 3605).
	RTCPMux bool
}

// WebRTCRemote is what a browser's SDP says about its end of the media.
type WebRTCRemote struct {
	Ufrag, Pwd string
	// Fingerprint is "sha-256 AB:CD:..." as the browser wrote it.
	Fingerprint string
	// Setup is the browser's DTLS role: actpass, active or passive.
	Setup string
	// Candidates are the browser's UDP candidates for component 1 that are
	// IP literals (mDNS names and TCP candidates are left out).
	Candidates []Candidate
	// Mid is the audio m-line's a=mid; Bundle reports it is in a BUNDLE group.
	Mid     string
	Bundle  bool
	RTCPMux bool
	// Direction is sendrecv, sendonly, recvonly or inactive, as the browser
	// wrote it (RFC 3264 §5.1).
	Direction string
	// Codecs are the audio codecs kept, in the browser's order.
	Codecs []Codec
}

// Candidate is one of a browser's ICE candidates: its address and its type,
// "host", "srflx", "prflx" or "relay" (RFC 8839 §5.1), as the browser wrote
// it.
type Candidate struct {
	Addr netip.AddrPort
	Type string
}

// PlainRemote is what a plain leg's SDP says about its end of the media.
type PlainRemote struct {
	// RTP is the c= address and m= port; RTCP is from a=rtcp, or the next
	// port, or RTP itself when RTCPMux is set.
	RTP, RTCP netip.AddrPort
	RTCPMux   bool
	// Direction is sendrecv, sendonly, recvonly or inactive.
	Direction string
	// Codecs are the audio codecs kept, in the plain leg's order.
	Codecs []Codec
}

// Codec is one RTP payload type of an audio m-line.
type Codec struct {
	PT       uint8
	Name     string // as written in a=rtpmap, e.g. "opus", "PCMU"
	Rate     uint32 // RTP clock rate
	Channels int    // 0 when a=rtpmap gives none
	Fmtp     string // the a=fmtp parameters, if any
}
