package e2e

import (
	"context"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/internal/loadgen"
)

// The media load benchmark: light WebRTC callers (internal/loadgen) call
// RTP echoes through the real binary, every call sending a 20 ms G.711
// packet each way. Run it with -benchtime=1x; SB_MEDIA_CALLS sets the
// number of concurrent calls (default 100), SB_MEDIA_DURATION the steady
// window (default 10s):
//
//	SB_MEDIA_CALLS=200 go test -count=1 -run '^$' -bench MediaCalls -benchtime=1x ./e2e/
//
// It first runs the same load without the gateway (loadgen.Baseline) for
// the added latency. Gateway and client CPU come from /proc over the steady
// window; the client's is this process (callers, pacer and echoes), so a
// reader can tell which side ran out of CPU first.

// mediaBenchConfig is the gateway the media benchmark measures: it refuses
// no call under load (media.refuse_overload), like bench/run.sh's, so that
// a step past capacity shows as loss, not as fewer calls.
const mediaBenchConfig = "registrar:\n  auth: false\nlimits:\n  requests_per_second_per_ip: 0\nmedia:\n  refuse_overload: false\n"

func BenchmarkMediaCalls(b *testing.B) {
	calls := envInt(b, "SB_MEDIA_CALLS", 100)
	window := 10 * time.Second
	if v := os.Getenv("SB_MEDIA_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			b.Fatalf("SB_MEDIA_DURATION: %v", err)
		}
		window = d
	}
	for range b.N {
		g := StartGateway(b, mediaBenchConfig)
		var progress strings.Builder
		cfg := loadgen.Config{WSURL: g.WSURL(), SIPAddr: g.UDP, Calls: calls, Duration: window,
			GatewayPIDs: []int{g.Pid()}, Progress: &progress}
		res, err := loadgen.Measure(context.Background(), cfg, true)
		if err != nil {
			b.Fatalf("%v\n%s", err, progress.String())
		}
		var text strings.Builder
		res.WriteText(&text)
		b.Logf("\n%s", text.String())
		if res.Gateway.Up == 0 {
			b.Fatal("no call came up")
		}
		reportMedia(b, res)
		g.Stop(b)
	}
}

func reportMedia(b *testing.B, res *loadgen.Result) {
	gw := res.Gateway
	b.ReportMetric(float64(gw.Up), "calls")
	b.ReportMetric(gw.GatewayCPU, "gateway-cores")
	b.ReportMetric(gw.ClientCPU, "client-cores")
	b.ReportMetric(gw.DeliveredPerSecond, "relayed-pkt/s")
	b.ReportMetric(gw.PacketsPerGatewayCore, "pkt/gateway-core-s")
	b.ReportMetric(gw.CallsPerGatewayCore, "calls/gateway-core")
	b.ReportMetric(gw.Loss, "loss-%")
	b.ReportMetric(gw.RTT.P50, "rtt-p50-µs")
	b.ReportMetric(gw.RTT.P99, "rtt-p99-µs")
	b.ReportMetric(res.Added.P50, "added-p50-µs")
	b.ReportMetric(res.Added.P99, "added-p99-µs")
	b.ReportMetric(gw.Setup.P99, "setup-p99-ms")
}

// TestMediaLoadThroughBinary is the benchmark in miniature, so that the
// load client keeps working: a few calls, a second of media, no loss.
func TestMediaLoadThroughBinary(t *testing.T) {
	checkNoLoadgenLeaks(t)
	g := StartGateway(t, mediaBenchConfig)
	cfg := loadgen.Config{WSURL: g.WSURL(), SIPAddr: g.UDP, Calls: 4, Duration: time.Second,
		GatewayPIDs: []int{g.Pid()}, Progress: io.Discard}
	rep, err := loadgen.Run(testCtx(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Up != 4 || rep.Received == 0 || rep.Received != rep.Sent || rep.Bad != 0 {
		var text strings.Builder
		rep.WriteText(&text)
		t.Errorf("got %d/4 calls up, %d of %d packets back, %d bad, want 4, all, 0:\n%s",
			rep.Up, rep.Received, rep.Sent, rep.Bad, text.String())
	}
}

// checkNoLoadgenLeaks fails t if a goroutine of the load client (its
// callers' ICE agents, DTLS sessions and sockets) outlives the test.
func checkNoLoadgenLeaks(t *testing.T) {
	t.Cleanup(func() {
		deadline := time.Now().Add(2 * time.Second)
		for {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			var leaked []string
			for g := range strings.SplitSeq(string(buf), "\n\n") {
				if strings.Contains(g, "internal/loadgen.") || strings.Contains(g, "pion/ice/") || strings.Contains(g, "pion/dtls/") {
					leaked = append(leaked, g)
				}
			}
			if len(leaked) == 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Errorf("load client goroutines left running:\n%s", strings.Join(leaked, "\n\n"))
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

func envInt(b *testing.B, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		b.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}
