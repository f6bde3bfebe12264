package e2e

import (
	"context"
	"os"
	"regexp"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/internal/testkit/siptest"
)

// registrarConfig runs switchboard as registrar with digest auth, and a
// trunk rule "9" (stripped) towards trunkAddr over transport, if given.
func registrarConfig(trunkAddr, transport string) string {
	// sipp 3.6 answers only the first challenge and only with MD5.
	cfg := "registrar:\n  digest_algorithms: [MD5, SHA-256]\n  users:\n    - {username: alice, password: alice-secret}\n    - {username: bob, password: bob-secret}\n"
	if trunkAddr != "" {
		cfg += "routes:\n  - {prefix: \"9\", strip: 1, uri: \"sip:" + trunkAddr + ";transport=" + transport + "\"}\n"
	}
	return cfg
}

// pbxIP is where a sipp caller runs when it plays a PBX: a loopback address
// of its own, which trustPBX trusts, so that it calls without credentials
// while everyone on 127.0.0.1 must authenticate.
const pbxIP = "127.0.0.2"

// trustPBX is the config block that trusts pbxIP.
const trustPBX = "security:\n  trusted_networks: [" + pbxIP + "]\n"

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// browser connects a JsSIP-like user over the gateway's WebSocket and
// registers it with its password.
func browser(t *testing.T, g *Gateway, user, password string) *siptest.UA {
	t.Helper()
	ws, err := siptest.DialWS(testCtx(t), g.WSURL())
	if err != nil {
		t.Fatalf("WebSocket: %v", err)
	}
	t.Cleanup(func() { ws.Close() })
	ua := &siptest.UA{Transport: ws, User: user, Password: password, Domain: g.Domain(),
		InstanceID: "<urn:uuid:00000000-0000-4000-8000-" + user + "0000000>", RegID: 1}
	res, err := ua.Register(testCtx(t), 300)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("register %s: got %v, %v; want 200", user, res, err)
	}
	return ua
}

// sippPhone registers bob from a sipp phone on a port of its own, then
// starts scenario on the same port, where the registration points.
func sippPhone(t *testing.T, g *Gateway, scenario string, args ...string) *Sipp {
	t.Helper()
	reg := StartSipp(t, "uac_register.xml", "-s", "bob", "-au", "bob", "-ap", "bob-secret", g.UDP.String())
	if err := reg.Wait(10 * time.Second); err != nil {
		t.Fatalf("sipp REGISTER through the gateway: %v", err)
	}
	return StartSipp(t, scenario, append([]string{"-p", itoa(reg.Port())}, args...)...)
}

func uri(user, host string) sip.Uri { return sip.Uri{Scheme: "sip", User: user, Host: host} }

func TestBrowserCallsSippPhone(t *testing.T) {
	g := StartGateway(t, registrarConfig("", ""))
	uas := sippPhone(t, g, "uas.xml", "-s", "bob")
	alice := browser(t, g, "alice", "alice-secret")
	d, err := alice.Invite(testCtx(t), uri("bob", g.Domain()), siptest.WebRTCOffer("127.0.0.1", 40000))
	if err != nil {
		t.Fatalf("INVITE browser → sipp: %v", err)
	}
	if res, err := d.Bye(testCtx(t)); err != nil || res.StatusCode != 200 {
		t.Fatalf("BYE: got %v, %v", res, err)
	}
	if err := uas.Wait(10 * time.Second); err != nil {
		t.Fatalf("sipp callee: %v", err)
	}
}

// TestSippCallsBrowser has a sipp PBX, trusted by address, call a browser.
func TestSippCallsBrowser(t *testing.T) {
	g := StartGateway(t, registrarConfig("", "")+trustPBX)
	alice := browser(t, g, "alice", "alice-secret")
	uac := StartSipp(t, "uac.xml", "-i", pbxIP, "-s", "alice", g.UDP.String())
	d, err := alice.AnswerNext(testCtx(t), siptest.WebRTCAnswer("127.0.0.1", 40000))
	if err != nil {
		t.Fatalf("browser got no call from sipp: %v", err)
	}
	if _, err := d.Await(testCtx(t), sip.BYE); err != nil {
		t.Fatalf("browser got no BYE: %v", err)
	}
	if err := uac.Wait(10 * time.Second); err != nil {
		t.Fatalf("sipp caller: %v", err)
	}
}

func TestCancelThroughGateway(t *testing.T) {
	g := StartGateway(t, registrarConfig("", ""))
	uas := sippPhone(t, g, "uas_cancel.xml", "-s", "bob")
	alice := browser(t, g, "alice", "alice-secret")
	call, err := alice.InviteAsync(uri("bob", g.Domain()), siptest.WebRTCOffer("127.0.0.1", 40000))
	if err != nil {
		t.Fatal(err)
	}
	for {
		res, err := call.WaitProvisional(testCtx(t))
		if err != nil {
			t.Fatalf("no 180: %v", err)
		}
		if res.StatusCode == 180 {
			break
		}
	}
	res, err := call.Cancel(testCtx(t))
	if err != nil || res.StatusCode != 487 {
		t.Fatalf("after CANCEL: got %v, %v; want 487", res, err)
	}
	if err := uas.Wait(10 * time.Second); err != nil {
		t.Fatalf("sipp callee: %v", err)
	}
}

func TestReinviteThroughGateway(t *testing.T) {
	g := StartGateway(t, registrarConfig("", ""))
	uas := sippPhone(t, g, "uas_reinvite.xml", "-s", "bob")
	alice := browser(t, g, "alice", "alice-secret")
	d, err := alice.Invite(testCtx(t), uri("bob", g.Domain()), siptest.WebRTCOffer("127.0.0.1", 40000))
	if err != nil {
		t.Fatalf("INVITE: %v", err)
	}
	if res, err := d.Request(testCtx(t), sip.INVITE, siptest.WebRTCOffer("127.0.0.1", 40002)); err != nil || res.StatusCode != 200 {
		t.Fatalf("re-INVITE: got %v, %v", res, err)
	}
	if res, err := d.Bye(testCtx(t)); err != nil || res.StatusCode != 200 {
		t.Fatalf("BYE: got %v, %v", res, err)
	}
	if err := uas.Wait(10 * time.Second); err != nil {
		t.Fatalf("sipp callee: %v", err)
	}
}

// TestSippCallNeedsCredentials: a sipp phone that is not trusted and has
// no credentials is challenged before its call reaches a browser.
func TestSippCallNeedsCredentials(t *testing.T) {
	g := StartGateway(t, registrarConfig("", "")+trustPBX)
	alice := browser(t, g, "alice", "alice-secret")
	uac := StartSipp(t, "uac_expect_fail.xml", "-s", "alice", "-set", "expected", "407", g.UDP.String())
	if err := uac.Wait(10 * time.Second); err != nil {
		t.Fatalf("sipp caller wanted 407: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if in, err := alice.NextInvite(ctx); err == nil {
		t.Errorf("the browser got an INVITE from an unauthenticated caller (Call-ID %s)", in.Invite.CallID().Value())
	}
}

func TestCallToBrowserWhoseWebSocketClosed(t *testing.T) {
	g := StartGateway(t, registrarConfig("", "")+trustPBX)
	alice := browser(t, g, "alice", "alice-secret")
	alice.Transport.(*siptest.WSClient).Close()
	time.Sleep(100 * time.Millisecond) // the close reaches the gateway
	start := time.Now()
	uac := StartSipp(t, "uac_expect_fail.xml", "-i", pbxIP, "-s", "alice", "-set", "expected", "480", g.UDP.String())
	if err := uac.Wait(10 * time.Second); err != nil {
		t.Fatalf("sipp caller wanted 480 at once: %v", err)
	}
	if e := time.Since(start); e > 3*time.Second {
		t.Errorf("the 480 took %v", e)
	}
}

func TestBrowserCallsTrunkOverTCP(t *testing.T) {
	uas := StartSipp(t, "uas.xml", "-s", "trunk", "-t", "t1")
	g := StartGateway(t, registrarConfig(uas.Addr(), "tcp"))
	alice := browser(t, g, "alice", "alice-secret")
	d, err := alice.Invite(testCtx(t), uri("900442071234567", g.Domain()), siptest.WebRTCOffer("127.0.0.1", 40000))
	if err != nil {
		t.Fatalf("INVITE browser → TCP trunk: %v", err)
	}
	if d.Invite == nil {
		t.Fatal("no dialog")
	}
	if res, err := d.Bye(testCtx(t)); err != nil || res.StatusCode != 200 {
		t.Fatalf("BYE: got %v, %v", res, err)
	}
	if err := uas.Wait(10 * time.Second); err != nil {
		t.Fatalf("sipp trunk: %v", err)
	}
}

func TestTrunkNeedsAuthentication(t *testing.T) {
	uas := StartSipp(t, "uas.xml", "-s", "trunk")
	g := StartGateway(t, registrarConfig(uas.Addr(), "udp"))
	ws, err := siptest.DialWS(testCtx(t), g.WSURL())
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	anon := &siptest.UA{Transport: ws, User: "mallory", Domain: g.Domain()}
	res, err := anon.Do(testCtx(t), anon.NewRequest(sip.OPTIONS, uri("90044", g.Domain())))
	if err != nil || res.StatusCode != 407 {
		t.Fatalf("unauthenticated request to a trunk: got %v, %v; want 407", res, err)
	}
	uas.Kill()
}

// TestUpstreamModeWithSippPBX fronts a sipp PBX: the browser's REGISTER
// reaches it with a flow-token Contact, its 401 challenge reaches the
// browser unchanged, and then the PBX calls the contact it was given.
func TestUpstreamModeWithSippPBX(t *testing.T) {
	pbx := StartSipp(t, "uas_register_401.xml", "-set", "authuser", "alice", "-set", "authpass", "pbx-secret")
	g := StartGateway(t, "mode: upstream\nupstream:\n  uri: \"sip:"+pbx.Addr()+";transport=udp\"\n  path: true\n")
	alice := browser(t, g, "alice", "pbx-secret")
	if err := pbx.Wait(10 * time.Second); err != nil {
		t.Fatalf("sipp PBX registrar: %v", err)
	}
	contact := registeredContact(t, pbx)
	uac := StartSipp(t, "uac_to_registered.xml", "-key", "contact", contact, "-s", "pbx", g.UDP.String())
	d, err := alice.AnswerNext(testCtx(t), siptest.WebRTCAnswer("127.0.0.1", 40000))
	if err != nil {
		t.Fatalf("browser got no call from the PBX: %v", err)
	}
	if _, err := d.Await(testCtx(t), sip.BYE); err != nil {
		t.Fatalf("browser got no BYE: %v", err)
	}
	if err := uac.Wait(10 * time.Second); err != nil {
		t.Fatalf("sipp PBX caller: %v", err)
	}
}

// registeredContact reads from sipp's message log the Contact the PBX was
// given by the gateway.
func registeredContact(t *testing.T, s *Sipp) string {
	t.Helper()
	b, err := os.ReadFile(s.logPath("messages"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^Contact:\s*<(sip:[^>]+)>`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("no Contact in the PBX's log:\n%s", tail(string(b), 40))
	}
	return string(m[1])
}
