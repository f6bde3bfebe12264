package loadgen

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// slotLen is the pacer's tick: a frame has frameInterval/slotLen slots and
// a call sends in one of them, so the load is spread over the frame.
const slotLen = time.Millisecond

const slotsPerFrame = int(frameInterval / slotLen)

// pacers are the goroutines that send for every call, each with a ticker, slots and lock of
// its own, so that sending SRTP for thousands of calls spreads over the
// cores instead of queueing behind one goroutine. Call k sends from pacer
// k mod n. A run has one per core Go may use, at most one per call
// (pacersFor).
type pacers struct {
	phase atomic.Int32
	all   []*pacer
	next  atomic.Uint32
}

// pacersFor is how many pacers a run of calls has.
func pacersFor(calls int) int { return max(1, min(runtime.GOMAXPROCS(0), calls)) }

func newPacers(n int) *pacers {
	ps := &pacers{}
	for range n {
		ps.all = append(ps.all, &pacer{phase: &ps.phase, stop: make(chan struct{}), done: make(chan struct{})})
	}
	return ps
}

// run starts every pacer.
func (ps *pacers) run() {
	for _, p := range ps.all {
		go p.run()
	}
}

// add makes s send from the next frame on, from the next pacer in turn.
func (ps *pacers) add(s *stream) {
	ps.all[int(ps.next.Add(1)-1)%len(ps.all)].add(s)
}

// lagMax is the most any pacer has been behind its schedule, in slots (ms).
func (ps *pacers) lagMax() int64 {
	var m int64
	for _, p := range ps.all {
		m = max(m, p.lagMax.Load())
	}
	return m
}

// lags returns every pacer's lag histogram added up; call it once they
// have stopped.
func (ps *pacers) lags() lagHistogram {
	var h lagHistogram
	for _, p := range ps.all {
		h.merge(&p.lags)
	}
	return h
}

// Stop stops every pacer and waits for them.
func (ps *pacers) Stop() {
	for _, p := range ps.all {
		p.Stop()
	}
}

// pacer is one sending goroutine and the calls it sends for.
type pacer struct {
	phase *atomic.Int32
	// lagMax is the most slots the pacer has been behind its schedule.
	lagMax atomic.Int64
	// lags holds how late each slot was sent; owned by run, read after Stop.
	lags lagHistogram

	mu    sync.Mutex
	slots [slotsPerFrame][]*stream // guarded by mu
	n     int                      // streams added; guarded by mu

	stop chan struct{}
	done chan struct{}
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
// every call keeps its rate; how late each slot went out is recorded in
// lags, the worst in lagMax.
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
				p.lags.add(due - next)
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

// lagHistogram counts lags in whole milliseconds, the last bucket taking
// everything from maxLagMillis on.
type lagHistogram struct {
	n [maxLagMillis + 1]uint32
}

const maxLagMillis = 4095

func (h *lagHistogram) add(ms int64) { h.n[min(max(ms, 0), maxLagMillis)]++ }

func (h *lagHistogram) merge(o *lagHistogram) {
	for i, c := range o.n {
		h.n[i] += c
	}
}

// quantiles summarises the histogram in ms.
func (h *lagHistogram) quantiles() Quantiles {
	var total uint64
	for _, c := range h.n {
		total += uint64(c)
	}
	if total == 0 {
		return Quantiles{}
	}
	at := func(q float64) float64 {
		rank, seen := uint64(q*float64(total-1)), uint64(0)
		for i, c := range h.n {
			if seen += uint64(c); seen > rank {
				return float64(i)
			}
		}
		return maxLagMillis
	}
	return Quantiles{P50: at(0.50), P99: at(0.99), Max: at(1)}
}
