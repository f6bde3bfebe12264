package siptx

import (
	"strconv"
	"sync"
	"time"
)

func itoa(n int) string { return strconv.Itoa(n) }

// timer is a restartable one-shot timer owned by a transaction. reset and
// stop are called with the transaction's mutex held; the callback runs with
// it held too, and only if the timer was neither reset nor stopped since it
// was armed, so a response and a timer firing at once cannot both act.
type timer struct {
	t   *time.Timer
	gen int
}

// reset (re)arms the timer to call f after d, under mu.
func (t *timer) reset(mu *sync.Mutex, d time.Duration, f func()) {
	if t.t != nil {
		t.t.Stop()
	}
	t.gen++
	gen := t.gen
	t.t = time.AfterFunc(d, func() {
		mu.Lock()
		defer mu.Unlock()
		if t.gen == gen {
			f()
		}
	})
}

// resetOrNow is reset, except that for a zero d it calls f at once (mu is
// held already): timers D, I, J and K are zero over reliable transports
// (RFC 3261 §17.1.1.2, §17.1.2.2, §17.2.1, §17.2.2), and a timer armed for
// nothing would cost a goroutine per transaction.
func (t *timer) resetOrNow(mu *sync.Mutex, d time.Duration, f func()) {
	if d == 0 {
		t.stop()
		f()
		return
	}
	t.reset(mu, d, f)
}

// stop disarms the timer.
func (t *timer) stop() {
	t.gen++
	if t.t != nil {
		t.t.Stop()
		t.t = nil
	}
}
