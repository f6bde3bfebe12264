// Package sipproxy is switchboard's stateful proxy core (RFC 3261 §16): it
// validates and routes requests, record-routes dialogs twice when they cross
// transports (RFC 5658) with a flow token in each entry (RFC 5626), forks to
// a user's registered contacts, relays responses in order, matches CANCEL to
// its INVITE, and in upstream mode fronts a PBX with flow-token Contacts.
//
// Requests for a browser always leave over the browser's own WebSocket,
// found through a flow token or a registration, never by resolving its
// .invalid Contact host. Message bodies pass through untouched, but for
// the SDP of anchored calls, which Deps.Media rewrites.
//
// # Trust
//
// The peers behind switchboard trust what it forwards, so nothing reaches
// them that switchboard has not vouched for. A peer is trusted by the
// address its request came from (Config.Trusted: the PBXs and trunks, and
// the built-in services' own socket), over UDP, TCP or TLS, never over
// WebSocket. In registrar mode with Config.Auth, every out-of-dialog
// request from anyone else (REGISTER, ACK, CANCEL and OPTIONS to
// switchboard itself aside) is authenticated before a user, service or
// trunk is even looked up: by the connection it arrived on, if a REGISTER
// authenticated a user there (a UDP source can be forged, so never over
// UDP), or by Proxy-Authorization; otherwise it is challenged (407). The
// authenticated user must be the one its From names (RFC 3261 §22.3), or it
// is refused 403. Proxy-Authorization for switchboard's own realm
// (Authenticator.Realm) is consumed: no request leaves with it (RFC 3261
// §22.3). In upstream mode the PBX authenticates browsers, and only
// trusted peers may send requests to a browser's token; a built-in service
// answers a trusted peer or a connection (never UDP) on which the PBX
// accepted a REGISTER, and tells anyone else to register first (403).
//
// An in-dialog request, from anyone, must carry a Route entry of
// switchboard's with a flow token that verifies: without one it names no
// dialog through switchboard (481), with a forged one, or one taken from
// another dialog (the tokens of Record-Route are bound to the Call-ID), it
// is refused (403, RFC 5626 §5.3), and it is never sent where its
// Request-URI alone says.
//
// # Header policy
//
// The PBX and trunks behind switchboard believe what it forwards, so what
// an untrusted peer (a browser, a phone) says of itself does not pass.
// Every request switchboard forwards from an untrusted peer loses these
// headers, in every spelling sipgo reads as them (any case, white space
// before the colon; none has a compact form), and any Config.StripHeaders
// match (names with their compact forms, or "X-Acme-*" prefixes):
//
//	Header                         Why an untrusted peer must not set it
//	P-Asserted-Identity            RFC 3325: the caller's identity as the trust domain asserts it; PBXs show it, bill it, route on it
//	P-Preferred-Identity           RFC 3325: a UA's wish, which a trusted proxy turns into P-Asserted-Identity unchecked
//	Remote-Party-ID                draft-ietf-sip-privacy: the pre-RFC 3325 identity Asterisk, FreeSWITCH and Cisco still trust
//	Diversion                      RFC 5806: who forwarded the call; PBXs pick the voicemail box and bill by it
//	History-Info                   RFC 7044: the same, standardised; voicemail and billing read it
//	P-Charging-Vector              RFC 7315: the charging correlation of the trust domain
//	P-Charging-Function-Addresses  RFC 7315: where charging records go
//	P-Access-Network-Info          RFC 7315: the caller's access network and cell, used for emergency routing and billing
//	P-Visited-Network-ID           RFC 7315: the visited network a registrar trusts for roaming
//	P-Served-User                  RFC 5502: whose services an application server runs
//
// Kept: Privacy (RFC 3323, the user's own request), Identity (RFC 8224,
// signed: the verifier checks it) and everything else.
//
// From a trusted peer (Config.Trusted) these headers pass unchanged. Towards a
// trusted peer switchboard asserts, for the user it authenticated (on the
// caller's connection, or by the request's digest credentials),
// P-Asserted-Identity: <sip:USER@DOMAIN> (RFC 3325 §5;
// DOMAIN is Config.Domain or switchboard's own host), and nothing when no
// user was authenticated. A Route left on an out-of-dialog request from an
// untrusted peer once switchboard's own entries are popped (a preloaded
// route set) is removed, not followed. Each removal is counted in
// switchboard_proxy_headers_removed_total.
package sipproxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/internal/signalling/siptransport"
	"github.com/switchboard-gw/switchboard/internal/signalling/siptx"
)

// Route sends calls to numbers that start with Prefix to a trunk: the
// Request-URI user, normalised as a number (dialplan.go), less its first
// Strip characters, unless Deny or Allow refuse it.
type Route struct {
	Prefix string
	Strip  int
	URI    sip.Uri
	// Allow, when not empty, are the only numbers the route takes; Deny
	// are numbers it never takes, whatever Allow says. Each is a number
	// ("+15551234") or a prefix of one ending in "*" ("+1900*"), matched
	// against the number the trunk would receive, after Strip.
	Allow, Deny []string
}

// Mode says whom the proxy fronts: switchboard's own registrar or a PBX.
type Mode int

// The modes of Config.Mode.
const (
	// ModeRegistrar answers REGISTERs with Deps.Registrations, and routes
	// requests to the contacts Deps.Locator knows, then to the trunks.
	ModeRegistrar Mode = iota
	// ModeUpstream relays REGISTERs to Config.Upstream with flow-token
	// Contacts, and sends it every other out-of-dialog request.
	ModeUpstream
)

// Config is what the proxy needs from the gateway's configuration.
type Config struct {
	// Mode is ModeRegistrar (the zero value) or ModeUpstream.
	Mode Mode
	// Upstream is the PBX to front in ModeUpstream.
	Upstream sip.Uri
	// UpstreamPath adds a Path header to relayed REGISTERs (RFC 3327).
	UpstreamPath bool
	// Routes are the trunk rules, tried in order (ModeRegistrar).
	Routes []Route
	// Auth requires every out-of-dialog request from a peer that is not
	// Trusted to come from an authenticated user, the one its From names:
	// one whose connection registered with credentials, or whose request
	// carries valid Proxy-Authorization (ModeRegistrar). Deps.Authenticator
	// checks them.
	Auth bool
	// Trusted are the peers whose requests need no credentials
	// (ModeRegistrar with Auth) and the only ones that may send requests
	// to browsers (ModeUpstream).
	Trusted Trusted
	// UserAgent is the Server header of responses the proxy makes.
	UserAgent string
	// Services maps the user names of switchboard's built-in services to
	// the UDP address that answers them. An out-of-dialog request whose
	// Request-URI user is one of them goes there, in both modes, before
	// registrations, trunks or the upstream PBX are considered.
	Services map[string]netip.AddrPort
	// StripHeaders are more headers to remove from untrusted peers'
	// requests, besides the identity headers: names, compared without
	// regard to case (and matching their compact form), or prefixes ending
	// in "*". See the package comment.
	StripHeaders []string
	// Domain is the host part of the P-Asserted-Identity switchboard
	// asserts for authenticated users; "" uses its own host on the
	// outgoing transport.
	Domain string
	// Limits bound each authenticated user's calls and every dialog's
	// duration; the zero value limits nothing.
	Limits Limits
}

// Proxy is the transaction user of a siptx.Layer.
type Proxy struct {
	cfg     Config
	net     Network
	regs    Registrations
	loc     Locator
	auth    Authenticator
	layer   *siptx.Layer
	log     *slog.Logger
	metrics *Metrics
	tokens  *flowTokens
	up      *upstream
	media   Media
	dialogs *dialogs
	policy  *headerPolicy
	limits  *userLimits
	branch  atomic.Uint64

	draining atomic.Bool
	ctx      context.Context
	stop     context.CancelFunc
	wg       sync.WaitGroup

	// authFlows maps a flow ID to the user authenticated on it by REGISTER.
	authFlows sync.Map
}

var _ siptx.RequestHandler = (*Proxy)(nil)

// Deps are the proxy's collaborators, each behind the interface the proxy
// declares for it.
type Deps struct {
	// Layer is the transaction layer; New makes the proxy its handler.
	Layer *siptx.Layer
	// Network finds, dials and names the flows.
	Network Network
	// Registrations and Locator are the registrar: required in
	// ModeRegistrar, unused in ModeUpstream.
	Registrations Registrations
	Locator       Locator
	// Authenticator checks credentials: required when Config.Auth is set,
	// unused otherwise.
	Authenticator Authenticator
	// Media rewrites the SDP bodies of anchored calls. It is nil when
	// switchboard anchors no media: bodies then pass through untouched.
	Media Media
	// Logger is the proxy's logger; nil discards.
	Logger *slog.Logger
	// Metrics counts what the proxy decides; nil counts nothing.
	Metrics *Metrics
}

// New returns a proxy over deps.Layer and deps.Network, and makes it the
// layer's transaction user. It fails when cfg's mode or Auth needs a
// dependency that deps lacks.
func New(cfg Config, deps Deps) (*Proxy, error) {
	if err := checkDeps(cfg, deps); err != nil {
		return nil, err
	}
	ctx, stop := context.WithCancel(context.Background())
	log := deps.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &Proxy{cfg: cfg, net: deps.Network, regs: deps.Registrations, loc: deps.Locator, auth: deps.Authenticator, layer: deps.Layer, media: deps.Media,
		log: log, metrics: deps.Metrics, tokens: newFlowTokens(), dialogs: newDialogs(), policy: newHeaderPolicy(cfg), limits: newUserLimits(cfg.Limits), ctx: ctx, stop: stop}
	if cfg.Mode == ModeUpstream {
		p.up = newUpstream(cfg.Upstream, cfg.UpstreamPath)
	}
	deps.Layer.SetHandler(p)
	return p, nil
}

// checkDeps reports a dependency that cfg needs and deps lacks.
func checkDeps(cfg Config, deps Deps) error {
	switch {
	case deps.Layer == nil || deps.Network == nil:
		return errors.New("sipproxy: Deps.Layer and Deps.Network are required")
	case cfg.Mode == ModeRegistrar && (deps.Registrations == nil || deps.Locator == nil):
		return errors.New("sipproxy: registrar mode needs Deps.Registrations and Deps.Locator")
	case cfg.Mode == ModeUpstream && cfg.Upstream.Host == "":
		return errors.New("sipproxy: upstream mode needs Config.Upstream")
	case cfg.Mode != ModeRegistrar && cfg.Mode != ModeUpstream:
		return fmt.Errorf("sipproxy: unknown mode %d", cfg.Mode)
	case cfg.Auth && deps.Authenticator == nil:
		return errors.New("sipproxy: Config.Auth needs Deps.Authenticator")
	}
	return nil
}

// Drain makes the proxy refuse new dialogs and registrations with 503,
// while in-dialog requests and live transactions go on.
func (p *Proxy) Drain() { p.draining.Store(true) }

// Draining reports whether Drain was called.
func (p *Proxy) Draining() bool { return p.draining.Load() }

// Close stops background work (dials in progress) and waits for it.
func (p *Proxy) Close() {
	p.stop()
	p.wg.Wait()
}

// HandleRequest routes the request of a new server transaction.
func (p *Proxy) HandleRequest(tx *siptx.ServerTx) {
	req := tx.Request
	p.metrics.request(req.Method)
	if req.Method == sip.CANCEL {
		p.handleCancel(tx)
		return
	}
	if req.Method == sip.INVITE {
		_ = tx.Respond(p.response(req, sip.StatusTrying, "Trying")) // RFC 3261 §16.2
	}
	if err := p.route(tx); err != nil {
		p.reject(tx, err)
	}
}

// HandleAck forwards an ACK for a 2xx statelessly, RFC 3261 §16.11.
func (p *Proxy) HandleAck(req *sip.Request, from siptransport.Conn) {
	if _, err := p.validate(req); err != nil {
		return
	}
	out := req.Clone()
	hops := p.popRoutes(out)
	if err := hops.check(); err != nil {
		p.metrics.inDialogRefused(err) // an ACK not record-routed through us has nowhere to go
		return
	}
	p.acked(req.CallID().Value())
	t, err := p.dialogTarget(out, hops)
	if err != nil || t.conn == nil {
		return
	}
	refused := p.rewriteRequest(out, from, t.conn)
	if refused != nil {
		out.RemoveHeader("Content-Type") // the caller's own SDP never reaches the callee
		out.SetBody(nil)
	}
	p.prepare(out, t, p.newBranch(out), false, from, "")
	_ = t.conn.Send(out)
	if refused != nil {
		p.refuseAckAnswer(out.CallID().Value(), refused)
	}
}

// refuseAckAnswer ends a dialog whose ACK carried an answer (to a 2xx late
// offer, RFC 3264 §4) that Media could not translate. The ACK went on
// without it, so that the callee's INVITE transaction completes; but the
// session cannot be set up, and an ACK cannot be refused, so switchboard
// sends BYE to both ends (RFC 3261 §15; RFC 3264 §6 has the offerer end a
// session whose answer it cannot accept).
func (p *Proxy) refuseAckAnswer(callID string, err error) {
	p.log.Warn("dialog ended: the ACK's SDP cannot be translated", "call_id", callID, "error", err)
	p.metrics.ackRefused()
	p.Hangup(callID, "SDP refused")
}

// HandleStrayResponse drops a response with no transaction: the RFC 6026
// Accepted states already carry retransmitted 2xx for 32 s.
func (p *Proxy) HandleStrayResponse(res *sip.Response, _ siptransport.Conn) {
	p.metrics.stray()
}

// ConnClosed forgets what was bound to a closed connection.
func (p *Proxy) ConnClosed(c siptransport.Conn) {
	p.authFlows.Delete(c.FlowID())
	if siptransport.IsWebSocket(c.Transport()) {
		for _, callID := range p.dialogs.onFlow(c.FlowID()) {
			p.Hangup(callID, "WebSocket lost") // the browser is gone: free the other end
		}
	}
	switch p.cfg.Mode {
	case ModeRegistrar:
		p.loc.DropFlow(c.FlowID())
	case ModeUpstream:
		p.up.dropFlow(c.FlowID())
	}
}

// reject answers tx with the response err calls for.
func (p *Proxy) reject(tx *siptx.ServerTx, err error) {
	if c, ok := isChallenge(err); ok {
		p.metrics.rejected(sip.StatusProxyAuthRequired)
		_ = tx.Respond(p.auth.Challenge(tx.Request, c.stale))
		return
	}
	se := asStatus(err)
	p.metrics.rejected(se.Code)
	res := p.response(tx.Request, se.Code, se.Reason)
	if se.Code == sip.StatusServiceUnavailable {
		res.AppendHeader(sip.NewHeader("Retry-After", "5"))
	}
	if be, ok := errors.AsType[*badExtension](err); ok {
		res.AppendHeader(sip.NewHeader("Unsupported", strings.Join(be.unsupported, ", ")))
	}
	_ = tx.Respond(res)
}

// response builds a response of the proxy's own to req.
func (p *Proxy) response(req *sip.Request, code int, reason string) *sip.Response {
	res := sip.NewResponseFromRequest(req, code, reason, nil)
	if code != sip.StatusTrying && p.cfg.UserAgent != "" {
		res.AppendHeader(sip.NewHeader("Server", p.cfg.UserAgent))
	}
	return res
}
