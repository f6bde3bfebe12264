package sipproxy_test

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/internal/signalling/sipproxy"
)

// A request for a registered user goes over the flow its contact
// registered on, with the contact as Request-URI, this hop's Via,
// Max-Forwards one less and two Record-Route entries (RFC 5658).
func TestRoutesToRegisteredContact(t *testing.T) {
	run(t, sipproxy.Config{}, func(h *harness) {
		alice, bob := h.browser("alice"), h.phone("bob", "192.0.2.20:5060")
		bob.register(false)
		alice.send(alice.request(sip.INVITE, sbURI("bob"), ""))

		inv := bob.last(sip.INVITE)
		if got, want := inv.Recipient.String(), bob.contact.String(); got != want {
			t.Errorf("Request-URI: got %s, want %s", got, want)
		}
		if via := inv.Via(); via.Host != sbHost || via.Transport != "UDP" {
			t.Errorf("top Via: got %s, want switchboard's on UDP", via.Value())
		}
		if got := len(inv.GetHeaders("Via")); got != 2 {
			t.Errorf("Via count: got %d, want 2", got)
		}
		if got := inv.MaxForwards().Val(); got != 69 {
			t.Errorf("Max-Forwards: got %d, want 69", got)
		}
		rr := inv.GetHeaders("Record-Route")
		if len(rr) != 2 {
			t.Fatalf("Record-Route: got %d entries, want 2", len(rr))
		}
		for i, want := range []string{";transport=udp;lr", ";transport=ws;lr;ob"} { // facing bob, then alice
			if !strings.Contains(rr[i].Value(), "@"+sbHost) || !strings.HasSuffix(strings.TrimSuffix(rr[i].Value(), ">"), want) {
				t.Errorf("Record-Route %d: got %s, want switchboard's ending %s", i, rr[i].Value(), want)
			}
		}
		if got := alice.conn.codes(sip.INVITE); len(got) != 0 {
			t.Errorf("alice got %v before bob answered, want only 100", got)
		}
		if rs := alice.conn.responses(sip.INVITE); len(rs) != 1 || rs[0].StatusCode != 100 {
			t.Errorf("alice's responses: got %d, want one 100 Trying", len(rs))
		}
	})
}

// A user registered twice gets the request on both contacts; the best
// final response wins (RFC 3261 §16.7), and a 2xx cancels the branch
// that is still ringing.
func TestForking(t *testing.T) {
	tests := []struct {
		name    string
		answers [2]int // first contact's final, then second's
		want    int
	}{
		{name: "lowest class wins", answers: [2]int{500, 486}, want: 486},
		{name: "first of a class kept", answers: [2]int{486, 404}, want: 486},
		{name: "6xx beats all", answers: [2]int{302, 603}, want: 603},
		{name: "503 from the next hop is 500", answers: [2]int{503, 503}, want: 500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run(t, sipproxy.Config{}, func(h *harness) {
				alice := h.phone("alice", "192.0.2.21:5060")
				bob1, bob2 := h.browser("bob"), h.browser("bob")
				bob1.register(true)
				bob2.register(true)
				alice.send(alice.request(sip.INVITE, sbURI("bob"), ""))
				bob1.respond(bob1.last(sip.INVITE), tt.answers[0], "")
				if got := alice.conn.codes(sip.INVITE); tt.answers[0] < 600 && len(got) != 0 {
					t.Fatalf("alice got %v while a branch is pending, want nothing yet", got)
				}
				bob2.respond(bob2.last(sip.INVITE), tt.answers[1], "")
				if got := alice.conn.codes(sip.INVITE); !slices.Equal(got, []int{tt.want}) {
					t.Errorf("alice got %v, want [%d]", got, tt.want)
				}
			})
		})
	}
	t.Run("2xx cancels the other branch", func(t *testing.T) {
		run(t, sipproxy.Config{}, func(h *harness) {
			alice := h.phone("alice", "192.0.2.21:5060")
			bob1, bob2 := h.browser("bob"), h.browser("bob")
			bob1.register(true)
			bob2.register(true)
			alice.send(alice.request(sip.INVITE, sbURI("bob"), ""))
			inv1, inv2 := bob1.last(sip.INVITE), bob2.last(sip.INVITE)
			bob2.respond(inv2, 180, "")
			bob1.respond(inv1, 200, "")
			if got := alice.conn.codes(sip.INVITE); !slices.Equal(got, []int{180, 200}) {
				t.Errorf("alice got %v, want [180 200]", got)
			}
			cancels := bob2.conn.requests(sip.CANCEL)
			if len(cancels) != 1 {
				t.Fatalf("ringing branch got %d CANCELs, want 1", len(cancels))
			}
			if got, want := branchOf(cancels[0]), branchOf(inv2); got != want {
				t.Errorf("CANCEL branch: got %s, want the INVITE's %s", got, want)
			}
			if n := len(bob1.conn.requests(sip.CANCEL)); n != 0 {
				t.Errorf("answering branch got %d CANCELs, want 0", n)
			}
			bob2.respond(inv2, 487, "")
			if got := alice.conn.codes(sip.INVITE); !slices.Equal(got, []int{180, 200}) {
				t.Errorf("after the 487: alice got %v, want [180 200]", got)
			}
		})
	})
}

func branchOf(req *sip.Request) string {
	b, _ := req.Via().Params.Get("branch")
	return b
}

// An out-of-dialog request goes, in order of preference, to a built-in
// service, a registered contact, a trunk; else it is refused.
func TestTargets(t *testing.T) {
	echo := netip.MustParseAddrPort("127.0.0.1:40000")
	routes := []sipproxy.Route{
		{Prefix: "9", Strip: 1, URI: mustParseURI(t, "sip:192.0.2.30:5070;transport=udp")},
		{Prefix: "00", URI: mustParseURI(t, "sip:192.0.2.32;transport=tls")},
		{Prefix: "7", URI: mustParseURI(t, "sip:192.0.2.31")},
	}
	tests := []struct {
		name string
		ruri string
		// flow and ruri are where the request must go; code is the
		// response when it must go nowhere.
		flow, wantRURI string
		code           int
		reason         string
	}{
		{name: "registered user", ruri: sbURI("bob"), flow: "udp:192.0.2.20:5060", wantRURI: "sip:bob@192.0.2.20:5060"},
		{name: "service beats registration and trunk", ruri: sbURI("echo"), flow: "udp:127.0.0.1:40000", wantRURI: sbURI("echo")},
		{name: "trunk by prefix, stripped", ruri: sbURI("95551234"), flow: "udp:192.0.2.30:5070",
			wantRURI: "sip:5551234@192.0.2.30:5070;transport=udp"},
		{name: "trunk by prefix, not stripped", ruri: sbURI("7123"), flow: "udp:192.0.2.31:5060", wantRURI: "sip:7123@192.0.2.31"},
		{name: "unknown user of switchboard", ruri: sbURI("carol"), code: 480, reason: "Temporarily Unavailable (not registered)"},
		{name: "unknown user elsewhere", ruri: "sip:carol@example.com", code: 404, reason: "Not Found (no route)"},
		{name: "trunk over a transport not enabled", ruri: sbURI("00123"), code: 503, reason: "Service Unavailable (transport not enabled)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := sipproxy.Config{Routes: routes, Services: map[string]netip.AddrPort{"echo": echo}}
			run(t, cfg, func(h *harness) {
				alice, bob := h.browser("alice"), h.phone("bob", "192.0.2.20:5060")
				bob.register(false)
				h.reg.add("echo", bob.registration(false))
				alice.send(alice.request(sip.INVITE, tt.ruri, ""))
				if tt.code != 0 {
					res := alice.final(sip.INVITE)
					if res.StatusCode != tt.code || res.Reason != tt.reason {
						t.Errorf("got %d %q, want %d %q", res.StatusCode, res.Reason, tt.code, tt.reason)
					}
					return
				}
				c, ok := h.net.Lookup(tt.flow)
				if !ok {
					t.Fatalf("no flow %s", tt.flow)
				}
				got := c.(*fakeConn).requests(sip.INVITE)
				if len(got) != 1 {
					t.Fatalf("INVITEs on %s: got %d, want 1", tt.flow, len(got))
				}
				if got[0].Recipient.String() != tt.wantRURI {
					t.Errorf("Request-URI: got %s, want %s", got[0].Recipient.String(), tt.wantRURI)
				}
			})
		})
	}
}

func mustParseURI(t *testing.T, s string) sip.Uri {
	t.Helper()
	var u sip.Uri
	if err := sip.ParseUri(s, &u); err != nil {
		t.Fatalf("ParseUri(%q): %v", s, err)
	}
	return u
}

// registration is p's Contact as the location service holds it.
func (p *peer) registration(outbound bool) sipproxy.Contact {
	return sipproxy.Contact{URI: p.contact, FlowID: p.conn.flowID, Outbound: outbound}
}
