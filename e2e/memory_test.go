package e2e

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/internal/testkit/siptest"
)

// BenchmarkIdleClientMemory measures how much memory a gateway holds per
// idle, registered WebSocket client: it opens SB_BENCH_CLIENTS clients
// (default 2,000), registers each, lets the gateway settle and compares its
// proportional set size (PSS) with the PSS before. Run it with
// -benchtime=1x.
//
// By default it starts the switchboard binary; with SB_BENCH_WS,
// SB_BENCH_UDP and SB_BENCH_PIDS set it measures that gateway instead (see
// throughput_test.go), summing over the listed processes. PSS, from
// /proc/PID/smaps_rollup, counts a page shared by n processes as 1/n in
// each, so the sum over Kamailio's processes counts its shared memory
// once, where a sum of RSS would count it in every process. For one
// process with nothing shared, as switchboard, PSS is its RSS.
func BenchmarkIdleClientMemory(b *testing.B) {
	clients := 2000
	if n, err := strconv.Atoi(os.Getenv("SB_BENCH_CLIENTS")); err == nil && n > 0 {
		clients = n
	}
	config := fmt.Sprintf("registrar:\n  auth: false\nlimits:\n  requests_per_second_per_ip: 0\n  max_connections_per_ip: %d\n", clients+100)
	for i := 0; i < b.N; i++ {
		g := startBenchTarget(b, config)
		before := settledPSS(b, g.pids)
		conns := make([]*siptest.WSClient, 0, clients)
		for n := range clients {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			ws, err := siptest.DialWS(ctx, g.wsURL)
			if err != nil {
				cancel()
				b.Fatalf("client %d: %v", n, err)
			}
			ua := &siptest.UA{Transport: ws, User: fmt.Sprintf("u%d", n), Domain: g.domain,
				InstanceID: fmt.Sprintf("<urn:uuid:00000000-0000-4000-8000-%012d>", n), RegID: 1}
			if res, err := ua.Register(ctx, 3600); err != nil || res.StatusCode != 200 {
				cancel()
				b.Fatalf("register %d: %v %v", n, res, err)
			}
			cancel()
			conns = append(conns, ws)
		}
		after := settledPSS(b, g.pids)
		b.ReportMetric(float64(after-before)/float64(clients), "bytes/client")
		b.ReportMetric(float64(after)/(1<<20), "MiB-pss")
		for _, ws := range conns {
			ws.Close()
		}
	}
}

// settle is how long the gateway is left alone before its memory is read.
// The Go runtime forces a collection every two minutes even when idle,
// which shrinks goroutine stacks grown while serving; SETTLE=130s waits for
// it.
var settle = func() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("SETTLE")); err == nil {
		return d
	}
	return 2 * time.Second
}()

// settledPSS is the summed PSS of pids after the gateway has been left
// alone for settle.
func settledPSS(b *testing.B, pids []int) int64 {
	b.Helper()
	runtime.GC()
	time.Sleep(settle)
	var total int64
	for _, pid := range pids {
		pss, err := processPSS(pid)
		if err != nil {
			b.Fatal(err)
		}
		total += pss
	}
	return total
}

// processPSS reads the Pss line of /proc/PID/smaps_rollup, in bytes.
func processPSS(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "Pss:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("/proc/%d/smaps_rollup: %w", pid, err)
			}
			return kb << 10, nil
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("/proc/%d/smaps_rollup: no Pss line", pid)
}
