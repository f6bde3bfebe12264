package media

import (
	"net/netip"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/stun/v4"
)

// Early DTLS: a browser that answers switchboard's ICE-lite offer is the
// controlling agent and the DTLS client. Chrome sends its ClientHello as
// soon as one of its checks succeeds, but nominates the pair (USE-CANDIDATE)
// only with a later check, up to a second or two after; a lite pion agent
// reports no selected pair and no "connected" state until then. Waiting for
// the nomination left the browser's ClientHello and its retransmissions
// unanswered, and the caller's audio dropped, for that long.
//
// So the DTLS server runs from StartWebRTC, and every address that passed a
// check (a binding request with our ufrag and a valid MESSAGE-INTEGRITY,
// which pion has verified before it calls onCheck) is mapped to the bridge:
// the poller that reads it hands DTLS from such an address straight
// to the bridge with its source, and DTLS, then SRTP, go back to that source
// until ICE selects a pair: the browser already uses that path, and the
// check proved it holds our credentials there. DTLS from any other address
// still goes to pion, which drops what does not come from a checked remote
// candidate.

// maxChecked bounds the addresses one bridge maps: a browser checks from
// one address per local candidate it has.
const maxChecked = 8

// onCheck is pion's binding-request handler: it runs on the agent's loop
// after pion validated the request and answered it. It selects nothing.
func (b *Bridge) onCheck(_ *stun.Message, _, remote ice.Candidate, _ *ice.CandidatePair) bool {
	addr := candidateAddr(remote)
	if !addr.IsValid() {
		return false
	}
	if p := b.lastChecked.Load(); p == nil || *p != addr {
		b.lastChecked.Store(&addr)
	}
	b.e.setChecked(b, addr)
	b.checkedOnce.Do(func() {
		b.dtlsState.CompareAndSwap(dtlsNew, dtlsConnecting)
		close(b.checked)
	})
	return false
}

// browserDTLS queues a DTLS record from src, an address that passed a
// check, for the handshake, and remembers src as where to answer.
func (b *Bridge) browserDTLS(p []byte, src netip.AddrPort) {
	b.dtlsFirst.once(time.Now().UnixNano())
	if cur := b.dtlsFrom.Load(); cur == nil || *cur != src {
		b.setDTLSFrom(src)
	}
	if _, err := b.dtlsIn.Write(p); err != nil {
		b.browser.dropped.Add(1)
	}
}

func (b *Bridge) setDTLSFrom(src netip.AddrPort) { b.dtlsFrom.Store(&src) }

// earlyAddr is where DTLS and media go while ICE has selected no pair: where
// the browser's latest DTLS record came from, else the address of its latest
// check; invalid when neither exists.
func (b *Bridge) earlyAddr() netip.AddrPort {
	if p := b.dtlsFrom.Load(); p != nil {
		return *p
	}
	if p := b.lastChecked.Load(); p != nil {
		return *p
	}
	return netip.AddrPort{}
}

// relayDTLS hands p to the bridge whose browser checked from src, and
// reports whether there was one. Only pollers call it.
func (e *Engine) relayDTLS(p []byte, src netip.AddrPort) bool {
	e.directMu.RLock()
	b := e.checked[src]
	e.directMu.RUnlock()
	if b == nil {
		return false
	}
	b.browserDTLS(p, src)
	return true
}

// setChecked maps addr, which passed one of b's ICE checks, to b, keeping b's
// newest maxChecked addresses. It does nothing once clearDirect ran for b.
func (e *Engine) setChecked(b *Bridge, addr netip.AddrPort) {
	e.directMu.RLock()
	known := e.checked[addr] == b
	e.directMu.RUnlock()
	if known {
		return // the browser's consent checks, every few seconds
	}
	e.directMu.Lock()
	defer e.directMu.Unlock()
	if b.directOff {
		return
	}
	b.checkedAddrs = mapNewest(e.checked, b.checkedAddrs, addr, b, maxChecked)
}

// clearCheckedLocked unmaps b's checked addresses; directMu is held.
func (e *Engine) clearCheckedLocked(b *Bridge) {
	b.checkedAddrs = unmapAll(e.checked, b.checkedAddrs, b)
}

// mapNewest maps k to b in m and returns b's keys, mine, with k last,
// keeping the newest keep: the oldest is unmapped (if it is still b's)
// and dropped to make room.
func mapNewest[K comparable](m map[K]*Bridge, mine []K, k K, b *Bridge, keep int) []K {
	if len(mine) == keep {
		if m[mine[0]] == b {
			delete(m, mine[0])
		}
		mine = append(mine[:0], mine[1:]...)
	}
	m[k] = b
	return append(mine, k)
}

// unmapAll unmaps from m each of b's keys, mine, that is still b's, and
// returns nil, b's keys from then on.
func unmapAll[K comparable](m map[K]*Bridge, mine []K, b *Bridge) []K {
	for _, k := range mine {
		if m[k] == b {
			delete(m, k)
		}
	}
	return nil
}
