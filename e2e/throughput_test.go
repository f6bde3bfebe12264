package e2e

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/internal/testkit/siptest"
)

// The throughput benchmarks drive the real binary from this process: 32
// WebSocket clients and, for calls, a UDP phone that answers at once. Besides
// the rate, they report the gateway process's own CPU time per operation
// (from /proc), which does not depend on how much CPU the clients took.
// Run with -benchtime=Nx, e.g. -benchtime=20000x.
//
// To measure another gateway under the same load (bench/README.md), set
// SB_BENCH_WS (its SIP WebSocket URL), SB_BENCH_UDP (its SIP UDP address) and
// SB_BENCH_PIDS (the space-separated PIDs whose CPU time is summed); it must
// accept REGISTER without authentication.

const benchClients = 32

const benchConfig = "registrar:\n  auth: false\nlimits:\n  requests_per_second_per_ip: 0\n"

func BenchmarkRegisterThroughBinary(b *testing.B) {
	g := startBenchTarget(b, benchConfig)
	uas := benchBrowsers(b, g)
	runParallel(b, g, uas, "registers", func(ctx context.Context, ua *siptest.UA) error {
		res, err := ua.Register(ctx, 300)
		if err == nil && res.StatusCode != 200 {
			err = fmt.Errorf("got %d", res.StatusCode)
		}
		return err
	})
}

func BenchmarkCallThroughBinary(b *testing.B) {
	g := startBenchTarget(b, benchConfig)
	phone, err := siptest.NewUDPPeer(siptest.WithAutoAnswer(nil))
	if err != nil {
		b.Fatal(err)
	}
	defer phone.Close()
	bob := phone.UA("bob", g.udp)
	bob.Domain = g.domain
	if res, err := bob.Register(context.Background(), 3600); err != nil || res.StatusCode != 200 {
		b.Fatalf("register phone: %v %v", res, err)
	}
	uas := benchBrowsers(b, g)
	sdp := siptest.WebRTCOffer("127.0.0.1", 40000) // a browser's offer: checked, then anchored
	target := uri("bob", g.domain)
	runParallel(b, g, uas, "calls", func(ctx context.Context, ua *siptest.UA) error {
		d, err := ua.Invite(ctx, target, sdp)
		if err == nil {
			_, err = d.Bye(ctx)
		}
		return err
	})
}

// benchTarget is the gateway a throughput benchmark drives.
type benchTarget struct {
	wsURL  string         // SIP WebSocket URL
	udp    netip.AddrPort // SIP UDP address
	domain string         // host users register under
	pids   []int          // processes whose CPU time is the gateway's
}

// startBenchTarget starts the switchboard binary with config, or returns
// the external gateway that SB_BENCH_WS, SB_BENCH_UDP and SB_BENCH_PIDS
// name.
func startBenchTarget(b *testing.B, config string) benchTarget {
	ws, udp, pids := os.Getenv("SB_BENCH_WS"), os.Getenv("SB_BENCH_UDP"), os.Getenv("SB_BENCH_PIDS")
	if ws == "" && udp == "" && pids == "" {
		g := StartGateway(b, config)
		return benchTarget{wsURL: g.WSURL(), udp: g.UDP, domain: g.Domain(), pids: []int{g.Pid()}}
	}
	addr, err := netip.ParseAddrPort(udp)
	if err != nil || ws == "" || pids == "" {
		b.Fatalf("external gateway: need SB_BENCH_WS, SB_BENCH_UDP (ip:port) and SB_BENCH_PIDS; got %q, %q, %q", ws, udp, pids)
	}
	t := benchTarget{wsURL: ws, udp: addr, domain: addr.Addr().String()}
	for _, f := range strings.Fields(pids) {
		pid, err := strconv.Atoi(f)
		if err != nil {
			b.Fatalf("SB_BENCH_PIDS: %v", err)
		}
		t.pids = append(t.pids, pid)
	}
	return t
}

func benchBrowsers(b *testing.B, g benchTarget) []*siptest.UA {
	uas := make([]*siptest.UA, benchClients)
	for i := range uas {
		ws, err := siptest.DialWS(context.Background(), g.wsURL)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { ws.Close() })
		uas[i] = &siptest.UA{Transport: ws, User: fmt.Sprintf("c%d", i), Domain: g.domain}
	}
	return uas
}

// runParallel runs b.N operations spread over the clients and reports the
// rate and the gateway's CPU time per operation.
func runParallel(b *testing.B, g benchTarget, uas []*siptest.UA, unit string, op func(context.Context, *siptest.UA) error) {
	var next atomic.Int64
	var failed atomic.Int64
	cpu0 := processCPU(b, g.pids)
	start := time.Now()
	b.ResetTimer()
	var wg sync.WaitGroup
	for _, ua := range uas {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				if err := op(ctx, ua); err != nil {
					failed.Add(1)
				}
				cancel()
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	elapsed := time.Since(start)
	cpu := processCPU(b, g.pids) - cpu0
	if n := failed.Load(); n > 0 {
		b.Errorf("%d of %d operations failed", n, b.N)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), unit+"/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "gateway-cpu-µs/op")
	b.ReportMetric(float64(b.N)/cpu.Seconds(), unit+"/gateway-core-s")
}

// processCPU is the user plus system CPU time of processes, from /proc.
func processCPU(b *testing.B, pids []int) time.Duration {
	var ticks int64
	for _, pid := range pids {
		raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			b.Fatal(err)
		}
		fields := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+2:]))
		utime, _ := strconv.ParseInt(fields[11], 10, 64)
		stime, _ := strconv.ParseInt(fields[12], 10, 64)
		ticks += utime + stime
	}
	return time.Duration(ticks) * time.Second / 100 // USER_HZ is 100 on Linux
}
