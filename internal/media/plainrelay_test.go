package media

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/pion/rtcp"

	"github.com/switchboard-gw/switchboard/internal/testkit/leakcheck"
)

// relayEnd is a far end of a PlainRelay: an RTP and an RTCP socket.
type relayEnd struct{ rtp, rtcp *net.UDPConn }

func newRelayEnd(t *testing.T) relayEnd { return relayEnd{rtp: listenUDP(t), rtcp: listenUDP(t)} }

// recv reads one datagram from c, or fails after a second.
func recv(t *testing.T, c *net.UDPConn) []byte {
	t.Helper()
	buf := make([]byte, 1500)
	c.SetReadDeadline(time.Now().Add(time.Second))
	n, err := c.Read(buf)
	if err != nil {
		t.Fatalf("nothing relayed to %v: %v", addrOf(c), err)
	}
	return buf[:n]
}

// TestPlainRelayBothWays relays RTP and RTCP between two ends, each told
// to the relay by SDP, unchanged: the SSRC too.
func TestPlainRelayBothWays(t *testing.T) {
	leakcheck.Check(t)
	e := newTestEngine(t, 2, nil)
	r, err := e.NewPlainRelay("call", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	a, b := newRelayEnd(t), newRelayEnd(t)
	r.SetRemote(0, addrOf(a.rtp), addrOf(a.rtcp))
	r.SetRemote(1, addrOf(b.rtp), addrOf(b.rtcp))
	la, lb := r.Local(0), r.Local(1)
	if la == lb || la.Port()%2 != 0 || lb.Port()%2 != 0 {
		t.Fatalf("locals: got %v and %v, want two even ports", la, lb)
	}
	rtcpOf := func(p netip.AddrPort) netip.AddrPort { return netip.AddrPortFrom(p.Addr(), p.Port()+1) }
	rr, _ := rtcp.Marshal([]rtcp.Packet{&rtcp.ReceiverReport{SSRC: 0xA}})
	tests := []struct {
		name     string
		from     *net.UDPConn
		to       netip.AddrPort
		packet   []byte
		receiver *net.UDPConn
	}{
		{"RTP a to b", a.rtp, la, rtpPacket(0xA, 1, pbxPayload), b.rtp},
		{"RTP b to a", b.rtp, lb, rtpPacket(0xB, 1, pbxPayload), a.rtp},
		{"RTCP a to b", a.rtcp, rtcpOf(la), rr, b.rtcp},
		{"RTCP on the RTP port b to a", b.rtp, lb, rr, a.rtcp},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.from.WriteToUDPAddrPort(tt.packet, tt.to); err != nil {
				t.Fatal(err)
			}
			if got := recv(t, tt.receiver); !bytes.Equal(got, tt.packet) {
				t.Errorf("got % x, want % x", got, tt.packet)
			}
		})
	}
	st := r.Stats()
	if got := st.Legs[0].RTPIn.Packets + st.Legs[1].RTPOut.Packets + st.Legs[1].RTPIn.Packets + st.Legs[0].RTPOut.Packets; got != 4 {
		t.Errorf("RTP counted: got %d, want 4 (%+v)", got, st)
	}
	if st.Legs[0].RTCPIn.Packets != 1 || st.Legs[1].RTCPIn.Packets != 1 {
		t.Errorf("RTCP counted: got %+v", st)
	}
}

// TestPlainRelayLatches: an end behind NAT sends from elsewhere than its
// SDP said; after latchThreshold packets the relay answers there.
func TestPlainRelayLatches(t *testing.T) {
	leakcheck.Check(t)
	e := newTestEngine(t, 2, nil)
	r, err := e.NewPlainRelay("nat", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	a, b, natted := newRelayEnd(t), newRelayEnd(t), listenUDP(t)
	r.SetRemote(0, addrOf(a.rtp), netip.AddrPort{})
	r.SetRemote(1, addrOf(b.rtp), netip.AddrPort{})
	for seq := range uint16(latchThreshold) {
		natted.WriteToUDPAddrPort(rtpPacket(0xA, seq, pbxPayload), r.Local(0))
	}
	_ = recv(t, b.rtp) // the ones before the latch moved are strays, dropped
	waitFor(t, "the latch", func() bool { return r.Stats().Legs[0].RemoteRTP == addrOf(natted) })
	b.rtp.WriteToUDPAddrPort(rtpPacket(0xB, 1, pbxPayload), r.Local(1))
	if got := recv(t, natted); binary.BigEndian.Uint32(got[8:]) != 0xB {
		t.Errorf("after the latch: got % x, want b's packet", got)
	}
	if st := r.Stats().Legs[0]; st.Latches != 1 || st.Stray != latchThreshold-1 {
		t.Errorf("leg a: got %d latches, %d strays; want 1, %d", st.Latches, st.Stray, latchThreshold-1)
	}
}

// TestPlainRelayMediaTimeout: once both ends are known, silence ends the
// relay; onEnd may close it.
func TestPlainRelayMediaTimeout(t *testing.T) {
	leakcheck.Check(t)
	e := newTestEngine(t, 2, func(c *Config) { c.MediaTimeout = 100 * time.Millisecond })
	ended := make(chan string, 1)
	var r *PlainRelay
	r, err := e.NewPlainRelay("quiet", func(reason string) {
		r.Close()
		ended <- reason
	})
	if err != nil {
		t.Fatal(err)
	}
	r.SetRemote(0, netip.MustParseAddrPort("127.0.0.1:9"), netip.AddrPort{})
	time.Sleep(200 * time.Millisecond) // one end known: still ringing
	select {
	case reason := <-ended:
		t.Fatalf("onEnd(%q) before both ends were known", reason)
	default:
	}
	r.SetRemote(1, netip.MustParseAddrPort("127.0.0.1:9"), netip.AddrPort{})
	select {
	case reason := <-ended:
		if reason != "media_timeout" {
			t.Errorf("onEnd: got %q, want media_timeout", reason)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no media timeout")
	}
}

// TestPlainRelayPorts: a relay takes two pairs, gives back the first when
// there is no second, and Engine.Close closes it.
func TestPlainRelayPorts(t *testing.T) {
	leakcheck.Check(t)
	e := newTestEngine(t, 3, nil)
	b, err := e.NewBridge("bridge", nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := e.NewPlainRelay("relay", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.NewPlainRelay("none left", nil); !errors.Is(err, ErrNoPorts) {
		t.Fatalf("relay without ports: got %v, want ErrNoPorts", err)
	}
	r.Close()
	if _, err := e.NewPlainRelay("after close", nil); err != nil {
		t.Fatalf("relay after Close: got %v, want none", err)
	}
	b.Close()
	if _, err := e.NewPlainRelay("one pair free", nil); !errors.Is(err, ErrNoPorts) {
		t.Fatalf("relay with one pair free: got %v, want ErrNoPorts", err)
	}
	if _, err := e.NewBridge("the pair the relay gave back", nil); err != nil {
		t.Fatalf("bridge on the last pair: got %v, want none", err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := e.NewPlainRelay("late", nil); !errors.Is(err, ErrClosed) {
		t.Errorf("NewPlainRelay after Close: got %v, want ErrClosed", err)
	}
}

// TestPlainRelayDoesNotAllocate holds the relay's per-packet path to zero
// allocations.
func TestPlainRelayDoesNotAllocate(t *testing.T) {
	e := newTestEngine(t, 2, nil)
	r, err := e.NewPlainRelay("alloc", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	a, b := newRelayEnd(t), newRelayEnd(t)
	r.SetRemote(0, addrOf(a.rtp), addrOf(a.rtcp))
	r.SetRemote(1, addrOf(b.rtp), addrOf(b.rtcp))
	p := rtpPacket(0xA, 0, pbxPayload)
	rr, _ := rtcp.Marshal([]rtcp.Packet{&rtcp.ReceiverReport{SSRC: 0xA}})
	if n := testing.AllocsPerRun(200, func() {
		r.relay(0, p, addrOf(a.rtp), false)
		r.relay(0, rr, addrOf(a.rtcp), true)
	}); n != 0 {
		t.Errorf("got %v allocations per packet, want 0", n)
	}
}
