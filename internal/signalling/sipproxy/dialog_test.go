package sipproxy_test

import (
	"encoding/base64"
	"slices"
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/internal/signalling/sipproxy"
)

// In-dialog requests pop both of switchboard's Route entries (RFC 3261
// §16.4) and leave on the flow the last one names: the browser's
// WebSocket, whatever its .invalid Contact says, or the phone's address.
func TestInDialogRequestsFollowFlowTokens(t *testing.T) {
	run(t, sipproxy.Config{}, func(h *harness) {
		alice, bob := h.browser("alice"), h.phone("bob", "192.0.2.20:5060")
		bob.register(false)
		carol := h.browser("carol") // another live WebSocket, which must get nothing
		aliceSide, bobSide := h.call(alice, bob, sbURI("bob"))
		if got := len(aliceSide.route); got != 2 {
			t.Fatalf("alice's route set: got %d entries, want 2", got)
		}
		if n := len(bob.conn.requests(sip.ACK)); n != 1 {
			t.Errorf("ACKs at bob: got %d, want 1", n)
		}

		alice.send(aliceSide.request(sip.INFO, ""))
		bob.send(bobSide.request(sip.MESSAGE, ""))
		for _, tt := range []struct {
			to     *peer
			method sip.RequestMethod
			ruri   string
		}{
			{bob, sip.INFO, bob.contact.String()},
			{alice, sip.MESSAGE, alice.contact.String()},
		} {
			req := tt.to.last(tt.method)
			if got := req.Recipient.String(); got != tt.ruri {
				t.Errorf("%s Request-URI: got %s, want %s", tt.method, got, tt.ruri)
			}
			if r := req.GetHeaders("Route"); len(r) != 0 {
				t.Errorf("%s still has Route %v, want switchboard's entries popped", tt.method, r)
			}
			if via := req.Via(); via.Host != sbHost || via.Transport != tt.to.conn.transport {
				t.Errorf("%s top Via: got %s, want switchboard's on %s", tt.method, via.Value(), tt.to.conn.transport)
			}
		}
		if n := carol.conn.count(); n != 0 {
			t.Errorf("carol got %d messages, want none", n)
		}
	})
}

// A Route entry whose flow token does not verify was tampered with: the
// request is refused 403 (RFC 5626 §5.3), neither steered onto the flow it
// claims nor sent where its Request-URI says.
func TestBadFlowTokenRefused(t *testing.T) {
	tests := []struct {
		name  string
		token func(real, victim string) string
	}{
		{name: "tampered: another flow's ID under the real MAC", token: func(real, victim string) string {
			_, mac, _ := strings.Cut(real, ".")
			return b64(victim) + "." + mac
		}},
		{name: "forged: a made-up MAC", token: func(_, victim string) string { return b64(victim) + ".AAAAAAAAAAAA" }},
		{name: "no MAC", token: func(_, victim string) string { return b64(victim) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run(t, sipproxy.Config{}, func(h *harness) {
				alice, bob := h.browser("alice"), h.phone("bob", "192.0.2.20:5060")
				alice.register(true)
				victim := h.browser("victim")
				bobSide, _ := h.call(bob, alice, sbURI("alice"))
				last := bobSide.route[len(bobSide.route)-1] // facing alice
				u := mustParseURI(t, last)
				u.User = tt.token(u.User, victim.conn.flowID)
				bobSide.route[len(bobSide.route)-1] = u.String()

				before := alice.conn.count()
				bob.send(bobSide.request(sip.BYE, ""))
				res := bob.final(sip.BYE)
				if res.StatusCode != 403 || res.Reason != "Forbidden (bad flow token)" {
					t.Errorf("got %d %q, want 403 \"Forbidden (bad flow token)\"", res.StatusCode, res.Reason)
				}
				if n := victim.conn.count(); n != 0 {
					t.Errorf("the victim's flow got %d messages, want none", n)
				}
				if n := alice.conn.count() - before; n != 0 {
					t.Errorf("alice got %d messages, want none", n)
				}
			})
		})
	}
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// RFC 3261 §16.3: Max-Forwards 0 is answered 483; a request of a dialog
// switchboard is not in is answered 481 (§12.2.2).
func TestRequestValidation(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(req *sip.Request)
		code   int
		reason string
	}{
		{name: "Max-Forwards 0", code: 483, reason: "Too Many Hops", edit: func(req *sip.Request) {
			mf := sip.MaxForwardsHeader(0)
			req.ReplaceHeader(&mf)
		}},
		{name: "in-dialog, not through switchboard", code: 481, reason: "Call/Transaction Does Not Exist",
			edit: func(req *sip.Request) { req.To().Params.Add("tag", "x") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run(t, sipproxy.Config{}, func(h *harness) {
				alice, bob := h.browser("alice"), h.phone("bob", "192.0.2.20:5060")
				bob.register(false)
				req := alice.request(sip.OPTIONS, sbURI("bob"), "")
				tt.edit(req)
				alice.send(req)
				res := alice.final(sip.OPTIONS)
				if res.StatusCode != tt.code || res.Reason != tt.reason {
					t.Errorf("got %d %q, want %d %q", res.StatusCode, res.Reason, tt.code, tt.reason)
				}
				if n := bob.conn.count(); n != 0 {
					t.Errorf("bob got %d messages, want none", n)
				}
			})
		})
	}
	t.Run("Max-Forwards 1", func(t *testing.T) {
		run(t, sipproxy.Config{}, func(h *harness) {
			alice, bob := h.browser("alice"), h.phone("bob", "192.0.2.20:5060")
			bob.register(false)
			req := alice.request(sip.OPTIONS, sbURI("bob"), "")
			mf := sip.MaxForwardsHeader(1)
			req.ReplaceHeader(&mf)
			alice.send(req)
			if got := bob.last(sip.OPTIONS).MaxForwards().Val(); got != 0 {
				t.Errorf("Max-Forwards at bob: got %d, want 0", got)
			}
		})
	})
}

// A request that comes back to switchboard unchanged is a loop, RFC 3261
// §16.3 step 4: its own branch in a Via carries the same loop hash. The
// first return is a spiral (the trunk rule rewrote the Request-URI), the
// second a loop.
func TestLoopDetected(t *testing.T) {
	cfg := sipproxy.Config{Routes: []sipproxy.Route{{Prefix: "55", URI: mustParseURI(t, "sip:"+sbHost+":5060;transport=udp")}}}
	run(t, cfg, func(h *harness) {
		alice := h.browser("alice")
		alice.send(alice.request(sip.OPTIONS, sbURI("551"), ""))
		self := h.phone("self", sbHost+":5060") // the path from switchboard to itself
		for pass := 1; pass <= 2; pass++ {
			self.send(self.last(sip.OPTIONS))
			if got := self.conn.codes(sip.OPTIONS); pass == 1 && len(got) != 0 {
				t.Fatalf("first return (a spiral): got %v, want it forwarded", got)
			}
		}
		res := self.final(sip.OPTIONS)
		if res.StatusCode != 482 || res.Reason != "Loop Detected" {
			t.Fatalf("second return: got %d %q, want 482 Loop Detected", res.StatusCode, res.Reason)
		}
		for i := 0; i < len(self.conn.responses(sip.OPTIONS)); i++ {
			h.deliver(self.conn, self.conn.responses(sip.OPTIONS)[i]) // each hop's 482 goes back to the one before
		}
		if got := alice.conn.codes(sip.OPTIONS); !slices.Equal(got, []int{482}) {
			t.Errorf("alice got %v, want [482]", got)
		}
	})
}

// An in-dialog request must come through switchboard as its route set says,
// whoever sends it, trusted or not: one without a flow token of switchboard's
// is refused 481 and one with a forged token 403, and neither is sent where
// its Request-URI says: that would make switchboard an open relay. An ACK
// is dropped without an answer.
func TestInDialogNeedsOurRoute(t *testing.T) {
	tests := []struct {
		name   string
		route  string // the Route header's value; "" for none
		code   int
		reason string
		metric string
	}{
		{name: "no Route", code: 481, reason: "Call/Transaction Does Not Exist", metric: "no_route"},
		{name: "Route of switchboard's without a token", route: "<sip:" + sbHost + ";lr>", code: 481,
			reason: "Call/Transaction Does Not Exist", metric: "no_route"},
		{name: "Route of switchboard's with a forged token", route: "<sip:" + b64("udp:198.51.100.1:5060") + ".AAAAAAAAAAAA@" + sbHost + ";lr>",
			code: 403, reason: "Forbidden (bad flow token)", metric: "bad_token"},
		{name: "Route of someone else's", route: "<sip:198.51.100.1;lr>", code: 481,
			reason: "Call/Transaction Does Not Exist", metric: "no_route"},
	}
	for _, tt := range tests {
		for _, sender := range []string{"203.0.113.66:5060", "198.51.100.7:5060"} { // a stranger, a trusted peer
			t.Run(tt.name+" from "+sender, func(t *testing.T) {
				cfg := admitCfg(t)
				run(t, cfg, func(h *harness) {
					alice, bob := h.browser("alice"), h.phone("bob", "192.0.2.20:5060")
					bob.register(false)
					h.reg.regUser = "alice"
					alice.send(alice.request(sip.REGISTER, "sip:"+sbHost, ""))
					h.call(alice, bob, sbURI("bob")) // a dialog, so that real tokens exist
					mallory := h.phone("mallory", sender)
					for _, method := range []sip.RequestMethod{sip.INVITE, sip.ACK} {
						before := h.net.sentExcept(mallory.conn)
						req := mallory.request(method, "sip:x@198.51.100.1", "")
						req.To().Params.Add("tag", "x")
						if tt.route != "" {
							req.AppendHeader(sip.NewHeader("Route", tt.route))
						}
						mallory.send(req)
						if n := h.net.sentExcept(mallory.conn) - before; n != 0 {
							t.Errorf("%s: the proxy sent %d messages, want none", method, n)
						}
					}
					res := mallory.final(sip.INVITE)
					if res.StatusCode != tt.code || res.Reason != tt.reason {
						t.Errorf("got %d %q, want %d %q", res.StatusCode, res.Reason, tt.code, tt.reason)
					}
					if n := len(mallory.conn.responses(sip.ACK)); n != 0 {
						t.Errorf("responses to the ACK: got %d, want none", n)
					}
					if got := h.counter("switchboard_proxy_in_dialog_refused_total", tt.metric); got != 2 {
						t.Errorf("switchboard_proxy_in_dialog_refused_total{reason=%q}: got %v, want 2 (INVITE and ACK)", tt.metric, got)
					}
				})
			})
		}
	}
}

// A flow token in a route set is good for its own dialog only: a party to
// one call, who learnt the token of the callee's flow from the route set,
// cannot use it for requests of another Call-ID (403, and the callee hears
// nothing), while its own dialog's requests, early ones included, pass.
func TestFlowTokenBoundToDialog(t *testing.T) {
	tests := []struct {
		name   string
		callID string // "" keeps the dialog's
		early  bool   // an UPDATE on the early dialog of a 183, before the 2xx
		code   int    // 0: the request reaches bob
	}{
		{name: "its own dialog"},
		{name: "its own early dialog", early: true},
		{name: "another Call-ID", callID: "someone-elses-call@example.com", code: 403},
		{name: "another Call-ID, early", callID: "someone-elses-call@example.com", early: true, code: 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run(t, sipproxy.Config{}, func(h *harness) {
				alice, bob := h.browser("alice"), h.phone("bob", "192.0.2.20:5060")
				bob.register(false)
				var aliceSide *dialog
				method := sip.BYE
				if tt.early {
					alice.send(alice.request(sip.INVITE, sbURI("bob"), sdp))
					bob.respond(bob.last(sip.INVITE), 183, "")
					rs := alice.conn.responses(sip.INVITE)
					aliceSide = alice.uacDialog(rs[len(rs)-1])
					method = sip.UPDATE
				} else {
					aliceSide, _ = h.call(alice, bob, sbURI("bob"))
				}
				if tt.callID != "" {
					aliceSide.callID = tt.callID
				}
				before := len(bob.conn.requests(method))
				alice.send(aliceSide.request(method, ""))
				got := len(bob.conn.requests(method)) - before
				if tt.code == 0 {
					if got != 1 {
						t.Errorf("%ss at bob: got %d, want 1", method, got)
					}
					return
				}
				if got != 0 {
					t.Errorf("%ss at bob: got %d, want 0", method, got)
				}
				if res := alice.final(method); res.StatusCode != tt.code || res.Reason != "Forbidden (bad flow token)" {
					t.Errorf("got %d %q, want %d \"Forbidden (bad flow token)\"", res.StatusCode, res.Reason, tt.code)
				}
				if got := h.counter("switchboard_proxy_in_dialog_refused_total", "bad_token"); got != 1 {
					t.Errorf("switchboard_proxy_in_dialog_refused_total{reason=\"bad_token\"}: got %v, want 1", got)
				}
			})
		})
	}
}
