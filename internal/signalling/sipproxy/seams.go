package sipproxy

import (
	"context"
	"net/netip"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/internal/signalling/sipmsg"
	"github.com/switchboard-gw/switchboard/internal/signalling/siptransport"
)

// The interfaces below are everything the proxy needs of its siblings, in
// its own words: the gateway hands it a *siptransport.Network, the
// registrar (through a small adapter) and callmedia.

// Network is what the proxy needs of the transports.
type Network interface {
	Lookup(flowID string) (siptransport.Conn, bool)
	Dial(ctx context.Context, transport string, addr netip.AddrPort) (siptransport.Conn, error)
	Endpoint(transport string) (siptransport.Endpoint, bool)
	IsLocal(host string, port int) bool
}

// Registrations answers the REGISTERs the proxy receives in registrar
// mode, RFC 3261 §10.3.
type Registrations interface {
	// Register answers req, which arrived on flow; res is never nil. user
	// is the user whose bindings changed (the authenticated one, when
	// credentials were checked) if res is 2xx, else "".
	Register(req *sip.Request, flow Flow) (res *sip.Response, user string)
}

// RawRegistrations is Registrations that can also answer an ordinary
// REGISTER from its bytes.
type RawRegistrations interface {
	// RegisterRaw answers the REGISTER in data, which arrived on flow, by
	// appending its 200 to dst; ok is false, and nothing has changed, when
	// it is not a request it reads so, or it would not answer it 200.
	RegisterRaw(data []byte, flow Flow, dst []byte) (out []byte, user string, ok bool)
}

// Flow is the connection a REGISTER arrived on.
type Flow struct {
	ID        string // the Conn's FlowID
	Transport string // UDP, TCP, TLS, WS or WSS
	Remote    netip.AddrPort
}

// Locator is the location service the proxy routes by in registrar mode
// (RFC 3261 §16.5, RFC 5626 §5.3).
type Locator interface {
	// Contacts returns the live contacts registered for user, best first:
	// the order the proxy forks to them in.
	Contacts(user string) []Contact
	// DropFlow forgets the contacts registered over a flow that closed.
	DropFlow(flowID string)
}

// Contact is one registered contact of a user.
type Contact struct {
	// URI is the Contact as registered: the Request-URI of requests to it.
	URI sip.Uri
	// FlowID names the flow it registered over, which requests to it take.
	FlowID string
	// Path are the Path header values it registered with (RFC 3327).
	Path []string
	// Outbound is set when it registered with RFC 5626 outbound, so that
	// its flow being gone is answered 430.
	Outbound bool
}

// AuthResult is what an Authenticator makes of a request's credentials.
type AuthResult int

// The outcomes of Authenticator.Verify.
const (
	// AuthOK means valid credentials: the request goes on.
	AuthOK AuthResult = iota
	// AuthMissing means no credentials for the realm: challenge (407).
	AuthMissing
	// AuthStale means the right credentials with an expired nonce:
	// challenge again with stale=true (RFC 7616 §3.3).
	AuthStale
	// AuthMalformed means credentials that do not parse: 400.
	AuthMalformed
	// AuthRefused means a wrong password, an unknown user or a replayed
	// nonce: 403.
	AuthRefused
)

// Authenticator checks the credentials of out-of-dialog requests from
// peers that are not trusted, and builds the challenges for them, RFC 3261
// §22.3.
type Authenticator interface {
	// Verify checks req's Proxy-Authorization; user is the authenticated
	// user when res is AuthOK.
	Verify(req *sip.Request) (user string, res AuthResult)
	// Challenge returns the 407 answering req, with stale=true in its
	// challenges when stale is set.
	Challenge(req *sip.Request, stale bool) *sip.Response
	// Realm is the realm its challenges name: Proxy-Authorization for it
	// is switchboard's own, and is not forwarded.
	Realm() string
}

// Media rewrites the session descriptions of calls whose media switchboard
// anchors. The proxy hands it every SDP body it forwards, in order, and
// tells it when a dialog ends.
type Media interface {
	// Rewrite returns the body to forward for m; an error is answered with
	// the SIP status it maps to (488 for SDP switchboard cannot translate,
	// 503 when no media ports are free).
	Rewrite(m sipmsg.SDPMessage) ([]byte, error)
	// End releases the media of a call.
	End(callID, reason string)
}
