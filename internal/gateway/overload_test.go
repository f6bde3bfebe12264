package gateway

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/internal/config"
	"github.com/switchboard-gw/switchboard/internal/testkit/leakcheck"
	"github.com/switchboard-gw/switchboard/internal/testkit/rtptest"
	"github.com/switchboard-gw/switchboard/internal/testkit/siptest"
)

// browserCall is a pion browser's call through the gateway to a phone.
type browserCall struct {
	br *rtptest.Browser
	d  *siptest.Dialog
}

// placeBrowserCall has a pion browser registered as user call target;
// err is the INVITE's failure, a *siptest.StatusError for a final answer.
func placeBrowserCall(t *testing.T, g *testGateway, user, target string) (*browserCall, error) {
	t.Helper()
	ua := browser(t, g, user)
	register(t, ua)
	br := newBrowser(t)
	offer, err := br.Offer()
	if err != nil {
		t.Fatal(err)
	}
	d, err := ua.Invite(ctx(t), userURI(g, target), offer)
	if err != nil {
		return nil, err
	}
	if err := br.SetAnswer(d.Response.Body()); err != nil {
		t.Fatalf("browser refused switchboard's answer: %v\n%s", err, d.Response.Body())
	}
	return &browserCall{br: br, d: d}, nil
}

// firstCall registers bob, a phone whose RTP is an echo, and has alice, a
// pion browser, call him until her audio comes back.
func firstCall(t *testing.T, g *testGateway) (*siptest.UDPPeer, *browserCall) {
	t.Helper()
	echo := newEcho(t)
	p, bob := phone(t, g, "bob", siptest.WithAutoAnswer(siptest.AudioSDP("127.0.0.1", int(echo.Addr().Port()))))
	register(t, bob)
	first, err := placeBrowserCall(t, g, "alice", "bob")
	if err != nil {
		t.Fatalf("first call: %v", err)
	}
	hearEcho(t, g, first.br, 10)
	return p, first
}

// wantRefused checks err is the 503 with Retry-After a refused new call
// gets, with reason.
func wantRefused(t *testing.T, err error, reason string) {
	t.Helper()
	var se *siptest.StatusError
	if !errors.As(err, &se) {
		t.Fatalf("got %v, want 503 %s", err, reason)
	}
	if res := se.Response; res.StatusCode != 503 || res.Reason != reason {
		t.Fatalf("got %d %s, want 503 %s", res.StatusCode, res.Reason, reason)
	}
	if h := se.Response.GetHeader("Retry-After"); h == nil || h.Value() != "5" {
		t.Errorf("Retry-After: got %v, want 5", h)
	}
}

// keepsFlowing checks that c's echoed audio goes on growing.
func keepsFlowing(t *testing.T, g *testGateway, c *browserCall, more int64) {
	t.Helper()
	_, before := c.br.Received()
	wait, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	waitAudio(t, wait, g, func() bool { _, now := c.br.Received(); return now >= before+more })
}

// TestMaxCallsRefusesNewCallsOnly: with media.max_calls 1, a pion
// browser's call to a phone (an RTP echo) is anchored; a second browser's
// call gets 503 and Retry-After before anything reaches the phone, while
// the first call's audio keeps flowing and its re-INVITE still passes; once
// it ends, a new call is taken.
func TestMaxCallsRefusesNewCallsOnly(t *testing.T) {
	leakcheck.Check(t)
	g := startGateway(t, func(c *config.Config) { c.Media.MaxCalls = 1 })
	p, first := firstCall(t, g)

	_, err := placeBrowserCall(t, g, "carol", "bob")
	wantRefused(t, err, "Service Unavailable (call limit reached)")
	if n := p.Stats().Answered; n != 1 {
		t.Errorf("calls that reached the phone: got %d, want 1 (the refused one never forwarded)", n)
	}
	wantMetric(t, g, `switchboard_media_calls_refused_total{reason="max_calls"} 1`)
	keepsFlowing(t, g, first, 25)

	res, err := first.d.Request(ctx(t), "INVITE", first.br.LocalDescription())
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("the first call's re-INVITE at the ceiling: got %v %v, want 200", res, err)
	}
	keepsFlowing(t, g, first, 25)

	if res, err := first.d.Bye(ctx(t)); err != nil || res.StatusCode != 200 {
		t.Fatalf("bye: %v %v", res, err)
	}
	waitFor(t, func() bool { return len(g.calls.Snapshot()) == 0 })
	again, err := placeBrowserCall(t, g, "dave", "bob")
	if err != nil {
		t.Fatalf("a call once the first ended: %v", err)
	}
	hearEcho(t, g, again.br, 10)
	_, _ = again.d.Bye(ctx(t))
}

// flood sends junk datagrams to addr from four sockets until stop is
// closed: more than one poller can read, so the shared socket's queue
// overflows as it would under too many calls.
func flood(t *testing.T, addr netip.AddrPort, stop <-chan struct{}) (done func()) {
	t.Helper()
	var wg sync.WaitGroup
	junk := make([]byte, 1200)
	for range 4 {
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			defer c.Close()
			for {
				select {
				case <-stop:
					return
				default:
				}
				for range 64 {
					_, _ = c.WriteToUDPAddrPort(junk, addr)
				}
			}
		})
	}
	return wg.Wait
}

// TestOverloadRefusesNewCallsOnly: while the browser-leg socket is
// flooded past what its pollers read (the kernel drops, or the queue to
// the ICE mux overflows), a new call gets
// 503 and Retry-After with media.refuse_overload on (the default), the
// call already up keeps its audio once the flood stops, and a second
// after it new calls are taken again.
func TestOverloadRefusesNewCallsOnly(t *testing.T) {
	leakcheck.Check(t)
	g := startGateway(t, nil)
	p, first := firstCall(t, g)

	carol := browser(t, g, "carol")
	register(t, carol)
	stop := make(chan struct{})
	done := flood(t, g.engine.WebRTCAddr(), stop)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if l := g.engine.Load(); l.SocketDropped+l.MuxDropped > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no packet dropped in 10 s of flood: %+v", g.engine.Load())
		}
	}
	br := newBrowser(t)
	offer, err := br.Offer()
	if err != nil {
		t.Fatal(err)
	}
	_, err = carol.Invite(ctx(t), userURI(g, "bob"), offer)
	close(stop)
	done()
	wantRefused(t, err, "Service Unavailable (media overloaded)")
	if n := p.Stats().Answered; n != 1 {
		t.Errorf("calls that reached the phone: got %d, want 1", n)
	}
	wantMetric(t, g, `switchboard_media_calls_refused_total{reason="overloaded"} 1`)
	keepsFlowing(t, g, first, 25)

	var again *browserCall
	deadline := time.Now().Add(5 * time.Second)
	for again == nil {
		if again, err = placeBrowserCall(t, g, "dave", "bob"); err != nil && time.Now().After(deadline) {
			t.Fatalf("a call once the flood stopped: %v", err)
		}
		time.Sleep(100 * time.Millisecond) // refused for a second after the last drop
	}
	hearEcho(t, g, again.br, 10)
	_, _ = again.d.Bye(ctx(t))
	_, _ = first.d.Bye(ctx(t))
}
