package sipproxy_test

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/internal/signalling/sipproxy"
)

const pbxAddr = "192.0.2.40:5060"

func upstreamCfg(t *testing.T, path bool) sipproxy.Config {
	return sipproxy.Config{Mode: sipproxy.ModeUpstream, Upstream: mustParseURI(t, "sip:"+pbxAddr+";transport=udp"), UpstreamPath: path,
		Services: map[string]netip.AddrPort{"echo": netip.MustParseAddrPort("127.0.0.1:40000")},
		Trusted:  sipproxy.Trusted{Networks: []netip.Prefix{netip.MustParsePrefix("192.0.2.40/32")}}}
}

// outboundRegister is a REGISTER as JsSIP sends it with outbound: its
// Contact carries +sip.instance and reg-id (RFC 5626 §4.2).
func (p *peer) outboundRegister() *sip.Request {
	req := p.request(sip.REGISTER, "sip:example.com", "")
	req.To().Address = mustURI(p.h, "sip:"+p.user+"@example.com")
	c := req.Contact()
	c.Params = sip.NewParams()
	c.Params.Add("+sip.instance", `"<urn:uuid:00000000-0000-4000-8000-000000000001>"`)
	c.Params.Add("reg-id", "1")
	c.Params.Add("expires", "300")
	return req
}

// In upstream mode a browser's REGISTER reaches the PBX with a flow-token
// Contact of switchboard's (and a Path when configured); the PBX's
// challenge comes back unchanged and its 200 with the browser's own
// Contact; the PBX's INVITE to the token reaches the browser over its
// WebSocket, addressed to the browser's own Contact.
func TestUpstreamRegisterAndCall(t *testing.T) {
	for _, path := range []bool{true, false} {
		t.Run(fmt.Sprintf("path %v", path), func(t *testing.T) {
			run(t, upstreamCfg(t, path), func(h *harness) {
				alice, pbx := h.browser("alice"), h.phone("pbx", pbxAddr)
				alice.send(alice.outboundRegister())

				reg := pbx.last(sip.REGISTER)
				contact := reg.Contact().Address
				if contact.Host != sbHost || contact.Port != sbPort || !strings.HasPrefix(contact.User, "o") {
					t.Errorf("Contact at the PBX: got %s, want an outbound token (o…) at %s:%d", contact.String(), sbHost, sbPort)
				}
				if v, _ := contact.UriParams.Get("transport"); v != "udp" {
					t.Errorf("Contact transport: got %q, want udp", v)
				}
				pathHdr := reg.GetHeader("Path")
				switch {
				case path && (pathHdr == nil || !strings.HasSuffix(pathHdr.Value(), ";transport=udp;lr;ob>")):
					t.Errorf("Path: got %v, want switchboard's with lr and ob", pathHdr)
				case !path && pathHdr != nil:
					t.Errorf("Path: got %s, want none", pathHdr.Value())
				}

				const challenge = `Digest realm="pbx", nonce="abc123", algorithm=MD5, qop="auth"`
				res := sip.NewResponseFromRequest(reg, 401, "Unauthorized", nil)
				res.AppendHeader(sip.NewHeader("WWW-Authenticate", challenge))
				h.deliver(pbx.conn, res)
				got := alice.final(sip.REGISTER)
				if w := got.GetHeader("WWW-Authenticate"); got.StatusCode != 401 || w == nil || w.Value() != challenge {
					t.Errorf("challenge at the browser: got %d with %v, want 401 with the PBX's %s", got.StatusCode, w, challenge)
				}

				alice.send(alice.outboundRegister())
				reg = pbx.last(sip.REGISTER)
				if again := reg.Contact().Address.User; again != contact.User {
					t.Errorf("token on the second REGISTER: got %s, want %s again", again, contact.User)
				}
				ok := sip.NewResponseFromRequest(reg, 200, "OK", nil)
				c := reg.Contact().Clone()
				c.Params.Add("expires", "300")
				ok.AppendHeader(c)
				h.deliver(pbx.conn, ok)
				got = alice.final(sip.REGISTER)
				if got.StatusCode != 200 || got.Contact() == nil || got.Contact().Address.String() != alice.contact.String() {
					t.Errorf("200 at the browser: got %d with Contact %v, want 200 with %s", got.StatusCode, got.Contact(), alice.contact.String())
				}

				pbx.send(pbx.request(sip.INVITE, contact.String(), ""))
				inv := alice.last(sip.INVITE)
				if got, want := inv.Recipient.String(), alice.contact.String(); got != want {
					t.Errorf("Request-URI at the browser: got %s, want its own Contact %s", got, want)
				}
				if n := len(inv.GetHeaders("Record-Route")); n != 2 {
					t.Errorf("Record-Route: got %d entries, want 2", n)
				}
			})
		})
	}
}

// In upstream mode a browser's request goes to the PBX, except for a
// built-in service; a request for a token whose WebSocket is gone fails
// at once; anything else from the PBX's side is refused.
func TestUpstreamTargets(t *testing.T) {
	run(t, upstreamCfg(t, false), func(h *harness) {
		alice, pbx := h.browser("alice"), h.phone("pbx", pbxAddr)
		echo := h.phone("echo", "127.0.0.1:40000")
		registerUpstream(alice, pbx, 200)

		alice.send(alice.request(sip.INVITE, "sip:bob@example.com", ""))
		if got := pbx.last(sip.INVITE).Recipient.String(); got != "sip:bob@example.com" {
			t.Errorf("Request-URI at the PBX: got %s, want sip:bob@example.com", got)
		}
		alice.send(alice.request(sip.INVITE, sbURI("echo"), ""))
		if n := len(echo.conn.requests(sip.INVITE)); n != 1 {
			t.Errorf("INVITEs at the echo service: got %d, want 1", n)
		}
		if n := len(pbx.conn.requests(sip.INVITE)); n != 1 {
			t.Errorf("INVITEs at the PBX: got %d, want 1 (not the echo call)", n)
		}

		alice.send(alice.outboundRegister())
		token := pbx.last(sip.REGISTER).Contact().Address
		h.close(alice.conn)
		carol := h.browser("carol") // registers without outbound: a token per flow
		reg := carol.request(sip.REGISTER, "sip:example.com", "")
		reg.To().Address = mustURI(h, "sip:carol@example.com")
		carol.send(reg)
		flowToken := pbx.last(sip.REGISTER).Contact().Address
		h.close(carol.conn)
		tests := []struct {
			ruri   string
			code   int
			reason string
		}{
			{ruri: token.String(), code: 430, reason: "Flow Failed"},
			{ruri: flowToken.String(), code: 480, reason: "Temporarily Unavailable (connection closed)"},
			{ruri: "sip:f" + b64("twenty-one bytes long") + "@" + sbHost, code: 404, reason: "Not Found (unknown flow token)"},
			{ruri: "sip:bob@" + sbHost, code: 404, reason: "Not Found (unknown flow token)"},
		}
		for _, tt := range tests {
			pbx.send(pbx.request(sip.INVITE, tt.ruri, ""))
			res := pbx.final(sip.INVITE)
			if res.StatusCode != tt.code || res.Reason != tt.reason {
				t.Errorf("%s: got %d %q, want %d %q", tt.ruri, res.StatusCode, res.Reason, tt.code, tt.reason)
			}
		}
		if got := h.reg.droppedFlows(); !slices.Equal(got, nil) {
			t.Errorf("registrar's flows dropped in upstream mode: got %v, want none", got)
		}
	})
}

// In upstream mode only trusted peers, the PBX first, may send requests to
// a browser's token: anyone else gets 403 and the browser hears nothing,
// whether the token is live or only shaped like one.
func TestUpstreamRequestsToBrowsersNeedTrust(t *testing.T) {
	const untrusted = "Forbidden (not a trusted peer)"
	tests := []struct {
		name   string
		sender string // "pbx", "stranger" (UDP), "browser" (another WebSocket)
		closed bool   // alice's WebSocket is gone: her token no longer bound
		forged bool   // a token-shaped user switchboard never gave out
		code   int    // 0: the INVITE reaches alice
		reason string
		metric string // the switchboard_proxy_auth_total result counted; "" none
	}{
		{name: "from the PBX", sender: "pbx", metric: "trusted"},
		{name: "from a stranger", sender: "stranger", code: 403, reason: untrusted, metric: "untrusted"},
		{name: "from another browser", sender: "browser", code: 403, reason: untrusted, metric: "untrusted"},
		{name: "from a stranger, token no longer bound", sender: "stranger", closed: true, code: 403, reason: untrusted, metric: "untrusted"},
		{name: "from a stranger, forged token", sender: "stranger", forged: true, code: 404, reason: "Not Found (unknown flow token)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run(t, upstreamCfg(t, false), func(h *harness) {
				alice, pbx := h.browser("alice"), h.phone("pbx", pbxAddr)
				alice.send(alice.outboundRegister())
				contact := pbx.last(sip.REGISTER).Contact().Address
				if tt.closed {
					h.close(alice.conn)
				}
				if tt.forged {
					// Change a character whose six bits all count (the
					// last one's low bits may be padding), to another.
					b := []byte(contact.User)
					b[1] = map[bool]byte{true: 'B', false: 'A'}[b[1] == 'A']
					contact.User = string(b)
				}
				sender := map[string]*peer{"pbx": pbx, "stranger": h.phone("mallory", "203.0.113.66:5060"), "browser": h.browser("mallory")}[tt.sender]
				sender.send(sender.request(sip.INVITE, contact.String(), ""))
				invites := len(alice.conn.requests(sip.INVITE))
				for _, result := range []string{"trusted", "untrusted"} {
					want := 0.0
					if result == tt.metric {
						want = 1
					}
					if got := h.counter("switchboard_proxy_auth_total", result); got != want {
						t.Errorf("switchboard_proxy_auth_total{result=%q}: got %v, want %v", result, got, want)
					}
				}
				if tt.code == 0 {
					if invites != 1 {
						t.Errorf("INVITEs at alice: got %d, want 1", invites)
					}
					return
				}
				if invites != 0 {
					t.Errorf("INVITEs at alice: got %d, want 0", invites)
				}
				res := sender.final(sip.INVITE)
				if res.StatusCode != tt.code || res.Reason != tt.reason {
					t.Errorf("got %d %q, want %d %q", res.StatusCode, res.Reason, tt.code, tt.reason)
				}
			})
		})
	}
}

// In upstream mode a browser's request for any user goes to the PBX, even
// at switchboard's own host and shaped like a token: only a token
// switchboard gave out is one, and it is checked by its MAC, never by its
// shape.
func TestUpstreamTokenLookalikesReachThePBX(t *testing.T) {
	run(t, upstreamCfg(t, false), func(h *harness) {
		alice, pbx := h.browser("alice"), h.phone("pbx", pbxAddr)
		alice.send(alice.outboundRegister())
		real := pbx.last(sip.REGISTER).Contact().Address.User
		tests := []struct{ name, user string }{
			{name: "a name starting with o", user: "oscar"},
			{name: "a name starting with f", user: "fred"},
			{name: "the old token shape", user: "o" + b64("fifteen bytes!!")},
			{name: "the token shape, o", user: "o" + b64("twenty-one bytes long")},
			{name: "the token shape, f", user: "f" + b64("twenty-one bytes long")},
			{name: "a real token, last character changed", user: real[:len(real)-1] + map[bool]string{true: "B", false: "A"}[real[len(real)-1] == 'A']},
			{name: "a real token, other prefix", user: "f" + real[1:]},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				before := len(pbx.conn.requests(sip.INVITE))
				alice.send(alice.request(sip.INVITE, sbURI(tt.user), ""))
				invites := pbx.conn.requests(sip.INVITE)
				if len(invites) != before+1 {
					t.Fatalf("INVITEs at the PBX: got %d, want %d; alice got %v", len(invites), before+1, alice.conn.codes(sip.INVITE))
				}
				if got, want := invites[len(invites)-1].Recipient.User, tt.user; got != want {
					t.Errorf("Request-URI user at the PBX: got %q, want %q", got, want)
				}
			})
		}
	})
}

// registerUpstream relays p's outbound REGISTER to the PBX, which answers
// code.
func registerUpstream(p, pbx *peer, code int) {
	p.send(p.outboundRegister())
	reg := pbx.last(sip.REGISTER)
	res := sip.NewResponseFromRequest(reg, code, "Status", nil)
	if code == 200 {
		c := reg.Contact().Clone()
		c.Params.Add("expires", "300")
		res.AppendHeader(c)
	}
	p.h.deliver(pbx.conn, res)
}

// In upstream mode a built-in service, which the PBX never sees, answers
// only a trusted peer or a connection on which the PBX accepted a
// REGISTER; anyone else is told to register first.
func TestUpstreamServicesNeedRegistration(t *testing.T) {
	tests := []struct {
		name   string
		caller string // "browser", "udp" (a phone at a stranger's address), "pbx"
		code   int    // the PBX's answer to the caller's REGISTER; 0: none sent
		other  bool   // the call comes from another WebSocket of the same user
		want   int    // 0: the INVITE reaches echo
		metric string
	}{
		{name: "browser, never registered", caller: "browser", want: 403, metric: "unregistered"},
		{name: "browser, REGISTER challenged", caller: "browser", code: 401, want: 403, metric: "unregistered"},
		{name: "browser, REGISTER refused", caller: "browser", code: 403, want: 403, metric: "unregistered"},
		{name: "browser, REGISTER accepted", caller: "browser", code: 200, metric: "pbx_registered"},
		{name: "browser, registered on another WebSocket", caller: "browser", code: 200, other: true, want: 403, metric: "unregistered"},
		{name: "UDP phone, REGISTER accepted", caller: "udp", code: 200, want: 403, metric: "unregistered"},
		{name: "the PBX", caller: "pbx", metric: "trusted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run(t, upstreamCfg(t, false), func(h *harness) {
				pbx, echo := h.phone("pbx", pbxAddr), h.phone("echo", "127.0.0.1:40000")
				caller := map[string]*peer{"browser": h.browser("alice"), "udp": h.phone("alice", strangerA), "pbx": pbx}[tt.caller]
				if tt.code != 0 {
					registerUpstream(caller, pbx, tt.code)
				}
				if tt.other {
					caller = h.browser("alice")
				}
				caller.send(caller.request(sip.INVITE, sbURI("echo"), ""))
				if got := h.counter("switchboard_proxy_auth_total", tt.metric); got != 1 {
					t.Errorf("switchboard_proxy_auth_total{result=%q}: got %v, want 1", tt.metric, got)
				}
				invites := len(echo.conn.requests(sip.INVITE))
				if tt.want == 0 {
					if invites != 1 {
						t.Errorf("INVITEs at echo: got %d, want 1", invites)
					}
					return
				}
				if invites != 0 {
					t.Errorf("INVITEs at echo: got %d, want 0", invites)
				}
				if res := caller.final(sip.INVITE); res.StatusCode != tt.want || res.Reason != "Forbidden (register first)" {
					t.Errorf("got %d %q, want %d \"Forbidden (register first)\"", res.StatusCode, res.Reason, tt.want)
				}
			})
		})
	}
}
