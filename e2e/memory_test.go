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

	"github.com/switchboard-gw/switchboard/internal/siptest"
)

// BenchmarkIdleClientMemory measures how much resident memory the real
// gateway process holds per idle, registered WebSocket client: it opens
// 2,000 clients, registers each, lets the gateway settle and compares the
// process's RSS with the RSS before. Run it with -benchtime=1x.
func BenchmarkIdleClientMemory(b *testing.B) {
	const clients = 2000
	for i := 0; i < b.N; i++ {
		g := StartGateway(b, "registrar:\n  auth: false\nlimits:\n  requests_per_second_per_ip: 0\n  max_connections_per_ip: 10000\n")
		before := settledRSS(b, g.Pid())
		conns := make([]*siptest.WSClient, 0, clients)
		for n := range clients {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			ws, err := siptest.DialWS(ctx, g.WSURL())
			if err != nil {
				cancel()
				b.Fatalf("client %d: %v", n, err)
			}
			ua := &siptest.UA{Transport: ws, User: fmt.Sprintf("u%d", n), Domain: g.Domain(),
				InstanceID: fmt.Sprintf("<urn:uuid:00000000-0000-4000-8000-%012d>", n), RegID: 1}
			if res, err := ua.Register(ctx, 3600); err != nil || res.StatusCode != 200 {
				cancel()
				b.Fatalf("register %d: %v %v", n, res, err)
			}
			cancel()
			conns = append(conns, ws)
		}
		after := settledRSS(b, g.Pid())
		b.ReportMetric(float64(after-before)/clients, "bytes/client")
		b.ReportMetric(float64(after)/(1<<20), "MiB-rss")
		for _, ws := range conns {
			ws.Close()
		}
		g.Stop(b)
	}
}

// settle is how long the gateway is left alone before its RSS is read. The
// Go runtime forces a collection every two minutes even when idle, which
// shrinks goroutine stacks grown while serving; SETTLE=130s waits for it.
var settle = func() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("SETTLE")); err == nil {
		return d
	}
	return 2 * time.Second
}()

// settledRSS reads VmRSS after the gateway has been left alone for settle.
func settledRSS(b *testing.B, pid int) int64 {
	b.Helper()
	runtime.GC()
	time.Sleep(settle)
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	b.Fatal("no VmRSS")
	return 0
}
