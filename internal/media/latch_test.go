package media

import (
	"net/netip"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/switchboard-gw/switchboard/internal/testkit/leakcheck"
)

func TestLatch(t *testing.T) {
	var (
		pbx   = netip.MustParseAddrPort("192.0.2.10:4000")
		nat   = netip.MustParseAddrPort("198.51.100.7:61000")
		stray = netip.MustParseAddrPort("203.0.113.66:5000")
	)
	const ssrc, other = 0xAAAA, 0xBBBB
	type pkt struct {
		src  netip.AddrPort
		ssrc uint32
	}
	tests := []struct {
		name     string
		signal   netip.AddrPort // SetPlainRemote, if valid
		pkts     []pkt
		wantLast bool           // whether the last packet is relayed
		wantDest netip.AddrPort // where the latch points afterwards
	}{
		{
			name: "signalled source is accepted", signal: pbx,
			pkts: []pkt{{pbx, ssrc}}, wantLast: true, wantDest: pbx,
		},
		{
			name: "one stray packet does not steal", signal: pbx,
			pkts: []pkt{{pbx, ssrc}, {stray, ssrc}}, wantLast: false, wantDest: pbx,
		},
		{
			name: "two packets do not steal", signal: pbx,
			pkts: []pkt{{pbx, ssrc}, {nat, ssrc}, {nat, ssrc}}, wantLast: false, wantDest: pbx,
		},
		{
			name: "three with the right SSRC do", signal: pbx,
			pkts: []pkt{{pbx, ssrc}, {nat, ssrc}, {nat, ssrc}, {nat, ssrc}}, wantLast: true, wantDest: nat,
		},
		{
			name: "wrong SSRC never steals", signal: pbx,
			pkts:     []pkt{{pbx, ssrc}, {stray, other}, {stray, other}, {stray, other}, {stray, other}},
			wantLast: false, wantDest: pbx,
		},
		{
			name: "the current source interrupts a takeover", signal: pbx,
			pkts: []pkt{{pbx, ssrc}, {nat, ssrc}, {nat, ssrc}, {pbx, ssrc}, {nat, ssrc}}, wantLast: false, wantDest: pbx,
		},
		{
			name: "another source interrupts a takeover", signal: pbx,
			pkts: []pkt{{pbx, ssrc}, {nat, ssrc}, {nat, ssrc}, {stray, ssrc}, {nat, ssrc}}, wantLast: false, wantDest: pbx,
		},
		{
			name:   "signalled source that never sent: three consistent packets latch",
			signal: pbx, pkts: []pkt{{nat, other}, {nat, other}, {nat, other}}, wantLast: true, wantDest: nat,
		},
		{
			name: "current source may change its SSRC", signal: pbx,
			pkts: []pkt{{pbx, ssrc}, {pbx, other}, {nat, other}, {nat, other}, {nat, other}}, wantLast: true, wantDest: nat,
		},
		{
			name: "nothing signalled: one packet is not enough",
			pkts: []pkt{{stray, ssrc}}, wantLast: false,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var l latch
			if tt.signal.IsValid() {
				l.set(tt.signal)
			}
			var got bool
			for _, p := range tt.pkts {
				got = l.accept(p.src, p.ssrc)
			}
			if got != tt.wantLast {
				t.Errorf("last packet relayed: got %v, want %v", got, tt.wantLast)
			}
			if d := l.destination(); d != tt.wantDest {
				t.Errorf("destination: got %v, want %v", d, tt.wantDest)
			}
		})
	}
}

// TestLatchingWithBrowser moves the plain leg of a live call: a stray
// source does not take the browser's audio, a NATed PBX that changed port
// does after three packets.
func TestLatchingWithBrowser(t *testing.T) {
	leakcheck.Check(t)
	e := newTestEngine(t, 2, nil)
	c := startCall(t, e, true, nil)
	c.exchange(t)
	local := c.b.Local()

	stopBrowser := every(func(i int) {
		c.peer.track.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: uint16(5000 + i)}, Payload: browserPayload})
	})
	defer stopBrowser()

	send := func(s *pbxSocket, ssrc uint32, seq uint16) {
		raw, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, SSRC: ssrc}, Payload: pbxPayload}).Marshal()
		s.conn.WriteToUDPAddrPort(raw, local.RTP)
	}
	stray := newPBXSocket(t)
	for i := range 2 {
		send(stray, pbxSSRC, uint16(2000+i))
	}
	for i := range 5 {
		send(stray, 0xBAD, uint16(3000+i))
	}
	waitFor(t, "the stray packets to be counted", func() bool { return c.b.Stats().Plain.Stray >= 7 })
	if got := c.b.Stats().Plain.RemoteRTP; got != c.pbxRTP.addr() {
		t.Fatalf("after stray packets the plain leg sends to %v, want %v", got, c.pbxRTP.addr())
	}
	c.pbxRTP.drain()
	c.pbxRTP.next(t, "browser RTP still at the PBX", func(datagram) bool { return true })

	moved := newPBXSocket(t)
	for i := range latchThreshold {
		send(moved, pbxSSRC, uint16(4000+i))
	}
	waitFor(t, "the latch to move", func() bool { return c.b.Stats().Plain.RemoteRTP == moved.addr() })
	moved.next(t, "browser RTP at the PBX's new address", func(d datagram) bool {
		var p rtp.Packet
		return p.Unmarshal(d.data) == nil && p.SequenceNumber >= 5000
	})
	if st := c.b.Stats().Plain; st.Latches != 1 {
		t.Errorf("latches: got %d, want 1", st.Latches)
	}
	select {
	case d := <-stray.in:
		t.Errorf("the stray source got a packet: % x", d.data[:12])
	case <-time.After(50 * time.Millisecond):
	}
}
