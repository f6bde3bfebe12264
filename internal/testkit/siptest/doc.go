// Package siptest provides SIP test peers for switchboard's integration tests,
// e2e tests and benchmarks, in the style of net/http/httptest.
//
// WSClient speaks SIP over WebSocket (RFC 7118) the way a browser running
// JsSIP does. UDPPeer is a plain SIP phone or PBX on a loopback UDP socket,
// with an auto-answer mode cheap enough for benchmarks. UA registers, places
// and answers calls over either of them.
//
// The peers are deliberately simple: no retransmissions (loopback does not
// lose packets), loose routing only, one dialog per 2xx. They never import
// the gateway, so they test it from the outside.
package siptest
