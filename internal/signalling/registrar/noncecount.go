package registrar

import (
	"container/list"
	"sync"
	"time"
)

// nonceCounts remembers the highest nonce count accepted for each nonce in
// use, so that a captured request cannot be replayed (RFC 7616 §3.4, §5.12).
// Entries leave when their nonce expires (checked lazily on each advance) or,
// when the table is full, oldest first.
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
}

type nonceCount struct {
	nonce   string
	last    uint32
	expires time.Time
}

func newNonceCounts(max int) *nonceCounts {
	return &nonceCounts{max: max, byNonce: make(map[string]*list.Element), order: list.New()}
}

// advance records nc for nonce and reports whether it is strictly greater
// than every count accepted before for that nonce.
func (t *nonceCounts) advance(nonce string, nc uint32, expires, now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.pruneLocked(now)
	if e, ok := t.byNonce[nonce]; ok {
		c := e.Value.(*nonceCount)
		if nc <= c.last {
			return false
		}
		c.last = nc
		return true
	}
	if t.order.Len() >= t.max {
		t.removeLocked(t.order.Front())
	}
	t.byNonce[nonce] = t.order.PushBack(&nonceCount{nonce: nonce, last: nc, expires: expires})
	return true
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
