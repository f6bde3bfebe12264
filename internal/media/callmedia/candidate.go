package callmedia

import (
	"net/netip"

	"github.com/switchboard-gw/switchboard/internal/media"
	"github.com/switchboard-gw/switchboard/internal/media/sdprewrite"
)

// Relays are the relay addresses of switchboard's own TURN server, as a
// call's stats need them; the gateway hands the server behind this.
type Relays interface {
	// RelayProtocol tells whether addr is the address of one of the
	// server's live relays and, if so, the transport its client reaches
	// the server over: "udp", "tcp" or "tls".
	RelayProtocol(addr netip.AddrPort) (string, bool)
}

// remoteCandidate is what a browser leg's selected remote address is: its
// candidate type and, for a relay of switchboard's TURN server, the
// transport to it.
type remoteCandidate struct {
	addr        netip.AddrPort
	typ, relay  string
	fromOwnTURN bool
}

// classify tells what kind of candidate the browser's address remote is.
// switchboard is ICE-lite: the bridge knows only the address the browser's
// checks came from. An address of one of relays' allocations is a relay
// over the transport the server names; else the browser's own SDP says,
// from the candidate with that address: host, srflx, or relay (another
// TURN server's); an address in none of them is a peer-reflexive one
// (RFC 8445 §7.3.1.3), such as a NAT mapping the browser learnt from no
// STUN server. relays may be nil.
func classify(remote netip.AddrPort, cands []sdprewrite.Candidate, relays Relays) remoteCandidate {
	rc := remoteCandidate{addr: remote}
	if !remote.IsValid() {
		return rc
	}
	if relays != nil {
		if proto, ok := relays.RelayProtocol(remote); ok {
			rc.typ, rc.relay, rc.fromOwnTURN = "relay", proto, true
			return rc
		}
	}
	rc.typ = "prflx"
	for _, c := range cands {
		if c.Addr == remote && c.Type != "" {
			rc.typ = c.Type
			break
		}
	}
	return rc
}

// describeRemoteLocked fills in st's remote candidate type, the bridge's
// ICE state being st. A relay the TURN server has closed since (the
// browser hung up first) keeps the transport it was seen with.
func (l *webrtcLeg) describeRemoteLocked(st *media.ICEStats, relays Relays) {
	rc := classify(st.Remote, l.browser.Candidates, relays)
	if seen := l.remoteSeen; seen.fromOwnTURN && seen.addr == rc.addr && !rc.fromOwnTURN {
		rc = seen
	}
	l.remoteSeen = rc
	st.RemoteType, st.RelayProtocol = rc.typ, rc.relay
}
