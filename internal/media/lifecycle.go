package media

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// lifecycle is how a Bridge or a PlainRelay ends: the first reason to end
// is reported through onEnd from the monitor goroutine, unless Close began
// first, and the media timeout is checked there too.
type lifecycle struct {
	log   *slog.Logger
	onEnd func(reason string)

	stop        chan struct{} // closed by beginClose
	ended       atomic.Bool   // end was called
	endCh       chan string   // the reason, for the monitor
	monitorDone chan struct{}

	// mu guards closed and inOnEnd: deciding to call onEnd and Close
	// beginning exclude each other, so onEnd never runs after Close began
	// and Close does not wait for an onEnd that may be calling it.
	mu      sync.Mutex
	closed  bool
	inOnEnd bool
}

func (l *lifecycle) init(log *slog.Logger, onEnd func(reason string)) {
	l.log, l.onEnd = log, onEnd
	l.stop = make(chan struct{})
	l.endCh = make(chan string, 1)
	l.monitorDone = make(chan struct{})
}

// end asks the monitor to report reason through onEnd; only the first call
// counts.
func (l *lifecycle) end(reason string) {
	if l.ended.CompareAndSwap(false, true) {
		l.endCh <- reason
	}
}

// monitor runs until Close or an end. With a positive timeout it asks
// timedOut a few times per timeout whether the media stopped.
func (l *lifecycle) monitor(timeout time.Duration, timedOut func(now time.Time) bool) {
	defer close(l.monitorDone)
	var tick <-chan time.Time
	if timeout > 0 {
		t := time.NewTicker(min(max(timeout/5, 10*time.Millisecond), time.Second))
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-l.stop:
			return
		case reason := <-l.endCh:
			l.report(reason)
			return
		case now := <-tick:
			if timedOut(now) {
				l.end("media_timeout")
			}
		}
	}
}

func (l *lifecycle) report(reason string) {
	l.mu.Lock()
	closed := l.closed
	l.inOnEnd = !closed
	l.mu.Unlock()
	if closed {
		return
	}
	l.log.Info("media ended", "reason", reason)
	if l.onEnd != nil {
		l.onEnd(reason)
	}
}

// beginClose marks the owner closed and stops the monitor. The owner then
// releases its resources and calls waitMonitor.
func (l *lifecycle) beginClose() {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	close(l.stop)
}

// waitMonitor waits for the monitor, unless it is running onEnd (which may
// be calling Close: Engine.Close waits for that one).
func (l *lifecycle) waitMonitor() {
	l.mu.Lock()
	inOnEnd := l.inOnEnd
	l.mu.Unlock()
	if !inOnEnd {
		<-l.monitorDone
	}
}

// isClosed reports whether Close began. Callers may hold their owner's own
// mutex: lifecycle.mu is always taken last.
func (l *lifecycle) isClosed() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.closed
}
