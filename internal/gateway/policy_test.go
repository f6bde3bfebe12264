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

// trunkIP is a loopback address of the policy tests' trunk's own: trunks
// are trusted by address, and the browsers are on 127.0.0.1.
var trunkIP = netip.MustParseAddr("127.0.0.3")

// policyGateway runs the registrar with auth on for alice, T1 at its
// shortest (an unACKed 2xx is given up after 64*T1 = 6.4s), one route to
// a trunk on trunkIP, and mutate's changes; it returns alice, registered
// over her WebSocket, and the trunk.
func policyGateway(t *testing.T, mutate func(c *config.Config, trunk sip.Uri)) (*testGateway, *siptest.UA, *siptest.UDPPeer) {
	t.Helper()
	trunk, err := siptest.NewUDPPeer(siptest.WithIP(trunkIP))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { trunk.Close() })
	g := startGateway(t, func(c *config.Config) {
		c.Registrar.Auth = true
		c.Registrar.Users = []config.User{{Username: "alice", Password: "wonderland"}}
		c.SIP.T1 = 100 * time.Millisecond
		mutate(c, sipURI(t, "sip:"+trunk.Addr().String()+";transport=udp"))
	})
	alice := browser(t, g, "alice")
	alice.Password = "wonderland"
	register(t, alice)
	return g, alice, trunk
}

// dial sends a browser's INVITE for number.
func dial(t *testing.T, g *testGateway, ua *siptest.UA, number string) *siptest.OutgoingCall {
	t.Helper()
	req := ua.NewRequest(sip.INVITE, sip.Uri{Scheme: "sip", User: number, Host: g.domain()})
	req.SetBody(siptest.WebRTCOffer("127.0.0.1", 4000))
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	call, err := ua.SendInvite(req)
	if err != nil {
		t.Fatal(err)
	}
	return call
}

// nextInvite is the next INVITE at the trunk of a call it has not seen:
// a UDP INVITE is retransmitted until it is answered.
func nextInvite(t *testing.T, trunk *siptest.UDPPeer, seen map[string]bool, wait time.Duration) (*sip.Request, error) {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	for {
		inv, err := trunk.RecvRequest(c, sip.INVITE)
		if err != nil {
			return nil, err
		}
		if !seen[inv.CallID().Value()] {
			seen[inv.CallID().Value()] = true
			return inv, nil
		}
	}
}

// refusal is the status of a call that failed, 0 if it did not.
func refusal(t *testing.T, call *siptest.OutgoingCall) (int, string) {
	t.Helper()
	_, err := call.Wait(ctx(t))
	var se *siptest.StatusError
	if !errors.As(err, &se) {
		t.Fatalf("call: got %v, want a failure", err)
	}
	return se.Response.StatusCode, se.Response.Reason
}

// recvBye waits for a BYE at the trunk, answers it and returns its Reason.
func recvBye(t *testing.T, trunk *siptest.UDPPeer, wait time.Duration) string {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	bye, err := trunk.RecvRequest(c, sip.BYE)
	if err != nil {
		t.Fatalf("no BYE at the trunk: %v", err)
	}
	_, _ = trunk.Respond(bye, 200, "OK", nil)
	if r := bye.GetHeader("Reason"); r != nil {
		return r.Value()
	}
	return ""
}

// With limits.calls_per_user 1, a browser's second call is refused while
// the first rings, and allowed once it failed; a call whose 2xx the browser
// never ACKs is ended after 64*T1 with BYE, and counts no more.
func TestCallsPerUserOverSockets(t *testing.T) {
	leakcheck.Check(t)
	g, alice, trunk := policyGateway(t, func(c *config.Config, trunk sip.Uri) {
		c.Limits.CallsPerUser = 1
		c.Routes = []config.Route{{Prefix: "+", URI: trunk}}
	})
	seen := map[string]bool{}
	first := dial(t, g, alice, "+15550001")
	inv, err := nextInvite(t, trunk, seen, 5*time.Second)
	if err != nil {
		t.Fatalf("first call at the trunk: %v", err)
	}
	_, _ = trunk.Respond(inv, 180, "Ringing", nil)

	if code, reason := refusal(t, dial(t, g, alice, "+15550002")); code != 403 || reason != "Forbidden (too many calls)" {
		t.Errorf("second call: got %d %q, want 403 \"Forbidden (too many calls)\"", code, reason)
	}
	_, _ = trunk.Respond(inv, 486, "Busy Here", nil)
	if code, _ := refusal(t, first); code != 486 {
		t.Errorf("first call: got %d, want 486", code)
	}

	dial(t, g, alice, "+15550003") // never ACKed: nobody waits for its 2xx
	inv, err = nextInvite(t, trunk, seen, 5*time.Second)
	if err != nil {
		t.Fatalf("call after the first failed: %v", err)
	}
	_, _ = trunk.Respond(inv, 200, "OK", siptest.AudioSDP("127.0.0.3", 6000))
	if got, want := recvBye(t, trunk, 15*time.Second), `SIP;cause=200;text="no ACK"`; got != want {
		t.Errorf("Reason of the BYE for the unACKed call: got %s, want %s", got, want)
	}

	last := dial(t, g, alice, "+15550004")
	if inv, err = nextInvite(t, trunk, seen, 5*time.Second); err != nil {
		t.Fatalf("call after the unACKed one ended: %v", err)
	}
	_, _ = trunk.Respond(inv, 486, "Busy Here", nil)
	refusal(t, last)
	if got := counterValue(t, g, "switchboard_proxy_user_limited_total", "reason", "calls_per_user"); got != 1 {
		t.Errorf("switchboard_proxy_user_limited_total{reason=calls_per_user}: got %v, want 1", got)
	}
	if got := counterValue(t, g, "switchboard_proxy_dialogs_ended_total", "reason", "no_ack"); got != 1 {
		t.Errorf("switchboard_proxy_dialogs_ended_total{reason=no_ack}: got %v, want 1", got)
	}
}

// limits.max_call_duration ends an answered call with BYE to both ends.
func TestMaxCallDurationOverSockets(t *testing.T) {
	leakcheck.Check(t)
	const reason = `SIP;cause=200;text="maximum call duration"`
	g, alice, trunk := policyGateway(t, func(c *config.Config, trunk sip.Uri) {
		c.Limits.MaxCallDuration = time.Second
		c.Routes = []config.Route{{Prefix: "+", URI: trunk}}
	})
	call := dial(t, g, alice, "+15550001")
	inv, err := nextInvite(t, trunk, map[string]bool{}, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = trunk.Respond(inv, 200, "OK", siptest.AudioSDP("127.0.0.3", 6000))
	d, err := call.Wait(ctx(t))
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	start := time.Now()
	if got := recvBye(t, trunk, 5*time.Second); got != reason {
		t.Errorf("Reason of the trunk's BYE: got %s, want %s", got, reason)
	}
	if took := time.Since(start); took < 500*time.Millisecond {
		t.Errorf("BYE %v after the answer, want about 1s", took)
	}
	bye, err := d.Await(ctx(t), sip.BYE)
	if err != nil {
		t.Fatalf("no BYE at the browser: %v", err)
	}
	if r := bye.GetHeader("Reason"); r == nil || r.Value() != reason {
		t.Errorf("Reason of the browser's BYE: got %v, want %s", r, reason)
	}
}

// A denied number is refused 403 and never reaches the trunk; an escaped,
// formatted number reaches it normalised.
func TestDialPlanOverSockets(t *testing.T) {
	leakcheck.Check(t)
	g, alice, trunk := policyGateway(t, func(c *config.Config, trunk sip.Uri) {
		c.Routes = []config.Route{{Prefix: "+1", Deny: []string{"+1900*"}, URI: trunk}}
	})
	for _, number := range []string{"+1-900-555-1234", "%2B1900%2D5551234"} {
		if code, reason := refusal(t, dial(t, g, alice, number)); code != 403 || reason != "Forbidden (number not allowed)" {
			t.Errorf("%s: got %d %q, want 403 \"Forbidden (number not allowed)\"", number, code, reason)
		}
	}
	call := dial(t, g, alice, "%2B1-555-(123)-4567")
	inv, err := nextInvite(t, trunk, map[string]bool{}, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := inv.Recipient.User, "+15551234567"; got != want {
		t.Errorf("number at the trunk: got %q, want %q (the denied numbers must not have reached it)", got, want)
	}
	_, _ = trunk.Respond(inv, 486, "Busy Here", nil)
	refusal(t, call)
	if got := counterValue(t, g, "switchboard_proxy_numbers_refused_total", "reason", "not_allowed"); got != 2 {
		t.Errorf("switchboard_proxy_numbers_refused_total{reason=not_allowed}: got %v, want 2", got)
	}
}
