package gateway

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/internal/config"
	"github.com/switchboard-gw/switchboard/internal/testkit/leakcheck"
	"github.com/switchboard-gw/switchboard/internal/testkit/siptest"
)

// pbxIP is a loopback address of its own, trusted by authGateway: as far as
// trust by address goes, another host than the phones on 127.0.0.1.
var pbxIP = netip.MustParseAddr("127.0.0.2")

// authGateway runs the registrar with auth on, users alice, bob and carol,
// and trusts pbxIP.
func authGateway(t *testing.T) *testGateway {
	return startGateway(t, func(c *config.Config) {
		c.Registrar.Auth = true
		c.Registrar.Users = []config.User{
			{Username: "alice", Password: "alice-pw"}, {Username: "bob", Password: "bob-pw"}, {Username: "carol", Password: "carol-pw"},
		}
		c.Security.TrustedNetworks = []netip.Prefix{netip.PrefixFrom(pbxIP, 32)}
	})
}

// A phone on UDP reaches a registered browser only with digest
// credentials, even after it registered from the same address; a trusted
// PBX reaches it without; nothing reaches the built-in services
// unauthenticated, over UDP or WebSocket.
func TestUntrustedPeersAuthenticate(t *testing.T) {
	leakcheck.Check(t)
	g := authGateway(t)
	alice := browser(t, g, "alice")
	alice.Password = "alice-pw"
	register(t, alice)
	_, carol := phone(t, g, "carol")
	carol.Password = "carol-pw"
	register(t, carol)
	carol.Password = "" // registered over UDP: its source address proves nothing

	anon := browser(t, g, "mallory")
	for _, tt := range []struct {
		name string
		ua   *siptest.UA
		ruri sip.Uri
	}{
		{"UDP phone to a browser", carol, userURI(g, "alice")},
		{"UDP phone to echo", carol, userURI(g, "echo")},
		{"unregistered browser to echo", anon, userURI(g, "echo")},
	} {
		res, err := tt.ua.Do(ctx(t), tt.ua.NewRequest(sip.MESSAGE, tt.ruri))
		if err != nil || res.StatusCode != 407 {
			t.Errorf("%s without credentials: got %v, %v; want 407", tt.name, res, err)
		}
	}

	carol.Password = "carol-pw"
	callAlice(t, alice, carol)

	pbx, err := siptest.NewUDPPeer(siptest.WithIP(pbxIP))
	if err != nil {
		t.Fatal(err)
	}
	defer pbx.Close()
	callAlice(t, alice, pbx.UA("pbx", g.Addrs().UDP)) // no password
}

// callAlice makes caller call alice, who answers; caller hangs up, after
// running each of during with the caller's side of the dialog.
func callAlice(t *testing.T, alice, caller *siptest.UA, during ...func(*siptest.Dialog)) {
	t.Helper()
	answered := make(chan error, 1)
	go func() {
		d, err := alice.AnswerNext(ctx(t), siptest.WebRTCAnswer("127.0.0.1", 4000))
		if err == nil {
			_, err = d.Await(ctx(t), sip.BYE)
		}
		answered <- err
	}()
	d, err := caller.Invite(ctx(t), sip.Uri{Scheme: "sip", User: "alice", Host: alice.Domain}, siptest.AudioSDP("127.0.0.1", 5000))
	if err != nil {
		t.Fatalf("%s → alice: %v", caller.User, err)
	}
	for _, f := range during {
		f(d)
	}
	if res, err := d.Bye(ctx(t)); err != nil || res.StatusCode != 200 {
		t.Fatalf("%s's BYE: got %v, %v", caller.User, res, err)
	}
	if err := <-answered; err != nil {
		t.Fatalf("alice: %v", err)
	}
}

// A request that claims to be in a dialog through switchboard, with a To
// tag and a Route naming it but no flow token of its own, or a forged one,
// is refused and goes nowhere, from a trusted peer too: switchboard is no
// open relay.
func TestNoOpenRelay(t *testing.T) {
	leakcheck.Check(t)
	g := authGateway(t)
	victim, err := siptest.NewUDPPeer()
	if err != nil {
		t.Fatal(err)
	}
	defer victim.Close()
	sb := g.Addrs().UDP
	tests := []struct {
		name  string
		route string
		code  int
	}{
		{"no token", "<sip:" + sb.String() + ";lr>", 481},
		{"forged token", "<sip:dWRwOjEyNy4wLjAuMTo1MDYw.AAAAAAAAAAAA@" + sb.String() + ";lr>", 403},
	}
	for _, ip := range []netip.Addr{netip.MustParseAddr("127.0.0.1"), pbxIP} {
		mallory, err := siptest.NewUDPPeer(siptest.WithIP(ip))
		if err != nil {
			t.Fatal(err)
		}
		defer mallory.Close()
		ua := mallory.UA("mallory", sb)
		for _, tt := range tests {
			req := ua.NewRequest(sip.INVITE, sip.Uri{Scheme: "sip", User: "x", Host: victim.Addr().Addr().String(), Port: int(victim.Addr().Port())})
			req.To().Params.Add("tag", "x")
			req.AppendHeader(sip.NewHeader("Route", tt.route))
			res, err := ua.Do(ctx(t), req)
			if err != nil || res.StatusCode != tt.code {
				t.Errorf("from %s, %s: got %v, %v; want %d", ip, tt.name, res, err, tt.code)
			}
		}
	}
	quiet, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if m, err := victim.Recv(quiet); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("the victim got %v, %v; want nothing", m, err)
	}
}

// A flow token opens only the dialog it was issued for: a caller who took
// part in a call holds the tokens of its route set, and with them sends a
// request that claims another dialog (another Call-ID) towards the callee's
// flow. switchboard refuses it 403 itself (a forwarded request would have
// had alice's answer) and counts it; the call's own dialog still works with
// the same tokens.
func TestFlowTokenOpensOnlyItsDialog(t *testing.T) {
	leakcheck.Check(t)
	g := authGateway(t)
	alice := browser(t, g, "alice")
	alice.Password = "alice-pw"
	register(t, alice)
	_, carol := phone(t, g, "carol")
	carol.Password = "carol-pw"

	callAlice(t, alice, carol, func(d *siptest.Dialog) {
		if len(d.RouteSet) == 0 {
			t.Fatal("the dialog has no route set through switchboard")
		}
		// The same route set, on a request of a dialog that does not exist.
		forged := carol.NewRequest(sip.MESSAGE, d.RemoteTarget())
		forged.To().Params.Add("tag", "not-a-dialog")
		for _, r := range d.RouteSet {
			forged.AppendHeader(&sip.RouteHeader{Address: *r.Clone()})
		}
		if res, err := carol.Do(ctx(t), forged); err != nil || res.StatusCode != sip.StatusForbidden {
			t.Errorf("a request for another dialog on the call's tokens: got %v, %v; want 403", res, err)
		}
	}) // then the BYE on the call's own dialog, with the same tokens, and alice sees it
	if got := counterValue(t, g, "switchboard_proxy_in_dialog_refused_total", "reason", "bad_token"); got != 1 {
		t.Errorf("in_dialog_refused_total{reason=bad_token}: got %v, want 1", got)
	}
}
