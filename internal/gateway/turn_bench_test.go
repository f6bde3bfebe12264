package gateway

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/switchboard-gw/switchboard/internal/config"
	"github.com/switchboard-gw/switchboard/internal/testkit/rtptest"
	"github.com/switchboard-gw/switchboard/internal/testkit/siptest"
)

// benchCalls is how many calls BenchmarkRelayedCalls holds at once.
const benchCalls = 20

// BenchmarkRelayedCalls runs benchCalls calls at once from pion browsers
// through the bridge to a plain RTP echo, each sending one packet of 20 ms
// of audio every 20 ms as a voice call does: "bridge" with the browsers'
// host candidates (the baseline), "turn-udp" relay-only (iceTransportPolicy
// "relay") through switchboard's TURN over UDP, with credentials from
// /turn/credentials. TURN is on in both, so that only the path differs.
// An op is one packet a browser sends; b.N is spread over the calls.
//
// The browsers and the echo run in a child process (the test binary
// again, TestRelayBenchFarm), so that the CPU time of this process, read
// with getrusage before and after, is the gateway's: TURN, bridge, SIP
// (idle during the run), and the benchmark's bookkeeping. -benchmem
// counts this process too: the gateway's allocations per packet sent.
//
//	p50-µs, p99-µs   round trip browser → [TURN →] bridge → echo → bridge → [TURN →] browser,
//	                 measured in the browser process; the added latency of
//	                 the relayed path is turn-udp's minus bridge's
//	pkts/core-s      packets the gateway carried to or from the browsers (each
//	                 sent and each received one) per second of its CPU time
//	turn-pkts/core-s packets TURN relayed (switchboard_turn_relayed_packets_total,
//	                 both directions) per second of the gateway's CPU time
//	gw-cpu-%         the gateway's CPU time over the run's wall time
//	browsers-cpu-%   the same for the child process
//	lost-%           packets sent that did not come back
//
//	go test -run '^$' -bench RelayedCalls -benchtime 2000x -count 6 ./internal/gateway/
func BenchmarkRelayedCalls(b *testing.B) {
	for _, path := range []string{"bridge", "turn-udp"} {
		b.Run(path, func(b *testing.B) { benchRelayedCalls(b, path == "turn-udp") })
	}
}

func benchRelayedCalls(b *testing.B, relay bool) {
	g := startGateway(b, func(c *config.Config) {
		withTURN(c)
		c.Limits.CallsPerUser, c.Limits.CallRatePerUser = 0, 0 // alice makes every call
	})
	farm := startFarm(b)
	alice := browser(b, g, "alice")
	register(b, alice)
	setup := farmSetup{Calls: benchCalls}
	if relay {
		code, servers := turnCredentials(b, g, "alice", "")
		if code != http.StatusOK || len(servers) != 1 {
			b.Fatalf("credentials: got %d %+v", code, servers)
		}
		servers[0].URLs = only(servers[0].URLs, "transport=udp")
		setup.Servers = servers
	}
	farm.send(setup)
	var offers farmOffers
	farm.recv(&offers)
	_, bob := phone(b, g, "bob", siptest.WithAutoAnswer(siptest.AudioSDP("127.0.0.1", offers.EchoPort)))
	register(b, bob)
	answers := farmAnswers{PerCall: max(1, b.N/benchCalls)}
	var dialogs []*siptest.Dialog
	for _, offer := range offers.Offers {
		d, err := alice.Invite(ctx(b), userURI(g, "bob"), []byte(offer))
		if err != nil {
			b.Fatalf("INVITE: %v", err)
		}
		dialogs = append(dialogs, d)
		answers.Answers = append(answers.Answers, string(d.Response.Body()))
	}
	b.Cleanup(func() {
		for _, d := range dialogs {
			_, _ = d.Bye(ctx(b))
		}
	})
	farm.send(answers)
	farm.recv(&farmReady{})

	turnBefore := relayedPackets(b, g)
	cpuBefore := processCPU(b)
	start := time.Now()
	b.ResetTimer()
	farm.send(struct{}{})
	var res farmResult
	farm.recv(&res)
	b.StopTimer()
	wall := time.Since(start)
	cpu := processCPU(b) - cpuBefore
	turn := relayedPackets(b, g) - turnBefore

	if res.Received == 0 {
		b.Fatalf("no packet came back of %d sent", res.Sent)
	}
	slices.Sort(res.RTTs)
	b.ReportMetric(float64(res.RTTs[len(res.RTTs)/2])/1e3, "p50-µs")
	b.ReportMetric(float64(res.RTTs[len(res.RTTs)*99/100])/1e3, "p99-µs")
	b.ReportMetric(float64(res.Sent+res.Received)/cpu.Seconds(), "pkts/core-s")
	if relay {
		b.ReportMetric(turn/cpu.Seconds(), "turn-pkts/core-s")
	}
	b.ReportMetric(100*cpu.Seconds()/wall.Seconds(), "gw-cpu-%")
	b.ReportMetric(100*time.Duration(res.CPU).Seconds()/wall.Seconds(), "browsers-cpu-%")
	b.ReportMetric(100*float64(res.Sent-res.Received)/float64(res.Sent), "lost-%")
}

// relayedPackets is switchboard_turn_relayed_packets_total over both
// directions.
func relayedPackets(b *testing.B, g *testGateway) float64 {
	mfs, err := g.Metrics().Gather()
	if err != nil {
		b.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() == "switchboard_turn_relayed_packets_total" {
			for _, m := range mf.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}

// processCPU is the user and system CPU time of this process so far.
func processCPU(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// The browser farm's conversation, one JSON value each way in turn: setup
// →, ← offers, answers →, ← ready, go →, ← result.
type (
	farmSetup struct {
		Calls   int
		Servers []webrtc.ICEServer // none: host candidates only
	}
	farmOffers struct {
		EchoPort int
		Offers   []string
	}
	farmAnswers struct {
		Answers []string
		PerCall int // packets each call sends
	}
	farmReady  struct{}
	farmResult struct {
		Sent, Received int64
		RTTs           []int64 // ns
		CPU            int64   // ns of the farm's CPU time during the run
	}
)

// farm is the browser farm child process as the benchmark sees it.
type farm struct {
	tb  testing.TB
	enc *json.Encoder
	dec *json.Decoder
}

// farmEnv, set in a child's environment, makes TestRelayBenchFarm run.
const farmEnv = "SWITCHBOARD_RELAY_BENCH_FARM"

func startFarm(tb testing.TB) *farm {
	tb.Helper()
	fromR, fromW, err := os.Pipe()
	if err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestRelayBenchFarm$")
	cmd.Env = append(os.Environ(), farmEnv+"=1")
	var out bytes.Buffer // the child's test output, shown if it fails
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.ExtraFiles = []*os.File{fromW}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	fromW.Close()
	tb.Cleanup(func() {
		stdin.Close() // the farm's cue to close its browsers and exit
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				tb.Errorf("browser farm: %v\n%s", err, out.Bytes())
			}
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
			tb.Errorf("browser farm did not exit\n%s", out.Bytes())
		}
		fromR.Close()
	})
	return &farm{tb: tb, enc: json.NewEncoder(stdin), dec: json.NewDecoder(fromR)}
}

func (f *farm) send(v any) {
	f.tb.Helper()
	if err := f.enc.Encode(v); err != nil {
		f.tb.Fatalf("to the browser farm: %v", err)
	}
}

func (f *farm) recv(v any) {
	f.tb.Helper()
	if err := f.dec.Decode(v); err != nil {
		f.tb.Fatalf("from the browser farm (its errors are above): %v", err)
	}
}

// TestRelayBenchFarm is BenchmarkRelayedCalls's browser farm, run only in
// the child process it starts: an RTP echo and the browsers, driven over
// stdin (orders) and file descriptor 3 (answers).
func TestRelayBenchFarm(t *testing.T) {
	if os.Getenv(farmEnv) == "" {
		t.Skip("the browser farm of BenchmarkRelayedCalls, run only by it")
	}
	dec := json.NewDecoder(os.Stdin)
	enc := json.NewEncoder(os.NewFile(3, "results"))
	var setup farmSetup
	if err := dec.Decode(&setup); err != nil {
		t.Fatal(err)
	}
	echo := newEcho(t)
	calls := make([]*farmCall, setup.Calls)
	offers := farmOffers{EchoPort: int(echo.Addr().Port())}
	for i := range calls {
		var br *rtptest.Browser
		var err error
		if setup.Servers != nil {
			br, err = rtptest.NewRelayBrowser(setup.Servers)
		} else {
			br, err = rtptest.NewBrowser()
		}
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { br.Close() })
		offer, err := br.Offer()
		if err != nil {
			t.Fatal(err)
		}
		calls[i] = newFarmCall(br)
		offers.Offers = append(offers.Offers, string(offer))
	}
	must(t, enc.Encode(offers))
	var answers farmAnswers
	must(t, dec.Decode(&answers))
	for i, c := range calls {
		must(t, c.br.SetAnswer([]byte(answers.Answers[i])))
	}
	for _, c := range calls {
		must(t, c.warm())
	}
	must(t, enc.Encode(farmReady{}))
	must(t, dec.Decode(&struct{}{}))

	cpu := processCPU(t)
	var wg sync.WaitGroup
	for i, c := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Spread the calls' packets over the 20 ms.
			time.Sleep(time.Duration(i) * 20 * time.Millisecond / time.Duration(len(calls)))
			c.run(answers.PerCall)
		}()
	}
	wg.Wait()
	var res farmResult
	for _, c := range calls {
		c.mu.Lock()
		res.Sent += c.sent
		res.Received += int64(len(c.rtts))
		res.RTTs = append(res.RTTs, c.rtts...)
		c.mu.Unlock()
	}
	res.CPU = int64(processCPU(t) - cpu)
	must(t, enc.Encode(res))
	_, _ = io.Copy(io.Discard, os.Stdin) // until the benchmark is done
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// farmCall is one browser of the farm. Each packet it sends carries the
// phase (warming up or running) and the time it was sent, since the farm
// started; the echo sends it back unchanged.
type farmCall struct {
	br   *rtptest.Browser
	base time.Time

	mu      sync.Mutex // guards what follows
	warmed  bool
	sent    int64
	rtts    []int64
	running bool
}

const (
	phaseWarm = 1
	phaseRun  = 2
)

func newFarmCall(br *rtptest.Browser) *farmCall {
	c := &farmCall{br: br, base: time.Now()}
	br.OnPayload(func(p []byte) {
		if len(p) < 9 {
			return
		}
		rtt := int64(time.Since(c.base)) - int64(binary.BigEndian.Uint64(p))
		c.mu.Lock()
		switch p[8] {
		case phaseWarm:
			c.warmed = true
		case phaseRun:
			if c.running {
				c.rtts = append(c.rtts, rtt)
			}
		}
		c.mu.Unlock()
	})
	return c
}

func (c *farmCall) packet(phase byte) []byte {
	p := make([]byte, 160)
	binary.BigEndian.PutUint64(p, uint64(time.Since(c.base)))
	p[8] = phase
	return p
}

// warm waits for ICE and DTLS, then sends a packet every 20 ms until one
// comes back, for up to 10 s in all.
func (c *farmCall) warm() error {
	wait, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.br.WaitConnected(wait); err != nil {
		return fmt.Errorf("ICE/DTLS with switchboard: %w", err)
	}
	for wait.Err() == nil {
		c.mu.Lock()
		warmed := c.warmed
		c.mu.Unlock()
		if warmed {
			return nil
		}
		_ = c.br.SendPayload(c.packet(phaseWarm))
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("no packet came back in 10 s; selected pair %v", c.br.SelectedPair())
}

// run sends n packets, one every 20 ms, and waits up to 500 ms for the
// last ones to come back.
func (c *farmCall) run(n int) {
	c.mu.Lock()
	c.running = true
	c.rtts = make([]int64, 0, n)
	c.mu.Unlock()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for range n {
		_ = c.br.SendPayload(c.packet(phaseRun))
		c.mu.Lock()
		c.sent++
		c.mu.Unlock()
		<-tick.C
	}
	for range 25 {
		c.mu.Lock()
		done := int64(len(c.rtts)) >= c.sent
		c.mu.Unlock()
		if done {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	c.mu.Lock()
	c.running = false
	c.mu.Unlock()
}
