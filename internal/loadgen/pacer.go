package loadgen

import (
	"sync"
	"sync/atomic"
	"time"
)

// slotLen is the pacer's tick: a frame has frameInterval/slotLen slots and
// a call sends in one of them, so the load is spread over the frame.
const slotLen = time.Millisecond

const slotsPerFrame = int(frameInterval / slotLen)

// pacer is the one goroutine that sends for every call.
type pacer struct {
	phase atomic.Int32
	// lagMax is the most slots the pacer has been behind its schedule.
	lagMax atomic.Int64

	mu    sync.Mutex
	slots [slotsPerFrame][]*stream // guarded by mu
	n     int                      // streams added; guarded by mu

	stop chan struct{}
	done chan struct{}
}

func newPacer() *pacer {
	return &pacer{stop: make(chan struct{}), done: make(chan struct{})}
}

// add makes s send from the next frame on, in the next free slot.
func (p *pacer) add(s *stream) {
	p.mu.Lock()
	defer p.mu.Unlock()
	slot := p.n % slotsPerFrame
	p.slots[slot] = append(p.slots[slot], s)
	p.n++
}

// run sends until Stop. A late tick catches up on the slots it missed, so
// every call keeps its rate; how late is recorded in lagMax.
func (p *pacer) run() {
	defer close(p.done)
	t := time.NewTicker(slotLen)
	defer t.Stop()
	start, next := time.Now(), int64(0)
	for {
		select {
		case <-p.stop:
			return
		case now := <-t.C:
			due := int64(now.Sub(start) / slotLen)
			if lag := due - next; lag > p.lagMax.Load() {
				p.lagMax.Store(lag)
			}
			for ; next <= due; next++ {
				p.sendSlot(int(next % int64(slotsPerFrame)))
			}
		}
	}
}

func (p *pacer) sendSlot(slot int) {
	phase := int(p.phase.Load())
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range p.slots[slot] {
		s.send(phase)
	}
}

// Stop stops sending and waits for the goroutine.
func (p *pacer) Stop() {
	close(p.stop)
	<-p.done
}
