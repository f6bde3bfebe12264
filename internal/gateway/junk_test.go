package gateway

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/stun/v4"

	"github.com/switchboard-gw/switchboard/internal/media"
	"github.com/switchboard-gw/switchboard/internal/testkit/leakcheck"
)

// junkKinds are datagrams no call can use, one of each reason the pollers
// refuse for: malformed (no RFC 7983 shape, a STUN header that lies), a
// STUN check naming a ufrag no call has, and DTLS, RTP and STUN without
// USERNAME from an address that never checked.
func junkKinds(t *testing.T) [][]byte {
	t.Helper()
	check, err := stun.Build(stun.TransactionID, stun.BindingRequest, stun.NewUsername("nobodys:ufrag"),
		stun.NewShortTermIntegrity("guess"), stun.Fingerprint)
	if err != nil {
		t.Fatal(err)
	}
	indication, err := stun.Build(stun.TransactionID, stun.NewType(stun.MethodBinding, stun.ClassIndication), stun.Fingerprint)
	if err != nil {
		t.Fatal(err)
	}
	random := make([]byte, 300)
	for i := range random {
		random[i] = byte(rand.Uint32())
	}
	random[0] = 0xff
	rtp := make([]byte, 172)
	rtp[0], rtp[1] = 0x80, 0
	binary.BigEndian.PutUint32(rtp[8:12], rand.Uint32())
	dtls := append([]byte{22, 0xfe, 0xfd}, make([]byte, 110)...)
	return [][]byte{make([]byte, 1200), random, check.Raw[:len(check.Raw)-8], check.Raw, indication.Raw, rtp, dtls}
}

// junkFlood sends junkKinds to addr from two sockets, about 5,000
// datagrams a second in all (a rate the pollers read with ease: this is
// not the volumetric flood of TestOverloadRefusesNewCallsOnly), until stop
// is closed and at least min are sent. done returns how many were sent.
func junkFlood(t *testing.T, addr netip.AddrPort, min int64, stop <-chan struct{}) (done func() int64) {
	t.Helper()
	kinds := junkKinds(t)
	var sent atomic.Int64
	var wg sync.WaitGroup
	for range 2 {
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			defer c.Close()
			for i := 0; ; i++ {
				if sent.Load() >= min {
					select {
					case <-stop:
						return
					default:
					}
				}
				if _, err := c.WriteToUDPAddrPort(kinds[i%len(kinds)], addr); err == nil {
					sent.Add(1)
				}
				if i%25 == 24 {
					time.Sleep(10 * time.Millisecond)
				}
			}
		})
	}
	return func() int64 { wg.Wait(); return sent.Load() }
}

// TestJunkAtTheBrowserPortIsRefused: what reaches the browser port that no
// call could use is refused by the pollers and counted by reason, and
// none of it waits in the queue to pion's ICE mux, whose overflow would
// drop the checks and DTLS of calls being set up and refuse new calls as
// overloaded. Meanwhile the call up keeps its audio and a new call is set
// up and heard.
func TestJunkAtTheBrowserPortIsRefused(t *testing.T) {
	leakcheck.Check(t)
	g := startGateway(t, nil)
	_, first := firstCall(t, g)

	before := g.engine.Load()
	refusedBefore := refusedTotal(g.engine.PollerStats())
	stop := make(chan struct{})
	done := junkFlood(t, g.engine.WebRTCAddr(), 5000, stop)
	second, err := placeBrowserCall(t, g, "carol", "bob")
	if err != nil {
		close(stop)
		done()
		t.Fatalf("a call during the junk: %v", err)
	}
	hearEcho(t, g, second.br, 10)
	keepsFlowing(t, g, first, 25)
	close(stop)
	sent := done()

	after := g.engine.Load()
	kernelDropped := int64(after.SocketDropped - before.SocketDropped)
	// pion's share meanwhile: the new call's checks and DTLS flights and
	// both calls' consent checks, a few dozen.
	if taken := after.MuxTaken - before.MuxTaken; taken > 200 {
		t.Errorf("%d datagrams queued for the ICE mux while %d of junk came; want the calls' own few", taken, sent)
	}
	if after.MuxDropped != before.MuxDropped {
		t.Errorf("ICE mux queue dropped %d", after.MuxDropped-before.MuxDropped)
	}
	refused := refusedTotal(g.engine.PollerStats()) - refusedBefore
	if refused < sent-kernelDropped || refused > sent {
		t.Errorf("refused %d of %d junk datagrams (%d dropped by the kernel)", refused, sent, kernelDropped)
	}
	for _, reason := range []string{"malformed", "unknown_ufrag", "unknown_source"} {
		if !hasMetricAbove(t, g, fmt.Sprintf(`switchboard_media_poller_refused_total{poller="0",reason=%q}`, reason), 0) {
			t.Errorf("no %s datagram counted in /metrics", reason)
		}
	}
	_, _ = second.d.Bye(ctx(t))
	_, _ = first.d.Bye(ctx(t))
}

func refusedTotal(stats []media.PollerStats) int64 {
	var n uint64
	for _, st := range stats {
		for _, r := range st.Refused {
			n += r
		}
	}
	return int64(n)
}

// hasMetricAbove reports whether /metrics has the sample name with a value
// above min.
func hasMetricAbove(t *testing.T, g *testGateway, name string, min float64) bool {
	t.Helper()
	for _, l := range strings.Split(metricsText(t, g), "\n") {
		var v float64
		if rest, ok := strings.CutPrefix(l, name+" "); ok {
			if _, err := fmt.Sscan(rest, &v); err == nil && v > min {
				return true
			}
		}
	}
	return false
}
