package sipproxy

import (
	"net/netip"
	"strconv"
	"strings"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/internal/signalling/siptransport"
)

// branchPrefix marks the branches switchboard makes: the RFC 3261 magic
// cookie, then "sb", then the loop-detection hash (RFC 3261 §16.6 step 8).
const branchPrefix = "z9hG4bKsb"

// validate is RFC 3261 §16.3 steps 3 to 5: Max-Forwards, loops and
// Proxy-Require. It
// returns the request's loop hash, which the branches it is forwarded on
// carry, if it needed it: only a request that passed switchboard before,
// with one of its branches in a Via, can be looping, so for any other it
// returns "" and leaves the hash to whoever forwards the request (ACK and
// CANCEL are not checked for loops).
func (p *Proxy) validate(req *sip.Request) (string, error) {
	if mf := req.MaxForwards(); mf != nil && mf.Val() == 0 {
		return "", errTooManyHops
	}
	if req.Method == sip.ACK || req.Method == sip.CANCEL {
		return "", nil
	}
	if err := checkProxyRequire(req); err != nil {
		return "", err
	}
	hash := ""
	for _, h := range req.Headers() { // not GetHeaders, which allocates for every header it lower-cases
		via, ok := h.(*sip.ViaHeader)
		if !ok {
			continue
		}
		b, _ := via.Params.Get("branch")
		ours, ok := strings.CutPrefix(b, branchPrefix)
		if !ok || !p.net.IsLocal(via.Host, via.Port) {
			continue
		}
		if hash == "" {
			hash = loopHash(req)
		}
		if rest, ok := strings.CutPrefix(ours, hash); ok && strings.HasPrefix(rest, ".") {
			return "", errLoop
		}
	}
	return hash, nil
}

// loopHash digests the fields a looping request keeps and a spiral changes,
// RFC 3261 §16.6 step 8.
func loopHash(req *sip.Request) string {
	h := newFNV32a()
	req.Recipient.StringWrite(&h)
	h.WriteString(req.CallID().Value())
	ftag, _ := req.From().Params.Get("tag")
	ttag, _ := req.To().Params.Get("tag")
	h.WriteString(ftag)
	h.WriteString("|")
	h.WriteString(ttag)
	h.WriteString("|")
	var seq [10]byte
	h.write(strconv.AppendUint(seq[:0], uint64(req.CSeq().SeqNo), 10))
	return strconv.FormatUint(uint64(h), 36)
}

// fnv32a is the 32-bit FNV-1a hash of hash/fnv as an io.StringWriter, so
// that a URI is hashed as it is rendered, without a string in between.
type fnv32a uint32

func newFNV32a() fnv32a { return 2166136261 }

func (h *fnv32a) WriteString(s string) (int, error) {
	x := *h
	for i := 0; i < len(s); i++ {
		x = (x ^ fnv32a(s[i])) * 16777619
	}
	*h = x
	return len(s), nil
}

func (h *fnv32a) write(b []byte) {
	x := *h
	for _, c := range b {
		x = (x ^ fnv32a(c)) * 16777619
	}
	*h = x
}

// newBranch returns a branch for a request forwarded now, RFC 3261 §16.6 step 8.
func (p *Proxy) newBranch(req *sip.Request) string { return p.branchFor(loopHash(req)) }

// branchFor returns a new branch carrying the loop hash of the request it
// is for.
func (p *Proxy) branchFor(loop string) string {
	return branchPrefix + loop + "." + strconv.FormatUint(p.branch.Add(1), 36)
}

// hops is what route preprocessing learned from the Route entries that
// named switchboard.
type hops struct {
	// ours is set when at least one Route entry was switchboard's.
	ours bool
	// verified is set when at least one of ours carried a flow token that
	// verified; forged when one carried a token that did not.
	verified, forged bool
	// dest is the flow named by the last entry of ours: the side of the
	// dialog the request is going to.
	dest string
	// outbound is set when that entry carried ;ob (RFC 5626 §5.3).
	outbound bool
}

// popRoutes removes the Route entries that name switchboard, RFC 3261
// §16.4, and reads the flow tokens they carry.
func (p *Proxy) popRoutes(req *sip.Request) hops {
	var h hops
	callID := ""
	if c := req.CallID(); c != nil {
		callID = c.Value()
	}
	for r := req.Route(); r != nil && p.net.IsLocal(r.Address.Host, r.Address.Port); r = req.Route() {
		h.ours = true
		if id, ok := p.tokens.decode(r.Address.User, callID); ok {
			h.dest, h.verified = id, true
			h.outbound = r.Address.UriParams.Has("ob")
		} else if r.Address.User != "" {
			h.forged = true
		}
		req.RemoveHeader("Route")
	}
	return h
}

// check refuses an in-dialog request that did not come through switchboard
// as its route set says. Every dialog switchboard is in was record-routed
// with flow tokens bound to its Call-ID, so such a request carries at least
// one that verifies. A token that does not verify was tampered with, or
// taken from another dialog: 403 (RFC 5626 §5.3). No
// token at all (no Route of ours, or one without a user part, such as a
// pre-loaded outbound proxy) names no dialog through switchboard: 481
// (RFC 3261 §12.2.2), and the Request-URI is never followed instead, which
// would make switchboard an open relay.
func (h hops) check() error {
	switch {
	case h.forged:
		return errForgedToken
	case !h.verified:
		return errNoTransaction
	}
	return nil
}

// target is where one branch of a request goes.
type target struct {
	// uri is the Request-URI to send.
	uri sip.Uri
	// conn is the flow to send on, when it is known already.
	conn siptransport.Conn
	// transport, host and port say where to connect when conn is nil.
	transport string
	host      string
	port      int
	// path are Route entries to push (RFC 3327).
	path []sip.Uri
	// outbound is set when the target registered with RFC 5626 outbound,
	// so that a dead flow is reported with 430.
	outbound bool
}

// dialogTarget finds where an in-dialog request goes: the flow its route
// set names, else the next Route entry or the Request-URI.
func (p *Proxy) dialogTarget(req *sip.Request, h hops) (target, error) {
	if h.dest != "" {
		if c, ok := p.net.Lookup(h.dest); ok {
			return target{uri: req.Recipient, conn: c}, nil
		}
		if isWebSocketFlow(h.dest) {
			if h.outbound {
				return target{}, errFlowFailed
			}
			return target{}, errFlowGone
		}
	}
	return p.resolve(req, req.Recipient)
}

// resolve finds the next hop for uri: the first Route entry if there is
// one, else uri itself (RFC 3261 §16.6 step 7, RFC 3263 without DNS SRV).
func (p *Proxy) resolve(req *sip.Request, uri sip.Uri) (target, error) {
	next := uri
	if r := req.Route(); r != nil {
		next = r.Address
	}
	t := target{uri: uri, transport: transportOf(&next), host: next.Host, port: next.Port}
	switch {
	case strings.HasSuffix(strings.ToLower(next.Host), ".invalid"):
		return target{}, errFlowGone // a browser's Contact: only its own WebSocket reaches it
	case siptransport.IsWebSocket(t.transport):
		return target{}, errFlowGone
	case next.Host == "":
		return target{}, errUnresolvable
	}
	if t.port == 0 {
		t.port = 5060
		if t.transport == siptransport.TLS {
			t.port = 5061
		}
	}
	return t, nil
}

// transportOf reads the transport a URI asks for, RFC 3261 §19.1.1.
func transportOf(u *sip.Uri) string {
	if v, ok := u.UriParams.Get("transport"); ok {
		return strings.ToUpper(v)
	}
	if u.IsEncrypted() {
		return siptransport.TLS
	}
	return siptransport.UDP
}

func isWebSocketFlow(flowID string) bool {
	return strings.HasPrefix(flowID, "ws-") || strings.HasPrefix(flowID, "wss-")
}

// prepare turns out, a clone of the received request, into the request for
// one branch, RFC 3261 §16.6 steps 2 to 8. user is who admit authenticated
// the request as, "" when it did not.
func (p *Proxy) prepare(out *sip.Request, t target, branch string, recordRoute bool, from siptransport.Conn, user string) {
	out.Recipient = t.uri
	p.applyHeaderPolicy(out, t, from, user)
	p.consumeCredentials(out)
	mf := sip.MaxForwardsHeader(70)
	if old := out.MaxForwards(); old != nil {
		mf = *old - 1
		out.ReplaceHeader(&mf) // a fresh header: sipgo's Clone shares this one
	} else {
		out.AppendHeader(&mf)
	}
	if recordRoute {
		// RFC 5658 double Record-Route: the entry facing the sender first,
		// then, on top, the entry facing the next hop.
		callID := out.CallID().Value()
		out.PrependHeader(p.recordRoute(from, callID, hasOb(out)))
		out.PrependHeader(p.recordRoute(t.conn, callID, t.outbound))
	}
	for i := len(t.path) - 1; i >= 0; i-- {
		out.PrependHeader(&sip.RouteHeader{Address: t.path[i]})
	}
	out.PrependHeader(p.via(t.conn, branch))
}

// via is this hop's Via for a request leaving on c.
func (p *Proxy) via(c siptransport.Conn, branch string) *sip.ViaHeader {
	ep, _ := p.net.Endpoint(c.Transport())
	params := sip.HeaderParams{{K: "branch", V: branch}}
	if c.Transport() == siptransport.UDP {
		params = append(params, sip.HeaderKV{K: "rport"})
	}
	return &sip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: c.Transport(),
		Host: ep.Host, Port: ep.Port, Params: params}
}

// recordRoute is the Record-Route entry facing c, carrying c's flow token
// for the dialog of callID.
func (p *Proxy) recordRoute(c siptransport.Conn, callID string, ob bool) *sip.RecordRouteHeader {
	return &sip.RecordRouteHeader{Address: p.flowURI(c, p.tokens.encode(c.FlowID(), callID), true, ob)}
}

// flowURI is a URI of switchboard's on c's transport with user as user part.
func (p *Proxy) flowURI(c siptransport.Conn, user string, lr, ob bool) sip.Uri {
	ep, _ := p.net.Endpoint(c.Transport())
	params := sip.HeaderParams{{K: "transport", V: strings.ToLower(c.Transport())}}
	if lr {
		params = append(params, sip.HeaderKV{K: "lr"})
	}
	if ob {
		params = append(params, sip.HeaderKV{K: "ob"})
	}
	return sip.Uri{Scheme: "sip", User: user, Host: ep.Host, Port: ep.Port, UriParams: params}
}

// hasOb reports whether the request's Contact asks for outbound, RFC 5626 §5.
func hasOb(req *sip.Request) bool {
	c := req.Contact()
	return c != nil && c.Address.UriParams.Has("ob")
}

// addrOf parses a literal IP host.
func addrOf(host string, port int) (netip.AddrPort, bool) {
	ip, err := netip.ParseAddr(strings.Trim(host, "[]"))
	if err != nil {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(ip, uint16(port)), true
}
