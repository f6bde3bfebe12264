package sipproxy

import (
	"net/netip"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/internal/signalling/siptransport"
	"github.com/switchboard-gw/switchboard/internal/signalling/siptx"
)

// Trusted lists the peers whose requests the proxy takes without
// credentials: the PBXs and trunks it fronts, and switchboard's own
// built-in services. A peer is recognised by the address its request came
// from, never by what the request claims, and only over UDP, TCP or TLS: a
// WebSocket client is a browser, which authenticates, even when a reverse
// proxy on a trusted network connects on its behalf.
type Trusted struct {
	// Networks are trusted whole.
	Networks []netip.Prefix
	// Addrs are trusted one address and port at a time, such as the UDP
	// socket of the built-in services on loopback.
	Addrs []netip.AddrPort
}

// trusts reports whether a request that arrived on c comes from a trusted
// peer.
func (t Trusted) trusts(c siptransport.Conn) bool {
	if siptransport.IsWebSocket(c.Transport()) {
		return false
	}
	remote := c.RemoteAddr()
	remote = netip.AddrPortFrom(remote.Addr().Unmap(), remote.Port())
	for _, a := range t.Addrs {
		if a == remote {
			return true
		}
	}
	for _, n := range t.Networks {
		if n.Contains(remote.Addr()) {
			return true
		}
	}
	return false
}

// The results of admit, as the switchboard_proxy_auth_total metric labels
// them.
const (
	authTrusted   = "trusted"           // a trusted peer: no credentials asked
	authFlow      = "flow"              // a connection that registered with credentials
	authDigest    = "digest"            // valid Proxy-Authorization
	authChallenge = "challenged"        // no credentials, or a stale nonce: 407
	authMalformed = "malformed"         // credentials that do not parse: 400
	authRefused   = "refused"           // wrong credentials: 403
	authMismatch  = "identity_mismatch" // From names someone else than the authenticated user: 403
	authUntrusted = "untrusted"         // upstream mode: a request for a browser from an untrusted peer: 403
	authPBX       = "pbx_registered"    // upstream mode: a request for a service on a flow the PBX accepted a REGISTER on
	authNotYet    = "unregistered"      // upstream mode: a request for a service on any other flow, from an untrusted peer: 403
)

// admit decides whether an out-of-dialog request may go on towards a user,
// a built-in service, a trunk or, in upstream mode, a browser. It runs
// before any of them is looked up, so that nothing about them is revealed
// to a peer that is refused. It returns the user it authenticated, ""
// when it authenticated none (a trusted peer, an open registrar, upstream
// mode), for the identity switchboard asserts towards trusted peers.
func (p *Proxy) admit(tx *siptx.ServerTx) (string, error) {
	if p.cfg.Mode == ModeUpstream {
		return "", p.admitUpstream(tx)
	}
	if !p.cfg.Auth {
		return "", nil // an open registrar: the development mode
	}
	if p.cfg.Trusted.trusts(tx.Conn) {
		p.metrics.auth(authTrusted)
		return "", nil
	}
	return p.authenticate(tx.Request, tx.Conn)
}

// authenticate checks that req, from a peer that is not trusted, comes
// from the user its From header names (RFC 3261 §22.3, and §26.1's
// binding of identity to credentials): a user who registered with
// credentials on the connection req arrived on (RFC 5626 §5.1: a UDP
// source can be forged, so never over UDP), or whose Proxy-Authorization
// the Authenticator accepts.
func (p *Proxy) authenticate(req *sip.Request, c siptransport.Conn) (string, error) {
	from := fromUser(req)
	flowUser, onFlow := p.authFlows.Load(c.FlowID())
	if onFlow && flowUser == from {
		p.metrics.auth(authFlow)
		return from, nil
	}
	user, res := p.auth.Verify(req)
	switch {
	case res == AuthOK && user == from:
		p.metrics.auth(authDigest)
		return from, nil
	case res == AuthOK, res == AuthMissing && onFlow:
		p.metrics.auth(authMismatch)
		return "", errIdentityMismatch
	case res == AuthMissing:
		p.metrics.auth(authChallenge)
		return "", &challenge{}
	case res == AuthStale:
		p.metrics.auth(authChallenge)
		return "", &challenge{stale: true}
	case res == AuthMalformed:
		p.metrics.auth(authMalformed)
		return "", errBadCredentials
	}
	p.metrics.auth(authRefused)
	return "", errWrongCredentials
}

// admitUpstream lets only trusted peers, the PBX first of all, send
// requests to browsers in upstream mode: the PBX authenticated the
// browsers, and a browser must not hear from anyone it did not vouch for.
// Requests from browsers to the PBX go on unchecked: the PBX challenges
// them itself. Requests for a built-in service, which the PBX never sees,
// need a trusted peer or a connection on which the PBX accepted a
// REGISTER: switchboard cannot check the PBX's passwords, but it saw the
// PBX's 2xx (a UDP source can be forged, so never over UDP).
func (p *Proxy) admitUpstream(tx *siptx.ServerTx) error {
	if p.isService(tx.Request.Recipient) {
		return p.admitUpstreamService(tx.Conn)
	}
	if !p.isTokenURI(tx.Request.Recipient) {
		return nil
	}
	if p.cfg.Trusted.trusts(tx.Conn) {
		p.metrics.auth(authTrusted)
		return nil
	}
	p.metrics.auth(authUntrusted)
	return errUntrusted
}

// admitUpstreamService admits a request for a built-in service that
// arrived on c, in upstream mode.
func (p *Proxy) admitUpstreamService(c siptransport.Conn) error {
	switch {
	case p.cfg.Trusted.trusts(c):
		p.metrics.auth(authTrusted)
		return nil
	case c.Transport() != siptransport.UDP && p.up.registered(c.FlowID()):
		p.metrics.auth(authPBX)
		return nil
	}
	p.metrics.auth(authNotYet)
	return errRegisterFirst
}

// isService reports whether uri names one of the built-in services, as
// serviceTarget routes them.
func (p *Proxy) isService(uri sip.Uri) bool {
	_, ok := p.cfg.Services[uri.User]
	return ok && uri.User != ""
}

// isTokenURI reports whether uri is a Contact switchboard gave the PBX for
// a browser, live or not: a token that verifies, at switchboard's own
// address.
func (p *Proxy) isTokenURI(uri sip.Uri) bool {
	return p.net.IsLocal(uri.Host, uri.Port) && p.up.isToken(uri.User)
}

// fromUser is the user part of req's From URI.
func fromUser(req *sip.Request) string {
	if f := req.From(); f != nil {
		return f.Address.User
	}
	return ""
}

// challenge asks the client for credentials, RFC 3261 §22.3.
type challenge struct{ stale bool }

func (c *challenge) Error() string { return "authentication required" }
