// Package sdprewrite translates SDP offers and answers between a WebRTC leg
// (a browser: ICE, DTLS-SRTP, rtcp-mux, UDP/TLS/RTP/SAVPF, usually BUNDLE)
// and a plain leg (RTP/AVP: Asterisk, FreeSWITCH, baresip, SIP trunks), for a
// gateway that anchors the media of both legs.
//
// The package is pure: it does no I/O, starts no goroutine and draws no
// random number. Everything that must vary per call (ICE credentials, DTLS
// fingerprint, addresses, SSRC) is passed in by the caller, so the same input
// always gives the same output. Inputs are never modified: each function
// parses its own copy and builds a new description.
//
// Four translations cover both call directions:
//
//	browser offer  → WebRTCOfferToPlain  → plain offer
//	plain answer   → PlainAnswerToWebRTC → browser answer
//	plain offer    → PlainOfferToWebRTC  → browser offer
//	browser answer → WebRTCAnswerToPlain → plain answer
//
// Each also returns what the media engine needs about the far end
// (WebRTCRemote or PlainRemote). A fifth, PlainToPlain, moves a plain leg's
// offer or answer to switchboard's address for a call whose two plain legs
// it relays.
//
// Only audio crosses the gateway, and only the codecs a plain leg can use
// (PCMU, PCMA, G722, opus, telephone-event). Every other m-line is rejected
// with port zero, keeping its format list (RFC 3264 §6).
//
// Whatever comes from a browser is checked before it is translated, and
// ValidateWebRTC runs the same checks on an SDP that crosses untranslated:
// fingerprint (RFC 8122), ICE credentials (RFC 8839), DTLS role (RFC 8842),
// and limits on size, lines, m-lines and candidates. A refusal is a *Fault
// whose reason fits a 488's reason phrase.
//
// Codecs, Direction and ConnAddr read one m-line as the translations do,
// for a package that answers plain SDP itself (the built-in services).
package sdprewrite
