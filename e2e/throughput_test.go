package e2e

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/internal/siptest"
)

// The throughput benchmarks drive the real binary from this process: 32
// WebSocket clients and, for calls, a UDP phone that answers at once. Besides
// the rate, they report the gateway process's own CPU time per operation
// (from /proc), which does not depend on how much CPU the clients took.
// Run with -benchtime=Nx, e.g. -benchtime=20000x.

const benchClients = 32

const benchConfig = "registrar:\n  auth: false\nlimits:\n  requests_per_second_per_ip: 0\n"

func BenchmarkRegisterThroughBinary(b *testing.B) {
	g := StartGateway(b, benchConfig)
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
	g := StartGateway(b, benchConfig)
	phone, err := siptest.NewUDPPeer(siptest.WithAutoAnswer(nil))
	if err != nil {
		b.Fatal(err)
	}
	defer phone.Close()
	bob := phone.UA("bob", g.UDP)
	bob.Domain = g.Domain()
	if res, err := bob.Register(context.Background(), 3600); err != nil || res.StatusCode != 200 {
		b.Fatalf("register phone: %v %v", res, err)
	}
	uas := benchBrowsers(b, g)
	sdp := siptest.AudioSDP("127.0.0.1", 40000)
	target := uri("bob", g.Domain())
	runParallel(b, g, uas, "calls", func(ctx context.Context, ua *siptest.UA) error {
		d, err := ua.Invite(ctx, target, sdp)
		if err == nil {
			_, err = d.Bye(ctx)
		}
		return err
	})
}

func benchBrowsers(b *testing.B, g *Gateway) []*siptest.UA {
	uas := make([]*siptest.UA, benchClients)
	for i := range uas {
		ws, err := siptest.DialWS(context.Background(), g.WSURL())
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { ws.Close() })
		uas[i] = &siptest.UA{Transport: ws, User: fmt.Sprintf("c%d", i), Domain: g.Domain()}
	}
	return uas
}

// runParallel runs b.N operations spread over the clients and reports the
// rate and the gateway's CPU time per operation.
func runParallel(b *testing.B, g *Gateway, uas []*siptest.UA, unit string, op func(context.Context, *siptest.UA) error) {
	var next atomic.Int64
	var failed atomic.Int64
	cpu0 := processCPU(b, g.Pid())
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
	cpu := processCPU(b, g.Pid()) - cpu0
	if n := failed.Load(); n > 0 {
		b.Errorf("%d of %d operations failed", n, b.N)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), unit+"/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "gateway-cpu-µs/op")
	b.ReportMetric(float64(b.N)/cpu.Seconds(), unit+"/gateway-core-s")
}

// processCPU is the user plus system CPU time of a process, from /proc.
func processCPU(b *testing.B, pid int) time.Duration {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	fields := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+2:]))
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / 100 // USER_HZ is 100 on Linux
}
