package loadgen

import (
	"context"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/internal/config"
	"github.com/switchboard-gw/switchboard/internal/gateway"
)

// startGateway runs a real gateway on loopback ports the kernel picks, as
// internal/gateway's tests do, and returns a Config aimed at it.
// loopback0 is a listen address on loopback with a port the kernel picks.
var loopback0 = netip.MustParseAddrPort("127.0.0.1:0")

func startGateway(t *testing.T, mutate func(*config.Config)) Config {
	t.Helper()
	cfg := config.Embedded()
	cfg.Listen = config.Listen{HTTP: loopback0, UDP: loopback0, TCP: loopback0}
	cfg.Shutdown.DrainTimeout = time.Second
	cfg.Limits.RequestsPerSecondPerIP = 0
	cfg.Media.WebRTCListen = loopback0
	if mutate != nil {
		mutate(cfg)
	}
	g, err := gateway.New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("gateway.New: %v", err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	t.Cleanup(func() { stop(); <-done })
	a := g.Addrs()
	return Config{WSURL: "ws://" + a.HTTP.String() + "/ws", SIPAddr: a.UDP, SetupTimeout: 3 * time.Second}
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func withUsers(password string, names ...string) func(*config.Config) {
	return func(c *config.Config) {
		c.Registrar.Auth = true
		for _, n := range names {
			c.Registrar.Users = append(c.Registrar.Users, config.User{Username: n, Password: password})
		}
	}
}

func TestRegisterStorm(t *testing.T) {
	checkNoLeaks(t) // here: a subtest's parent is in this package too
	tests := []struct {
		name       string
		gateway    func(*config.Config)
		password   string
		wantOK     int
		wantFailed map[string]int
	}{
		{name: "open registrar", wantOK: 20},
		{name: "digest auth", gateway: withUsers("pw", "sbload-0", "sbload-1", "sbload-2", "sbload-3"), password: "pw", wantOK: 20},
		{name: "no password", gateway: withUsers("pw", "sbload-0", "sbload-1", "sbload-2", "sbload-3"), wantFailed: map[string]int{"sip_401": 20}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := startGateway(t, tt.gateway)
			cfg.Calls, cfg.Count, cfg.Rate, cfg.Duration, cfg.Password = 4, 20, 200, 3*time.Second, tt.password
			rep, err := Register(testContext(t), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Attempted != 20 || rep.OK != tt.wantOK || !sameCounts(rep.Failed, tt.wantFailed) {
				t.Errorf("got %d attempted, %d ok, failed %v; want 20, %d, %v", rep.Attempted, rep.OK, rep.Failed, tt.wantOK, tt.wantFailed)
			}
			if tt.wantOK > 0 && (rep.PerSecond <= 0 || rep.Latency.P50 <= 0 || rep.Latency.P50 > rep.Latency.P99) {
				t.Errorf("got %.1f/s, latency %+v; want a rate and 0 < p50 ≤ p99", rep.PerSecond, rep.Latency)
			}
		})
	}
}

func TestCallsWithoutMedia(t *testing.T) {
	checkNoLeaks(t)
	cfg := startGateway(t, nil)
	cfg.Calls, cfg.Count, cfg.Rate, cfg.Hold, cfg.Duration, cfg.Echoes = 5, 15, 50, 200*time.Millisecond, 3*time.Second, 2
	cfg.GatewayPIDs = []int{os.Getpid()} // the gateway runs in this process
	rep, err := Calls(testContext(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Attempted != 15 || rep.OK != 15 || rep.Completed != 15 || len(rep.Failed) != 0 {
		t.Errorf("got %d attempted, %d set up, %d completed, failed %v; want 15, 15, 15, none", rep.Attempted, rep.OK, rep.Completed, rep.Failed)
	}
	if rep.Latency.P50 <= 0 || rep.Latency.P50 > rep.Latency.P99 || rep.PerSecond <= 0 {
		t.Errorf("got setup %+v, %.1f calls/s; want 0 < p50 ≤ p99 and a rate", rep.Latency, rep.PerSecond)
	}
	// 5 clients, each holding its call 200 ms, start about 25 calls a
	// second (the first 5 at once): below the 50/s asked for.
	if rep.CompletedPercent != 100 || rep.StartedPerSecond < 10 || rep.StartedPerSecond > 40 {
		t.Errorf("got %.1f%% completed, started %.1f/s; want 100%%, 10–40/s", rep.CompletedPercent, rep.StartedPerSecond)
	}
	if rep.GatewayCPU <= 0 || rep.GatewayCPUPerOK <= 0 {
		t.Errorf("got gateway CPU %.3f s, %.1f µs per call; want both above 0", rep.GatewayCPU, rep.GatewayCPUPerOK)
	}
	if rep.ClientCores != runtime.GOMAXPROCS(0) || rep.ClientCPU <= 0 || rep.ClientCPUPerOK <= 0 || rep.HostBusy <= 0 ||
		rep.StartLag.P50 > rep.StartLag.P99 || rep.StartLag.P99 > rep.StartLag.Max {
		t.Errorf("got sbload's %d cores, CPU %.3f cores, %.1f µs per call, machine %.0f%% busy, start lag %+v; want GOMAXPROCS, the rest above 0, 0 ≤ p50 ≤ p99 ≤ max",
			rep.ClientCores, rep.ClientCPU, rep.ClientCPUPerOK, rep.HostBusy, rep.StartLag)
	}
}

func TestRunReportsFirstAudioAndJitter(t *testing.T) {
	checkNoLeaks(t)
	cfg := startGateway(t, nil)
	cfg.Calls, cfg.Duration, cfg.Rate, cfg.Echoes = 3, 500*time.Millisecond, 50, 1
	rep, err := Run(testContext(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Up != 3 || rep.Received == 0 {
		t.Fatalf("got %d calls up, %d packets back; want 3, some", rep.Up, rep.Received)
	}
	if rep.DTLSAfterAnswer.Max <= 0 || rep.DTLSAfterAnswer.Max > rep.Setup.Max || rep.FirstAudioAfterAnswer.P50 < rep.DTLSAfterAnswer.P50 {
		t.Errorf("got DTLS after 200 %+v, first audio after 200 %+v, setup %+v; want 0 < DTLS ≤ setup ≤ first audio",
			rep.DTLSAfterAnswer, rep.FirstAudioAfterAnswer, rep.Setup)
	}
	if rep.FirstAudio.P50 < rep.Setup.P50 || rep.FirstAudio.P99 <= 0 {
		t.Errorf("got first audio %+v, setup %+v; want first audio ≥ setup", rep.FirstAudio, rep.Setup)
	}
	if rep.Jitter <= 0 || rep.Jitter > rep.JitterMax {
		t.Errorf("got jitter %.3f ms, worst %.3f ms; want 0 < mean ≤ worst", rep.Jitter, rep.JitterMax)
	}
	checkOwnFigures(t, rep)
}

// checkOwnFigures checks what a run says of sbload itself: its cores, its
// CPU in the ramp and per set-up, the machine's, and its lateness; whether
// it was saturated depends on the machine, and is only checked to agree
// with the text.
func checkOwnFigures(t *testing.T, rep *Report) {
	t.Helper()
	if rep.ClientCores != runtime.GOMAXPROCS(0) || rep.ClientCPURamp <= 0 || rep.ClientCPUPerSetup <= 0 {
		t.Errorf("got %d cores, ramp CPU %.3f cores, %.2f ms per set-up; want GOMAXPROCS, both above 0",
			rep.ClientCores, rep.ClientCPURamp, rep.ClientCPUPerSetup)
	}
	if rep.HostBusyRamp <= 0 || rep.HostBusyRamp > 100 || rep.HostBusyWindow < 0 || rep.HostBusyWindow > 100 {
		t.Errorf("got machine busy %.1f%% (ramp), %.1f%% (window); want percentages, the ramp's above 0", rep.HostBusyRamp, rep.HostBusyWindow)
	}
	for name, q := range map[string]Quantiles{"set-up": rep.SetupLag, "send": rep.SendLag} {
		if q.P50 < 0 || q.P50 > q.P99 || q.P99 > q.Max {
			t.Errorf("%s lag: got %+v, want 0 ≤ p50 ≤ p99 ≤ max", name, q)
		}
	}
	var text strings.Builder
	rep.WriteText(&text)
	if !strings.Contains(text.String(), "sbload pacer lag: set-ups p50") || strings.Contains(text.String(), "sbload saturated") != rep.Saturated {
		t.Errorf("text: got\n%s\nwant sbload's pacer lag, and a saturation line only if saturated (%v)", text.String(), rep.Saturated)
	}
}

func sameCounts(got, want map[string]int) bool {
	if len(got) != len(want) {
		return false
	}
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}

func TestUpdateJitter(t *testing.T) {
	// Packets 20 ms apart in RTP time arriving 20 ms, then 30 ms, apart:
	// D = 10 ms once, so J = 10/16 ms.
	s := &stream{}
	s.updateJitter(0, 0)
	s.updateJitter(int64(20*time.Millisecond), 160)
	s.updateJitter(int64(50*time.Millisecond), 320)
	if want := float64(10*time.Millisecond) / 16; s.jitter != want {
		t.Errorf("got jitter %v ns, want %v", s.jitter, want)
	}
}
