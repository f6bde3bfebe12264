package turnserver

import (
	"net/netip"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/pion/stun/v4"
)

// BenchmarkRelayRoundTrip sends one packet through an allocation to a UDP
// echo and reads it back through the relay: two relayed packets an
// operation, with pion's client and the echo in the same process. It
// reports the round trip's p50 and p99.
func BenchmarkRelayRoundTrip(b *testing.B) {
	s := startServer(b, func(c *Config) { c.AllowedPeers = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")} })
	echo := udpEcho(b)
	relay := pionAllocateB(b, s)
	payload := make([]byte, 172) // an RTP packet of 20 ms of G.711 and its header
	buf := make([]byte, 1500)
	// The first packet creates the permission and the channel.
	if _, err := relay.WriteTo(payload, echo); err != nil {
		b.Fatal(err)
	}
	if _, _, err := relay.ReadFrom(buf); err != nil {
		b.Fatal(err)
	}
	rtt := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		if _, err := relay.WriteTo(payload, echo); err != nil {
			b.Fatal(err)
		}
		if _, _, err := relay.ReadFrom(buf); err != nil {
			b.Fatal(err)
		}
		rtt = append(rtt, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(rtt)
	b.ReportMetric(float64(rtt[len(rtt)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(rtt[len(rtt)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkAllocationMemory holds b.N allocations open, each made over its
// own UDP socket, and reports the live heap they take each, the test's client
// sockets included. Run it with -count=1: in a second run in the same
// process the first run's allocations are still being freed.
func BenchmarkAllocationMemory(b *testing.B) {
	s := startServer(b, func(c *Config) { c.MaxAllocations, c.MaxAllocationsPerUser = 0, 0 })
	user, pass := s.mint("load", time.Hour)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	for range b.N {
		c := dialSTUN(b, s, "udp")
		c.user, c.pass = user, pass
		if res := c.do(stun.MethodAllocate, udpTransport); code(res) != 0 {
			b.Fatalf("Allocate: %s", describe(res))
		}
	}
	b.StopTimer()
	runtime.GC()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(b.N), "heap-B/allocation")
	b.ReportMetric(float64(runtime.NumGoroutine())/float64(b.N), "goroutines/allocation")
}

// BenchmarkPacketPath is what switchboard adds to each relayed packet:
// the gate's look at a ChannelData frame and the relay socket's check of
// its peer.
func BenchmarkPacketPath(b *testing.B) {
	g := fuzzGate()
	frame := append([]byte{0x40, 0x00, 0x00, 172}, make([]byte, 172)...)
	peer := netip.MustParseAddrPort("203.0.113.9:40000")
	b.ReportAllocs()
	for range b.N {
		if _, pass := g.inspect(frame); !pass {
			b.Fatal("ChannelData refused")
		}
		if !g.policy.PermitAddr(peer) {
			b.Fatal("peer refused")
		}
	}
}
