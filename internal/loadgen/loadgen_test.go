package loadgen

import (
	"context"
	"encoding/binary"
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

// TestPacersSpreadCallsOverPacersAndTheFrame: calls go to the pacers in
// turn, and within each over the frame's slots.
func TestPacersSpreadCallsOverPacersAndTheFrame(t *testing.T) {
	ps := newPacers(2)
	for range 4*slotsPerFrame + 2 {
		ps.add(&stream{})
	}
	for k, p := range ps.all {
		for i, slot := range p.slots {
			want := 2
			if i == 0 {
				want = 3
			}
			if len(slot) != want {
				t.Errorf("pacer %d slot %d holds %d calls, want %d", k, i, len(slot), want)
			}
		}
	}
}

// TestPacersSendEveryCall runs two pacers on real sockets: every call's
// packets arrive, about one a frame, and the lag histogram has a sample
// per slot sent.
func TestPacersSendEveryCall(t *testing.T) {
	checkNoLeaks(t)
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	out, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	var total counters
	ps := newPacers(2)
	for i := range 4 {
		s := newStream(uint32(i), clock{epoch: time.Now()}, &total, out)
		s.dest = conn.LocalAddr().(*net.UDPAddr).AddrPort()
		ps.add(s)
	}
	ps.run()
	seen := map[uint32]int{}
	buf := make([]byte, maxPacket)
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	for len(seen) < 4 || total.sent[phaseRamp].Load() < 20 {
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("got packets from %d calls, want 4: %v", len(seen), err)
		}
		seen[binary.BigEndian.Uint32(buf[rtpHeaderSize+8:n])]++
	}
	ps.Stop()
	lags := ps.lags()
	var slots uint64
	for _, c := range lags.n {
		slots += uint64(c)
	}
	if slots < 2*uint64(slotsPerFrame) {
		t.Errorf("lag samples: got %d, want one per slot sent, at least a frame's from each pacer", slots)
	}
}

// TestLagQuantiles reads quantiles off the lag histogram, overflow
// included.
func TestLagQuantiles(t *testing.T) {
	var h lagHistogram
	if q := h.quantiles(); q != (Quantiles{}) {
		t.Errorf("empty: got %+v, want zero", q)
	}
	for i := range 98 {
		h.add(int64(i % 2))
	}
	h.add(30)
	h.add(1 << 20)
	if q := h.quantiles(); q.P50 != 0 && q.P50 != 1 || q.P99 != 30 || q.Max != maxLagMillis {
		t.Errorf("got %+v, want p50 0 or 1, p99 30, max %d", q, maxLagMillis)
	}
}

// TestJudge: each of sbload's limits makes it say it was saturated, and
// the report says so in plain words; within them it says nothing.
func TestJudge(t *testing.T) {
	calm := Report{Mode: "gateway", ClientCores: 2, ClientCPU: 0.5, ClientCPURamp: 1.2,
		SetupLag: Quantiles{P50: 0.2, P99: 3, Max: 40}, SendLag: Quantiles{P99: 1, Max: 25}}
	tests := []struct {
		name   string
		mutate func(*Report)
		want   string // in the reason; "" when not saturated
	}{
		{name: "within every limit", mutate: func(*Report) {}},
		{name: "set-ups late", mutate: func(r *Report) { r.SetupLag.P99 = 120 }, want: "set-ups started p99 120 ms late"},
		{name: "packets late", mutate: func(r *Report) { r.SendLag.P99 = 21 }, want: "packets went out p99 21 ms late"},
		{name: "CPU in the ramp", mutate: func(r *Report) { r.ClientCPURamp = 1.85 }, want: "sbload used 1.85 of its 2 cores"},
		{name: "CPU in the window", mutate: func(r *Report) { r.ClientCPU = 1.9 }, want: "sbload used 1.90 of its 2 cores"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := calm
			tt.mutate(&rep)
			rep.judge()
			var text strings.Builder
			rep.writeSaturation(&text)
			if tt.want == "" {
				if rep.Saturated || text.Len() != 0 {
					t.Errorf("got saturated %v %q, want neither", rep.Saturation, text.String())
				}
				return
			}
			if !rep.Saturated || len(rep.Saturation) != 1 || !strings.Contains(rep.Saturation[0], tt.want) {
				t.Errorf("got saturated %v %q, want one reason with %q", rep.Saturated, rep.Saturation, tt.want)
			}
			if !strings.Contains(text.String(), "sbload saturated: pacer lag p99") || !strings.Contains(text.String(), "figures are not the gateway's") {
				t.Errorf("text: got %q, want it to say sbload was saturated", text.String())
			}
		})
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
