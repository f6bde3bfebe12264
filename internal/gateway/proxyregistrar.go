package gateway

import (
	"net/netip"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/internal/signalling/registrar"
	"github.com/switchboard-gw/switchboard/internal/signalling/sipproxy"
)

// proxyRegistrar is the registrar as the proxy sees it: the
// sipproxy.Registrations and sipproxy.Locator the proxy declares, in the
// proxy's words (Flow, Contact), so that neither package imports the other.
// It is one pointer: it sits in an interface without an allocation, and
// converts nothing on the REGISTER path but a Flow, on the stack.
type proxyRegistrar struct{ r *registrar.Registrar }

var (
	_ sipproxy.Registrations    = proxyRegistrar{}
	_ sipproxy.RawRegistrations = proxyRegistrar{}
	_ sipproxy.Locator          = proxyRegistrar{}
)

func (a proxyRegistrar) Register(req *sip.Request, f sipproxy.Flow) (*sip.Response, string) {
	return a.r.Register(req, registrar.Flow{ID: f.ID, Transport: f.Transport, Remote: f.Remote})
}

func (a proxyRegistrar) RegisterRaw(data []byte, f sipproxy.Flow, dst []byte) ([]byte, string, bool) {
	return a.r.RegisterRaw(data, registrar.Flow{ID: f.ID, Transport: f.Transport, Remote: f.Remote}, dst)
}

func (a proxyRegistrar) Contacts(user string) []sipproxy.Contact {
	bs := a.r.LookupUser(user)
	if len(bs) == 0 {
		return nil
	}
	cs := make([]sipproxy.Contact, len(bs))
	for i, b := range bs {
		cs[i] = sipproxy.Contact{URI: *b.Contact, Path: b.Path, Outbound: b.Outbound}
		if b.OverFlow() {
			cs[i].FlowID = b.Flow.ID // else the proxy resolves the Contact as registered
		}
	}
	return cs
}

func (a proxyRegistrar) DropFlow(flowID string) { a.r.DropFlow(flowID) }

// proxyAuth is the registrar's Digest authenticator as the proxy's
// sipproxy.Authenticator: Proxy-Authorization and 407 (RFC 3261 §22.3).
// The client is the request's source, which siptransport.Inbound stamps on
// every request it delivers (Request.Source, "ip:port"): nonces are bound
// to it and lockouts count it.
type proxyAuth struct{ a *registrar.Authenticator }

var _ sipproxy.Authenticator = proxyAuth{}

func (p proxyAuth) Verify(req *sip.Request) (string, sipproxy.AuthResult) {
	user, res := p.a.Verify(req, sourceIP(req), true)
	switch res {
	case registrar.AuthOK:
		return user, sipproxy.AuthOK
	case registrar.AuthMissing:
		return "", sipproxy.AuthMissing
	case registrar.AuthStale:
		return "", sipproxy.AuthStale
	case registrar.AuthBadRequest, registrar.AuthURIMismatch:
		return "", sipproxy.AuthMalformed
	}
	return "", sipproxy.AuthRefused // AuthFailed, AuthReplay, AuthLocked
}

func (p proxyAuth) Challenge(req *sip.Request, stale bool) *sip.Response {
	return p.a.Challenge(req, sourceIP(req), true, stale)
}

func (p proxyAuth) Realm() string { return p.a.Realm() }

// sourceIP is the IP address a request came from; the zero Addr if it has
// no source, which then is one client like any other.
func sourceIP(req *sip.Request) netip.Addr {
	ap, _ := netip.ParseAddrPort(req.Source())
	return ap.Addr()
}
