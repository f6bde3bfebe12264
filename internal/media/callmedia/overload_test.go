package callmedia

import (
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-gw/switchboard/internal/media"
	"github.com/switchboard-gw/switchboard/internal/signalling/sipmsg"
	"github.com/switchboard-gw/switchboard/internal/testkit/leakcheck"
)

// fakeLoad is a gate's view of the engine and its clock, set by the test.
type fakeLoad struct {
	load media.Load
	now  time.Time
}

func (f *fakeLoad) gate(maxCalls int) *gate {
	g := newGate(maxCalls, func() media.Load { return f.load })
	g.now = func() time.Time { return f.now }
	return g
}

// TestGateLoadSignal: each sign of saturation refuses new calls for a
// window from the reading that saw it, and nothing else does.
func TestGateLoadSignal(t *testing.T) {
	idle := media.Load{MuxQueueCap: 1024, SocketLimit: 400000}
	with := func(f func(*media.Load)) media.Load { l := idle; f(&l); return l }
	tests := []struct {
		name  string
		first media.Load    // the previous reading
		gap   time.Duration // between it and the next
		next  media.Load
		want  error
	}{
		{name: "idle", first: idle, gap: 10 * time.Millisecond, next: idle},
		{name: "mux queue half full", first: idle, gap: 10 * time.Millisecond,
			next: with(func(l *media.Load) { l.MuxQueued = 512 }), want: errOverloaded},
		{name: "mux queue below half", first: idle, gap: 10 * time.Millisecond,
			next: with(func(l *media.Load) { l.MuxQueued = 511 })},
		{name: "socket queue half full", first: idle, gap: 10 * time.Millisecond,
			next: with(func(l *media.Load) { l.SocketUsed = 200000 }), want: errOverloaded},
		{name: "mux drops since the previous reading", first: idle, gap: 500 * time.Millisecond,
			next: with(func(l *media.Load) { l.MuxDropped = 1 }), want: errOverloaded},
		{name: "socket drops since the previous reading", first: idle, gap: sampleEvery,
			next: with(func(l *media.Load) { l.SocketDropped = 3 }), want: errOverloaded},
		{name: "old drops, none since", first: with(func(l *media.Load) { l.MuxDropped, l.SocketDropped = 7, 9 }),
			gap: 10 * time.Millisecond, next: with(func(l *media.Load) { l.MuxDropped, l.SocketDropped = 7, 9 })},
		{name: "a socket that could not be read", first: media.Load{MuxQueueCap: 1024}, gap: 10 * time.Millisecond,
			next: media.Load{MuxQueueCap: 1024}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeLoad{load: tt.first, now: time.Unix(1000, 0)}
			g := f.gate(0)
			if err := g.admit(); err != nil {
				t.Fatalf("first reading: got %v, want the call admitted", err)
			}
			f.load, f.now = tt.next, f.now.Add(tt.gap)
			if err := g.admit(); err != tt.want {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			if tt.want == nil {
				return
			}
			// The queues emptied at once: still refused within the window,
			// admitted after it.
			f.load, f.now = idle, f.now.Add(loadWindow-time.Millisecond)
			f.load.MuxDropped, f.load.SocketDropped = tt.next.MuxDropped, tt.next.SocketDropped
			if err := g.admit(); err != errOverloaded {
				t.Errorf("within the window: got %v, want %v", err, errOverloaded)
			}
			f.now = f.now.Add(2 * time.Millisecond)
			if err := g.admit(); err != nil {
				t.Errorf("after the window: got %v, want the call admitted", err)
			}
			if got := g.live.Load(); got != 2 {
				t.Errorf("calls counted: got %d, want the 2 admitted", got)
			}
		})
	}
}

// TestGateFirstReadingAfterStart: drops counted before the first reading
// refuse nothing: they are its baseline.
func TestGateFirstReadingAfterStart(t *testing.T) {
	f := &fakeLoad{load: media.Load{MuxQueueCap: 1024, MuxDropped: 100, SocketDropped: 5}, now: time.Unix(1000, 0)}
	if err := f.gate(0).admit(); err != nil {
		t.Fatalf("got %v, want the call admitted", err)
	}
}

// TestGateCeiling: concurrent set-ups never overshoot the ceiling, and a
// released call makes room for one more.
func TestGateCeiling(t *testing.T) {
	g := newGate(10, nil)
	var admitted, refused atomic.Int64
	var wg sync.WaitGroup
	for range 100 {
		wg.Go(func() {
			switch err := g.admit(); err {
			case nil:
				admitted.Add(1)
			case errMaxCalls:
				refused.Add(1)
			default:
				t.Errorf("got %v, want nil or %v", err, errMaxCalls)
			}
		})
	}
	wg.Wait()
	if admitted.Load() != 10 || refused.Load() != 90 {
		t.Fatalf("got %d admitted and %d refused, want 10 and 90", admitted.Load(), refused.Load())
	}
	g.count() // a late offer's call goes beyond the ceiling
	if err := g.admit(); err != errMaxCalls {
		t.Fatalf("at the ceiling: got %v, want %v", err, errMaxCalls)
	}
	g.release()
	g.release()
	if err := g.admit(); err != nil {
		t.Fatalf("below the ceiling again: got %v, want the call admitted", err)
	}
}

// TestManagerCeiling: with media.max_calls 1, a second call's offer is
// refused with 503 and counted, while the first call's re-offer, a call
// whose media starts in a response and in-dialog offers still pass; an
// ended call makes room.
func TestManagerCeiling(t *testing.T) {
	leakcheck.Check(t)
	reg := prometheus.NewRegistry()
	m, _ := newTestManager(t, 4, Config{MaxCalls: 1, RefuseOverload: true}, NewMetrics(reg))
	offer := sdpFile(t, "chrome-audio-offer")
	call := func(id string, status int, inDialog bool, body []byte) sipmsg.SDPMessage {
		msg := browserToPlain(status, "a", body)
		msg.CallID, msg.InDialog = id, inDialog
		return msg
	}
	if _, err := m.Rewrite(call("one", 0, false, offer)); err != nil {
		t.Fatalf("first call: %v", err)
	}
	_, err := m.Rewrite(call("two", 0, false, offer))
	if code := sipStatus(err); code != 503 || err.Error() != "Service Unavailable (call limit reached)" {
		t.Fatalf("second call: got %d %v, want 503 Service Unavailable (call limit reached)", code, err)
	}
	if got := gather(t, reg, "switchboard_media_calls_refused_total", "reason=max_calls"); got != 1 {
		t.Errorf("calls_refused_total{reason=max_calls}: got %v, want 1", got)
	}
	if got := gather(t, reg, "switchboard_media_sdp_refused_total", "fault=other"); got != 0 {
		t.Errorf("sdp_refused_total{fault=other}: got %v, want the refusal counted only as a call refused", got)
	}
	// The callee's answer to the first call's offer, then a re-INVITE.
	if _, err := m.Rewrite(sipmsg.SDPMessage{CallID: "one", Status: 200, Sender: "b", ToWebRTC: true, Body: sdpFile(t, "asterisk-answer")}); err != nil {
		t.Fatalf("first call's answer: %v", err)
	}
	if _, err := m.Rewrite(call("one", 0, true, offer)); err != nil {
		t.Errorf("first call's re-INVITE: got %v, want it translated", err)
	}
	if _, err := m.Rewrite(call("three", 200, false, offer)); err != nil {
		t.Errorf("a late offer's 200 beyond the ceiling: got %v, want it anchored", err)
	}
	if _, err := m.Rewrite(call("four", 0, true, offer)); err != nil {
		t.Errorf("an in-dialog offer beyond the ceiling: got %v, want it anchored", err)
	}
	for _, id := range []string{"one", "three", "four"} {
		m.End(id, "bye")
	}
	if _, err := m.Rewrite(call("five", 0, false, offer)); err != nil {
		t.Errorf("after the calls ended: got %v, want the call anchored", err)
	}
}

// TestGateSamplerDatesDrops: drops between two set-ups are seen by the
// sampler when they happen, and refuse the next call even if the queues
// are quiet again by then; the sampler stops when told.
func TestGateSamplerDatesDrops(t *testing.T) {
	leakcheck.Check(t)
	var drops atomic.Uint64
	g := newGate(0, func() media.Load { return media.Load{MuxQueueCap: 1024, MuxDropped: drops.Load()} })
	stop, done := make(chan struct{}), make(chan struct{})
	go func() { defer close(done); g.run(stop) }()
	defer func() { close(stop); <-done }()
	for g.lastAt.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	drops.Store(4)
	for g.lastDrops.Load() != 4 {
		time.Sleep(time.Millisecond)
	}
	if err := g.admit(); err != errOverloaded {
		t.Fatalf("got %v, want %v", err, errOverloaded)
	}
}

// BenchmarkGateAdmit is what the gate costs each new call with the load
// signal of a real engine (a getsockopt on its shared socket, atomic loads):
// paid per set-up, never per packet.
func BenchmarkGateAdmit(b *testing.B) {
	e, err := media.New(media.Config{
		WebRTCAddr: netip.MustParseAddrPort("127.0.0.1:0"), RTPAddr: netip.MustParseAddr("127.0.0.1"),
		RTPPorts: [2]int{40000, 40003},
	}, media.Deps{})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	g := newGate(0, e.Load)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := g.admit(); err != nil {
				b.Fatal(err)
			}
			g.release()
		}
	})
}
