package sipproxy_test

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/internal/signalling/sipmsg"
	"github.com/switchboard-gw/switchboard/internal/signalling/siptransport"
)

// sdp is a phone's offer or answer; fakeMedia marks what it rewrites.
const sdp = "v=0\r\no=- 1 1 IN IP4 192.0.2.20\r\ns=-\r\nc=IN IP4 192.0.2.20\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"

// peer is a user agent on one flow to the proxy.
type peer struct {
	h       *harness
	conn    *fakeConn
	user    string
	host    string // Via sent-by
	contact sip.Uri
}

// browser is a JsSIP-like user on a WebSocket of its own: an .invalid
// Contact host with ;ob, which only its WebSocket reaches.
func (h *harness) browser(user string) *peer {
	n := h.next()
	host := fmt.Sprintf("b%d.invalid", n)
	c := h.net.conn(siptransport.WS, fmt.Sprintf("ws-%d", n), netip.AddrPortFrom(netip.MustParseAddr("203.0.113.5"), uint16(40000+n)))
	return &peer{h: h, conn: c, user: user, host: host, contact: mustURI(h, "sip:"+user+"@"+host+";transport=ws;ob")}
}

// phone is a plain SIP phone on UDP at addr.
func (h *harness) phone(user, addr string) *peer {
	c := h.net.udp(netip.MustParseAddrPort(addr))
	return &peer{h: h, conn: c, user: user, host: addr, contact: mustURI(h, "sip:"+user+"@"+addr)}
}

// register puts p's Contact into the fake location service.
func (p *peer) register(outbound bool) {
	p.h.reg.add(p.user, p.registration(outbound))
}

func mustURI(h *harness, s string) sip.Uri {
	var u sip.Uri
	if err := sip.ParseUri(s, &u); err != nil {
		h.t.Fatalf("ParseUri(%q): %v", s, err)
	}
	return u
}

// message parses a message written as lines.
func (h *harness) message(lines []string, body string) sip.Message {
	h.t.Helper()
	if body != "" {
		lines = append(lines, "Content-Type: application/sdp")
	}
	text := strings.Join(lines, "\r\n") + "\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
	m, err := sip.ParseMessage([]byte(text))
	if err != nil {
		h.t.Fatalf("parse %q: %v", text, err)
	}
	return m
}

func (p *peer) via() string {
	return fmt.Sprintf("Via: SIP/2.0/%s %s;branch=z9hG4bK-p%d;rport", p.conn.transport, p.host, p.h.next())
}

// request is an out-of-dialog request from p to ruri, with a body when
// body is not "".
func (p *peer) request(method sip.RequestMethod, ruri, body string) *sip.Request {
	n := p.h.next()
	return p.h.message([]string{
		fmt.Sprintf("%s %s SIP/2.0", method, ruri),
		p.via(),
		"Max-Forwards: 70",
		fmt.Sprintf("From: <sip:%s@example.com>;tag=f%d", p.user, n),
		"To: <" + ruri + ">",
		fmt.Sprintf("Call-ID: call-%d@example.com", n),
		"CSeq: 1 " + string(method),
		"Contact: <" + p.contact.String() + ">",
	}, body).(*sip.Request)
}

// send sends req to the proxy.
func (p *peer) send(req *sip.Request) { p.h.deliver(p.conn, req) }

// tag is p's To tag in the dialogs it answers.
func (p *peer) tag() string { return "tag-" + p.user }

// respond answers req, which p received, with code (and body).
func (p *peer) respond(req *sip.Request, code int, body string) *sip.Response {
	var b []byte
	if body != "" {
		b = []byte(body)
	}
	res := sip.NewResponseFromRequest(req, code, "Status "+strconv.Itoa(code), b)
	if code > 100 && !sipmsg.HasToTag(req) {
		res.To().Params.Add("tag", p.tag()) // the same tag in every response, not sipgo's random one
	}
	if req.Method == sip.INVITE && code > 100 && code < 300 {
		res.AppendHeader(&sip.ContactHeader{Address: p.contact})
	}
	if body != "" {
		res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	}
	p.h.deliver(p.conn, res)
	return res
}

// last returns the last request of method p received.
func (p *peer) last(method sip.RequestMethod) *sip.Request {
	p.h.t.Helper()
	rs := p.conn.requests(method)
	if len(rs) == 0 {
		p.h.t.Fatalf("%s got no %s; it got %d messages", p.user, method, p.conn.count())
	}
	return rs[len(rs)-1]
}

// final returns the last final response to method p received.
func (p *peer) final(method sip.RequestMethod) *sip.Response {
	p.h.t.Helper()
	var last *sip.Response
	for _, r := range p.conn.responses(method) {
		if r.StatusCode >= 200 {
			last = r
		}
	}
	if last == nil {
		p.h.t.Fatalf("%s got no final response to %s; got %v", p.user, method, p.conn.codes(method))
	}
	return last
}

// dialog is one side's view of a dialog: what its in-dialog requests carry.
type dialog struct {
	p          *peer
	callID     string
	from, to   string // header values: from is this side
	target     string // the remote target: the Request-URI
	route      []string
	inviteCSeq uint32
	cseq       uint32
}

// uacDialog is the caller's dialog, from the 2xx it received (RFC 3261
// §12.1.2: the route set is the Record-Route reversed).
func (p *peer) uacDialog(res *sip.Response) *dialog {
	route := uriStrings(sipmsg.RecordRoute(res))
	slices.Reverse(route)
	target := sipmsg.RemoteTarget(res, sip.Uri{})
	return &dialog{p: p, callID: res.CallID().Value(), from: res.From().Value(), to: res.To().Value(),
		target: target.String(), route: route, inviteCSeq: res.CSeq().SeqNo, cseq: res.CSeq().SeqNo}
}

// uasDialog is the callee's dialog, from the INVITE it received and
// answered with its tag (RFC 3261 §12.1.1).
func (p *peer) uasDialog(inv *sip.Request) *dialog {
	target := sipmsg.RemoteTarget(inv, sip.Uri{})
	return &dialog{p: p, callID: inv.CallID().Value(), from: inv.To().Value() + ";tag=" + p.tag(),
		to: inv.From().Value(), target: target.String(), route: uriStrings(sipmsg.RecordRoute(inv)), cseq: 100}
}

func uriStrings(us []sip.Uri) []string {
	out := make([]string, len(us))
	for i, u := range us {
		out[i] = u.String()
	}
	return out
}

// request is an in-dialog request of the dialog's side.
func (d *dialog) request(method sip.RequestMethod, body string) *sip.Request {
	cseq := d.inviteCSeq
	if method != sip.ACK {
		d.cseq++
		cseq = d.cseq
	}
	lines := []string{
		fmt.Sprintf("%s %s SIP/2.0", method, d.target),
		d.p.via(),
		"Max-Forwards: 70",
		"From: " + d.from,
		"To: " + d.to,
		"Call-ID: " + d.callID,
		fmt.Sprintf("CSeq: %d %s", cseq, method),
	}
	for _, r := range d.route {
		lines = append(lines, "Route: <"+r+">")
	}
	return d.p.h.message(lines, body).(*sip.Request)
}

// call makes caller call ruri, which reaches callee, answered 200 and
// acknowledged; it returns each side's dialog.
func (h *harness) call(caller, callee *peer, ruri string) (uac, uas *dialog) {
	h.t.Helper()
	caller.send(caller.request(sip.INVITE, ruri, sdp))
	inv := callee.last(sip.INVITE)
	callee.respond(inv, 200, sdp)
	uac = caller.uacDialog(caller.final(sip.INVITE))
	caller.send(uac.request(sip.ACK, ""))
	return uac, callee.uasDialog(inv)
}

// sbURI is a URI of switchboard's with user as user part.
func sbURI(user string) string { return "sip:" + user + "@" + sbHost }
