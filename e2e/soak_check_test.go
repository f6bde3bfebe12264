package e2e

import (
	"testing"
	"time"
)

// How far from its baseline a gateway may settle after a soak.
//
// Goroutines: the gateway's own are a fixed set; between two idle
// samples the count moves by a timer's or a scrape's goroutine or two.
// A leak of one per thousand clients shows in a full soak (some ten
// thousand clients) as tens.
//
// Descriptors: listeners, epoll, log and media sockets are fixed; the
// scrape's own connection and one in its last close account for two.
//
// Live heap (go_memstats_heap_alloc_bytes right after two collections):
// the registrar keeps one binding per user whose TCP phone reset before
// it unregistered (soakUsers of them), the lockout tables a few entries,
// and the Go runtime keeps the descriptor of every goroutine it ever ran
// at once (some 470 bytes each, reused, never freed): a full soak peaks
// at a few thousand goroutines, some 2 MiB, whatever it churned. 4 MiB
// more than that would be 300 bytes left per client of a full soak.
//
// Heap in use (go_memstats_heap_inuse_bytes) counts every span that holds
// a live object; Go does not move objects, so spans a few survivors pin
// stay in use after a churn (some 6 MiB after a full soak). It is bounded
// against gross growth; the live heap is the tight check.
//
// RSS: Go returns freed memory to the kernel lazily, minutes later, and
// goroutine stacks grown under load stay until a collection shrinks them;
// RSS is reported, and bounded only against gross growth.
const (
	goroutineSlack = 5
	fdSlack        = 3
	liveHeapSlack  = 4 << 20
	heapInuseSlack = 16 << 20
	rssSlack       = 64 << 20
)

// awaitBaseline polls g until its goroutines and descriptors are within
// the slack of base and no WebSocket is open, for at most within.
func awaitBaseline(t *testing.T, g *Gateway, base footprint, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		f := readFootprint(t, g)
		if f.Goroutines <= base.Goroutines+goroutineSlack && f.FDs <= base.FDs+fdSlack && f.WebSockets == 0 {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// checkBaseline compares the settled footprint after the soak with base.
func checkBaseline(t *testing.T, base, after footprint) {
	t.Helper()
	if after.Goroutines > base.Goroutines+goroutineSlack {
		t.Errorf("goroutines: got %d, want ≤ %d (baseline %d + %d)", after.Goroutines, base.Goroutines+goroutineSlack, base.Goroutines, goroutineSlack)
	}
	if after.FDs > base.FDs+fdSlack || after.ProcFDs > base.ProcFDs+fdSlack {
		t.Errorf("descriptors: got %d (/proc %d), want ≤ %d (baseline %d + %d)", after.FDs, after.ProcFDs, base.FDs+fdSlack, base.FDs, fdSlack)
	}
	if limit := base.HeapAlloc + liveHeapSlack; after.HeapAlloc > limit {
		t.Errorf("live heap: got %.1f MiB, want ≤ %.1f MiB (baseline %.1f)", mib(after.HeapAlloc), mib(limit), mib(base.HeapAlloc))
	}
	if limit := base.HeapInuse + heapInuseSlack; after.HeapInuse > limit {
		t.Errorf("heap in use: got %.1f MiB, want ≤ %.1f MiB (baseline %.1f)", mib(after.HeapInuse), mib(limit), mib(base.HeapInuse))
	}
	if limit := base.RSS + rssSlack; after.RSS > limit {
		t.Errorf("RSS: got %.1f MiB, want ≤ %.1f MiB (baseline %.1f)", mib(after.RSS), mib(limit), mib(base.RSS))
	}
	if after.WebSockets != 0 {
		t.Errorf("switchboard_websocket_connections: got %d, want 0", after.WebSockets)
	}
}

// checkCounters checks that every WebSocket and TCP connection is gone,
// and that the gateway counted the hostile clients it refused or closed.
func checkCounters(t *testing.T, g *Gateway, c *churned) {
	t.Helper()
	for name, port := range map[string]uint16{"WebSocket": g.HTTP.Port(), "SIP TCP": g.TCP.Port()} {
		if n := establishedTo(t, port); n != 0 {
			t.Errorf("%s connections still established to the gateway: got %d, want 0", name, n)
		}
	}
	m, err := scrapeMetrics(g)
	if err != nil {
		t.Fatal(err)
	}
	ok := func(kind string) float64 { h := c.hostile[kind]; return float64(h.done.Load() - h.failed.Load()) }
	phones := float64(c.tcp.done.Load()) / float64(len(tcpEndings))
	for _, want := range []struct {
		metric string
		least  float64
	}{
		{`switchboard_websocket_closed_by_server_total{reason="ping_flood"}`, ok("ping_flood")},
		{`switchboard_websocket_closed_by_server_total{reason="invalid_utf8"}`, ok("invalid_utf8")},
		{`switchboard_websocket_closed_by_server_total{reason="too_big"}`, ok("too_big")},
		{`switchboard_websocket_handshakes_refused_total{reason="not_websocket"}`, ok("not_websocket")},
		{`switchboard_websocket_handshakes_refused_total{reason="version"}`, ok("version")},
		{`switchboard_websocket_handshakes_refused_total{reason="no_subprotocol"}`, ok("no_subprotocol")},
		{`switchboard_sip_connections_closed_total{reason="first_message_timeout",transport="TCP"}`, 2 * (phones - 1)},
		{`switchboard_sip_connections_closed_total{reason="framing",transport="TCP"}`, phones - 1},
		{`switchboard_auth_lockouts_total`, 1},
	} {
		if got := sumMetric(m, want.metric); got < want.least {
			t.Errorf("%s: got %v, want ≥ %v", want.metric, got, want.least)
		}
	}
}

// checkStillServes has a fresh browser register and call echo.
func checkStillServes(t *testing.T, g *Gateway) {
	t.Helper()
	if err := browserLife(testCtx(t), g, 999999, true); err != nil {
		t.Errorf("a fresh browser after the soak: %v", err)
	}
}
