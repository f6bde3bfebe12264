package sipproxy_test

import (
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/internal/signalling/sipproxy"
)

// policyCfg routes 9… to a trunk at an IP literal (trusted) and strips two
// private headers and a compact-form standard one.
func policyCfg(t *testing.T) sipproxy.Config {
	cfg := trunkCfg(t, false)
	cfg.StripHeaders = []string{"X-Tenant-ID", "X-Acme-*", "Subject"}
	return cfg
}

// headerNamed returns the values of msg's headers whose name is name,
// compared as a peer would: without regard to case or surrounding space.
func headerNamed(msg sip.Message, name string) []string {
	var out []string
	var all []sip.Header
	switch m := msg.(type) {
	case *sip.Request:
		all = m.Headers()
	case *sip.Response:
		all = m.Headers()
	}
	for _, h := range all {
		if strings.EqualFold(strings.TrimSpace(h.Name()), name) {
			out = append(out, h.Value())
		}
	}
	return out
}

// A browser's INVITE to the trunk loses every identity header and every
// configured header, however spelt; other headers pass. The header lines
// go through sipgo's parser as raw bytes, so the spellings are real.
func TestHeaderPolicyRemovesFromUntrusted(t *testing.T) {
	tests := []struct {
		line   string // the header line, as sent
		name   string // the header it is, as a peer reads it
		label  string // the metric label it is counted under; "" when kept
		copies int    // how many the line holds
	}{
		{line: "P-Asserted-Identity: <sip:boss@example.com>", name: "P-Asserted-Identity", label: "P-Asserted-Identity"},
		{line: "p-asserted-identity: <sip:boss@example.com>", name: "P-Asserted-Identity", label: "P-Asserted-Identity"},
		{line: "P-ASSERTED-IDENTITY: <sip:boss@example.com>", name: "P-Asserted-Identity", label: "P-Asserted-Identity"},
		{line: "P-Asserted-Identity : <sip:boss@example.com>", name: "P-Asserted-Identity", label: "P-Asserted-Identity"},
		{line: "P-Asserted-Identity\t: <sip:boss@example.com>", name: "P-Asserted-Identity", label: "P-Asserted-Identity"},
		{line: "P-Asserted-Identity  \t :<sip:boss@example.com>", name: "P-Asserted-Identity", label: "P-Asserted-Identity"},
		{line: "P-Asserted-Identity:\r\n <sip:boss@example.com>", name: "P-Asserted-Identity", label: "P-Asserted-Identity"},
		{line: "P-Asserted-Identity: <sip:boss@example.com>\r\nP-Asserted-Identity: <tel:+15551234>", name: "P-Asserted-Identity", label: "P-Asserted-Identity", copies: 2},
		{line: "P-Preferred-Identity: <sip:boss@example.com>", name: "P-Preferred-Identity", label: "P-Preferred-Identity"},
		{line: "Remote-Party-ID: <sip:boss@example.com>;party=calling;screen=yes;privacy=off", name: "Remote-Party-ID", label: "Remote-Party-ID"},
		{line: "remote-party-id : <sip:boss@example.com>;screen=yes", name: "Remote-Party-ID", label: "Remote-Party-ID"},
		{line: "Diversion: <sip:boss@example.com>;reason=unconditional", name: "Diversion", label: "Diversion"},
		{line: "History-Info: <sip:boss@example.com>;index=1", name: "History-Info", label: "History-Info"},
		{line: "P-Charging-Vector: icid-value=1234bc9876e", name: "P-Charging-Vector", label: "P-Charging-Vector"},
		{line: "P-Charging-Function-Addresses: ccf=192.0.2.99", name: "P-Charging-Function-Addresses", label: "P-Charging-Function-Addresses"},
		{line: "P-Access-Network-Info: 3GPP-UTRAN-TDD; utran-cell-id-3gpp=23456789ABCDE", name: "P-Access-Network-Info", label: "P-Access-Network-Info"},
		{line: "P-Visited-Network-ID: other.example", name: "P-Visited-Network-ID", label: "P-Visited-Network-ID"},
		{line: "P-Served-User: <sip:boss@example.com>", name: "P-Served-User", label: "P-Served-User"},
		{line: "X-Tenant-ID: 7", name: "X-Tenant-ID", label: "configured"},
		{line: "x-tenant-id  : 7", name: "X-Tenant-ID", label: "configured"},
		{line: "X-Acme-Trusted: yes", name: "X-Acme-Trusted", label: "configured"},
		{line: "X-ACME-: yes", name: "X-Acme-", label: "configured"},
		{line: "Subject: urgent", name: "Subject", label: "configured"},
		{line: "s: urgent", name: "s", label: "configured"},
		{line: "X-App-Data: kept", name: "X-App-Data"},
		{line: "X-Acme: kept", name: "X-Acme"},
		{line: "Privacy: id", name: "Privacy"},
		{line: "Identity: eyJhbGciOiJFUzI1NiJ9.e30.sig;info=<https://cert.example/c.pem>", name: "Identity"},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			run(t, policyCfg(t), func(h *harness) {
				alice := h.browser("alice")
				alice.sendRaw(alice.rawRequest(sip.INVITE, sbURI("95551234"), tt.line))
				trunk, _ := h.net.Lookup(trunkFlow)
				inv := trunk.(*fakeConn).requests(sip.INVITE)
				if len(inv) != 1 {
					t.Fatalf("INVITEs at the trunk: got %d, want 1", len(inv))
				}
				got := headerNamed(inv[0], tt.name)
				copies := max(tt.copies, 1)
				if tt.label != "" && len(got) != 0 {
					t.Errorf("%s at the trunk: got %q, want none", tt.name, got)
				}
				if tt.label == "" && len(got) != 1 {
					t.Errorf("%s at the trunk: got %q, want it kept", tt.name, got)
				}
				if tt.label != "" {
					if n := h.counter("switchboard_proxy_headers_removed_total", "header="+tt.label); n != float64(copies) {
						t.Errorf("headers_removed_total{header=%q}: got %v, want %d", tt.label, n, copies)
					}
				}
				if pai := headerNamed(inv[0], "P-Asserted-Identity"); len(pai) != 0 {
					t.Errorf("P-Asserted-Identity: got %q, want none (no authenticated user)", pai)
				}
			})
		})
	}
}

// From a trusted peer (the trunk's or the PBX's IP) identity headers pass
// unchanged, and so do the configured ones.
func TestHeaderPolicyKeepsFromTrusted(t *testing.T) {
	identity := []string{
		"P-Asserted-Identity: <sip:+15551234@trunk.example>",
		"Diversion: <sip:100@pbx.example>;reason=no-answer",
		"Remote-Party-ID: <sip:+15551234@trunk.example>;party=calling",
		"X-Tenant-ID: 7",
	}
	for _, mode := range []string{"trunk", "upstream"} {
		t.Run(mode, func(t *testing.T) {
			cfg, from := policyCfg(t), "192.0.2.30:5060"
			if mode == "upstream" {
				cfg, from = upstreamCfg(t, false), pbxAddr
				cfg.StripHeaders = []string{"X-Tenant-ID"}
			}
			run(t, cfg, func(h *harness) {
				bob := h.browser("bob")
				peer := h.phone("peer", from)
				ruri := sbURI("bob")
				if mode == "upstream" {
					bob.send(bob.outboundRegister())
					ruri = peer.last(sip.REGISTER).Contact().Address.String()
				} else {
					bob.register(true)
				}
				peer.sendRaw(peer.rawRequest(sip.INVITE, ruri, identity...))
				inv := bob.last(sip.INVITE)
				for _, line := range identity {
					name, value, _ := strings.Cut(line, ": ")
					if got := headerNamed(inv, name); len(got) != 1 || got[0] != value {
						t.Errorf("%s at bob: got %q, want %q", name, got, value)
					}
				}
			})
		})
	}
}

// Towards a trusted peer switchboard asserts the identity of the user it
// authenticated, on the caller's flow or by the request's digest
// credentials (RFC 3325 §5), in place of whatever the caller claimed;
// towards anyone else, and for a caller it did not authenticate (a trusted
// peer's own identity headers pass as they are), it asserts nothing.
func TestHeaderPolicyAssertsIdentity(t *testing.T) {
	tests := []struct {
		name          string
		domain        string
		authenticated bool
		open          bool // registrar.auth off: no one is authenticated
		ruri          string
		want          string
	}{
		{name: "to the trunk", authenticated: true, ruri: "95551234", want: "<sip:alice@" + sbHost + ">"},
		{name: "to the trunk, sip.domain set", domain: "example.com", authenticated: true, ruri: "95551234", want: "<sip:alice@example.com>"},
		{name: "to the trunk, digest credentials only", ruri: "95551234", want: "<sip:alice@" + sbHost + ">"},
		{name: "to a registered phone", authenticated: true, ruri: "bob"},
		{name: "to the trunk, auth off", open: true, ruri: "95551234"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := trunkCfg(t, !tt.open)
			cfg.Domain = tt.domain
			run(t, cfg, func(h *harness) {
				h.auth.set(sipproxy.AuthOK) // Proxy-Authorization accepted, for the From user
				h.reg.regUser = "alice"
				alice := h.browser("alice")
				bob := h.phone("bob", "192.0.2.20:5060")
				bob.register(false)
				if tt.authenticated {
					alice.send(alice.request(sip.REGISTER, "sip:"+sbHost, ""))
				}
				alice.sendRaw(alice.rawRequest(sip.INVITE, sbURI(tt.ruri), "P-Asserted-Identity: <sip:boss@example.com>"))
				var inv *sip.Request
				if tt.ruri == "bob" {
					inv = bob.last(sip.INVITE)
				} else {
					trunk, _ := h.net.Lookup(trunkFlow)
					inv = trunk.(*fakeConn).requests(sip.INVITE)[0]
				}
				got := headerNamed(inv, "P-Asserted-Identity")
				switch {
				case tt.want == "" && len(got) != 0:
					t.Errorf("P-Asserted-Identity: got %q, want none", got)
				case tt.want != "" && (len(got) != 1 || got[0] != tt.want):
					t.Errorf("P-Asserted-Identity: got %q, want %q", got, tt.want)
				}
				wantAsserted := 0.0
				if tt.want != "" {
					wantAsserted = 1
				}
				if n := h.counter("switchboard_proxy_identities_asserted_total"); n != wantAsserted {
					t.Errorf("identities_asserted_total: got %v, want %v", n, wantAsserted)
				}
			})
		})
	}
}

// A browser's preloaded Route is removed once switchboard's own entries are
// popped: its INVITE reaches the registered callee or the trunk without it,
// and nothing goes where the Route pointed. A trusted peer's stays.
func TestPreloadedRoute(t *testing.T) {
	tests := []struct {
		name    string
		from    string // "browser", or the address of a phone
		ruri    string
		routes  []string
		removed int
		kept    []string
	}{
		{name: "browser to a user", from: "browser", ruri: "bob", routes: []string{"Route: <sip:evil.example;lr>"}, removed: 1},
		{name: "browser to the trunk", from: "browser", ruri: "95551234", routes: []string{"Route: <sip:evil.example;lr>"}, removed: 1},
		{name: "ours, then another", from: "browser", ruri: "bob",
			routes: []string{"Route: <sip:" + sbHost + ";transport=ws;lr>, <sip:192.0.2.66;lr>", "Route: <sip:evil.example;lr>"}, removed: 2},
		{name: "only ours", from: "browser", ruri: "bob", routes: []string{"Route: <sip:" + sbHost + ":8080;transport=ws;lr>"}},
		{name: "untrusted phone", from: "192.0.2.21:5060", ruri: "95551234", routes: []string{"Route: <sip:192.0.2.66;lr>"}, removed: 1},
		{name: "trusted trunk", from: "192.0.2.30:5060", ruri: "bob", routes: []string{"Route: <sip:192.0.2.66;lr>"}, kept: []string{"<sip:192.0.2.66;lr>"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run(t, trunkCfg(t, false), func(h *harness) {
				caller := h.browser("alice")
				if tt.from != "browser" {
					caller = h.phone("alice", tt.from)
				}
				bob := h.browser("bob")
				bob.register(true)
				caller.sendRaw(caller.rawRequest(sip.INVITE, sbURI(tt.ruri), tt.routes...))
				var inv *sip.Request
				if tt.ruri == "bob" {
					inv = bob.last(sip.INVITE)
				} else {
					trunk, _ := h.net.Lookup(trunkFlow)
					invs := trunk.(*fakeConn).requests(sip.INVITE)
					if len(invs) != 1 {
						t.Fatalf("INVITEs at the trunk: got %d, want 1 (dialed %v)", len(invs), h.net.dialed)
					}
					inv = invs[0]
				}
				var got []string
				for _, r := range inv.GetHeaders("Route") {
					got = append(got, r.Value())
				}
				if strings.Join(got, ",") != strings.Join(tt.kept, ",") {
					t.Errorf("Route at the callee: got %q, want %q", got, tt.kept)
				}
				for _, d := range h.net.dialed {
					if !strings.HasSuffix(d, " 192.0.2.30:5060") {
						t.Errorf("dialed %s, want only the trunk", d)
					}
				}
				if n := h.counter("switchboard_proxy_headers_removed_total", "header=Route"); n != float64(tt.removed) {
					t.Errorf("headers_removed_total{header=Route}: got %v, want %d", n, tt.removed)
				}
			})
		})
	}
}
