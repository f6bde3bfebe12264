package gateway

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/internal/config"
	"github.com/switchboard-gw/switchboard/internal/testkit/leakcheck"
	"github.com/switchboard-gw/switchboard/internal/testkit/rtptest"
	"github.com/switchboard-gw/switchboard/internal/testkit/siptest"
)

// TestBrowserMediaThroughBridge is a WebRTC browser (pion) calling a plain
// SIP phone whose RTP is an echo: the browser's SRTP must come back to it,
// decrypted at switchboard, echoed as plain RTP, and encrypted again.
func TestBrowserMediaThroughBridge(t *testing.T) {
	leakcheck.Check(t)
	g := startGateway(t, nil)
	echo := newEcho(t)
	_, bob := phone(t, g, "bob", siptest.WithAutoAnswer(siptest.AudioSDP("127.0.0.1", int(echo.Addr().Port()))))
	register(t, bob)
	alice := browser(t, g, "alice")
	register(t, alice)

	br := newBrowser(t)
	offer, err := br.Offer()
	if err != nil {
		t.Fatal(err)
	}
	d, err := alice.Invite(ctx(t), userURI(g, "bob"), offer)
	if err != nil {
		t.Fatalf("INVITE with a WebRTC offer: %v", err)
	}
	if err := br.SetAnswer(d.Response.Body()); err != nil {
		t.Fatalf("browser refused switchboard's answer: %v\n%s", err, d.Response.Body())
	}
	hearEcho(t, g, br, 10)
	if st := g.calls.Snapshot(); len(st) != 1 || st[0].Verdict != "audio flowed both ways" {
		t.Errorf("call state: got %+v", st)
	}
	if res, err := d.Bye(ctx(t)); err != nil || res.StatusCode != 200 {
		t.Fatalf("bye: %v %v", res, err)
	}
	waitFor(t, func() bool { return len(g.calls.Snapshot()) == 0 })
}

// TestPhoneCallsBrowserWithMedia is the other direction: the plain phone
// offers RTP/AVP, switchboard offers ICE-lite and DTLS (actpass) to the
// browser, and the browser's audio reaches the phone's echo and returns.
func TestPhoneCallsBrowserWithMedia(t *testing.T) {
	leakcheck.Check(t)
	g := startGateway(t, nil)
	echo := newEcho(t)
	alice := browser(t, g, "alice")
	register(t, alice)
	p, _ := phone(t, g, "bob")
	br := newBrowser(t)

	answered := make(chan error, 1)
	go func() {
		in, err := alice.NextInvite(ctx(t))
		if err == nil {
			var answer []byte
			if answer, err = br.Answer(in.Invite.Body()); err == nil {
				_, err = in.Answer(ctx(t), answer)
			}
		}
		answered <- err
	}()
	d, err := p.Call(ctx(t), g.Addrs().UDP, userURI(g, "alice"), siptest.AudioSDP("127.0.0.1", int(echo.Addr().Port())))
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	if err := <-answered; err != nil {
		t.Fatalf("browser answering switchboard's offer: %v", err)
	}
	hearEcho(t, g, br, 10) // switchboard offered here
	serving, stop := context.WithCancel(context.Background())
	defer stop()
	go func() { _ = alice.Serve(serving) }() // answers the BYE
	if res, err := d.Bye(ctx(t)); err != nil || res.StatusCode != 200 {
		t.Fatalf("bye: %v %v", res, err)
	}
	waitFor(t, func() bool { return len(g.calls.Snapshot()) == 0 })
}

// establishMediaCall sets up a browser → phone call with media anchored and
// returns both dialogs; the browser sends nothing unless told to.
func establishMediaCall(t *testing.T, g *testGateway) (browserSide, phoneSide *siptest.Dialog, br *rtptest.Browser, alice *siptest.UA) {
	t.Helper()
	c := startMediaCall(t, g)
	return c.browserSide, c.phoneSide, c.br, c.alice
}

// mediaCall is a browser → phone call with media anchored, the phone's RTP
// an echo.
type mediaCall struct {
	browserSide, phoneSide *siptest.Dialog
	br                     *rtptest.Browser
	alice, bob             *siptest.UA
	phone                  *siptest.UDPPeer
	echo                   *rtptest.Echo
}

func startMediaCall(t *testing.T, g *testGateway) *mediaCall {
	t.Helper()
	c := &mediaCall{}
	var err error
	c.echo = newEcho(t)
	c.phone, c.bob = phone(t, g, "bob")
	register(t, c.bob)
	c.alice = browser(t, g, "alice")
	register(t, c.alice)
	c.br = newBrowser(t)
	offer, err := c.br.Offer()
	if err != nil {
		t.Fatal(err)
	}
	answered := make(chan *siptest.Dialog, 1)
	go func() {
		d, err := c.bob.AnswerNext(ctx(t), siptest.AudioSDP("127.0.0.1", int(c.echo.Addr().Port())))
		if err != nil {
			t.Errorf("phone: %v", err)
		}
		answered <- d
	}()
	c.browserSide, err = c.alice.Invite(ctx(t), userURI(g, "bob"), offer)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.br.SetAnswer(c.browserSide.Response.Body()); err != nil {
		t.Fatal(err)
	}
	c.phoneSide = <-answered
	return c
}

func TestLostWebSocketEndsTheCall(t *testing.T) {
	leakcheck.Check(t)
	g := startGateway(t, nil)
	_, phoneSide, _, alice := establishMediaCall(t, g)
	alice.Transport.(*siptest.WSClient).Close()
	if _, err := phoneSide.Await(ctx(t), sip.BYE); err != nil {
		t.Fatalf("phone got no BYE after the browser's WebSocket closed: %v", err)
	}
	waitFor(t, func() bool { return len(g.calls.Snapshot()) == 0 })
}

func TestMediaTimeoutEndsBothLegs(t *testing.T) {
	g := startGateway(t, func(c *config.Config) { c.Media.Timeout = 1500 * time.Millisecond })
	browserSide, phoneSide, _, _ := establishMediaCall(t, g)
	phoneBye := make(chan error, 1)
	go func() {
		_, err := phoneSide.Await(ctx(t), sip.BYE)
		phoneBye <- err
	}()
	if _, err := browserSide.Await(ctx(t), sip.BYE); err != nil {
		t.Fatalf("browser got no BYE after the media stopped: %v", err)
	}
	if err := <-phoneBye; err != nil {
		t.Fatalf("phone got no BYE after the media stopped: %v", err)
	}
	waitFor(t, func() bool { return len(g.calls.Snapshot()) == 0 })
}

// TestEarlyMediaReachesBrowserBeforeAnswer: a 183 with SDP from the phone
// is translated and the browser's audio flows before the 200.
func TestEarlyMediaReachesBrowserBeforeAnswer(t *testing.T) {
	g := startGateway(t, nil)
	echo := newEcho(t)
	_, bob := phone(t, g, "bob")
	register(t, bob)
	alice := browser(t, g, "alice")
	register(t, alice)
	br := newBrowser(t)
	offer, err := br.Offer()
	if err != nil {
		t.Fatal(err)
	}
	call, err := alice.InviteAsync(userURI(g, "bob"), offer)
	if err != nil {
		t.Fatal(err)
	}
	in, err := bob.NextInvite(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	sdp := siptest.AudioSDP("127.0.0.1", int(echo.Addr().Port()))
	if _, err := in.Respond(183, "Session Progress", sdp); err != nil {
		t.Fatal(err)
	}
	var early *sip.Response
	for early == nil || early.StatusCode != 183 {
		if early, err = call.WaitProvisional(ctx(t)); err != nil {
			t.Fatalf("no 183 at the browser: %v", err)
		}
	}
	if err := br.SetAnswer(early.Body()); err != nil {
		t.Fatalf("browser refused the early answer: %v", err)
	}
	hearEcho(t, g, br, 5) // early media, before the 200
	go func() { _, _ = in.Answer(ctx(t), sdp) }()
	d, err := call.Wait(ctx(t))
	if err != nil {
		t.Fatalf("answer after early media: %v", err)
	}
	go func() { _ = bob.Serve(ctx(t)) }()
	_, _ = d.Bye(ctx(t))
}

func TestMalformedSDPGets488(t *testing.T) {
	g := startGateway(t, nil)
	_, bob := phone(t, g, "bob")
	register(t, bob)
	alice := browser(t, g, "alice")
	register(t, alice)
	bad := []byte("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=fingerprint:sha-256 AB\r\na=rtpmap:111 opus/48000/2\r\nthis is not sdp\r\n")
	call, err := alice.InviteAsync(userURI(g, "bob"), bad)
	if err != nil {
		t.Fatal(err)
	}
	_, err = call.Wait(ctx(t))
	var se *siptest.StatusError
	if !errors.As(err, &se) || se.Response.StatusCode != 488 {
		t.Fatalf("got %v, want 488", err)
	}
	if n := len(g.calls.Snapshot()); n != 0 {
		t.Errorf("calls left after the 488: %d", n)
	}
}
