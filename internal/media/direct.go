package media

import (
	"net/netip"

	"github.com/switchboard-gw/switchboard/internal/media/sock"
)

// Direct relay: SRTP and SRTCP from an established browser leg are relayed
// by the poller that reads the shared socket, as it reads them, saving the
// copy into the call's ice.Conn and the wake-up of its reader. The engine
// maps the selected pair's remote address to the bridge once the bridge
// has its SRTP session. Everything else (STUN, DTLS, media before the
// session or from another address) still goes to pion. STUN consent checks
// keep reaching the ICE agent, which is what keeps a lite agent connected
// (see newAgent).

// relayDirect relays p inline if it is RTP or RTCP from a mapped remote
// address (src is unmapped already, as sock.Poller gives it), or hands it
// to its bridge if it is DTLS from a checked address (early.go), and
// reports whether it did. Only the shared socket's poller calls it; sc is
// its scratch.
func (e *Engine) relayDirect(p []byte, src netip.AddrPort, sc *scratch) bool {
	k := classify(p)
	if k == kindDTLS {
		return e.relayDTLS(p, src)
	}
	if k != kindRTP && k != kindRTCP {
		return false
	}
	e.directMu.RLock()
	b := e.direct[src]
	e.directMu.RUnlock()
	if b == nil {
		return false
	}
	if k == kindRTP {
		b.browserRTP(p, sc)
	} else {
		b.browserRTCP(p, sc)
	}
	return true
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
// straight from the shared socket to the selected pair's remote address
// once the direct relay has it (queued in a poller's outbox, sent at the
// end of its round), else through the ice.Conn. Writing past pion/ice
// costs it nothing it needs: a lite agent sends no keepalives, so it never
// looks at when we last sent.
func (b *Bridge) toBrowser(s *session, p []byte, out sock.Tally, now int64, sc *scratch) {
	var err error
	if to := b.directTo.Load(); to == nil {
		_, err = s.out.Write(p)
	} else if sc.tx != nil {
		sc.tx.Queue(b.e.sock.sock, p, *to, out, now)
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
