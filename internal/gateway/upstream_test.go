package gateway

import (
	"errors"
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/internal/config"
	"github.com/switchboard-gw/switchboard/internal/testkit/leakcheck"
	"github.com/switchboard-gw/switchboard/internal/testkit/siptest"
)

// TestUpstreamMode fronts a PBX (a UDP peer): the browser's REGISTER reaches
// it with a flow-token Contact and a Path, the PBX's challenge reaches the
// browser unchanged, and the PBX's INVITE to the token reaches the browser,
// while the same INVITE from another address is refused.
func TestUpstreamMode(t *testing.T) {
	leakcheck.Check(t)
	pbx, err := siptest.NewUDPPeer(siptest.WithIP(pbxIP)) // trusted by its address: not the phones'

	if err != nil {
		t.Fatal(err)
	}
	defer pbx.Close()
	g := startGateway(t, func(c *config.Config) {
		c.Mode = config.ModeUpstream
		c.Upstream = config.Upstream{URI: sipURI(t, "sip:"+pbx.Addr().String()+";transport=udp"), Path: true}
	})
	alice := browser(t, g, "alice")
	alice.Password = "secret"

	registered := make(chan *sip.Response, 1)
	go func() {
		res, err := alice.Register(ctx(t), 300)
		if err != nil {
			t.Errorf("register: %v", err)
		}
		registered <- res
	}()
	req, err := pbx.RecvRequest(ctx(t), sip.REGISTER)
	if err != nil {
		t.Fatalf("PBX got no REGISTER: %v", err)
	}
	contact := req.Contact().Address
	if contact.Host != g.domain() || contact.User == "alice" || contact.User == "" {
		t.Errorf("Contact at the PBX: got %s, want a token at %s", contact.String(), g.domain())
	}
	if path := req.GetHeader("Path"); path == nil || !strings.Contains(path.Value(), ";lr") {
		t.Errorf("Path: got %v, want a loose-routing Path", path)
	}
	challenge := sip.NewResponseFromRequest(req, 401, "Unauthorized", nil)
	challenge.AppendHeader(sip.NewHeader("WWW-Authenticate", `Digest realm="pbx", nonce="abc123", algorithm=MD5, qop="auth"`))
	if err := pbx.Send(challenge, g.Addrs().UDP); err != nil {
		t.Fatal(err)
	}
	req = respondChallenge(t, pbx, req)
	if req.GetHeader("Authorization") == nil {
		t.Fatal("second REGISTER carries no Authorization: the challenge did not reach the browser unchanged")
	}
	ok := sip.NewResponseFromRequest(req, 200, "OK", nil)
	c := req.Contact().Clone()
	c.Params.Add("expires", "300")
	ok.AppendHeader(c)
	if err := pbx.Send(ok, g.Addrs().UDP); err != nil {
		t.Fatal(err)
	}
	res := <-registered
	if res == nil || res.StatusCode != 200 {
		t.Fatalf("browser's REGISTER: got %v, want 200", res)
	}
	if got := res.Contact(); got == nil || got.Address.User != "alice" {
		t.Errorf("Contact in the 200: got %v, want the browser's own", got)
	}

	// The PBX calls the contact it was given.
	caller := pbx.UA("pbx", g.Addrs().UDP)
	answered := make(chan error, 1)
	go func() {
		d, err := alice.AnswerNext(ctx(t), siptest.WebRTCAnswer("127.0.0.1", 4000))
		if err == nil {
			if ruri := d.Invite.Recipient; ruri.User != "alice" {
				t.Errorf("Request-URI at the browser: got %s, want its own contact", ruri.String())
			}
			_, err = d.Await(ctx(t), sip.BYE)
		}
		answered <- err
	}()
	d, err := caller.Invite(ctx(t), contact, siptest.AudioSDP("127.0.0.1", 5000))
	if err != nil {
		t.Fatalf("PBX → browser call: %v", err)
	}
	if res, err := d.Bye(ctx(t)); err != nil || res.StatusCode != 200 {
		t.Fatalf("bye: %v %v", res, err)
	}
	if err := <-answered; err != nil {
		t.Fatal(err)
	}

	// Anyone but the PBX is refused: a phone on another address.
	stranger, err := siptest.NewUDPPeer()
	if err != nil {
		t.Fatal(err)
	}
	defer stranger.Close()
	mallory := stranger.UA("mallory", g.Addrs().UDP)
	if res, err := mallory.Do(ctx(t), mallory.NewRequest(sip.INVITE, contact)); err != nil || res.StatusCode != 403 {
		t.Errorf("INVITE to the browser from a stranger: got %v, %v; want 403", res, err)
	}

	// Once the WebSocket is gone, the PBX hears 430 at once.
	alice.Transport.(*siptest.WSClient).Close()
	waitFor(t, func() bool { return g.Connections() == 0 })
	res, err = caller.Do(ctx(t), caller.NewRequest(sip.INVITE, contact))
	if err != nil || res.StatusCode != 430 {
		t.Errorf("INVITE to a gone flow: got %v, %v; want 430", res, err)
	}
}

// respondChallenge waits for the REGISTER that answers a challenge.
func respondChallenge(t *testing.T, pbx *siptest.UDPPeer, first *sip.Request) *sip.Request {
	t.Helper()
	req, err := pbx.RecvRequest(ctx(t), sip.REGISTER)
	if err != nil {
		t.Fatalf("no REGISTER after the challenge: %v", err)
	}
	return req
}

// TestUpstreamServicesNeedRegistration: in upstream mode a browser reaches
// echo only on a WebSocket on which the PBX accepted its REGISTER, since
// switchboard cannot check the PBX's passwords; before that it is told to
// register first, and the PBX hears of neither call.
func TestUpstreamServicesNeedRegistration(t *testing.T) {
	leakcheck.Check(t)
	// The PBX is trusted by its IP, so it must not share the browser's.
	pbx, err := siptest.NewUDPPeer(siptest.WithIP(pbxIP))
	if err != nil {
		t.Fatal(err)
	}
	defer pbx.Close()
	g := startGateway(t, func(c *config.Config) {
		c.Mode = config.ModeUpstream
		c.Upstream = config.Upstream{URI: sipURI(t, "sip:"+pbx.Addr().String()+";transport=udp")}
	})
	alice := browser(t, g, "alice")
	_, err = alice.Invite(ctx(t), userURI(g, "echo"), siptest.WebRTCOffer("127.0.0.1", 4000))
	var se *siptest.StatusError
	if !errors.As(err, &se) || se.Response.StatusCode != 403 || se.Response.Reason != "Forbidden (register first)" {
		t.Fatalf("echo before REGISTER: got %v, want 403 \"Forbidden (register first)\"", err)
	}

	registered := make(chan error, 1)
	go func() {
		_, err := alice.Register(ctx(t), 300)
		registered <- err
	}()
	req, err := pbx.RecvRequest(ctx(t), sip.REGISTER)
	if err != nil {
		t.Fatalf("PBX got no REGISTER: %v", err)
	}
	ok := sip.NewResponseFromRequest(req, 200, "OK", nil)
	c := req.Contact().Clone()
	c.Params.Add("expires", "300")
	ok.AppendHeader(c)
	if err := pbx.Send(ok, g.Addrs().UDP); err != nil {
		t.Fatal(err)
	}
	if err := <-registered; err != nil {
		t.Fatalf("register: %v", err)
	}
	d, err := alice.Invite(ctx(t), userURI(g, "echo"), siptest.WebRTCOffer("127.0.0.1", 4000))
	if err != nil {
		t.Fatalf("echo after REGISTER: %v", err)
	}
	hangUpService(t, g, d)
	if n := pbx.Pending(); n != 0 {
		t.Errorf("messages at the PBX: got %d, want 0", n)
	}
	if got := counterValue(t, g, "switchboard_proxy_auth_total", "result", "unregistered"); got != 1 {
		t.Errorf("switchboard_proxy_auth_total{result=\"unregistered\"}: got %v, want 1", got)
	}
}
