package media

import (
	"fmt"
	"sync/atomic"

	"github.com/switchboard-gw/switchboard/internal/media/sock"
)

// poller is one of the engine's packet loops: it reads its share of the
// sockets (sock.Poller) and hands each datagram to the socket's handler
// with its scratch, whose outbox it sends at the end of every round.
type poller = sock.Poller[*scratch]

// handler relays a datagram a poller read; sc is the poller's scratch.
type handler = sock.Handler[*scratch]

// newPoller starts poller idx, which reads browser, its socket of the
// browser port's group.
func newPoller(idx int, browser *sock.UDP) (*poller, *scratch, error) {
	sc := newScratch()
	sc.idx = int32(idx)
	sc.browser = browser
	sc.tx = sock.NewOutbox(maxPacket + srtpOverhead)
	p, err := sock.NewPoller(maxPacket, sc.tx, sc)
	if err != nil {
		return nil, nil, fmt.Errorf("media: %w", err)
	}
	return p, sc, nil
}

// pollerCounters are what one poller did beyond reading (sock.Poller
// counts that): browser packets it relayed for a call another poller
// owns, calls it took over, and datagrams of the browser port it refused,
// by reason (admit.go). Its goroutine alone adds to them.
type pollerCounters struct {
	foreign  atomic.Uint64
	handoffs atomic.Uint64
	refused  [refuseReasons]atomic.Uint64
}

// PollerStats is what one poller handled.
type PollerStats struct {
	// Packets and Bytes are the datagrams it read, from browsers and from
	// plain legs.
	Packets, Bytes uint64
	// Foreign counts the browser packets it relayed for a call whose
	// plain leg another poller read at the time: before the call moved
	// to it, or RTCP whose sender SSRC steers elsewhere than its RTP.
	Foreign uint64
	// Handoffs counts the calls whose plain leg it took from another
	// poller, the one their browser's RTP is steered to.
	Handoffs uint64
	// Refused counts the datagrams of the browser port it neither relayed
	// nor queued for pion's mux, by RefuseReason (admit.go).
	Refused [refuseReasons]uint64
}

// PollerStats is a snapshot of each poller's counters, by index.
func (e *Engine) PollerStats() []PollerStats {
	st := make([]PollerStats, len(e.pollers))
	for i, p := range e.pollers {
		st[i].Packets, st[i].Bytes = p.Stats()
		st[i].Foreign = e.scratches[i].stats.foreign.Load()
		st[i].Handoffs = e.scratches[i].stats.handoffs.Load()
		for r := range st[i].Refused {
			st[i].Refused[r] = e.scratches[i].stats.refused[r].Load()
		}
	}
	return st
}
