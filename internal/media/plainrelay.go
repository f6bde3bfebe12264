package media

import (
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-gw/switchboard/internal/media/sock"
)

// PlainRelay is one call's media between two plain RTP legs, for a call
// whose two ends both speak plain RTP and that switchboard anchors anyway.
// Each leg has its own port pair from the pool and latches like a Bridge's
// plain leg; RTP and RTCP cross unchanged (no SSRC rewriting: the two ends
// see each other's streams), so SRTP with SDES keys crosses too.
type PlainRelay struct {
	id   string
	e    *Engine
	legs [2]relayLeg

	lastRTP   atomic.Int64 // unix ns of the last RTP from either leg
	startedAt atomic.Int64 // unix ns of the first time both remotes were known

	lifecycle
	closeOnce sync.Once
}

// relayLeg is one plain leg of a PlainRelay: its sockets, the latches that
// say where its far end is, and its counters. In counts what the far end
// sent us, Out what we sent it.
type relayLeg struct {
	rtpConn, rtcpConn   *sock.UDP
	local               netip.AddrPort // the RTP socket's address
	rtpLatch, rtcpLatch latch
	counters            legCounters
}

// NewPlainRelay allocates a port pair for each leg and starts relaying.
// onEnd (may be nil) is called at most once, from a goroutine of the relay,
// when no RTP came from either leg for MediaTimeout once both legs' remotes
// were set: reason "media_timeout". It may call Close, and is never called
// once Close began.
func (e *Engine) NewPlainRelay(id string, onEnd func(reason string)) (*PlainRelay, error) {
	e.mu.Lock()
	closed := e.closed
	e.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	r := &PlainRelay{id: id, e: e}
	r.lifecycle.init(e.log.With("call_id", id), onEnd)
	for i := range r.legs {
		rtp, rtcp, err := e.ports.bind()
		if err != nil {
			r.closeSockets(i)
			return nil, err
		}
		r.legs[i] = relayLeg{rtpConn: rtp, rtcpConn: rtcp, local: rtp.LocalAddr()}
	}
	if !e.track(r) {
		r.closeSockets(len(r.legs))
		return nil, ErrClosed
	}
	owner := e.nextPollerIndex() // both legs: the relay's state on one goroutine
	for i := range r.legs {
		if err := e.pollSockets(owner, r.legs[i].rtpConn, r.legs[i].rtcpConn,
			func(p []byte, src netip.AddrPort, _ *scratch) { r.relay(i, p, src, false) },
			func(p []byte, src netip.AddrPort, _ *scratch) { r.relay(i, p, src, true) },
		); err != nil {
			e.untrack(r)
			r.closeSockets(len(r.legs))
			return nil, err
		}
	}
	e.monitors.Add(1)
	go r.monitor()
	return r, nil
}

// Local is the RTP address of leg i (0 or 1), to write into the SDP that
// leg's far end receives; RTCP is on the next port.
func (r *PlainRelay) Local(i int) netip.AddrPort { return r.legs[i].local }

// SetRemote sets where leg i sends, from its far end's SDP, with
// Bridge.SetPlainRemote's rules: an invalid rtcp means rtp's port + 1,
// rtcp equal to rtp means RTCP multiplexed. The latches may move either
// address later.
func (r *PlainRelay) SetRemote(i int, rtp, rtcp netip.AddrPort) {
	rtp = netip.AddrPortFrom(rtp.Addr().Unmap(), rtp.Port())
	rtcp = netip.AddrPortFrom(rtcp.Addr().Unmap(), rtcp.Port())
	if !rtcp.IsValid() && rtp.IsValid() {
		rtcp = netip.AddrPortFrom(rtp.Addr(), rtp.Port()+1)
	}
	r.legs[i].rtpLatch.set(rtp)
	r.legs[i].rtcpLatch.set(rtcp)
	if r.legs[0].rtpLatch.destination().IsValid() && r.legs[1].rtpLatch.destination().IsValid() {
		r.startedAt.CompareAndSwap(0, time.Now().UnixNano())
	}
}

// relay forwards one packet from leg i's far end to the other leg's far
// end, unchanged.
func (r *PlainRelay) relay(i int, p []byte, src netip.AddrPort, rtcpPort bool) {
	from, to := &r.legs[i], &r.legs[1-i]
	switch kind := plainKind(p); {
	case kind == kindRTP && !rtcpPort:
		if !from.rtpLatch.accept(src, rtpSSRC(p)) {
			return
		}
		now := time.Now().UnixNano()
		from.counters.heardRTP(len(p), now)
		r.lastRTP.Store(now)
		if to.send(p, to.rtpLatch.destination(), to.rtpConn, &to.counters.rtpOut, now) {
			to.counters.firstRTPOut.once(now)
		} else {
			from.counters.dropped.Add(1)
		}
	case kind == kindRTCP:
		r.relayRTCP(from, to, p, src, rtcpPort)
	default:
		from.counters.dropped.Add(1)
	}
}

// relayRTCP forwards RTCP to the other far end's RTCP address, from its
// RTP socket when that end multiplexes. RTCP on the RTP port (RFC 5761) is
// taken only from the latched RTP source and never moves a latch.
func (r *PlainRelay) relayRTCP(from, to *relayLeg, p []byte, src netip.AddrPort, rtcpPort bool) {
	if rtcpPort {
		if !from.rtcpLatch.accept(src, rtcpSSRC(p)) {
			return
		}
	} else if src != from.rtpLatch.destination() {
		from.counters.dropped.Add(1)
		return
	}
	now := time.Now().UnixNano()
	from.counters.rtcpIn.add(len(p))
	from.counters.lastIn.Store(now)
	dest, conn := to.rtcpLatch.destination(), to.rtcpConn
	if dest == to.rtpLatch.destination() {
		conn = to.rtpConn
	}
	if !to.send(p, dest, conn, &to.counters.rtcpOut, now) {
		from.counters.dropped.Add(1)
	}
}

// send writes p to the leg's far end at dest from conn and counts it in
// out. It reports false when the leg has nowhere to send yet (no SDP, or a
// hold to 0.0.0.0) or the write failed.
func (l *relayLeg) send(p []byte, dest netip.AddrPort, conn *sock.UDP, out *counter, now int64) bool {
	if !dest.IsValid() || dest.Addr().IsUnspecified() {
		return false
	}
	if err := conn.SendTo(p, dest); err != nil {
		return false
	}
	out.add(len(p))
	l.counters.lastOut.Store(now)
	return true
}

// monitor watches for the media timeout and calls onEnd. Engine.monitors
// counts it.
func (r *PlainRelay) monitor() {
	defer r.e.monitors.Done()
	r.lifecycle.monitor(r.e.cfg.MediaTimeout, r.mediaTimedOut)
}

// mediaTimedOut reports whether neither leg sent RTP for MediaTimeout since
// both remotes were known.
func (r *PlainRelay) mediaTimedOut(now time.Time) bool {
	since := max(r.startedAt.Load(), r.lastRTP.Load())
	return r.startedAt.Load() != 0 && now.UnixNano()-since > int64(r.e.cfg.MediaTimeout)
}

// Close closes both legs' sockets, frees their ports and returns once the
// relay's goroutines are gone (except a running onEnd, which Engine.Close
// waits for). Close is idempotent.
func (r *PlainRelay) Close() error {
	r.closeOnce.Do(func() {
		r.beginClose()
		r.closeSockets(len(r.legs))
		r.waitMonitor()
		r.e.untrack(r)
	})
	return nil
}

// closeSockets closes the sockets of the first n legs and returns their
// ports to the pool.
func (r *PlainRelay) closeSockets(n int) {
	for i := range n {
		l := &r.legs[i]
		l.rtpConn.Close()
		l.rtcpConn.Close()
		r.e.ports.release(int(l.local.Port()))
	}
}

// RelayStats is a snapshot of a PlainRelay, ready for encoding/json: each
// leg as a Bridge's plain leg is shown.
type RelayStats struct {
	ID   string        `json:"id"`
	Legs [2]PlainStats `json:"legs"`
}

// Stats is a snapshot of the relay's legs and counters.
func (r *PlainRelay) Stats() RelayStats {
	s := RelayStats{ID: r.id}
	for i := range r.legs {
		l := &r.legs[i]
		s.Legs[i] = PlainStats{
			LegStats:   l.counters.snapshot(),
			Local:      l.local,
			RemoteRTP:  l.rtpLatch.destination(),
			RemoteRTCP: l.rtcpLatch.destination(),
			Latches:    l.rtpLatch.switches.Load() + l.rtcpLatch.switches.Load(),
			Stray:      l.rtpLatch.stray.Load() + l.rtcpLatch.stray.Load(),
			Dropped:    l.counters.dropped.Load(),
		}
	}
	return s
}
