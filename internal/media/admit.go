package media

import (
	"encoding/binary"
	"net/netip"
	"sync"
	"time"
)

// Admission to pion's mux. The browser port is open to the internet, and
// whatever the pollers do not relay directly waits in one bounded queue
// for pion's mux reader (muxsocket.go). Unfiltered, a flood of junk at the
// port filled that queue: the STUN checks and DTLS of calls being set up
// were dropped with it, and the overload gate, seeing the queue drop,
// refused every new call while the flood lasted. pion would have dropped
// the junk anyway, one datagram at a time, after the queue.
//
// So a poller queues only what pion could use, judged from the datagram
// and its source alone, without allocating:
//
//   - a STUN message (RFC 8489 §5: the magic cookie, a length that fits
//     the datagram) whose USERNAME begins with the ICE ufrag of a live
//     bridge; its source is then remembered for a while (heardFrom). pion
//     checks its MESSAGE-INTEGRITY; a browser's first check and its
//     consent checks every few seconds are such messages;
//   - a STUN message without USERNAME, or DTLS, RTP or RTCP, from a source
//     that sent such a check lately or passed one (early.go's checked
//     map): a browser sends nothing else before its first check.
//
// Everything else is refused and counted by reason on the poller that read
// it: "malformed" (no RFC 7983 shape, or a STUN header or attribute that
// does not fit), "unknown_ufrag" (a USERNAME no live bridge has) and
// "unknown_source" (no check from that address). A refused datagram costs
// a lookup or two and no allocation.

// A RefuseReason is why a poller refused a datagram of the browser port.
type RefuseReason int

const (
	RefusedMalformed RefuseReason = iota
	RefusedUnknownUfrag
	RefusedUnknownSource
	refuseReasons
)

var refuseReasonNames = [refuseReasons]string{"malformed", "unknown_ufrag", "unknown_source"}

// String is the reason's label in /metrics.
func (r RefuseReason) String() string { return refuseReasonNames[r] }

// heardFor is how long a source that sent a check naming a live ufrag may
// send anything pion reads; a browser's consent checks renew it every few
// seconds. maxHeard bounds the sources remembered.
const (
	heardFor = 30 * time.Second
	maxHeard = 1 << 16
)

// admission is the engine's record of the live ufrags and of the sources
// lately heard from; pollers read it for datagrams off the direct relay.
type admission struct {
	mu     sync.RWMutex
	ufrags map[string]*Bridge       // the live bridges' local ufrags; guarded by mu
	heard  map[netip.AddrPort]int64 // when a source last sent a check naming one; guarded by mu
	pruned int64                    // when heard was last swept for stale sources; guarded by mu
}

// keptUfrags is how many of a bridge's ufrags stay live: its current one,
// and the one before an ICE restart, which the browser may use until it
// has the new offer's.
const keptUfrags = 2

func newAdmission() *admission {
	return &admission{ufrags: map[string]*Bridge{}, heard: map[netip.AddrPort]int64{}}
}

// addUfrag makes ufrag b's, unless removeBridge ran for b.
func (a *admission) addUfrag(b *Bridge, ufrag string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if b.admitOff {
		return
	}
	b.ufrags = mapNewest(a.ufrags, b.ufrags, ufrag, b, keptUfrags)
}

// removeBridge forgets b's ufrags, for good.
func (a *admission) removeBridge(b *Bridge) {
	a.mu.Lock()
	defer a.mu.Unlock()
	b.admitOff = true
	b.ufrags = unmapAll(a.ufrags, b.ufrags, b)
}

// admit reports whether p, from src, may wait for pion's mux, and if not,
// why. checked tells whether src passed a check (early.go).
func (a *admission) admit(p []byte, src netip.AddrPort, now int64, checked func(netip.AddrPort) bool) (ok bool, reason RefuseReason) {
	switch classify(p) {
	case kindDTLS, kindRTP, kindRTCP:
		if a.heardLately(src, now) || checked(src) {
			return true, 0
		}
		return false, RefusedUnknownSource
	}
	user, isSTUN := stunUsername(p)
	switch {
	case !isSTUN:
		return false, RefusedMalformed
	case user == nil:
		if a.heardLately(src, now) || checked(src) {
			return true, 0
		}
		return false, RefusedUnknownSource
	case !a.liveUfrag(user):
		return false, RefusedUnknownUfrag
	}
	a.hear(src, now)
	return true, 0
}

// liveUfrag reports whether the part of an ICE USERNAME before its colon
// (RFC 8445 §7.2.2: the receiver's ufrag first) is a live bridge's.
func (a *admission) liveUfrag(user []byte) bool {
	for i, c := range user {
		if c == ':' {
			user = user[:i]
			break
		}
	}
	a.mu.RLock()
	_, ok := a.ufrags[string(user)] // no allocation: the compiler reads user in place
	a.mu.RUnlock()
	return ok
}

func (a *admission) heardLately(src netip.AddrPort, now int64) bool {
	a.mu.RLock()
	t, ok := a.heard[src]
	a.mu.RUnlock()
	return ok && now-t < int64(heardFor)
}

// hear records a check from src naming a live ufrag. The write lock is
// taken at most once a second per source. When maxHeard sources are
// remembered, those not heard from within heardFor are forgotten first,
// in a sweep made at most once a second (so that checks from ever new
// sources cannot make every one a sweep); if none is stale, src is not
// remembered: its check, once pion has verified it, maps it as checked
// all the same (early.go).
func (a *admission) hear(src netip.AddrPort, now int64) {
	a.mu.RLock()
	t, ok := a.heard[src]
	a.mu.RUnlock()
	if ok && now-t < int64(time.Second) {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.heard[src]; !ok && len(a.heard) >= maxHeard {
		if now-a.pruned < int64(time.Second) {
			return
		}
		a.pruned = now
		for s, t := range a.heard {
			if now-t >= int64(heardFor) {
				delete(a.heard, s)
			}
		}
		if len(a.heard) >= maxHeard {
			return
		}
	}
	a.heard[src] = now
}

// STUN (RFC 8489): a 20-byte header, then attributes.
const (
	stunHeaderLen    = 20
	stunMagicCookie  = 0x2112A442
	stunAttrUsername = 0x0006
	stunAttrMI       = 0x0008 // MESSAGE-INTEGRITY
	stunAttrMI256    = 0x001c // MESSAGE-INTEGRITY-SHA256
)

// stunUsername reports whether p is a well-formed STUN message (RFC 8489
// §5, §14: the first two bits zero, the magic cookie, a length that is a
// multiple of four and matches the datagram, attributes that fit it) and
// returns the value of its first USERNAME attribute, nil if it has none.
// A USERNAME after a message integrity attribute does not count: the
// receiver ignores it (§14.5, as pion does). The value is a slice of p.
func stunUsername(p []byte) (user []byte, ok bool) {
	if len(p) < stunHeaderLen || p[0]&0xc0 != 0 ||
		binary.BigEndian.Uint32(p[4:8]) != stunMagicCookie {
		return nil, false
	}
	n := int(binary.BigEndian.Uint16(p[2:4]))
	if n%4 != 0 || stunHeaderLen+n != len(p) {
		return nil, false
	}
	integrity := false
	for rest := p[stunHeaderLen:]; len(rest) > 0; {
		if len(rest) < 4 {
			return nil, false
		}
		typ, l := binary.BigEndian.Uint16(rest[0:2]), int(binary.BigEndian.Uint16(rest[2:4]))
		padded := (l + 3) &^ 3
		if 4+padded > len(rest) {
			return nil, false
		}
		switch {
		case typ == stunAttrMI || typ == stunAttrMI256:
			integrity = true
		case typ == stunAttrUsername && user == nil && !integrity:
			user = rest[4 : 4+l : 4+l]
		}
		rest = rest[4+padded:]
	}
	return user, true
}
