package gateway

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/internal/config"
	"github.com/switchboard-gw/switchboard/internal/testkit/leakcheck"
	"github.com/switchboard-gw/switchboard/internal/testkit/siptest"
)

// An INVITE with a bare LF inside a header (a P-Asserted-Identity smuggled
// past the parser, for a peer that splits lines on LF) is answered 400 on
// every transport and never reaches the callee.
func TestControlCharacterGets400OnEveryTransport(t *testing.T) {
	leakcheck.Check(t)
	g := startGateway(t, nil)
	bob := browser(t, g, "bob")
	register(t, bob)
	bobWS := bob.Transport.(*siptest.WSClient)
	for _, transport := range []string{"WS", "UDP", "TCP"} {
		t.Run(transport, func(t *testing.T) {
			invite := "INVITE sip:bob@" + g.domain() + " SIP/2.0\r\n" +
				"Via: SIP/2.0/" + transport + " 127.0.0.1:5999;branch=z9hG4bK-ctl-" + transport + "\r\n" +
				"Max-Forwards: 70\r\nFrom: <sip:mallory@example.com>;tag=m1\r\nTo: <sip:bob@example.com>\r\n" +
				"Call-ID: ctl-" + transport + "\r\nCSeq: 1 INVITE\r\nContact: <sip:mallory@127.0.0.1:5999>\r\n" +
				"Subject: hello\nP-Asserted-Identity: <sip:boss@example.com>\r\nContent-Length: 0\r\n\r\n"
			got := sendRaw(t, g, transport, invite)
			if want := "SIP/2.0 400 Bad Request (control character in header)"; got != want {
				t.Errorf("got %q, want %q", got, want)
			}
		})
	}
	c, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if req, err := bobWS.RecvRequest(c); err == nil {
		t.Errorf("bob got %s, want nothing", req.StartLine())
	}
}

// sendRaw sends data to the gateway over transport and returns the status
// line of the answer.
func sendRaw(t *testing.T, g *testGateway, transport, data string) string {
	t.Helper()
	var conn net.Conn
	var err error
	switch transport {
	case "WS":
		ws, err := siptest.DialWS(ctx(t), g.wsURL())
		if err != nil {
			t.Fatal(err)
		}
		defer ws.Close()
		if err := ws.SendRaw([]byte(data), false); err != nil {
			t.Fatal(err)
		}
		res, err := ws.RecvResponse(ctx(t))
		if err != nil {
			t.Fatalf("no answer: %v", err)
		}
		return res.StartLine()
	case "UDP":
		conn, err = net.Dial("udp", g.Addrs().UDP.String())
	case "TCP":
		conn, err = net.Dial("tcp", g.Addrs().TCP.String())
	}
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(data)); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	return strings.TrimSuffix(line, "\r\n")
}

// A browser's INVITE to a trunk (an IP literal: trusted) reaches it without
// the identity it claimed, the private header configured, or the Route it
// preloaded, and with the identity switchboard asserts for the user it
// authenticated.
func TestBrowserIdentityTowardsTrunk(t *testing.T) {
	leakcheck.Check(t)
	trunk, err := siptest.NewUDPPeer()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { trunk.Close() })
	g := startGateway(t, func(c *config.Config) {
		c.Registrar.Auth = true
		c.Registrar.Users = []config.User{{Username: "alice", Password: "wonderland"}}
		c.Routes = []config.Route{{Prefix: "9", URI: sipURI(t, "sip:"+trunk.Addr().String()+";transport=udp")}}
		c.Security.StripHeaders = []string{"X-Tenant-*"}
	})
	alice := browser(t, g, "alice")
	alice.Password = "wonderland"
	register(t, alice)

	req := alice.NewRequest(sip.INVITE, sip.Uri{Scheme: "sip", User: "95551234", Host: g.domain()})
	for _, h := range []string{"P-Asserted-Identity: <sip:boss@example.com>", "Diversion: <sip:100@example.com>", "X-Tenant-ID: 7", "Route: <sip:evil.example;lr>", "X-App: kept"} {
		name, value, _ := strings.Cut(h, ": ")
		req.AppendHeader(sip.NewHeader(name, value))
	}
	req.SetBody(siptest.WebRTCOffer("127.0.0.1", 4000)) // a browser's offer: checked, then translated
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	call, err := alice.SendInvite(req)
	if err != nil {
		t.Fatal(err)
	}
	inv, err := trunk.RecvRequest(ctx(t), sip.INVITE)
	if err != nil {
		t.Fatalf("no INVITE at the trunk: %v", err)
	}
	want := map[string]string{"P-Asserted-Identity": "<sip:alice@127.0.0.1>", "Diversion": "", "X-Tenant-ID": "", "X-App": "kept"}
	for name, value := range want {
		var got string
		if h := inv.GetHeader(name); h != nil {
			got = h.Value()
		}
		if got != value {
			t.Errorf("%s at the trunk: got %q, want %q", name, got, value)
		}
	}
	for _, r := range inv.GetHeaders("Route") {
		t.Errorf("Route at the trunk: got %s, want none", r.Value())
	}
	if _, err := trunk.Respond(inv, 486, "Busy Here", nil); err != nil {
		t.Fatal(err)
	}
	var se *siptest.StatusError
	if _, err := call.Wait(ctx(t)); !errors.As(err, &se) || se.Response.StatusCode != 486 {
		t.Errorf("call: got %v, want 486", err)
	}
}

// A phone's INVITE to a trunk, authenticated with Proxy-Authorization for
// switchboard's realm, reaches the trunk without those credentials: they
// were switchboard's to consume (RFC 3261 §22.3).
func TestOwnCredentialsNotForwardedToTrunk(t *testing.T) {
	leakcheck.Check(t)
	// The trunk is trusted by its IP, so it must not share the phone's.
	trunk, err := siptest.NewUDPPeer(siptest.WithIP(netip.MustParseAddr("127.0.0.3")))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { trunk.Close() })
	g := startGateway(t, func(c *config.Config) {
		c.Registrar.Auth = true
		c.Registrar.Users = []config.User{{Username: "alice", Password: "wonderland"}}
		c.Routes = []config.Route{{Prefix: "9", URI: sipURI(t, "sip:"+trunk.Addr().String()+";transport=udp")}}
	})
	_, alice := phone(t, g, "alice")
	alice.Password = "wonderland"
	done := make(chan error, 1)
	go func() {
		_, err := alice.Invite(ctx(t), userURI(g, "95551234"), siptest.AudioSDP("127.0.0.1", 4000))
		done <- err
	}()
	inv, err := trunk.RecvRequest(ctx(t), sip.INVITE)
	if err != nil {
		t.Fatalf("no INVITE at the trunk: %v", err)
	}
	if got := inv.GetHeaders("Proxy-Authorization"); len(got) != 0 {
		t.Errorf("Proxy-Authorization at the trunk: got %v, want none", got)
	}
	if _, err := trunk.Respond(inv, 486, "Busy Here", nil); err != nil {
		t.Fatal(err)
	}
	var se *siptest.StatusError
	if err := <-done; !errors.As(err, &se) || se.Response.StatusCode != 486 {
		t.Errorf("call: got %v, want 486", err)
	}
	if got := counterValue(t, g, "switchboard_proxy_headers_removed_total", "header", "Proxy-Authorization"); got != 1 {
		t.Errorf("switchboard_proxy_headers_removed_total{header=\"Proxy-Authorization\"}: got %v, want 1", got)
	}
}
