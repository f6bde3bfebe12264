package gateway

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/switchboard-gw/switchboard/internal/testkit/rtptest"
	"github.com/switchboard-gw/switchboard/internal/testkit/siptest"
)

// TestDTMFReachesTheBrowser sends RFC 4733 telephone-event packets from the
// phone's RTP port and checks the browser receives them as such.
func TestDTMFReachesTheBrowser(t *testing.T) {
	g := startGateway(t, nil)
	phoneRTP, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer phoneRTP.Close()
	port := phoneRTP.LocalAddr().(*net.UDPAddr).Port
	_, bob := phone(t, g, "bob", siptest.WithAutoAnswer(siptest.AudioSDP("127.0.0.1", port)))
	register(t, bob)
	alice := browser(t, g, "alice")
	register(t, alice)
	br := newBrowser(t)
	offer, err := br.Offer()
	if err != nil {
		t.Fatal(err)
	}
	d, err := alice.Invite(ctx(t), userURI(g, "bob"), offer)
	if err != nil {
		t.Fatal(err)
	}
	if err := br.SetAnswer(d.Response.Body()); err != nil {
		t.Fatal(err)
	}
	wait, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := br.WaitConnected(wait); err != nil {
		t.Fatal(err)
	}
	gw := switchboardRTP(t, g)
	for seq := uint16(1); br.Events() < 5; seq++ {
		pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: rtptest.TelephoneEvent, SequenceNumber: seq,
			Timestamp: 8000, SSRC: 0x0d7f}, Payload: []byte{5, 10, 0, 160}} // digit 5, volume 10, 160 samples
		b, _ := pkt.Marshal()
		_, _ = phoneRTP.WriteToUDPAddrPort(b, gw)
		select {
		case <-wait.Done():
			t.Fatalf("telephone-event packets at the browser: %d, want 5", br.Events())
		case <-time.After(20 * time.Millisecond):
		}
	}
	_, _ = d.Bye(ctx(t))
}

// switchboardRTP is the plain-leg address switchboard gave the only call.
func switchboardRTP(t *testing.T, g *testGateway) netip.AddrPort {
	t.Helper()
	calls := g.calls.Snapshot()
	if len(calls) != 1 {
		t.Fatalf("anchored calls: got %d, want 1", len(calls))
	}
	return calls[0].Media[0].Plain.Local
}
