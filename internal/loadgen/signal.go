package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
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
	// Completed counts what ended as it should: a REGISTER answered 200,
	// or a call set up and hung up (its BYE answered 200).
	// CompletedPercent is Completed over Attempted, in percent.
	Completed        int     `json:"completed"`
	CompletedPercent float64 `json:"completed_percent"`
	// StartedPerSecond is Attempted over the time requests were started
	// in: below TargetRate when every client was busy (see dispatch).
	StartedPerSecond float64 `json:"started_per_second"`
	// GatewayCPU is the CPU time of Config.GatewayPIDs from the first
	// request until every client was done, in seconds, and
	// GatewayCPUPerOK the same per OK, in µs; both 0 without PIDs.
	GatewayCPU      float64 `json:"gateway_cpu_s"`
	GatewayCPUPerOK float64 `json:"gateway_cpu_us_per_ok"`
	// ClientCPU is sbload's own CPU over the run, in cores, and
	// ClientCPUPerOK the same per OK, in µs; ClientCores is how many it
	// may use (GOMAXPROCS); HostBusy is how busy the whole machine was, in
	// percent.
	ClientCPU      float64 `json:"client_cpu_cores"`
	ClientCPUPerOK float64 `json:"client_cpu_us_per_ok"`
	ClientCores    int     `json:"client_cores"`
	HostBusy       float64 `json:"host_cpu_busy_percent"`
	// StartLag is how late sbload's timer handed each request to a client
	// against the schedule, in ms (a wait for a free client, which the
	// gateway's slowness causes, is not in it).
	StartLag Quantiles `json:"start_lag_ms"`
	// Saturated and Saturation are as in Report: start lag p99 above
	// 20 ms or sbload's CPU at 90% of its cores.
	Saturated  bool     `json:"saturated"`
	Saturation []string `json:"saturation,omitempty"`
}

// WriteText writes the report for people.
func (rep *SignalReport) WriteText(w io.Writer) {
	what, latency, perOK := "registers", "REGISTER → 200", "REGISTER answered 200"
	if rep.Mode == "calls" {
		what, latency, perOK = "calls", "setup (INVITE → 200)", "call set up"
	}
	fmt.Fprintf(w, "%s: %d clients, %d/%d %s ok in %.1f s: %.1f %s/s (target %.1f/s)\n",
		rep.Mode, rep.Clients, rep.OK, rep.Attempted, what, rep.Seconds, rep.PerSecond, what, rep.TargetRate)
	fmt.Fprintf(w, "  %s  p50 %.1f ms  p99 %.1f ms  max %.1f ms\n", latency, rep.Latency.P50, rep.Latency.P99, rep.Latency.Max)
	if len(rep.Failed) > 0 {
		fmt.Fprintf(w, "  failed: %s\n", counts(rep.Failed))
	}
	if rep.Mode == "calls" {
		fmt.Fprintf(w, "  completed (INVITE and BYE answered 200) %d/%d (%.2f%%), started %.1f calls/s\n",
			rep.Completed, rep.Attempted, rep.CompletedPercent, rep.StartedPerSecond)
	}
	if rep.GatewayCPU > 0 {
		fmt.Fprintf(w, "  gateway CPU %.2f s: %.1f µs per %s\n", rep.GatewayCPU, rep.GatewayCPUPerOK, perOK)
	}
	fmt.Fprintf(w, "  sbload: CPU %.2f cores of %d (%.1f µs per %s), machine busy %.0f%%; pacer lag p50 %.1f ms  p99 %.1f ms  max %.1f ms\n",
		rep.ClientCPU, rep.ClientCores, rep.ClientCPUPerOK, perOK, rep.HostBusy, rep.StartLag.P50, rep.StartLag.P99, rep.StartLag.Max)
	if rep.Saturated {
		fmt.Fprintf(w, "  sbload saturated: pacer lag p99 %.0f ms, CPU %.2f cores of %d: figures are not the gateway's (%s)\n",
			rep.StartLag.P99, rep.ClientCPU, rep.ClientCores, strings.Join(rep.Saturation, "; "))
	}
	if rep.HostBusy >= busyHost {
		fmt.Fprintf(w, "  machine saturated: its CPUs were %.0f%% busy: the gateway shared them with sbload and whatever else runs here\n", rep.HostBusy)
	}
}

// tally collects a signalling run's outcomes from its workers.
type tally struct {
	start  time.Time // reset by run before the first request
	ok     atomic.Int64
	failed atomic.Int64
	active atomic.Int64 // calls up now (Calls only)
	// Set by run once every worker is done: how long requests were
	// started for, and the gateway's CPU time over the run (gwCPUSet: PIDs
	// were given), sbload's own and the machine's.
	started  time.Duration
	gwCPU    time.Duration
	gwCPUSet bool
	ownCPU   time.Duration
	host     [2]hostTimes
	// lags is how late each request was handed out, in ns; written by
	// dispatch only, read once it returned.
	lags []int64

	mu        sync.Mutex
	attempted int            // guarded by mu
	completed int            // guarded by mu
	latencies []int64        // ns; guarded by mu
	causes    map[string]int // guarded by mu
	last      time.Time      // last 200; guarded by mu
}

func newTally() *tally { return &tally{start: time.Now(), causes: map[string]int{}} }

// run runs cfg.Calls copies of work, fed by dispatch, measures the
// gateway's CPU time over them and reports.
func (t *tally) run(ctx context.Context, cfg Config, mode string, work func(w int, jobs <-chan int)) (*SignalReport, error) {
	cpu0, err := cpuOf(cfg.GatewayPIDs)
	if err != nil {
		return nil, fmt.Errorf("loadgen: gateway CPU: %w", err)
	}
	own0, err0 := processCPU(os.Getpid())
	host0, err1 := readHostTimes()
	if err := errors.Join(err0, err1); err != nil {
		return nil, err
	}
	t.start = time.Now()
	t.started = runWorkers(ctx, cfg, t, mode, work)
	cpu1, err := cpuOf(cfg.GatewayPIDs)
	if err != nil {
		return nil, fmt.Errorf("loadgen: gateway CPU: %w", err)
	}
	own1, err0 := processCPU(os.Getpid())
	host1, err1 := readHostTimes()
	if err := errors.Join(err0, err1); err != nil {
		return nil, err
	}
	t.gwCPU, t.gwCPUSet = cpu1-cpu0, len(cfg.GatewayPIDs) > 0
	t.ownCPU, t.host = own1-own0, [2]hostTimes{host0, host1}
	return t.report(mode, cfg), nil
}

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

// complete counts an operation that ended as it should.
func (t *tally) complete() {
	t.mu.Lock()
	t.completed++
	t.mu.Unlock()
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
	rep.Completed = t.completed
	if rep.Attempted > 0 {
		rep.CompletedPercent = 100 * float64(rep.Completed) / float64(rep.Attempted)
	}
	if t.started > 0 {
		rep.StartedPerSecond = float64(rep.Attempted) / t.started.Seconds()
	}
	if t.gwCPUSet {
		rep.GatewayCPU = t.gwCPU.Seconds()
		if rep.OK > 0 {
			rep.GatewayCPUPerOK = float64(t.gwCPU.Microseconds()) / float64(rep.OK)
		}
	}
	rep.ClientCores, rep.HostBusy = runtime.GOMAXPROCS(0), busyPercent(t.host[0], t.host[1])
	if secs := time.Since(t.start).Seconds(); secs > 0 {
		rep.ClientCPU = t.ownCPU.Seconds() / secs
	}
	if rep.OK > 0 {
		rep.ClientCPUPerOK = float64(t.ownCPU.Microseconds()) / float64(rep.OK)
	}
	rep.StartLag = quantiles(t.lags, time.Millisecond)
	rep.Saturation = saturation(rep.StartLag.P99, 0, rep.ClientCPU, rep.ClientCores)
	rep.Saturated = len(rep.Saturation) > 0
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
// until cfg.Count jobs, cfg.Duration or ctx, then closes jobs. A job its
// timer woke it for late (this process short of CPU) goes at once and the
// schedule stands, so the rate offered is cfg.Rate. But when every worker is
// busy it waits for one and starts the schedule again from then, without
// catching up, so the rate achieved tells a saturated target.
// Each job's lateness against the schedule, when its timer woke, goes to
// lag.
func dispatch(ctx context.Context, cfg Config, jobs chan<- int, lag func(time.Duration)) {
	defer close(jobs)
	end := time.NewTimer(cfg.Duration)
	defer end.Stop()
	gap := time.Duration(float64(time.Second) / cfg.Rate)
	next := time.Now()
	for i := 0; cfg.Count == 0 || i < cfg.Count; i++ {
		if !waitUntil(ctx, end.C, next) {
			return
		}
		lag(time.Since(next))
		select {
		case jobs <- i:
		default:
			select {
			case jobs <- i:
			case <-ctx.Done():
				return
			case <-end.C:
				return
			}
			next = time.Now()
		}
		next = next.Add(gap)
	}
}

// waitUntil waits until t and reports whether it got there before ctx was
// done or end fired.
func waitUntil(ctx context.Context, end <-chan time.Time, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		select {
		case <-ctx.Done():
			return false
		case <-end:
			return false
		default:
			return true
		}
	}
	wait := time.NewTimer(d)
	defer wait.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-end:
		return false
	case <-wait.C:
		return true
	}
}

// runWorkers runs cfg.Calls copies of work, fed by dispatch, and a
// progress line a second, and returns once all are done, with how long
// dispatch ran.
func runWorkers(ctx context.Context, cfg Config, t *tally, mode string, work func(w int, jobs <-chan int)) time.Duration {
	jobs := make(chan int)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { t.progress(cfg.Progress, mode, stop) })
	var workers sync.WaitGroup
	for w := range cfg.Calls {
		workers.Go(func() { work(w, jobs) })
	}
	start := time.Now()
	dispatch(ctx, cfg, jobs, func(d time.Duration) { t.lags = append(t.lags, int64(d)) })
	started := time.Since(start)
	workers.Wait()
	close(stop)
	wg.Wait()
	return started
}
