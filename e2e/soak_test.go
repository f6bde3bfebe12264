package e2e

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/internal/loadgen"
)

// TestSoak churns browsers, TCP phones and hostile clients through the
// real binary, then checks that the gateway is back where it started:
// goroutines, descriptors and heap at the baseline, no connection left,
// and still serving. The CI size runs in under a minute; SB_SOAK=full
// (make soak) churns thousands, within about five minutes.
func TestSoak(t *testing.T) {
	size := smokeSoak
	if os.Getenv("SB_SOAK") == "full" {
		size = fullSoak
	}
	start := time.Now()
	// A low GOGC keeps the gateway's heap in use near its live heap, so
	// that garbage the churn left uncollected does not pass for a leak.
	t.Setenv("GOGC", "25")
	g := StartGateway(t, soakConfig(size.mediaCalls))
	warmUp(t, g)
	base := settledFootprint(t, g, 3*time.Second, 5)
	t.Logf("baseline: %v", base)

	churned := runChurn(t, g, size)
	churnEnd := time.Now()
	for _, c := range churned.all() {
		t.Log(c)
		if n := c.failed.Load(); n > 0 {
			t.Errorf("%s", c)
		}
	}
	awaitBaseline(t, g, base, size.settle)
	// Nonces stay in the digest replay table until they expire and the
	// next login prunes them: let them expire; the fresh client prunes.
	time.Sleep(time.Until(churnEnd.Add(soakNonceTTL)))
	checkStillServes(t, g)
	after := settledFootprint(t, g, 2*time.Second, 5)
	t.Logf("after:    %v", after)
	checkBaseline(t, base, after)
	checkCounters(t, g, churned)
	t.Logf("soak %s: %d WebSocket and %d TCP connections, %d registrations, %d calls (%d with media) in %v",
		size.name, churned.connections(), churned.tcp.done.Load(), churned.registrations(),
		churned.calls(), churned.media.done.Load()*int64(size.mediaCalls), time.Since(start).Round(time.Second))
}

// soakSize is how much a soak churns.
type soakSize struct {
	name       string
	browsers   int           // WebSocket clients that register and unregister
	callEvery  int           // every callEvery-th browser also calls echo
	phones     int           // TCP clients, spread over tcpEndings
	hostile    int           // hostile WebSocket clients, spread over hostileKinds
	mediaCalls int           // WebRTC calls with media (loadgen) per wave
	waves      int           // media waves
	workers    int           // browsers and phones at once, each
	budget     time.Duration // the churn stops starting clients after this
	settle     time.Duration // most time the gateway gets to return to its baseline
}

var (
	smokeSoak = soakSize{name: "smoke", browsers: 240, callEvery: 2, phones: 300, hostile: 160,
		mediaCalls: 6, waves: 2, workers: 12, budget: 30 * time.Second, settle: 15 * time.Second}
	fullSoak = soakSize{name: "full", browsers: 3000, callEvery: 2, phones: 4000, hostile: 1600,
		mediaCalls: 20, waves: 10, workers: 24, budget: 4 * time.Minute, settle: 30 * time.Second}
)

// soakUsers is how many users the browsers and phones share.
const (
	soakUsers    = 16
	soakPassword = "soak-secret"
	soakNonceTTL = 5 * time.Second
)

func soakUser(k int) string { return fmt.Sprintf("soak-%d", k) }

// soakConfig turns digest auth on (MD5 first: the siptest UA's answer
// works with both) for the soak's users, loadgen's callers and echo
// phones (all with soakPassword), and mallory, whose password the
// hostile clients guess. Nonces expire after soakNonceTTL, so that the
// replay table is empty again soon after the churn. Silent TCP and WebSocket clients are closed
// after a second; T1 of 100 ms lets UDP transactions end in 6.4 s.
func soakConfig(mediaCalls int) string {
	var b strings.Builder
	b.WriteString("sip:\n  t1: 100ms\nregistrar:\n  digest_algorithms: [MD5, SHA-256]\n  users:\n")
	user := func(name, password string) { fmt.Fprintf(&b, "    - {username: %s, password: %s}\n", name, password) }
	for k := range soakUsers {
		user(soakUser(k), soakPassword)
	}
	for k := range mediaCalls {
		user(fmt.Sprintf("sbload-%d", k), soakPassword) // loadgen.DefaultUser
	}
	for k := range loadgen.DefaultEchoes {
		user(fmt.Sprintf("sbload-echo-%d", k), soakPassword) // loadgen's echo phones
	}
	user("mallory", "mallory-secret")
	fmt.Fprintf(&b, "  nonce_ttl: %v\n", soakNonceTTL)
	// A few users place every browser call, faster than a person would:
	// the per-user call rate (2 a second by default) is not what the soak
	// is about, so it is turned off.
	b.WriteString("limits:\n  first_message_timeout: 1s\n  call_rate_per_user: 0\nwebsocket:\n  handshake_timeout: 1s\n")
	return b.String()
}

// warmUp runs one client of each kind, so that what the gateway creates
// once, on first use (pools, lazily started loops), is in the baseline.
func warmUp(t *testing.T, g *Gateway) {
	t.Helper()
	ctx := testCtx(t)
	for i, err := range []error{browserLife(ctx, g, 0, true), phoneLife(ctx, g, 0), hostileLife(ctx, g, 4), mediaWave(ctx, g, 1)} {
		if err != nil {
			t.Fatalf("warm-up client %d: %v", i, err)
		}
	}
}

// churned is what a soak ran.
type churned struct {
	browsers, tcp, media *tally
	hostile              map[string]*tally
	callEvery            int
	mediaCalls           int
}

func (c *churned) all() []*tally {
	out := []*tally{c.browsers, c.tcp, c.media}
	for _, k := range hostileKinds {
		out = append(out, c.hostile[k])
	}
	return out
}

// connections counts the WebSocket connections opened (media calls open
// one each; the hostile ones that never upgraded included).
func (c *churned) connections() int64 {
	n := c.browsers.done.Load() + c.media.done.Load()*int64(c.mediaCalls)
	for _, h := range c.hostile {
		n += h.done.Load()
	}
	return n
}

func (c *churned) registrations() int64 {
	return c.browsers.done.Load() + c.tcp.done.Load()*2/5 + c.hostile["wrong_password"].done.Load()
}

func (c *churned) calls() int64 {
	return c.browsers.done.Load()/int64(c.callEvery) + c.media.done.Load()*int64(c.mediaCalls)
}

// runChurn runs the browsers, the TCP phones, the hostile clients and the
// media waves side by side, each bounded by size's count and budget.
func runChurn(t *testing.T, g *Gateway, size soakSize) *churned {
	ctx, cancel := context.WithTimeout(context.Background(), size.budget)
	defer cancel()
	c := &churned{browsers: &tally{name: "browsers"}, tcp: &tally{name: "tcp phones"},
		media: &tally{name: "media waves"}, hostile: map[string]*tally{},
		callEvery: size.callEvery, mediaCalls: size.mediaCalls}
	for _, k := range hostileKinds {
		c.hostile[k] = &tally{name: "hostile " + k}
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		churn(ctx, c.browsers, size.browsers, size.workers, func(ctx context.Context, i int) error {
			return browserLife(ctx, g, i, i%size.callEvery == 0)
		})
	})
	wg.Go(func() {
		churn(ctx, c.tcp, size.phones, size.workers, func(ctx context.Context, i int) error {
			return phoneLife(ctx, g, i)
		})
	})
	wg.Go(func() {
		var all tally
		churn(ctx, &all, size.hostile, size.workers/2, func(ctx context.Context, i int) error {
			err := hostileLife(ctx, g, i)
			c.hostile[hostileKinds[i%len(hostileKinds)]].record(i, err)
			return err
		})
	})
	wg.Go(func() {
		churn(ctx, c.media, size.waves, 1, func(ctx context.Context, _ int) error {
			return mediaWave(ctx, g, size.mediaCalls)
		})
	})
	wg.Wait()
	if ctx.Err() != nil {
		t.Logf("the churn ran out of its %v budget", size.budget)
	}
	return c
}

// mediaWave places calls real WebRTC calls (ICE, DTLS, SRTP) through the
// gateway to loadgen's RTP echoes, a second of audio each, and hangs up.
func mediaWave(ctx context.Context, g *Gateway, calls int) error {
	cfg := loadgen.Config{WSURL: g.WSURL(), SIPAddr: g.UDP, Calls: calls, Duration: time.Second,
		Drain: 200 * time.Millisecond, Password: soakPassword, Progress: io.Discard,
		Echoes: loadgen.DefaultEchoes} // the echo phones soakConfig has users for, whatever the cores
	rep, err := loadgen.Run(ctx, cfg)
	if err != nil {
		return err
	}
	if rep.Up != calls || rep.Received == 0 || rep.Received != rep.Sent || rep.Bad != 0 {
		var text strings.Builder
		rep.WriteText(&text)
		return fmt.Errorf("got %d/%d calls up, %d of %d packets back, %d bad:\n%s",
			rep.Up, calls, rep.Received, rep.Sent, rep.Bad, text.String())
	}
	return nil
}
