package registrar

import (
	"container/list"
	"sync"
	"time"
)

// countResult is what nonceCounts.advance makes of a nonce count.
type countResult int

const (
	// countOK: the count is higher than any accepted before for the nonce.
	countOK countResult = iota
	// countReplayed: the count is not higher (RFC 7616 §3.4.5).
	countReplayed
	// countForgotten: the nonce is not in the table, but a nonce issued no
	// earlier than it was dropped to make room; it may have been used, so
	// it is stale.
	countForgotten
)

// nonceCounts remembers the highest nonce count accepted for each nonce in
// use, so that a captured request cannot be replayed (RFC 7616 §3.4, §5.12):
// each (nonce, nc) is accepted once, and nc must increase. Entries leave
// when their nonce expires (checked lazily on each advance) or, when the
// table is full, oldest first; a nonce issued before the latest of those
// dropped is refused from then on, so that dropping never reopens a replay.
type nonceCounts struct {
	max int

	mu sync.Mutex
	// byNonce indexes order by nonce.
	byNonce map[string]*list.Element
	// order holds *nonceCount in first-use order. Expiry is not strictly
	// monotonic along it (nonces are issued before first use), so pruning,
	// which stops at the first live entry, may keep a dead one a little
	// longer; that costs memory, never correctness, because an expired
	// nonce is refused as stale before its count is consulted.
	order *list.List
	// droppedIssued is the latest issue time of a nonce dropped while it
	// was still live.
	droppedIssued time.Time
}

type nonceCount struct {
	nonce   string
	last    uint32
	issued  time.Time
	expires time.Time
}

func newNonceCounts(max int) *nonceCounts {
	return &nonceCounts{max: max, byNonce: make(map[string]*list.Element), order: list.New()}
}

// advance records nc for nonce, issued at issued and stale from expires,
// when it is strictly greater than every count accepted before for it.
func (t *nonceCounts) advance(nonce string, nc uint32, issued, expires, now time.Time) countResult {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.pruneLocked(now)
	if e, ok := t.byNonce[nonce]; ok {
		c := e.Value.(*nonceCount)
		if nc <= c.last {
			return countReplayed
		}
		c.last = nc
		return countOK
	}
	if !issued.After(t.droppedIssued) {
		return countForgotten
	}
	if t.order.Len() >= t.max {
		oldest := t.order.Front().Value.(*nonceCount)
		if oldest.issued.After(t.droppedIssued) {
			t.droppedIssued = oldest.issued
		}
		t.removeLocked(t.order.Front())
		if !issued.After(t.droppedIssued) {
			return countForgotten
		}
	}
	t.byNonce[nonce] = t.order.PushBack(&nonceCount{nonce: nonce, last: nc, issued: issued, expires: expires})
	return countOK
}

// len returns the number of nonces tracked.
func (t *nonceCounts) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.order.Len()
}

func (t *nonceCounts) pruneLocked(now time.Time) {
	for e := t.order.Front(); e != nil && !now.Before(e.Value.(*nonceCount).expires); e = t.order.Front() {
		t.removeLocked(e)
	}
}

func (t *nonceCounts) removeLocked(e *list.Element) {
	delete(t.byNonce, e.Value.(*nonceCount).nonce)
	t.order.Remove(e)
}
