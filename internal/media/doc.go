// Package media anchors the media of one call between a browser leg and a
// plain RTP leg.
//
// An Engine owns what every call shares: the one UDP port that carries every
// browser leg (ICE-lite over pion/ice's UDPMux, RFC 8445 §2.5), the DTLS
// certificate whose fingerprint the SDP advertises (RFC 8122 §5), and the
// pool of plain RTP/RTCP port pairs. A Bridge is one call: it answers the
// browser's ICE checks as the controlled, lite agent, runs DTLS-SRTP
// (RFC 5764) over the selected pair with rtcp-mux (RFC 5761), and relays
// RTP and RTCP to and from the plain leg, latching onto the address the
// plain side really sends from (symmetric RTP, RFC 4961). A PlainRelay
// anchors a call between two plain ends: two plain legs, each latching,
// relaying RTP and RTCP unchanged.
//
// SDP is not this package's business: the caller translates it and hands a
// Bridge plain parameters (Local, WebRTCRemote, SetPlainRemote).
//
// Media packets are read by pollers, not by a goroutine per socket. With
// more than one poller the browser-leg port is a group of SO_REUSEPORT
// sockets, one per poller, and the kernel steers each browser's RTP to a
// poller by its SSRC (steer.go); each call's plain sockets are read by the
// poller its browser's RTP reaches, so that one goroutine relays both
// directions of a call (direct.go). The socket layer, package sock, uses
// epoll and is Linux-only.
//
// Every goroutine has an owner: the Bridge owns its browser reader (for
// what pion's ice.Conn delivers), its DTLS session and its monitor, and
// Bridge.Close waits for them (PlainRelay likewise for its monitor); the
// Engine owns its pollers; Engine.Close closes every Bridge and
// PlainRelay and waits for all of them.
package media
