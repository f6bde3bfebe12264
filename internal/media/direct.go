package media

import (
	"net/netip"
	"time"

	"github.com/switchboard-gw/switchboard/internal/media/sock"
)

// Direct relay: SRTP and SRTCP from an established browser leg are relayed
// by the poller that reads them from its socket of the browser port, as it
// reads them, saving the copy into the call's ice.Conn and the wake-up of
// its reader. The engine maps the selected pair's remote address to the
// bridge once the bridge has its SRTP session; each poller keeps its own
// copy of the entries it uses (directCache), so that the packet path takes
// no lock another poller takes. Everything else (STUN, DTLS, media before
// the session or from another address) still goes to pion. STUN consent
// checks keep reaching the ICE agent, which is what keeps a lite agent
// connected (see newAgent).
//
// Ownership: a call's plain sockets are read by one poller, its owner, and
// the browser's RTP should reach that same poller, so that both directions
// of the call, its SRTP contexts, latches and counters, are touched by one
// goroutine. The browser's RTP is steered by its SSRC (steer.go); the
// first poller that relays it for a call that another poller owns claims
// the call, and the old owner hands the plain sockets over between two of
// its rounds (sock.Poller.Move). Until then, and for the odd packet steered
// elsewhere (RTCP whose sender SSRC is not the RTP's), the poller that got
// a packet relays it itself, under the call's own locks, and counts it
// foreign.

// claimInterval is how long a call stays with the poller that claimed it
// before another may: a browser whose packets were steered to two pollers
// (two SSRCs) moves the call at most this often.
const claimInterval = time.Second

// relayDirect relays p inline if it is RTP or RTCP from a mapped remote
// address (src is unmapped already, as sock.Poller gives it), or hands it
// to its bridge if it is DTLS from a checked address (early.go), and
// reports whether it did. Only pollers call it; sc is the caller's.
func (e *Engine) relayDirect(p []byte, src netip.AddrPort, sc *scratch) bool {
	k := classify(p)
	if k == kindDTLS {
		return e.relayDTLS(p, src)
	}
	if k != kindRTP && k != kindRTCP {
		return false
	}
	b := sc.direct.lookup(e, src)
	if b == nil {
		return false
	}
	if k == kindRTP {
		b.browserRTP(p, sc)
	} else {
		b.browserRTCP(p, sc)
	}
	if b.owner.Load() != sc.idx {
		sc.stats.foreign.Add(1)
		if k == kindRTP {
			b.claim(sc)
		}
	}
	return true
}

// claim makes the poller whose scratch is sc the owner of b, unless b
// changed owner less than claimInterval ago: the old owner hands b's plain
// sockets over.
func (b *Bridge) claim(sc *scratch) {
	now := time.Now().UnixNano()
	if t := b.claimedAt.Load(); t != 0 && now-t < int64(claimInterval) {
		return
	}
	b.claimMu.Lock()
	defer b.claimMu.Unlock()
	if t := b.claimedAt.Load(); t != 0 && now-t < int64(claimInterval) {
		return
	}
	from := b.owner.Load()
	if from == sc.idx {
		return
	}
	b.claimedAt.Store(now)
	b.owner.Store(sc.idx)
	old, to := b.e.pollers[from], b.e.pollers[sc.idx]
	old.Move(b.rtpConn, to)
	old.Move(b.rtcpConn, to)
	sc.stats.handoffs.Add(1)
}

// directCache is one poller's copy of the engine's direct map: the entries
// it used, checked on every hit against the bridge's current address, so
// that a stale one (an ICE restart, a new address, a closed call) is never
// used, and filled from the engine's map on a miss.
type directCache struct {
	m       map[netip.AddrPort]*Bridge
	sweepAt int // sweep stale entries once the map grows past this
}

// minSweep is the cache size below which stale entries are left alone.
const minSweep = 256

// lookup returns the bridge src's media is relayed for, or nil.
func (c *directCache) lookup(e *Engine, src netip.AddrPort) *Bridge {
	if b := c.m[src]; b != nil {
		if to := b.directTo.Load(); to != nil && *to == src {
			return b
		}
		delete(c.m, src)
	}
	e.directMu.RLock()
	b := e.direct[src]
	e.directMu.RUnlock()
	if b == nil {
		return nil
	}
	if c.m == nil {
		c.m = map[netip.AddrPort]*Bridge{}
		c.sweepAt = minSweep
	}
	c.m[src] = b
	if len(c.m) > c.sweepAt {
		c.sweep()
	}
	return b
}

// sweep drops the entries no longer valid, so that the cache holds about
// the calls it serves and never keeps a closed bridge for long.
func (c *directCache) sweep() {
	for a, b := range c.m {
		if to := b.directTo.Load(); to == nil || *to != a {
			delete(c.m, a)
		}
	}
	c.sweepAt = max(minSweep, 2*len(c.m))
}

// setDirect maps addr (none if invalid) to b, replacing b's previous
// address. It does nothing once clearDirect ran for b.
func (e *Engine) setDirect(b *Bridge, addr netip.AddrPort) {
	e.directMu.Lock()
	defer e.directMu.Unlock()
	if b.directOff {
		return
	}
	if b.directAddr.IsValid() && e.direct[b.directAddr] == b {
		delete(e.direct, b.directAddr)
	}
	b.directAddr = addr
	if addr.IsValid() {
		e.direct[addr] = b
		b.directTo.Store(&addr)
	} else {
		b.directTo.Store(nil)
	}
}

// clearDirect removes b's mapping for good.
func (e *Engine) clearDirect(b *Bridge) {
	e.directMu.Lock()
	defer e.directMu.Unlock()
	b.directOff = true
	e.clearCheckedLocked(b)
	if b.directAddr.IsValid() && e.direct[b.directAddr] == b {
		delete(e.direct, b.directAddr)
	}
	b.directAddr = netip.AddrPort{}
	b.directTo.Store(nil)
}

// toBrowser sends SRTP or SRTCP to the browser and tells out (rtpSent or
// rtcpSent of the browser leg) whether it went:
// straight from the browser port to the selected pair's remote address
// once the direct relay has it (queued in a poller's outbox for its own
// socket of the port, sent at the end of its round), else through the
// ice.Conn. Writing past pion/ice
// costs it nothing it needs: a lite agent sends no keepalives, so it never
// looks at when we last sent.
func (b *Bridge) toBrowser(s *session, p []byte, out sock.Tally, now int64, sc *scratch) {
	var err error
	if to := b.directTo.Load(); to == nil {
		_, err = s.out.Write(p)
	} else if sc.tx != nil {
		sc.tx.Queue(sc.browser, p, *to, out, now)
		return
	} else {
		err = b.e.sock.sock.SendTo(p, *to)
	}
	if err != nil {
		out.Dropped(now)
		return
	}
	out.Sent(len(p), now)
}

// updateDirect maps the ICE selected pair's remote address to b once b has
// its SRTP session; before ICE first selects a pair, the address the DTLS
// handshake ran with (early.go). It unmaps b when there is no selected pair
// after an ICE restart.
func (b *Bridge) updateDirect() {
	b.directUpdMu.Lock()
	defer b.directUpdMu.Unlock()
	if b.sess.Load() == nil {
		return
	}
	var addr netip.AddrPort
	if pair, err := b.agent.GetSelectedCandidatePair(); err == nil && pair != nil {
		addr = candidateAddr(pair.Remote)
	} else if !b.restarted.Load() {
		addr = b.earlyAddr()
	}
	b.e.setDirect(b, addr)
}
