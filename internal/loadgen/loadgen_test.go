package loadgen

import (
	"context"
	"io"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"
)

// checkNoLeaks fails t if a goroutine of this package or of pion is still
// running once the test's cleanups have run. Call it first in the test.
func checkNoLeaks(t *testing.T) {
	t.Cleanup(func() {
		deadline := time.Now().Add(2 * time.Second)
		for {
			leaked := leakedGoroutines()
			if leaked == "" {
				return
			}
			if time.Now().After(deadline) {
				t.Errorf("goroutines left running:\n%s", leaked)
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

func leakedGoroutines() string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var leaked []string
	for g := range strings.SplitSeq(string(buf), "\n\n") {
		if strings.Contains(g, "leakedGoroutines") {
			continue
		}
		if strings.Contains(g, "loadgen.") || strings.Contains(g, "github.com/pion/") || strings.Contains(g, "rtptest.") {
			leaked = append(leaked, g)
		}
	}
	return strings.Join(leaked, "\n\n")
}

func TestBaseline(t *testing.T) {
	checkNoLeaks(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rep, err := Baseline(ctx, Config{Calls: 3, Duration: 300 * time.Millisecond, Rate: 100, Progress: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	// 3 calls × 50 packets/s × 0.3 s, give or take a frame each.
	if rep.Up != 3 || rep.Sent < 39 || rep.Sent > 51 || rep.Received != rep.Sent || rep.Bad != 0 {
		t.Errorf("got %d calls up, %d packets sent, %d back, %d bad; want 3, 45±6, all, 0", rep.Up, rep.Sent, rep.Received, rep.Bad)
	}
	if rep.RTT.P50 <= 0 || rep.RTT.P50 > rep.RTT.P99 || rep.RTT.P99 > rep.RTT.Max {
		t.Errorf("got RTT %+v, want 0 < p50 ≤ p99 ≤ max", rep.RTT)
	}
}

func TestStreamMeasuresItsOwnPackets(t *testing.T) {
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var total counters
	c := clock{epoch: time.Now()}
	keys := selfKeys(baselineProfile)
	a, b := newStream(1, c, &total, conn), newStream(2, c, &total, conn)
	for _, s := range []*stream{a, b} {
		s.dest = conn.LocalAddr().(*net.UDPAddr).AddrPort()
		if err := s.key(keys, baselineProfile); err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]byte, maxPacket)
	for _, s := range []*stream{a, a, b} {
		s.send(phaseSteady)
		n, _, err := conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			t.Fatal(err)
		}
		if n != PacketSize+16 {
			t.Errorf("got a %d-byte packet, want %d (RTP plus the GCM tag)", n, PacketSize+16)
		}
		a.receive(buf[:n])
	}
	if a.recv[phaseSteady] != 2 || len(a.rtts) != 2 || a.bad != 1 || a.rtts[0] <= 0 {
		t.Errorf("got %d received, RTTs %v, %d bad; want 2, two positive, 1 (call 2's packet)", a.recv[phaseSteady], a.rtts, a.bad)
	}
}

func TestPacerSpreadsCallsOverTheFrame(t *testing.T) {
	p := newPacer()
	for range 2*slotsPerFrame + 1 {
		p.add(&stream{})
	}
	for i, slot := range p.slots {
		want := 2
		if i == 0 {
			want = 3
		}
		if len(slot) != want {
			t.Errorf("slot %d holds %d calls, want %d", i, len(slot), want)
		}
	}
}

func TestQuantilesAndAddedLatency(t *testing.T) {
	v := make([]int64, 100)
	for i := range v {
		v[i] = int64(100-i) * int64(time.Microsecond)
	}
	q := quantiles(v, time.Microsecond)
	if q.P50 != 50 || q.P99 != 99 || q.Max != 100 {
		t.Errorf("got %+v, want p50 50, p99 99, max 100", q)
	}
	gw, base := &Report{RTT: Quantiles{P50: 150, P99: 500}}, &Report{RTT: Quantiles{P50: 50, P99: 100}}
	if got := AddedLatency(gw, base); got.P50 != 50 || got.P99 != 200 {
		t.Errorf("got %+v, want p50 50, p99 200", got)
	}
}
