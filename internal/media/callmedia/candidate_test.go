package callmedia

import (
	"net/netip"
	"testing"

	"github.com/switchboard-gw/switchboard/internal/media"
	"github.com/switchboard-gw/switchboard/internal/media/sdprewrite"
)

// fakeRelays are a TURN server's live relays: address → client transport.
type fakeRelays map[netip.AddrPort]string

func (f fakeRelays) RelayProtocol(addr netip.AddrPort) (string, bool) {
	p, ok := f[addr]
	return p, ok
}

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

func TestClassify(t *testing.T) {
	// A browser behind a NAT with a TURN allocation at switchboard's
	// server and one at another, as its SDP lists them.
	cands := []sdprewrite.Candidate{
		{Addr: ap("192.168.77.2:50000"), Type: "host"},
		{Addr: ap("198.18.0.254:50000"), Type: "srflx"},
		{Addr: ap("198.18.0.1:49160"), Type: "relay"},
		{Addr: ap("203.0.113.7:3000"), Type: "relay"},
		{Addr: ap("203.0.113.8:4000"), Type: ""},
	}
	own := fakeRelays{ap("198.18.0.1:49160"): "tls", ap("198.18.0.1:49170"): "udp"}
	tests := []struct {
		name      string
		remote    string
		relays    Relays
		typ, prot string
	}{
		{"host", "192.168.77.2:50000", own, "host", ""},
		{"server reflexive", "198.18.0.254:50000", own, "srflx", ""},
		{"a NAT mapping no candidate names", "198.18.0.254:50001", own, "prflx", ""},
		{"own TURN over TLS", "198.18.0.1:49160", own, "relay", "tls"},
		{"own TURN, not in the SDP (trickled)", "198.18.0.1:49170", own, "relay", "udp"},
		{"another TURN server's relay", "203.0.113.7:3000", own, "relay", ""},
		{"own relay without a TURN server", "198.18.0.1:49160", nil, "relay", ""},
		{"a candidate of unknown type", "203.0.113.8:4000", own, "prflx", ""},
		{"no pair yet", "", own, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var remote netip.AddrPort
			if tt.remote != "" {
				remote = ap(tt.remote)
			}
			got := classify(remote, cands, tt.relays)
			if got.typ != tt.typ || got.relay != tt.prot {
				t.Errorf("got %q over %q, want %q over %q", got.typ, got.relay, tt.typ, tt.prot)
			}
		})
	}
}

// TestDescribeRemoteKeepsClosedRelay: once the TURN server has closed the
// allocation (the browser hung up first), the call's last state still says
// how the browser reached it; a new address is described afresh.
func TestDescribeRemoteKeepsClosedRelay(t *testing.T) {
	relay := ap("198.18.0.1:49160")
	l := &webrtcLeg{browser: sdprewrite.WebRTCRemote{Candidates: []sdprewrite.Candidate{{Addr: relay, Type: "relay"}}}}
	relays := fakeRelays{relay: "tcp"}
	describe := func() media.ICEStats {
		st := media.ICEStats{Remote: relay}
		l.describeRemoteLocked(&st, relays)
		return st
	}
	if st := describe(); st.RemoteType != "relay" || st.RelayProtocol != "tcp" {
		t.Fatalf("live allocation: got %q over %q, want relay over tcp", st.RemoteType, st.RelayProtocol)
	}
	delete(relays, relay)
	if st := describe(); st.RemoteType != "relay" || st.RelayProtocol != "tcp" {
		t.Errorf("closed allocation: got %q over %q, want relay over tcp as last seen", st.RemoteType, st.RelayProtocol)
	}
	st := media.ICEStats{Remote: ap("198.18.0.254:4000")}
	l.describeRemoteLocked(&st, relays)
	if st.RemoteType != "prflx" || st.RelayProtocol != "" {
		t.Errorf("a new address: got %q over %q, want prflx", st.RemoteType, st.RelayProtocol)
	}
}
