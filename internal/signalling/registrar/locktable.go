package registrar

import (
	"container/list"
	"time"
)

// failTable counts the failures of one Lockout scope. Its methods need the
// Lockout's mutex held. Entries sit on one of two lists, each in the order
// its entries expire, so pruning only looks at the fronts: counting (by
// the start of their window; all windows are as long) and locked (by the
// start of their lockout; all lockouts are as long).
type failTable[K comparable] struct {
	limit int // failures that lock; 0: the scope is off
	max   int

	byKey    map[K]*list.Element
	counting list.List // of *failCount[K]
	lockouts list.List // of *failCount[K]
}

type failCount[K comparable] struct {
	key    K
	n      int
	since  time.Time // first failure of the window
	until  time.Time // end of the lockout; zero while counting
	isLock bool
}

func newFailTable[K comparable](limit, max int) *failTable[K] {
	return &failTable[K]{limit: limit, max: max, byKey: make(map[K]*list.Element)}
}

// prune drops the windows and lockouts that are over.
func (t *failTable[K]) prune(now time.Time, window time.Duration) {
	for e := t.counting.Front(); e != nil && !now.Before(e.Value.(*failCount[K]).since.Add(window)); e = t.counting.Front() {
		t.remove(e)
	}
	for e := t.lockouts.Front(); e != nil && !now.Before(e.Value.(*failCount[K]).until); e = t.lockouts.Front() {
		t.remove(e)
	}
}

// locked reports whether k is locked out; prune has run.
func (t *failTable[K]) locked(k K) bool {
	e, ok := t.byKey[k]
	return ok && e.Value.(*failCount[K]).isLock
}

// fail counts a failure of k and reports whether it starts a lockout of
// duration. A key already locked out is left as it is.
func (t *failTable[K]) fail(k K, now time.Time, duration time.Duration) bool {
	if t.limit <= 0 {
		return false
	}
	e, ok := t.byKey[k]
	if !ok {
		if len(t.byKey) >= t.max {
			t.evict()
		}
		e = t.counting.PushBack(&failCount[K]{key: k, since: now})
		t.byKey[k] = e
	}
	c := e.Value.(*failCount[K])
	if c.isLock {
		return false
	}
	c.n++
	if c.n < t.limit {
		return false
	}
	t.counting.Remove(e)
	c.isLock, c.until = true, now.Add(duration)
	t.byKey[k] = t.lockouts.PushBack(c)
	return true
}

// forget drops k's count or lockout.
func (t *failTable[K]) forget(k K) {
	if e, ok := t.byKey[k]; ok {
		t.remove(e)
	}
}

// evict makes room: the oldest count first, a lockout only when every
// entry is one, so that filling the table with new names cannot lift the
// lockouts cheaply.
func (t *failTable[K]) evict() {
	if e := t.counting.Front(); e != nil {
		t.remove(e)
	} else if e := t.lockouts.Front(); e != nil {
		t.remove(e)
	}
}

func (t *failTable[K]) remove(e *list.Element) {
	c := e.Value.(*failCount[K])
	delete(t.byKey, c.key)
	if c.isLock {
		t.lockouts.Remove(e)
	} else {
		t.counting.Remove(e)
	}
}

// trustTable holds the pairs that logged in within trustFor, oldest login
// first. Its methods need the Lockout's mutex held.
type trustTable struct {
	max   int
	byKey map[pairKey]*list.Element
	order list.List // of *trust
}

type trust struct {
	key pairKey
	at  time.Time
}

func newTrustTable(max int) *trustTable {
	return &trustTable{max: max, byKey: make(map[pairKey]*list.Element)}
}

func (t *trustTable) prune(now time.Time) {
	for e := t.order.Front(); e != nil && !now.Before(e.Value.(*trust).at.Add(trustFor)); e = t.order.Front() {
		t.remove(e)
	}
}

func (t *trustTable) has(k pairKey) bool {
	_, ok := t.byKey[k]
	return ok
}

// add trusts k from now, moving it to the back.
func (t *trustTable) add(k pairKey, now time.Time) {
	if e, ok := t.byKey[k]; ok {
		e.Value.(*trust).at = now
		t.order.MoveToBack(e)
		return
	}
	if len(t.byKey) >= t.max {
		t.remove(t.order.Front())
	}
	t.byKey[k] = t.order.PushBack(&trust{key: k, at: now})
}

func (t *trustTable) remove(e *list.Element) {
	delete(t.byKey, e.Value.(*trust).key)
	t.order.Remove(e)
}
