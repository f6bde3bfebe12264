package loadgen

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"
)

// runner is one run: its callers, their pacer and what they measured.
type runner struct {
	mode    string
	cfg     Config
	clock   clock
	total   counters
	pacer   *pacers
	far     *farEnd
	id      *identity
	localIP netip.Addr
	place   func(ctx context.Context, i int) (session, time.Duration, error)

	// setupLag[i] is how late call i's set-up started against the ramp's
	// schedule, in ns; written by call i's goroutine, read once all are done.
	setupLag []int64
	started  int // calls the ramp started

	mu       sync.Mutex
	sessions []session       // guarded by mu
	setups   []time.Duration // guarded by mu
	failed   map[string]int  // guarded by mu
}

// Run places cfg.Calls calls through the gateway at cfg.Rate, lets them
// all send for cfg.Duration, hangs up and reports.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	id, far, err := gatewayEnds(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer far.close()
	r := newRunner("gateway", cfg, far, localIPFor(cfg.SIPAddr))
	r.id = id
	r.place = r.placeGateway
	return r.run(ctx)
}

// Baseline runs the same callers, pacing and packets as Run straight
// against echoes, with no gateway: the reference Added subtracts.
func Baseline(ctx context.Context, cfg Config) (*Report, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	cfg.GatewayPIDs = nil
	far, err := newFarEnd(ctx, cfg, false)
	if err != nil {
		return nil, err
	}
	defer far.close()
	r := newRunner("baseline", cfg, far, netip.AddrFrom4([4]byte{127, 0, 0, 1}))
	r.place = r.placeDirect
	return r.run(ctx)
}

// gatewayEnds checks that cfg names a gateway and makes what the calls
// through it share: the callers' DTLS identity, and the echoes behind the
// gateway with a phone registered for each.
func gatewayEnds(ctx context.Context, cfg Config) (*identity, *farEnd, error) {
	if err := cfg.checkGateway(); err != nil {
		return nil, nil, err
	}
	id, err := newIdentity()
	if err != nil {
		return nil, nil, err
	}
	far, err := newFarEnd(ctx, cfg, true)
	if err != nil {
		return nil, nil, err
	}
	return id, far, nil
}

func newRunner(mode string, cfg Config, far *farEnd, ip netip.Addr) *runner {
	return &runner{mode: mode, cfg: cfg, clock: clock{epoch: time.Now()}, pacer: newPacers(pacersFor(cfg.Calls)),
		far: far, localIP: ip, failed: map[string]int{}, setupLag: make([]int64, cfg.Calls)}
}

// localIPFor is the local address that reaches addr: 127.0.0.1 for a
// gateway on loopback. No packet is sent.
func localIPFor(addr netip.AddrPort) netip.Addr {
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(addr))
	if err != nil {
		return netip.AddrFrom4([4]byte{127, 0, 0, 1})
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).AddrPort().Addr().Unmap()
}

// run ramps up, measures the steady window, stops sending, waits for the
// last packets, hangs up and reports.
func (r *runner) run(ctx context.Context) (*Report, error) {
	r.pacer.run()
	wr, err := r.sample()
	if err != nil {
		r.pacer.Stop()
		return nil, err
	}
	r.ramp(ctx)
	if ctx.Err() != nil {
		r.pacer.Stop()
		r.hangupAll()
		return nil, ctx.Err()
	}
	r.pacer.phase.Store(phaseSteady)
	w0, err := r.sample()
	if err == nil {
		r.hold(ctx)
	}
	w1, err1 := r.sample()
	r.pacer.Stop()
	r.drain()
	hangupErrs := r.hangupAll()
	if err = errors.Join(err, err1, ctx.Err()); err != nil {
		return nil, err
	}
	rep := r.report(wr, w0, w1)
	rep.HangupErrors = hangupErrs
	return rep, nil
}

// ramp starts the calls at cfg.Rate, each on a goroutine of its own, and
// waits until every one is up or has failed.
func (r *runner) ramp(ctx context.Context) {
	var wg sync.WaitGroup
	start := time.Now()
	gap := time.Duration(float64(time.Second) / r.cfg.Rate)
	progress := time.NewTicker(time.Second)
	defer progress.Stop()
	for i := 0; i < r.cfg.Calls && ctx.Err() == nil; i++ {
		due := start.Add(time.Duration(i) * gap)
		wg.Go(func() {
			r.setupLag[i] = int64(time.Since(due))
			r.placeOne(ctx, i)
		})
		r.started++
		r.wait(ctx, start.Add(time.Duration(i+1)*gap), progress.C, "ramp")
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for {
		select {
		case <-done:
			return
		case <-progress.C:
			r.progress("ramp")
		}
	}
}

// wait sleeps until t or the end of ctx, printing a progress line of
// phase at each tick meanwhile.
func (r *runner) wait(ctx context.Context, t time.Time, progress <-chan time.Time, phase string) {
	timer := time.NewTimer(time.Until(t))
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
			return
		case <-progress:
			r.progress(phase)
		}
	}
}

func (r *runner) placeOne(ctx context.Context, i int) {
	cctx, cancel := context.WithTimeout(ctx, r.cfg.SetupTimeout)
	defer cancel()
	s, setup, err := r.place(cctx, i)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.failed[causeOf(err)]++
		return
	}
	r.sessions = append(r.sessions, s)
	r.setups = append(r.setups, setup)
	r.pacer.add(s.media())
}

// hold lets every call send for the steady window.
func (r *runner) hold(ctx context.Context) {
	progress := time.NewTicker(time.Second)
	defer progress.Stop()
	r.wait(ctx, time.Now().Add(r.cfg.Duration), progress.C, "steady")
}

// drain waits until every packet sent in the steady window came back, or
// cfg.Drain.
func (r *runner) drain() {
	deadline := time.Now().Add(r.cfg.Drain)
	for time.Now().Before(deadline) && r.total.recv[phaseSteady].Load() < r.total.sent[phaseSteady].Load() {
		time.Sleep(10 * time.Millisecond)
	}
}

// hangupAll ends every call, 32 at a time, and counts failed BYEs.
func (r *runner) hangupAll() int {
	r.mu.Lock()
	sessions := r.sessions
	r.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), r.cfg.SetupTimeout)
	defer cancel()
	var wg sync.WaitGroup
	var mu sync.Mutex
	failed := 0
	sem := make(chan struct{}, 32)
	for _, s := range sessions {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if s.hangup(ctx) != nil {
				mu.Lock()
				failed++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return failed
}

func (r *runner) progress(phase string) {
	r.mu.Lock()
	up, failed := len(r.sessions), 0
	for _, n := range r.failed {
		failed += n
	}
	r.mu.Unlock()
	sent := r.total.sent[phaseRamp].Load() + r.total.sent[phaseSteady].Load()
	recv := r.total.recv[phaseRamp].Load() + r.total.recv[phaseSteady].Load()
	fmt.Fprintf(r.cfg.Progress, "%s %s %6.1fs calls up %d/%d failed %d  packets sent %d received %d  pacer lag max %d ms\n",
		r.mode, phase, time.Duration(r.clock.now()).Seconds(), up, r.cfg.Calls, failed, sent, recv, r.pacer.lagMax())
}

// window is a sample of the counters at the start of the ramp or at one
// edge of the steady window.
type window struct {
	at                  time.Time
	clientCPU, gwCPU    time.Duration
	host                hostTimes
	echoed, callersRecv int64
}

func (r *runner) sample() (window, error) {
	w := window{at: time.Now(), echoed: r.far.echoed(),
		callersRecv: r.total.recv[phaseRamp].Load() + r.total.recv[phaseSteady].Load()}
	var err error
	if w.clientCPU, err = processCPU(os.Getpid()); err != nil {
		return w, err
	}
	if w.gwCPU, err = cpuOf(r.cfg.GatewayPIDs); err != nil {
		return w, fmt.Errorf("loadgen: gateway CPU: %w", err)
	}
	if w.host, err = readHostTimes(); err != nil {
		return w, err
	}
	return w, nil
}
