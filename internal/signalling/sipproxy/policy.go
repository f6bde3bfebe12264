package sipproxy

import (
	"strings"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/internal/signalling/siptransport"
)

// identityHeaders are the headers removed from every request of an
// untrusted peer (the package comment says why, header by header), by
// lower-case name; the value is the name the metrics count it under. None
// has a compact form.
var identityHeaders = map[string]string{
	"p-asserted-identity":           "P-Asserted-Identity",
	"p-preferred-identity":          "P-Preferred-Identity",
	"remote-party-id":               "Remote-Party-ID",
	"diversion":                     "Diversion",
	"history-info":                  "History-Info",
	"p-charging-vector":             "P-Charging-Vector",
	"p-charging-function-addresses": "P-Charging-Function-Addresses",
	"p-access-network-info":         "P-Access-Network-Info",
	"p-visited-network-id":          "P-Visited-Network-ID",
	"p-served-user":                 "P-Served-User",
}

// compactForms maps the compact header names of RFC 3261 §7.3.3 and later
// RFCs to their full names, so that a configured name matches both.
var compactForms = map[string]string{
	"a": "accept-contact", "b": "referred-by", "c": "content-type", "d": "request-disposition",
	"e": "content-encoding", "f": "from", "i": "call-id", "j": "reject-contact", "k": "supported",
	"l": "content-length", "m": "contact", "o": "event", "r": "refer-to", "s": "subject",
	"t": "to", "u": "allow-events", "v": "via", "x": "session-expires", "y": "identity",
}

// Label values of switchboard_proxy_headers_removed_total besides the names
// of identityHeaders.
const (
	removedConfigured = "configured"
	removedRoute      = "Route"
)

// headerPolicy decides which headers of a forwarded request stay, RFC 3325
// §5 for the identity headers.
type headerPolicy struct {
	// strip maps the lower-case names to remove from untrusted peers'
	// requests to their metric label.
	strip map[string]string
	// prefixes are lower-case name prefixes to remove as well (configured
	// "X-Acme-*" entries).
	prefixes []string
	// domain is the host part of the identities switchboard asserts; ""
	// uses switchboard's own address on the outgoing transport.
	domain string
}

// newHeaderPolicy builds the policy of cfg.
func newHeaderPolicy(cfg Config) *headerPolicy {
	hp := &headerPolicy{strip: map[string]string{}, domain: cfg.Domain}
	for name, label := range identityHeaders {
		hp.strip[name] = label
	}
	for _, n := range cfg.StripHeaders {
		n = strings.ToLower(strings.TrimSpace(n))
		if prefix, ok := strings.CutSuffix(n, "*"); ok {
			hp.prefixes = append(hp.prefixes, prefix)
			continue
		}
		if full, ok := compactForms[n]; ok {
			n = full
		}
		if _, builtIn := hp.strip[n]; !builtIn {
			hp.strip[n] = removedConfigured
		}
	}
	return hp
}

// removable returns the metric label of a header the policy removes from
// untrusted peers' requests, or "". sipgo keeps a name as the peer spelt
// it, but for the white space around it: the name is compared without
// regard to case, after its compact form is expanded.
func (hp *headerPolicy) removable(name string) string {
	name = strings.TrimSpace(name)
	var buf [64]byte
	if len(name) > len(buf) {
		return hp.removableLong(strings.ToLower(name))
	}
	lower := buf[:len(name)]
	for i := 0; i < len(name); i++ {
		c := name[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		lower[i] = c
	}
	if len(lower) == 1 {
		if full, ok := compactForms[string(lower)]; ok {
			return hp.strip[full]
		}
	}
	if label, ok := hp.strip[string(lower)]; ok { // no allocation: the compiler sees the conversion is only a key
		return label
	}
	return hp.removablePrefix(lower)
}

func (hp *headerPolicy) removableLong(lower string) string {
	if label, ok := hp.strip[lower]; ok {
		return label
	}
	return hp.removablePrefix([]byte(lower))
}

func (hp *headerPolicy) removablePrefix(lower []byte) string {
	for _, p := range hp.prefixes {
		if len(lower) >= len(p) && string(lower[:len(p)]) == p {
			return removedConfigured
		}
	}
	return ""
}

// policyInput is what the header policy needs to know of one forwarded
// request.
type policyInput struct {
	// fromTrusted is set when the request came from a trusted peer.
	fromTrusted bool
	// toTrusted is set when it goes to a trusted peer.
	toTrusted bool
	// user is the user authenticated on the flow the request came on, or "".
	user string
	// host is switchboard's own host on the outgoing transport.
	host string
}

// apply edits out, the request about to be sent, RFC 3325 §5: a request
// from a trusted peer keeps its identity headers; from any other loses
// them, and the headers configured, and gains switchboard's own
// P-Asserted-Identity when it goes to a trusted peer on behalf of an
// authenticated user.
func (hp *headerPolicy) apply(out *sip.Request, in policyInput, m *Metrics) {
	if in.fromTrusted {
		return
	}
	for removed := true; removed; {
		removed = false
		for _, h := range out.Headers() {
			if label := hp.removable(h.Name()); label != "" {
				out.RemoveHeader(h.Name()) // the first of that exact name: one that matches
				m.headerRemoved(label)
				removed = true
				break
			}
		}
	}
	if in.toTrusted && in.user != "" {
		domain := hp.domain
		if domain == "" {
			domain = in.host
		}
		id := sip.Uri{Scheme: "sip", User: in.user, Host: domain}
		out.AppendHeader(sip.NewHeader("P-Asserted-Identity", "<"+id.String()+">"))
		m.identityAsserted()
	}
}

// applyHeaderPolicy is the header policy's one call site: prepare calls it
// for every request switchboard forwards, on the copy it sends to t. user
// is who admit authenticated the request as (by its connection or by its
// digest credentials); without one, the user a REGISTER authenticated on
// the request's connection (an in-dialog request, an ACK).
func (p *Proxy) applyHeaderPolicy(out *sip.Request, t target, from siptransport.Conn, user string) {
	in := policyInput{fromTrusted: p.trustedPeer(from), toTrusted: p.trustedPeer(t.conn), user: user}
	if in.user == "" {
		if flowUser, ok := p.authFlows.Load(from.FlowID()); ok {
			in.user = flowUser.(string)
		}
	}
	if ep, ok := p.net.Endpoint(t.conn.Transport()); ok {
		in.host = ep.Host
	}
	p.policy.apply(out, in, p.metrics)
}

// dropPreloadedRoutes removes the Route entries left on an out-of-dialog
// request of an untrusted peer once switchboard's own are popped: a browser
// does not choose the PBX's next hop. Followed, a preloaded Route would send
// the request where the peer says, past the routing switchboard enforces.
func (p *Proxy) dropPreloadedRoutes(out *sip.Request, from siptransport.Conn) {
	if p.trustedPeer(from) {
		return
	}
	for out.Route() != nil && out.RemoveHeader("Route") {
		p.metrics.headerRemoved(removedRoute)
	}
}

// trustedPeer reports whether c leads to a peer inside switchboard's trust
// domain (RFC 3325 §2.3), whose identity headers are believed and to which
// switchboard asserts identities: a peer Config.Trusted names.
func (p *Proxy) trustedPeer(c siptransport.Conn) bool {
	return c != nil && p.cfg.Trusted.trusts(c)
}
