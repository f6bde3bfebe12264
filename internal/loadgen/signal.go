package loadgen

import (
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// SignalReport is what a signalling-only run (Register or Calls) measured.
type SignalReport struct {
	// Mode is "register" or "calls".
	Mode string `json:"mode"`
	// Clients is how many WebSocket clients worked at once: in Calls, the
	// most calls up at once.
	Clients int `json:"clients"`
	// TargetRate is the rate asked for, per second.
	TargetRate float64 `json:"target_rate"`
	// Attempted counts the REGISTERs or INVITEs sent, OK those answered 200.
	Attempted int `json:"attempted"`
	OK        int `json:"ok"`
	// Failed counts the rest by cause: "sip_403", "sip_timeout",
	// "websocket", ...; in Calls, failed BYEs too, as "bye_481", ....
	Failed map[string]int `json:"failed"`
	// Seconds runs from the first request to the last 200 (REGISTER or
	// INVITE): a call's hold and BYE after that are not in it.
	Seconds float64 `json:"seconds"`
	// PerSecond is OK per second: registers/s or calls set up per second.
	PerSecond float64 `json:"per_second"`
	// Latency is REGISTER sent to its final 200 (through any digest
	// challenge), or INVITE sent to its 200, in ms.
	Latency Quantiles `json:"latency_ms"`
}

// WriteText writes the report for people.
func (rep *SignalReport) WriteText(w io.Writer) {
	what, latency := "registers", "REGISTER → 200"
	if rep.Mode == "calls" {
		what, latency = "calls", "setup (INVITE → 200)"
	}
	fmt.Fprintf(w, "%s: %d clients, %d/%d %s ok in %.1f s: %.1f %s/s (target %.1f/s)\n",
		rep.Mode, rep.Clients, rep.OK, rep.Attempted, what, rep.Seconds, rep.PerSecond, what, rep.TargetRate)
	fmt.Fprintf(w, "  %s  p50 %.1f ms  p99 %.1f ms  max %.1f ms\n", latency, rep.Latency.P50, rep.Latency.P99, rep.Latency.Max)
	if len(rep.Failed) > 0 {
		fmt.Fprintf(w, "  failed: %s\n", counts(rep.Failed))
	}
}

// tally collects a signalling run's outcomes from its workers.
type tally struct {
	start  time.Time
	ok     atomic.Int64
	failed atomic.Int64
	active atomic.Int64 // calls up now (Calls only)

	mu        sync.Mutex
	attempted int            // guarded by mu
	latencies []int64        // ns; guarded by mu
	causes    map[string]int // guarded by mu
	last      time.Time      // last 200; guarded by mu
}

func newTally() *tally { return &tally{start: time.Now(), causes: map[string]int{}} }

func (t *tally) attempt() {
	t.mu.Lock()
	t.attempted++
	t.mu.Unlock()
}

func (t *tally) success(d time.Duration) {
	t.mu.Lock()
	t.latencies = append(t.latencies, int64(d))
	t.last = time.Now()
	t.mu.Unlock()
	t.ok.Add(1)
}

func (t *tally) failure(cause string) {
	t.mu.Lock()
	t.causes[cause]++
	t.mu.Unlock()
	t.failed.Add(1)
}

func (t *tally) report(mode string, cfg Config) *SignalReport {
	t.mu.Lock()
	defer t.mu.Unlock()
	rep := &SignalReport{Mode: mode, Clients: cfg.Calls, TargetRate: cfg.Rate, Attempted: t.attempted,
		OK: len(t.latencies), Failed: t.causes, Latency: quantiles(t.latencies, time.Millisecond)}
	if !t.last.IsZero() {
		rep.Seconds = t.last.Sub(t.start).Seconds()
	}
	if rep.Seconds > 0 {
		rep.PerSecond = float64(rep.OK) / rep.Seconds
	}
	return rep
}

// progress writes a line a second to w until stop is closed.
func (t *tally) progress(w io.Writer, mode string, stop <-chan struct{}) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var prev int64
	for {
		select {
		case <-stop:
			return
		case now := <-tick.C:
			ok := t.ok.Load()
			fmt.Fprintf(w, "%s %6.1fs ok %d failed %d active %d  rate %d/s\n",
				mode, now.Sub(t.start).Seconds(), ok, t.failed.Load(), t.active.Load(), ok-prev)
			prev = ok
		}
	}
}

// dispatch hands job numbers 0, 1, ... to jobs at cfg.Rate per second
// until cfg.Count jobs, cfg.Duration or ctx, then closes jobs. When every
// worker is busy it waits for one and does not catch up afterwards, so the
// rate achieved tells a saturated target.
func dispatch(ctx context.Context, cfg Config, jobs chan<- int) {
	defer close(jobs)
	end := time.NewTimer(cfg.Duration)
	defer end.Stop()
	gap := time.Duration(float64(time.Second) / cfg.Rate)
	next := time.Now()
	for i := 0; cfg.Count == 0 || i < cfg.Count; i++ {
		wait := time.NewTimer(time.Until(next))
		select {
		case <-ctx.Done():
			wait.Stop()
			return
		case <-end.C:
			wait.Stop()
			return
		case <-wait.C:
		}
		select {
		case jobs <- i:
		case <-ctx.Done():
			return
		case <-end.C:
			return
		}
		if next = next.Add(gap); next.Before(time.Now()) {
			next = time.Now()
		}
	}
}

// runWorkers runs cfg.Calls copies of work, fed by dispatch, and a
// progress line a second, and returns once all are done.
func runWorkers(ctx context.Context, cfg Config, t *tally, mode string, work func(w int, jobs <-chan int)) {
	jobs := make(chan int)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { t.progress(cfg.Progress, mode, stop) })
	var workers sync.WaitGroup
	for w := range cfg.Calls {
		workers.Go(func() { work(w, jobs) })
	}
	dispatch(ctx, cfg, jobs)
	workers.Wait()
	close(stop)
	wg.Wait()
}
