package sipproxy_test

import (
	"fmt"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/internal/signalling/sipproxy"
)

// rawRequest is an out-of-dialog request from p to ruri as bytes on the
// wire, with extra header lines (written exactly as given) before
// Content-Length.
func (p *peer) rawRequest(method sip.RequestMethod, ruri string, extra ...string) string {
	n := p.h.next()
	lines := []string{
		fmt.Sprintf("%s %s SIP/2.0", method, ruri),
		p.via(),
		"Max-Forwards: 70",
		fmt.Sprintf("From: <sip:%s@example.com>;tag=f%d", p.user, n),
		"To: <" + ruri + ">",
		fmt.Sprintf("Call-ID: call-%d@example.com", n),
		"CSeq: 1 " + string(method),
		"Contact: <" + p.contact.String() + ">",
	}
	lines = append(lines, extra...)
	return strings.Join(lines, "\r\n") + "\r\nContent-Length: 0\r\n\r\n"
}

// sendRaw parses raw as the transport would and hands it to the proxy: no
// rendering in between, so that spellings sipgo keeps reach the proxy.
func (p *peer) sendRaw(raw string) {
	p.h.t.Helper()
	m, err := sip.ParseMessage([]byte(raw))
	if err != nil {
		p.h.t.Fatalf("parse %q: %v", raw, err)
	}
	p.h.layer.HandleMessage(m, p.conn)
	synctest.Wait()
}

// RFC 3261 §16.3 step 5: a Proxy-Require option switchboard does not
// support is answered 420 with the options in Unsupported; outbound and
// path are supported.
func TestProxyRequire(t *testing.T) {
	tests := []struct {
		name        string
		headers     []string
		code        int // 0: forwarded
		unsupported string
	}{
		{name: "none"},
		{name: "outbound", headers: []string{"Proxy-Require: outbound"}},
		{name: "path and outbound", headers: []string{"Proxy-Require: path, Outbound"}},
		{name: "sec-agree", headers: []string{"Proxy-Require: sec-agree"}, code: 420, unsupported: "sec-agree"},
		{name: "some supported", headers: []string{"Proxy-Require: outbound, foo,bar"}, code: 420, unsupported: "foo, bar"},
		{name: "two headers", headers: []string{"Proxy-Require: outbound", "Proxy-Require: foo"}, code: 420, unsupported: "foo"},
		{name: "lower case, space before colon", headers: []string{"proxy-require : foo"}, code: 420, unsupported: "foo"},
		{name: "many", headers: []string{"Proxy-Require: a,b,c,d,e,f,g,h,i,j"}, code: 420, unsupported: "a, b, c, d, e, f, g, h"},
		{name: "not a token", headers: []string{"Proxy-Require: foo<bar>"}, code: 400},
		{name: "empty element", headers: []string{"Proxy-Require: outbound,,path"}, code: 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run(t, sipproxy.Config{}, func(h *harness) {
				alice := h.browser("alice")
				bob := h.phone("bob", "192.0.2.20:5060")
				bob.register(false)
				alice.sendRaw(alice.rawRequest(sip.INVITE, sbURI("bob"), tt.headers...))
				invites := len(bob.conn.requests(sip.INVITE))
				if tt.code == 0 {
					if invites != 1 {
						t.Fatalf("INVITEs at bob: got %d, want 1", invites)
					}
					return
				}
				if invites != 0 {
					t.Errorf("INVITEs at bob: got %d, want 0", invites)
				}
				res := alice.final(sip.INVITE)
				if res.StatusCode != tt.code {
					t.Fatalf("got %d %s, want %d", res.StatusCode, res.Reason, tt.code)
				}
				var got string
				if u := res.GetHeader("Unsupported"); u != nil {
					got = u.Value()
				}
				if got != tt.unsupported {
					t.Errorf("Unsupported: got %q, want %q", got, tt.unsupported)
				}
				if strings.Contains(res.Reason, "foo") || strings.Contains(res.Reason, "sec-agree") {
					t.Errorf("reason %q echoes the request", res.Reason)
				}
			})
		})
	}
}

// A method switchboard does not know is forwarded like any other (RFC 3261
// §16), but answered 501 when the request is for switchboard itself, with
// no user in the Request-URI (§21.5.2; RFC 4475 §3.1.1.5). Its case is kept.
func TestUnknownMethod(t *testing.T) {
	const method = sip.RequestMethod("RE%47IST%45R")
	run(t, sipproxy.Config{}, func(h *harness) {
		alice := h.browser("alice")
		bob := h.phone("bob", "192.0.2.20:5060")
		bob.register(false)
		alice.sendRaw(alice.rawRequest(method, "sip:"+sbHost))
		if res := alice.final(method); res.StatusCode != 501 {
			t.Errorf("for switchboard: got %d %s, want 501", res.StatusCode, res.Reason)
		}
		alice.sendRaw(alice.rawRequest(method, sbURI("bob")))
		if got := len(bob.conn.requests(method)); got != 1 {
			t.Errorf("for bob: got %d requests at bob, want 1", got)
		}
	})
}
