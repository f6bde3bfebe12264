package sipproxy_test

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/internal/signalling/sipproxy"
	"github.com/switchboard-gw/switchboard/internal/signalling/siptx"
)

// trunkCfg routes every user starting with 9 to a UDP trunk.
// trunkCfg routes "9…" to a UDP trunk at 192.0.2.30, trusted by address as
// the gateway trusts the IP literal of every route.
func trunkCfg(t *testing.T, auth bool) sipproxy.Config {
	return sipproxy.Config{Auth: auth, Routes: []sipproxy.Route{{Prefix: "9", URI: mustParseURI(t, "sip:192.0.2.30;transport=udp")}},
		Trusted: sipproxy.Trusted{Networks: []netip.Prefix{netip.MustParsePrefix("192.0.2.30/32")}}}
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

// The addresses of the admission tests: a trusted network, the built-in
// echo service, and everyone else.
var (
	pbxNet    = netip.MustParsePrefix("198.51.100.0/24")
	echoAddr  = netip.MustParseAddrPort("127.0.0.1:40000")
	echoFlow  = "udp:127.0.0.1:40000"
	strangerA = "203.0.113.66:5060"
)

// admitCfg has Auth on, a trunk for users starting with 9, the echo
// service, and trusts the PBX network and the echo service's own address.
func admitCfg(t *testing.T) sipproxy.Config {
	cfg := trunkCfg(t, true)
	cfg.Services = map[string]netip.AddrPort{"echo": echoAddr}
	cfg.Trusted = sipproxy.Trusted{Networks: []netip.Prefix{pbxNet}, Addrs: []netip.AddrPort{echoAddr}}
	return cfg
}

// Every out-of-dialog request from a peer that is not trusted is
// authenticated before it reaches a user, a service or a trunk: by the
// connection it registered on with credentials, never a UDP source, or by
// Proxy-Authorization; and the authenticated user must be the one From
// names (RFC 3261 §22.3). Trusted peers need no credentials; with Auth off
// nothing is asked.
func TestOutOfDialogAdmission(t *testing.T) {
	tests := []struct {
		name   string
		auth   bool // Config.Auth; admitCfg otherwise
		caller string
		// caller is one of: "udp" (a phone at strangerA), "ws" (a browser),
		// "ws-registered", "udp-registered" (registered with credentials
		// over that transport), "trusted-udp", "trusted-ws" (a WebSocket
		// from the trusted network), "echo" (the service's own address),
		// "loopback" (another port of the service's IP).
		method sip.RequestMethod
		ruri   string
		result sipproxy.AuthResult // what the Authenticator says
		user   string              // the user it authenticated; "" is From's
		from   string              // From user; "alice" unless set
		// code and reason are the proxy's answer; 0 when the request must
		// reach dest, a flow ID or "bob" for bob's WebSocket.
		code   int
		reason string
		dest   string
		metric string // the result switchboard_proxy_auth_total counts, "" for none
	}{
		{name: "INVITE to a registered user, no credentials", auth: true, caller: "udp", method: sip.INVITE, ruri: sbURI("bob"), result: sipproxy.AuthMissing, code: 407, metric: "challenged"},
		{name: "MESSAGE to a registered user, no credentials", auth: true, caller: "udp", method: sip.MESSAGE, ruri: sbURI("bob"), result: sipproxy.AuthMissing, code: 407, metric: "challenged"},
		{name: "SUBSCRIBE to a registered user, no credentials", auth: true, caller: "udp", method: sip.SUBSCRIBE, ruri: sbURI("bob"), result: sipproxy.AuthMissing, code: 407, metric: "challenged"},
		{name: "INVITE to echo, no credentials", auth: true, caller: "udp", method: sip.INVITE, ruri: sbURI("echo"), result: sipproxy.AuthMissing, code: 407, metric: "challenged"},
		{name: "INVITE to a trunk, no credentials", auth: true, caller: "udp", method: sip.INVITE, ruri: sbURI("95551234"), result: sipproxy.AuthMissing, code: 407, metric: "challenged"},
		{name: "unregistered browser", auth: true, caller: "ws", method: sip.INVITE, ruri: sbURI("bob"), result: sipproxy.AuthMissing, code: 407, metric: "challenged"},
		{name: "browser registered with credentials", auth: true, caller: "ws-registered", method: sip.INVITE, ruri: sbURI("bob"), result: sipproxy.AuthMissing, dest: "bob", metric: "flow"},
		{name: "browser registered with credentials, to echo", auth: true, caller: "ws-registered", method: sip.INVITE, ruri: sbURI("echo"), result: sipproxy.AuthMissing, dest: echoFlow, metric: "flow"},
		{name: "UDP phone registered, no digest", auth: true, caller: "udp-registered", method: sip.INVITE, ruri: sbURI("bob"), result: sipproxy.AuthMissing, code: 407, metric: "challenged"},
		{name: "digest accepted", auth: true, caller: "udp", method: sip.MESSAGE, ruri: sbURI("bob"), result: sipproxy.AuthOK, dest: "bob", metric: "digest"},
		{name: "digest accepted, to a trunk", auth: true, caller: "udp", method: sip.INVITE, ruri: sbURI("95551234"), result: sipproxy.AuthOK, dest: trunkFlow, metric: "digest"},
		{name: "digest for someone else", auth: true, caller: "udp", method: sip.INVITE, ruri: sbURI("bob"), result: sipproxy.AuthOK, user: "mallory", code: 403,
			reason: "Forbidden (From does not match the authenticated user)", metric: "identity_mismatch"},
		{name: "registered flow, From someone else", auth: true, caller: "ws-registered", from: "carol", method: sip.INVITE, ruri: sbURI("bob"), result: sipproxy.AuthMissing, code: 403,
			reason: "Forbidden (From does not match the authenticated user)", metric: "identity_mismatch"},
		{name: "registered flow, digest for From", auth: true, caller: "ws-registered", from: "carol", method: sip.INVITE, ruri: sbURI("bob"), result: sipproxy.AuthOK, dest: "bob", metric: "digest"},
		{name: "trusted network", auth: true, caller: "trusted-udp", method: sip.INVITE, ruri: sbURI("bob"), result: sipproxy.AuthMissing, dest: "bob", metric: "trusted"},
		{name: "trusted network, to a trunk", auth: true, caller: "trusted-udp", method: sip.INVITE, ruri: sbURI("95551234"), result: sipproxy.AuthMissing, dest: trunkFlow, metric: "trusted"},
		{name: "WebSocket from the trusted network", auth: true, caller: "trusted-ws", method: sip.INVITE, ruri: sbURI("bob"), result: sipproxy.AuthMissing, code: 407, metric: "challenged"},
		{name: "the echo service's address", auth: true, caller: "echo", method: sip.OPTIONS, ruri: sbURI("bob"), result: sipproxy.AuthMissing, dest: "bob", metric: "trusted"},
		{name: "another loopback port", auth: true, caller: "loopback", method: sip.OPTIONS, ruri: sbURI("bob"), result: sipproxy.AuthMissing, code: 407, metric: "challenged"},
		{name: "auth off", caller: "udp", method: sip.INVITE, ruri: sbURI("bob"), result: sipproxy.AuthMissing, dest: "bob"},
		{name: "auth off, to a trunk", caller: "udp", method: sip.INVITE, ruri: sbURI("95551234"), result: sipproxy.AuthMissing, dest: trunkFlow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := admitCfg(t)
			cfg.Auth = tt.auth
			run(t, cfg, func(h *harness) {
				h.auth.set(tt.result)
				h.auth.user = tt.user
				bob := h.browser("bob")
				bob.register(true)
				caller := h.caller(tt.caller, "alice")
				if tt.from != "" {
					caller.user = tt.from
				}
				caller.send(caller.request(tt.method, tt.ruri, ""))

				if tt.metric != "" {
					if got := h.counter("switchboard_proxy_auth_total", tt.metric); got != 1 {
						t.Errorf("switchboard_proxy_auth_total{result=%q}: got %v, want 1", tt.metric, got)
					}
				}
				if tt.code == 0 {
					dest := bob.conn
					if tt.dest != "bob" {
						c, _ := h.net.Lookup(tt.dest)
						dest = c.(*fakeConn)
					}
					if n := len(dest.requests(tt.method)); n != 1 {
						t.Errorf("%ss at %s: got %d, want 1", tt.method, tt.dest, n)
					}
					if got := caller.conn.codes(tt.method); len(got) != 0 {
						t.Errorf("caller got %v, want nothing from the proxy itself", got)
					}
					return
				}
				res := caller.final(tt.method)
				if res.StatusCode != tt.code || (tt.reason != "" && res.Reason != tt.reason) {
					t.Errorf("got %d %q, want %d %q", res.StatusCode, res.Reason, tt.code, tt.reason)
				}
				if tt.code == 407 && res.GetHeader("Proxy-Authenticate") == nil {
					t.Error("407 without Proxy-Authenticate")
				}
				if n := h.net.sentExcept(caller.conn); n != 0 {
					t.Errorf("the proxy sent %d messages elsewhere, want none", n)
				}
			})
		})
	}
}

// caller makes the peer a case of TestOutOfDialogAdmission names.
func (h *harness) caller(kind, user string) *peer {
	h.t.Helper()
	switch kind {
	case "udp":
		return h.phone(user, strangerA)
	case "ws":
		return h.browser(user)
	case "ws-registered", "udp-registered":
		p := h.browser(user)
		if kind == "udp-registered" {
			p = h.phone(user, strangerA)
		}
		h.reg.regUser = user
		p.send(p.request(sip.REGISTER, "sip:"+sbHost, ""))
		if res := p.final(sip.REGISTER); res.StatusCode != 200 {
			h.t.Fatalf("REGISTER: got %d, want 200", res.StatusCode)
		}
		return p
	case "trusted-udp":
		return h.phone(user, "198.51.100.7:5060")
	case "trusted-ws":
		p := h.browser(user)
		p.conn.remote = netip.MustParseAddrPort("198.51.100.8:40000")
		return p
	case "echo":
		return h.phone(user, echoAddr.String())
	case "loopback":
		return h.phone(user, "127.0.0.1:40001")
	}
	h.t.Fatalf("unknown caller %q", kind)
	return nil
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

// Proxy-Authorization for switchboard's own realm (fakeAuth's "fake") is
// consumed, not forwarded to the trunk (RFC 3261 §22.3, §20.28), however
// it is spelt; credentials for other realms and Authorization pass.
func TestOwnCredentialsNotForwarded(t *testing.T) {
	const (
		own   = `Digest username="alice", realm="fake", nonce="n1", uri="sip:95551234@192.0.2.10", response="0123456789abcdef0123456789abcdef"`
		other = `Digest username="alice", realm="carrier", nonce="n2", uri="sip:95551234@192.0.2.10", response="fedcba9876543210fedcba9876543210"`
	)
	tests := []struct {
		name    string
		headers []string // added to the INVITE
		want    []string // "Name: value" of the credentials at the trunk, in order
		removed float64
	}{
		{name: "own realm", headers: []string{"Proxy-Authorization: " + own}, removed: 1},
		{name: "own realm, lower-case name, bare realm", removed: 1,
			headers: []string{`proxy-authorization: Digest username="alice",REALM=fake,nonce="n1"`}},
		{name: "own realm, escaped quote elsewhere", removed: 1,
			headers: []string{`Proxy-Authorization: Digest username="al\"ice, realm=x", realm="fake"`}},
		{name: "other realm", headers: []string{"Proxy-Authorization: " + other},
			want: []string{"Proxy-Authorization: " + other}},
		{name: "both", headers: []string{"Proxy-Authorization: " + own, "Proxy-Authorization: " + other},
			want: []string{"Proxy-Authorization: " + other}, removed: 1},
		{name: "a realm that only starts like ours", headers: []string{`Proxy-Authorization: Digest realm="fakeish"`},
			want: []string{`Proxy-Authorization: Digest realm="fakeish"`}},
		{name: "Authorization for our realm is the UAS's", headers: []string{"Authorization: " + own},
			want: []string{"Authorization: " + own}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run(t, trunkCfg(t, true), func(h *harness) {
				h.auth.set(sipproxy.AuthOK)
				alice := h.browser("alice")
				inv := alice.request(sip.INVITE, sbURI("95551234"), "")
				for _, line := range tt.headers {
					name, value, _ := strings.Cut(line, ": ")
					inv.AppendHeader(sip.NewHeader(name, value))
				}
				alice.send(inv)
				c, _ := h.net.Lookup(trunkFlow)
				fwd := c.(*fakeConn).requests(sip.INVITE)
				if len(fwd) != 1 {
					t.Fatalf("INVITEs at the trunk: got %d, want 1", len(fwd))
				}
				var got []string
				for _, hdr := range fwd[0].Headers() {
					if n := strings.ToLower(hdr.Name()); n == "proxy-authorization" || n == "authorization" {
						got = append(got, hdr.Name()+": "+hdr.Value())
					}
				}
				if !slices.Equal(got, tt.want) {
					t.Errorf("credentials at the trunk: got %q, want %q", got, tt.want)
				}
				if got := h.counter("switchboard_proxy_headers_removed_total", "Proxy-Authorization"); got != tt.removed {
					t.Errorf("switchboard_proxy_headers_removed_total{header=\"Proxy-Authorization\"}: got %v, want %v", got, tt.removed)
				}
			})
		})
	}
}
