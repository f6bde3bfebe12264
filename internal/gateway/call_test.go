package gateway

import (
	"testing"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/internal/testkit/leakcheck"
	"github.com/switchboard-gw/switchboard/internal/testkit/siptest"
)

func TestBrowserCallsPhone(t *testing.T) {
	leakcheck.Check(t)
	g := startGateway(t, nil)
	alice := browser(t, g, "alice")
	register(t, alice)
	_, bob := phone(t, g, "bob", siptest.WithAutoAnswer(nil))
	register(t, bob)

	d, err := alice.Invite(ctx(t), userURI(g, "bob"), siptest.WebRTCOffer("127.0.0.1", 4000))
	if err != nil {
		t.Fatalf("invite: %v", err)
	}
	if got := len(d.RouteSet); got != 2 {
		t.Errorf("route set: got %d entries, want 2 (double Record-Route)", got)
	}
	res, err := d.Bye(ctx(t))
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("bye: got %v, %v; want 200", res, err)
	}
}

func TestPhoneCallsBrowser(t *testing.T) {
	leakcheck.Check(t)
	g := startGateway(t, nil)
	alice := browser(t, g, "alice")
	register(t, alice)
	p, _ := phone(t, g, "bob")

	answered := make(chan *siptest.Dialog, 1)
	go func() {
		d, err := alice.AnswerNext(ctx(t), siptest.WebRTCAnswer("127.0.0.1", 4000))
		if err != nil {
			t.Errorf("answer: %v", err)
		}
		answered <- d
	}()
	d, err := p.Call(ctx(t), g.Addrs().UDP, userURI(g, "alice"), siptest.AudioSDP("127.0.0.1", 5000))
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	ad := <-answered
	if ad == nil {
		t.FailNow()
	}
	// In-dialog requests both ways: INFO from the browser, MESSAGE and BYE from the phone.
	go func() { _, _ = d.Await(ctx(t), sip.INFO) }()
	if res, err := ad.Request(ctx(t), sip.INFO, nil); err != nil || res.StatusCode != 200 {
		t.Fatalf("INFO browser→phone: got %v, %v", res, err)
	}
	go func() { _, _ = ad.Await(ctx(t), sip.MESSAGE) }()
	if res, err := d.Request(ctx(t), sip.MESSAGE, []byte("hi")); err != nil || res.StatusCode != 200 {
		t.Fatalf("MESSAGE phone→browser: got %v, %v", res, err)
	}
	go func() { _, _ = ad.Await(ctx(t), sip.BYE) }()
	if res, err := d.Bye(ctx(t)); err != nil || res.StatusCode != 200 {
		t.Fatalf("BYE phone→browser: got %v, %v", res, err)
	}
}
