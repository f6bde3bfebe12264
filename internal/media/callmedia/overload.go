package callmedia

import (
	"errors"
	"sync/atomic"
	"time"

	"github.com/switchboard-gw/switchboard/internal/media"
)

// loadWindow is how long one sign of saturation keeps new calls refused;
// sampleEvery is how often the gate reads the load between set-ups, so
// that drops are dated to within it.
const (
	loadWindow  = time.Second
	sampleEvery = 100 * time.Millisecond
)

// gate decides whether a new call may be anchored: not beyond the ceiling
// of concurrent anchored calls (media.max_calls), and not while the
// engine's browser-leg queues show saturation (media.refuse_overload).
// Calls already anchored are never refused: they keep the capacity they
// have, which is the point of refusing the next one.
//
// Saturation is read from media.Load every sampleEvery and when a call
// would be anchored, never on the packet path: a queue at least half
// full, or packets dropped (mux queue full, or the kernel's receive queue
// of the shared socket full) since the previous reading. Either keeps new
// calls refused for loadWindow. Every field is atomic: set-ups on several
// cores never wait for each other here.
type gate struct {
	max  int64             // the ceiling; 0: none
	load func() media.Load // nil: no load signal
	now  func() time.Time

	live      atomic.Int64  // calls counted and not yet released
	lastDrops atomic.Uint64 // drops at the previous reading
	lastAt    atomic.Int64  // unix ns of the previous reading; 0: none yet
	hotUntil  atomic.Int64  // unix ns until which new calls are refused
}

// The refusals of the gate, answered 503 with Retry-After by the proxy
// (RFC 3261 §21.5.4): the gateway is overloaded for everyone, so that a
// client may try another, or this one later.
var (
	errMaxCalls   = &statusError{503, "Service Unavailable (call limit reached)", "max_calls"}
	errOverloaded = &statusError{503, "Service Unavailable (media overloaded)", "overloaded"}
)

func newGate(maxCalls int, load func() media.Load) *gate {
	return &gate{max: int64(maxCalls), load: load, now: time.Now}
}

// admit counts a new call, or refuses it with errMaxCalls or errOverloaded.
func (g *gate) admit() error {
	if n := g.live.Add(1); g.max > 0 && n > g.max {
		g.live.Add(-1)
		return errMaxCalls
	}
	if g.load != nil && g.sample() {
		g.live.Add(-1)
		return errOverloaded
	}
	return nil
}

// count counts a call that is anchored whatever the load: one whose media
// starts in a response (a late offer's answerer) or within a dialog.
func (g *gate) count() { g.live.Add(1) }

// release uncounts a call that admit or count counted.
func (g *gate) release() { g.live.Add(-1) }

// sample reads the load and reports whether new calls are refused now.
// The first reading only sets the baseline of the drop counters.
func (g *gate) sample() bool {
	now := g.now().UnixNano()
	l := g.load()
	drops := l.MuxDropped + l.SocketDropped
	prevDrops, prevAt := g.lastDrops.Swap(drops), g.lastAt.Swap(now)
	dropped := prevAt != 0 && drops > prevDrops
	if dropped || halfFull(l.MuxQueued, l.MuxQueueCap) || halfFull(l.SocketUsed, l.SocketLimit) {
		g.hotUntil.Store(now + int64(loadWindow))
	}
	return now < g.hotUntil.Load()
}

// run samples the load every sampleEvery until stop is closed, so that
// drops between set-ups are dated. It needs a load signal.
func (g *gate) run(stop <-chan struct{}) {
	t := time.NewTicker(sampleEvery)
	defer t.Stop()
	for {
		g.sample()
		select {
		case <-stop:
			return
		case <-t.C:
		}
	}
}

func halfFull(used, limit int) bool { return limit > 0 && 2*used >= limit }

// isShed reports whether err is a refusal of the gate.
func isShed(err error) bool { return errors.Is(err, errMaxCalls) || errors.Is(err, errOverloaded) }
