package sipproxy_test

import (
	"slices"
	"testing"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/internal/signalling/sipproxy"
	"github.com/switchboard-gw/switchboard/internal/signalling/siptx"
)

// trunkCfg routes every user starting with 9 to a UDP trunk.
func trunkCfg(t *testing.T, auth bool) sipproxy.Config {
	return sipproxy.Config{Auth: auth, Routes: []sipproxy.Route{{Prefix: "9", URI: mustParseURI(t, "sip:192.0.2.30;transport=udp")}}}
}

const trunkFlow = "udp:192.0.2.30:5060"

func (h *harness) trunkInvites() int {
	c, _ := h.net.Lookup(trunkFlow)
	return len(c.(*fakeConn).requests(sip.INVITE))
}

// With Auth, a call towards a trunk needs credentials the Authenticator
// accepts (RFC 3261 §22.3); what it makes of them decides the answer.
func TestTrunkCallAuthenticated(t *testing.T) {
	tests := []struct {
		result    sipproxy.AuthResult
		code      int
		challenge string // the Proxy-Authenticate of a 407
	}{
		{result: sipproxy.AuthOK},
		{result: sipproxy.AuthMissing, code: 407, challenge: `Digest realm="fake", stale=false`},
		{result: sipproxy.AuthStale, code: 407, challenge: `Digest realm="fake", stale=true`},
		{result: sipproxy.AuthMalformed, code: 400},
		{result: sipproxy.AuthRefused, code: 403},
	}
	for _, tt := range tests {
		t.Run(authName(tt.result), func(t *testing.T) {
			run(t, trunkCfg(t, true), func(h *harness) {
				h.auth.set(tt.result)
				alice := h.browser("alice")
				alice.send(alice.request(sip.INVITE, sbURI("95551234"), ""))
				if got := h.auth.calls(); got != 1 {
					t.Errorf("Verify called %d times, want 1", got)
				}
				if tt.code == 0 {
					if n := h.trunkInvites(); n != 1 {
						t.Errorf("INVITEs at the trunk: got %d, want 1", n)
					}
					return
				}
				if n := h.trunkInvites(); n != 0 {
					t.Errorf("INVITEs at the trunk: got %d, want 0", n)
				}
				res := alice.final(sip.INVITE)
				if res.StatusCode != tt.code {
					t.Fatalf("got %d %s, want %d", res.StatusCode, res.Reason, tt.code)
				}
				if h := res.GetHeader("Proxy-Authenticate"); tt.challenge != "" && (h == nil || h.Value() != tt.challenge) {
					t.Errorf("Proxy-Authenticate: got %v, want %s", h, tt.challenge)
				}
			})
		})
	}
}

func authName(r sipproxy.AuthResult) string {
	return [...]string{"ok", "missing", "stale", "malformed", "refused"}[r]
}

// A flow that registered with credentials over a connection needs none
// again for trunk calls; a UDP source, which can be spoofed, does. Calls
// to registered users and calls with Auth off are not checked at all.
func TestAuthNotAsked(t *testing.T) {
	tests := []struct {
		name       string
		auth       bool
		registerOn string // transport the caller registered with credentials over, if any
		ruri       string
		verified   int
	}{
		{name: "auth off", auth: false, ruri: sbURI("95551234"), verified: 0},
		{name: "registered over WebSocket", auth: true, registerOn: "WS", ruri: sbURI("95551234"), verified: 0},
		{name: "registered over UDP", auth: true, registerOn: "UDP", ruri: sbURI("95551234"), verified: 1},
		{name: "call to a registered user", auth: true, ruri: sbURI("bob"), verified: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run(t, trunkCfg(t, tt.auth), func(h *harness) {
				h.auth.set(sipproxy.AuthMissing)
				h.reg.regUser = "alice"
				alice := h.browser("alice")
				if tt.registerOn == "UDP" {
					alice = h.phone("alice", "192.0.2.21:5060")
				}
				h.phone("bob", "192.0.2.20:5060").register(false)
				if tt.registerOn != "" {
					alice.send(alice.request(sip.REGISTER, "sip:"+sbHost, ""))
				}
				alice.send(alice.request(sip.INVITE, tt.ruri, ""))
				if got := h.auth.calls(); got != tt.verified {
					t.Errorf("Verify called %d times, want %d", got, tt.verified)
				}
				wantCodes := []int{}
				if tt.verified > 0 {
					wantCodes = []int{407}
				}
				if got := alice.conn.codes(sip.INVITE); !slices.Equal(got, wantCodes) {
					t.Errorf("alice got %v, want %v", got, wantCodes)
				}
			})
		})
	}
}

// A REGISTER goes to Registrations with the flow it came on, and its
// answer goes back as Registrations made it; none while draining.
func TestRegister(t *testing.T) {
	run(t, sipproxy.Config{}, func(h *harness) {
		alice := h.browser("alice")
		alice.send(alice.request(sip.REGISTER, "sip:"+sbHost, ""))
		want := sipproxy.Flow{ID: alice.conn.flowID, Transport: "WS", Remote: alice.conn.remote}
		if got := h.reg.registered(); !slices.Equal(got, []sipproxy.Flow{want}) {
			t.Errorf("Register's flows: got %v, want [%v]", got, want)
		}
		res := alice.final(sip.REGISTER)
		if h := res.GetHeader("X-Registrar"); res.StatusCode != 200 || h == nil || h.Value() != "fake registrar" {
			t.Errorf("got %d with X-Registrar %v, want the registrar's own 200", res.StatusCode, h)
		}

		h.proxy.Drain()
		alice.send(alice.request(sip.REGISTER, "sip:"+sbHost, ""))
		res = alice.final(sip.REGISTER)
		if ra := res.GetHeader("Retry-After"); res.StatusCode != 503 || ra == nil || ra.Value() != "5" {
			t.Errorf("while draining: got %d with Retry-After %v, want 503 with Retry-After 5", res.StatusCode, ra)
		}
		if got := len(h.reg.registered()); got != 1 {
			t.Errorf("Register called %d times, want 1 (none while draining)", got)
		}
	})
}

// The deps a mode or Auth needs are checked when the proxy is built.
func TestNewChecksDeps(t *testing.T) {
	reg, auth := newFakeRegistrar(), &fakeAuth{}
	upstream := mustParseURI(t, "sip:192.0.2.40")
	tests := []struct {
		name    string
		cfg     sipproxy.Config
		deps    sipproxy.Deps
		wantErr bool
	}{
		{name: "registrar mode", deps: sipproxy.Deps{Registrations: reg, Locator: reg}},
		{name: "registrar mode without a Locator", deps: sipproxy.Deps{Registrations: reg}, wantErr: true},
		{name: "registrar mode without Registrations", deps: sipproxy.Deps{Locator: reg}, wantErr: true},
		{name: "auth without an Authenticator", cfg: sipproxy.Config{Auth: true},
			deps: sipproxy.Deps{Registrations: reg, Locator: reg}, wantErr: true},
		{name: "auth", cfg: sipproxy.Config{Auth: true},
			deps: sipproxy.Deps{Registrations: reg, Locator: reg, Authenticator: auth}},
		{name: "upstream mode", cfg: sipproxy.Config{Mode: sipproxy.ModeUpstream, Upstream: upstream}},
		{name: "upstream mode without a PBX", cfg: sipproxy.Config{Mode: sipproxy.ModeUpstream}, wantErr: true},
		{name: "unknown mode", cfg: sipproxy.Config{Mode: 7}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.deps.Layer, tt.deps.Network = siptx.New(testTimers, siptx.Deps{}), newFakeNetwork()
			p, err := sipproxy.New(tt.cfg, tt.deps)
			if (err != nil) != tt.wantErr {
				t.Fatalf("got error %v, want an error: %v", err, tt.wantErr)
			}
			if p != nil {
				p.Close()
			}
		})
	}
	if _, err := sipproxy.New(sipproxy.Config{Mode: sipproxy.ModeUpstream, Upstream: upstream}, sipproxy.Deps{}); err == nil {
		t.Error("without Layer and Network: got no error")
	}
}
