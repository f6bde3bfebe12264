package gateway

import (
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/internal/config"
	"github.com/switchboard-gw/switchboard/internal/testkit/leakcheck"
	"github.com/switchboard-gw/switchboard/internal/testkit/siptest"
)

func TestShutdownClosesWebSocketsWith1001(t *testing.T) {
	leakcheck.Check(t)
	g := startGateway(t, nil)
	alice := browser(t, g, "alice")
	register(t, alice)
	g.shutdown()
	ws := alice.Transport.(*siptest.WSClient)
	select {
	case <-ws.Done():
	case <-time.After(3 * time.Second):
		t.Fatal("WebSocket still open after shutdown")
	}
	if got := ws.CloseCode(); got != 1001 {
		t.Errorf("close code: got %d, want 1001", got)
	}
}

func TestDrainRefusesNewCallsButFinishesTransactions(t *testing.T) {
	g := startGateway(t, func(c *config.Config) { c.Shutdown.DrainTimeout = 3 * time.Second })
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
		t.Fatal(err)
	}
	go g.stop() // drain starts with a call still ringing
	waitFor(t, func() bool { return g.proxy.Draining() })
	res, err := bob.Do(ctx(t), bob.NewRequest(sip.INVITE, userURI(g, "alice")))
	if err != nil || res.StatusCode != 503 {
		t.Errorf("new INVITE while draining: got %v, %v; want 503", res, err)
	}
	answered := make(chan error, 1)
	go func() {
		_, err := in.Answer(ctx(t), siptest.AudioSDP("127.0.0.1", 5000)) // returns on the ACK
		answered <- err
	}()
	if _, err := call.Wait(ctx(t)); err != nil {
		t.Fatalf("ringing call did not complete during the drain: %v", err)
	}
	if err := <-answered; err != nil {
		t.Fatalf("ACK did not reach the phone during the drain: %v", err)
	}
}
