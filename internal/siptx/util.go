package siptx

import (
	"strconv"
	"sync"
	"time"
)

func itoa(n int) string { return strconv.Itoa(n) }

// timer is a restartable one-shot timer whose callback is skipped once the
// timer is stopped, even if it already fired.
type timer struct {
	mu  sync.Mutex
	t   *time.Timer
	gen int
}

// reset (re)arms the timer to call f after d.
func (t *timer) reset(d time.Duration, f func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.t != nil {
		t.t.Stop()
	}
	t.gen++
	gen := t.gen
	t.t = time.AfterFunc(d, func() {
		t.mu.Lock()
		live := t.gen == gen
		t.mu.Unlock()
		if live {
			f()
		}
	})
}

// stop disarms the timer.
func (t *timer) stop() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.gen++
	if t.t != nil {
		t.t.Stop()
		t.t = nil
	}
}
