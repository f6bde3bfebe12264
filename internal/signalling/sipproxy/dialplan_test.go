package sipproxy_test

import (
	"testing"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/internal/signalling/sipproxy"
)

// A call for a trunk is dialled by number: the Request-URI user is
// unescaped and stripped of visual separators, and must then be [+]digits;
// a route takes it by prefix unless its Deny or Allow refuse it, and the
// trunk receives the normalised number after Strip. Names of registered
// users and services are not numbers, and the dial plan leaves them alone.
func TestDialPlan(t *testing.T) {
	routes := []sipproxy.Route{
		{Prefix: "+1", Allow: []string{"+1*"}, Deny: []string{"+1900*", "+15550000"}, URI: mustParseURI(t, "sip:192.0.2.30;transport=udp")},
		{Prefix: "9", Strip: 1, Deny: []string{"44*"}, URI: mustParseURI(t, "sip:192.0.2.31;transport=udp")},
		{Prefix: "8", Allow: []string{"81*"}, URI: mustParseURI(t, "sip:192.0.2.31;transport=udp")},
		{Prefix: "8", Strip: 1, URI: mustParseURI(t, "sip:192.0.2.30;transport=udp")}, // takes what the route above refuses
	}
	tests := []struct {
		name string
		user string
		// flow and number are where the INVITE must go and the user part
		// it must carry there; code and reason the answer when it must go
		// nowhere, metric the reason numbers_refused_total counts.
		flow, number string
		code         int
		reason       string
		metric       string
	}{
		{name: "E.164 with separators", user: "+1-555-(123).4567", flow: "udp:192.0.2.30:5060", number: "+15551234567"},
		{name: "escaped plus", user: "%2B15551234567", flow: "udp:192.0.2.30:5060", number: "+15551234567"},
		{name: "stripped after normalising", user: "9-020-7946-0000", flow: "udp:192.0.2.31:5060", number: "02079460000"},
		{name: "allowed by the first route", user: "8123", flow: "udp:192.0.2.31:5060", number: "8123"},
		{name: "refused by the first route, taken by the next", user: "8223", flow: "udp:192.0.2.30:5060", number: "223"},
		{name: "denied prefix", user: "+19005551234", code: 403, reason: "Forbidden (number not allowed)", metric: "not_allowed"},
		{name: "denied number", user: "+1-555-0000", code: 403, reason: "Forbidden (number not allowed)", metric: "not_allowed"},
		{name: "escaped space", user: "%2B1%20555", code: 404, reason: "Not Found (not a valid number)", metric: "invalid"},
		{name: "denied number, escaped", user: "%2B1555-0000", code: 403, reason: "Forbidden (number not allowed)", metric: "not_allowed"},
		{name: "denied after Strip", user: "9441234", code: 403, reason: "Forbidden (number not allowed)", metric: "not_allowed"},
		{name: "hash", user: "555%231234", code: 404, reason: "Not Found (not a valid number)", metric: "invalid"},
		{name: "star code", user: "*69", code: 404, reason: "Not Found (not a valid number)", metric: "invalid"},
		{name: "escaped star", user: "%2A691", code: 404, reason: "Not Found (not a valid number)", metric: "invalid"},
		{name: "Arabic-Indic digits", user: "٩٥٥٥", code: 404, reason: "Not Found (not a valid number)", metric: "invalid"},
		{name: "fullwidth digits", user: "９５５５", code: 404, reason: "Not Found (not a valid number)", metric: "invalid"},
		{name: "plus inside", user: "9+44123", code: 404, reason: "Not Found (not a valid number)", metric: "invalid"},
		{name: "malformed escape", user: "95%G1", code: 404, reason: "Not Found (not a valid number)", metric: "invalid"},
		{name: "escaped NUL", user: "95%001", code: 404, reason: "Not Found (not a valid number)", metric: "invalid"},
		{name: "phone-context", user: "5551234;phone-context=+1", code: 484, reason: "Address Incomplete (phone-context not supported)", metric: "phone_context"},
		{name: "escaped phone-context", user: "95551234%3Bphone-context=example.com", code: 484, reason: "Address Incomplete (phone-context not supported)", metric: "phone_context"},
		{name: "extension parameter", user: "95551234;ext=22", code: 404, reason: "Not Found (not a valid number)", metric: "invalid"},
		{name: "plus alone", user: "+", code: 484, reason: "Address Incomplete", metric: "incomplete"},
		{name: "separators alone", user: "+(-)", code: 484, reason: "Address Incomplete", metric: "incomplete"},
		{name: "too long", user: "9123456789012345678901234567890123", code: 404, reason: "Not Found (not a valid number)", metric: "invalid"},
		{name: "no route's prefix", user: "5551234", code: 480, reason: "Temporarily Unavailable (not registered)"},
		{name: "a name, not registered", user: "carol", code: 480, reason: "Temporarily Unavailable (not registered)"},
		{name: "registered user whose name a route would take", user: "90044", flow: "udp:192.0.2.20:5060", number: "bob"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run(t, sipproxy.Config{Routes: routes}, func(h *harness) {
				bob := h.phone("bob", "192.0.2.20:5060")
				h.reg.add("90044", bob.registration(false))
				alice := h.browser("alice")
				alice.send(alice.request(sip.INVITE, sbURI(tt.user), sdp))
				for _, m := range []string{"invalid", "phone_context", "incomplete", "not_allowed"} {
					want := 0.0
					if m == tt.metric {
						want = 1
					}
					if got := h.counter("switchboard_proxy_numbers_refused_total", m); got != want {
						t.Errorf("switchboard_proxy_numbers_refused_total{reason=%q}: got %v, want %v", m, got, want)
					}
				}
				if tt.code != 0 {
					res := alice.final(sip.INVITE)
					if res.StatusCode != tt.code || res.Reason != tt.reason {
						t.Errorf("got %d %q, want %d %q", res.StatusCode, res.Reason, tt.code, tt.reason)
					}
					if n := h.net.sentExcept(alice.conn); n != 0 {
						t.Errorf("the proxy sent %d messages elsewhere, want none", n)
					}
					return
				}
				c, ok := h.net.Lookup(tt.flow)
				if !ok {
					t.Fatalf("no flow %s", tt.flow)
				}
				got := c.(*fakeConn).requests(sip.INVITE)
				if len(got) != 1 {
					t.Fatalf("INVITEs on %s: got %d, want 1 (alice got %v)", tt.flow, len(got), alice.conn.codes(sip.INVITE))
				}
				if got[0].Recipient.User != tt.number {
					t.Errorf("Request-URI user: got %q, want %q", got[0].Recipient.User, tt.number)
				}
			})
		})
	}
}
