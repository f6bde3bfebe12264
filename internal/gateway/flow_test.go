package gateway

import (
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/internal/testkit/leakcheck"
	"github.com/switchboard-gw/switchboard/internal/testkit/siptest"
)

func TestCancelReachesPhone(t *testing.T) {
	leakcheck.Check(t)
	g := startGateway(t, nil)
	alice := browser(t, g, "alice")
	register(t, alice)
	_, bob := phone(t, g, "bob")
	register(t, bob)

	call, err := alice.InviteAsync(userURI(g, "bob"), siptest.WebRTCOffer("127.0.0.1", 4000))
	if err != nil {
		t.Fatal(err)
	}
	in, err := bob.NextInvite(ctx(t))
	if err != nil {
		t.Fatalf("phone got no INVITE: %v", err)
	}
	if _, err := in.Respond(180, "Ringing", nil); err != nil {
		t.Fatal(err)
	}
	for {
		res, err := call.WaitProvisional(ctx(t))
		if err != nil {
			t.Fatalf("browser: no 180: %v", err)
		}
		if res.StatusCode == 180 {
			break
		}
	}
	cancelled := make(chan error, 1)
	go func() {
		_, err := in.AwaitCancel(ctx(t)) // answers 200 to CANCEL and 487 to the INVITE
		cancelled <- err
	}()
	res, err := call.Cancel(ctx(t))
	if err != nil || res.StatusCode != 487 {
		t.Fatalf("INVITE after CANCEL: got %v, %v; want 487", res, err)
	}
	if err := <-cancelled; err != nil {
		t.Fatalf("phone never saw the CANCEL: %v", err)
	}
}

func TestCallToClosedWebSocketFailsAtOnce(t *testing.T) {
	g := startGateway(t, nil)
	alice := browser(t, g, "alice")
	register(t, alice)
	p, _ := phone(t, g, "bob")

	answered := make(chan *siptest.Dialog, 1)
	go func() {
		d, _ := alice.AnswerNext(ctx(t), siptest.WebRTCAnswer("127.0.0.1", 4000))
		answered <- d
	}()
	d, err := p.Call(ctx(t), g.Addrs().UDP, userURI(g, "alice"), siptest.AudioSDP("127.0.0.1", 5000))
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	<-answered
	alice.Transport.(*siptest.WSClient).Close()
	waitFor(t, func() bool { return g.Connections() == 0 })

	start := time.Now()
	res, err := d.Bye(ctx(t))
	if err != nil {
		t.Fatalf("bye: %v", err)
	}
	if res.StatusCode != 430 {
		t.Errorf("in-dialog BYE to a closed outbound flow: got %d %s, want 430", res.StatusCode, res.Reason)
	}
	if e := time.Since(start); e > time.Second {
		t.Errorf("answer took %v, want at once", e)
	}
	_, bobUA := phone(t, g, "carol")
	inv := bobUA.NewRequest(sip.INVITE, userURI(g, "alice"))
	res, err = bobUA.Do(ctx(t), inv)
	if err != nil || res.StatusCode != 480 {
		t.Errorf("new call to unregistered browser: got %v, %v; want 480", res, err)
	}
}

func TestReconnectReplacesBinding(t *testing.T) {
	g := startGateway(t, nil)
	first := browser(t, g, "alice")
	register(t, first)
	second := browser(t, g, "alice") // same +sip.instance and reg-id, new WebSocket
	register(t, second)

	bindings := g.Registrar().LookupUser("alice")
	if len(bindings) != 1 {
		t.Fatalf("bindings after reconnect: got %d, want 1", len(bindings))
	}
	_, bob := phone(t, g, "bob")
	go func() {
		if d, err := second.AnswerNext(ctx(t), siptest.WebRTCAnswer("127.0.0.1", 4000)); err == nil {
			_, _ = d.Await(ctx(t), sip.BYE)
		}
	}()
	d, err := bob.Invite(ctx(t), userURI(g, "alice"), siptest.AudioSDP("127.0.0.1", 5000))
	if err != nil {
		t.Fatalf("call after reconnect did not reach the new WebSocket: %v", err)
	}
	if res, err := d.Bye(ctx(t)); err != nil || res.StatusCode != 200 {
		t.Fatalf("bye: got %v, %v; want 200", res, err)
	}
}

func TestBindingGoesWithItsConnection(t *testing.T) {
	g := startGateway(t, nil)
	alice := browser(t, g, "alice")
	register(t, alice)
	alice.Transport.(*siptest.WSClient).Close()
	waitFor(t, func() bool { return len(g.Registrar().LookupUser("alice")) == 0 })
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 3s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
