package media

import (
	"net/netip"
	"sync"
	"sync/atomic"
)

// latchThreshold is how many consecutive packets a new source must send,
// all with the expected SSRC, before the plain leg follows it.
const latchThreshold = 3

// latch is symmetric RTP (RFC 4961) made safe: the plain leg sends to the
// address its packets come from, as NATed PBXs and phones need, but a new
// source takes over only after latchThreshold consecutive packets carrying
// the SSRC the current source uses; one stray or spoofed packet changes
// nothing. Packets from other sources are dropped.
type latch struct {
	mu        sync.Mutex
	remote    netip.AddrPort // where we send and whom we accept; guarded by mu
	ssrc      uint32         // SSRC the remote sends; guarded by mu
	ssrcKnown bool           // guarded by mu
	cand      netip.AddrPort // the source trying to take over; guarded by mu
	candSSRC  uint32         // guarded by mu
	candN     int            // its consecutive packets; guarded by mu

	dest     atomic.Pointer[netip.AddrPort] // copy of remote, read lock-free by the sender
	switches atomic.Uint64
	stray    atomic.Uint64
}

// set points the latch at the address signalling gave (the plain SDP). A
// different address forgets the SSRC: it is a new stream.
func (l *latch) set(addr netip.AddrPort) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if addr != l.remote {
		l.ssrcKnown = false
	}
	l.remote, l.candN = addr, 0
	l.publishLocked()
}

func (l *latch) publishLocked() {
	a := l.remote
	l.dest.Store(&a)
}

// destination is where packets for the plain side go; invalid until set
// or latched.
func (l *latch) destination() netip.AddrPort {
	if p := l.dest.Load(); p != nil {
		return *p
	}
	return netip.AddrPort{}
}

// expected is the SSRC the current source uses, if one is known.
func (l *latch) expected() (uint32, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.ssrc, l.ssrcKnown
}

// accept reports whether a packet from src carrying ssrc is from the plain
// side and should be relayed, moving the latch when src has earned it.
func (l *latch) accept(src netip.AddrPort, ssrc uint32) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if src == l.remote {
		// The current source may change its SSRC (a PBX re-anchoring).
		l.ssrc, l.ssrcKnown, l.candN = ssrc, true, 0
		return true
	}
	if l.ssrcKnown && ssrc != l.ssrc {
		l.candN = 0
		l.stray.Add(1)
		return false
	}
	if src != l.cand || ssrc != l.candSSRC {
		l.cand, l.candSSRC, l.candN = src, ssrc, 0
	}
	l.candN++
	if l.candN < latchThreshold {
		l.stray.Add(1)
		return false
	}
	l.remote, l.ssrc, l.ssrcKnown, l.candN = src, ssrc, true, 0
	l.publishLocked()
	l.switches.Add(1)
	return true
}
