package sipproxy_test

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/internal/signalling/sipproxy"
	"github.com/switchboard-gw/switchboard/internal/signalling/siptx"
)

// The timers of the limits tests: the ACK awaited for 64*T1 as the
// gateway sets it, and a maximum duration of an hour.
const (
	ackTimeout  = 32 * time.Second
	maxDuration = time.Hour
)

// limitsCfg authenticates everyone who is not trusted (the fake
// authenticator accepts them, as the user From names), trusts
// 192.0.2.30, and limits each user to limits.
func limitsCfg(t *testing.T, limits sipproxy.Limits) sipproxy.Config {
	cfg := trunkCfg(t, true)
	cfg.Limits = limits
	return cfg
}

// invite sends an INVITE from p to bob and returns it.
func (p *peer) invite(ruri string) *sip.Request {
	inv := p.request(sip.INVITE, ruri, sdp)
	p.send(inv)
	return inv
}

// answer makes callee answer its last INVITE with 200 and caller ACK it
// when ack is set.
func answer(caller, callee *peer, ack bool) *dialog {
	callee.respond(callee.last(sip.INVITE), 200, sdp)
	uac := caller.uacDialog(caller.final(sip.INVITE))
	if ack {
		caller.send(uac.request(sip.ACK, ""))
	}
	return uac
}

// A user may have Limits.CallsPerUser calls at once: the next is refused
// 403 and goes nowhere. However the first call ends, failed, cancelled,
// hung up, never ACKed, cut at its maximum duration or by its browser's
// WebSocket closing, it no longer counts, and the user's state is gone.
func TestCallsPerUserReleased(t *testing.T) {
	tests := []struct {
		name string
		end  func(h *harness, alice, bob *peer, inv *sip.Request)
	}{
		{name: "failed", end: func(h *harness, alice, bob *peer, inv *sip.Request) {
			bob.respond(bob.last(sip.INVITE), 486, "")
		}},
		{name: "cancelled", end: func(h *harness, alice, bob *peer, inv *sip.Request) {
			bob.respond(bob.last(sip.INVITE), 180, "")
			alice.send(siptx.CancelFor(inv))
			bob.respond(bob.last(sip.INVITE), 487, "")
		}},
		{name: "hung up", end: func(h *harness, alice, bob *peer, inv *sip.Request) {
			uac := answer(alice, bob, true)
			alice.send(uac.request(sip.BYE, ""))
		}},
		{name: "never ACKed", end: func(h *harness, alice, bob *peer, inv *sip.Request) {
			answer(alice, bob, false)
			time.Sleep(ackTimeout)
			synctest.Wait()
		}},
		{name: "maximum duration", end: func(h *harness, alice, bob *peer, inv *sip.Request) {
			answer(alice, bob, true)
			time.Sleep(maxDuration)
			synctest.Wait()
		}},
		{name: "WebSocket lost", end: func(h *harness, alice, bob *peer, inv *sip.Request) {
			answer(alice, bob, true)
			h.close(alice.conn)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := limitsCfg(t, sipproxy.Limits{CallsPerUser: 1, AckTimeout: ackTimeout, MaxCallDuration: maxDuration})
			run(t, cfg, func(h *harness) {
				h.auth.set(sipproxy.AuthOK)
				bob := h.phone("bob", "192.0.2.20:5060")
				bob.register(false)
				alice := h.browser("alice")
				inv := alice.invite(sbURI("bob"))

				second := h.browser("alice") // another device of alice's
				second.invite(sbURI("bob"))
				if res := second.final(sip.INVITE); res.StatusCode != 403 || res.Reason != "Forbidden (too many calls)" {
					t.Fatalf("second call: got %d %q, want 403 \"Forbidden (too many calls)\"", res.StatusCode, res.Reason)
				}
				if n := len(bob.conn.requests(sip.INVITE)); n != 1 {
					t.Fatalf("INVITEs at bob: got %d, want 1", n)
				}
				if got := h.counter("switchboard_proxy_user_limited_total", "calls_per_user"); got != 1 {
					t.Errorf("switchboard_proxy_user_limited_total{reason=calls_per_user}: got %v, want 1", got)
				}

				tt.end(h, alice, bob, inv)
				third := h.browser("alice")
				third.invite(sbURI("bob"))
				if n := len(bob.conn.requests(sip.INVITE)); n != 2 {
					t.Fatalf("INVITEs at bob after the first call ended: got %d, want 2 (got %v)", n, third.conn.codes(sip.INVITE))
				}
				bob.respond(bob.last(sip.INVITE), 486, "")
				if n := h.proxy.LimitedUsers(); n != 0 {
					t.Errorf("users with limit state after every call ended: got %d, want 0", n)
				}
			})
		})
	}
}

// Who is limited: an authenticated user; not a trusted peer, which
// carries the calls of many, nor anyone when no user is authenticated.
func TestCallsPerUserWho(t *testing.T) {
	tests := []struct {
		name    string
		auth    bool
		caller  string // "browser" or "trusted"
		allowed int    // of three calls at once
	}{
		{name: "authenticated browser", auth: true, caller: "browser", allowed: 1},
		{name: "trusted peer", auth: true, caller: "trusted", allowed: 3},
		{name: "auth off", auth: false, caller: "browser", allowed: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := limitsCfg(t, sipproxy.Limits{CallsPerUser: 1})
			cfg.Auth = tt.auth
			run(t, cfg, func(h *harness) {
				h.auth.set(sipproxy.AuthOK)
				bob := h.phone("bob", "192.0.2.20:5060")
				bob.register(false)
				for range 3 {
					caller := h.browser("alice")
					if tt.caller == "trusted" {
						caller = h.phone("pbx", "192.0.2.30:5060")
					}
					caller.invite(sbURI("bob"))
				}
				if n := len(bob.conn.requests(sip.INVITE)); n != tt.allowed {
					t.Errorf("INVITEs at bob: got %d, want %d", n, tt.allowed)
				}
			})
		})
	}
}

// A user starts at most Limits.CallRatePerUser calls a second, in bursts
// of twice that; the next is refused 403 until a token is back.
func TestCallRatePerUser(t *testing.T) {
	run(t, limitsCfg(t, sipproxy.Limits{CallRatePerUser: 1}), func(h *harness) {
		h.auth.set(sipproxy.AuthOK)
		bob := h.phone("bob", "192.0.2.20:5060")
		bob.register(false)
		alice := h.browser("alice")
		tryCall := func() int {
			before := len(bob.conn.requests(sip.INVITE))
			alice.invite(sbURI("bob"))
			if len(bob.conn.requests(sip.INVITE)) == before {
				return alice.final(sip.INVITE).StatusCode
			}
			bob.respond(bob.last(sip.INVITE), 486, "") // only the rate counts here
			return 0
		}
		for i, want := range []int{0, 0, 403} {
			if got := tryCall(); got != want {
				t.Fatalf("call %d: got refusal %d, want %d (0: forwarded)", i+1, got, want)
			}
		}
		if res := alice.final(sip.INVITE); res.Reason != "Forbidden (call rate exceeded)" {
			t.Errorf("reason: got %q, want \"Forbidden (call rate exceeded)\"", res.Reason)
		}
		if got := h.counter("switchboard_proxy_user_limited_total", "call_rate_per_user"); got != 1 {
			t.Errorf("switchboard_proxy_user_limited_total{reason=call_rate_per_user}: got %v, want 1", got)
		}
		time.Sleep(time.Second)
		if got := tryCall(); got != 0 {
			t.Errorf("a second later: got refusal %d, want the call forwarded", got)
		}
	})
}

// A limited user's INVITE must carry a Contact (RFC 3261 §8.1.1.8):
// without one switchboard could not follow its dialog, and the call would
// not count.
func TestLimitedInviteNeedsContact(t *testing.T) {
	run(t, limitsCfg(t, sipproxy.Limits{CallsPerUser: 1}), func(h *harness) {
		h.auth.set(sipproxy.AuthOK)
		bob := h.phone("bob", "192.0.2.20:5060")
		bob.register(false)
		alice := h.browser("alice")
		inv := alice.request(sip.INVITE, sbURI("bob"), sdp)
		inv.RemoveHeader("Contact")
		alice.send(inv)
		if res := alice.final(sip.INVITE); res.StatusCode != 400 || res.Reason != "Bad Request (missing Contact)" {
			t.Errorf("got %d %q, want 400 \"Bad Request (missing Contact)\"", res.StatusCode, res.Reason)
		}
		if n := len(bob.conn.requests(sip.INVITE)); n != 0 {
			t.Errorf("INVITEs at bob: got %d, want 0", n)
		}
	})
}

// An established call ends after Limits.MaxCallDuration with a BYE from
// switchboard to both ends, saying why; an ACKed call is not ended for
// want of an ACK, and one hung up before is left alone.
func TestMaxCallDuration(t *testing.T) {
	const reason = `SIP;cause=200;text="maximum call duration"`
	cfg := sipproxy.Config{Limits: sipproxy.Limits{MaxCallDuration: maxDuration, AckTimeout: ackTimeout}}
	run(t, cfg, func(h *harness) {
		alice, bob := h.browser("alice"), h.phone("bob", "192.0.2.20:5060")
		bob.register(false)
		h.call(alice, bob, sbURI("bob"))
		time.Sleep(maxDuration - time.Second)
		synctest.Wait()
		for _, p := range []*peer{alice, bob} {
			if n := len(p.conn.requests(sip.BYE)); n != 0 {
				t.Fatalf("BYEs at %s before the maximum duration: got %d, want 0", p.user, n)
			}
		}
		time.Sleep(time.Second)
		synctest.Wait()
		for _, p := range []*peer{alice, bob} {
			byes := p.conn.requests(sip.BYE)
			if len(byes) == 0 {
				t.Fatalf("%s got no BYE at the maximum duration", p.user)
			}
			if r := byes[0].GetHeader("Reason"); r == nil || r.Value() != reason {
				t.Errorf("Reason of %s's BYE: got %v, want %s", p.user, r, reason)
			}
		}
		if got := h.counter("switchboard_proxy_dialogs_ended_total", "max_call_duration"); got != 1 {
			t.Errorf("switchboard_proxy_dialogs_ended_total{reason=max_call_duration}: got %v, want 1", got)
		}

		carol := h.browser("carol")
		uac, _ := h.call(carol, bob, sbURI("bob"))
		carol.send(uac.request(sip.BYE, ""))
		bob.respond(bob.last(sip.BYE), 200, "")
		time.Sleep(2 * maxDuration)
		synctest.Wait()
		var reasons []string
		for _, bye := range bob.conn.requests(sip.BYE) {
			if bye.CallID().Value() == uac.callID && bye.GetHeader("Reason") != nil {
				reasons = append(reasons, bye.GetHeader("Reason").Value())
			}
		}
		if len(reasons) != 0 {
			t.Errorf("BYEs of switchboard's after a call hung up: got %v, want none", reasons)
		}
	})
}

// A 2xx no ACK follows within Limits.AckTimeout ends its dialog, BYE to
// both ends, as its UAS would (RFC 3261 §13.3.1.4).
func TestUnackedDialogEnded(t *testing.T) {
	run(t, sipproxy.Config{Limits: sipproxy.Limits{AckTimeout: ackTimeout}}, func(h *harness) {
		alice, bob := h.browser("alice"), h.phone("bob", "192.0.2.20:5060")
		bob.register(false)
		alice.invite(sbURI("bob"))
		answer(alice, bob, false)
		time.Sleep(ackTimeout)
		synctest.Wait()
		for _, p := range []*peer{alice, bob} {
			byes := p.conn.requests(sip.BYE)
			if len(byes) == 0 {
				t.Fatalf("%s got no BYE", p.user)
			}
			if r := byes[0].GetHeader("Reason"); r == nil || r.Value() != `SIP;cause=200;text="no ACK"` {
				t.Errorf("Reason of %s's BYE: got %v", p.user, r)
			}
		}
		if got := h.counter("switchboard_proxy_dialogs_ended_total", "no_ack"); got != 1 {
			t.Errorf("switchboard_proxy_dialogs_ended_total{reason=no_ack}: got %v, want 1", got)
		}
	})
}
