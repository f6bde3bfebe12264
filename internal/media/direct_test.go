package media

import (
	"testing"
	"time"

	"github.com/pion/rtp"
)

// TestDirectRelayKeepsICEAlive runs a 15 s call where the browser sends
// only RTP, which the mux reader relays itself, so pion's lite agent sees
// none of it: the browser's consent checks alone must keep the agent
// connected past its 10 s disconnected timeout.
func TestDirectRelayKeepsICEAlive(t *testing.T) {
	if testing.Short() {
		t.Skip("15 s call")
	}
	e := newTestEngine(t, 2, nil)
	c := startCall(t, e, true, nil)
	stop := every(func(i int) {
		c.peer.track.WriteRTP(&rtp.Packet{
			Header:  rtp.Header{Version: 2, SequenceNumber: uint16(i), Timestamp: uint32(160 * i)},
			Payload: browserPayload,
		})
	})
	defer stop()
	c.pbxRTP.next(t, "the browser's RTP at the PBX", func(datagram) bool { return true })

	remote := c.b.Stats().ICE.Remote
	e.directMu.RLock()
	mapped := e.direct[remote]
	e.directMu.RUnlock()
	if mapped != c.b {
		t.Fatalf("ICE remote %v is not mapped to the bridge for the direct relay", remote)
	}
	before := c.b.Stats().Browser.RTPIn.Packets
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if s := c.b.Stats().ICE.State; s != "connected" {
			t.Fatalf("ICE state %q during the call, want connected", s)
		}
		select {
		case r := <-c.ended:
			t.Fatalf("bridge ended (%q) during the call", r)
		case <-time.After(250 * time.Millisecond):
		}
		c.pbxRTP.drain()
	}
	st := c.b.Stats()
	if got := st.Browser.RTPIn.Packets - before; got < 600 {
		t.Errorf("relayed %d browser RTP packets in 15 s, want about 750", got)
	}
	if st.Browser.Dropped != 0 || st.Browser.SRTPAuthFailures != 0 {
		t.Errorf("browser drops %d, auth failures %d; want 0", st.Browser.Dropped, st.Browser.SRTPAuthFailures)
	}
}
