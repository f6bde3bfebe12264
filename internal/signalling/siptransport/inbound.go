package siptransport

import (
	"bytes"
	"errors"
	"net/netip"
	"strconv"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// InboundConfig bounds what one peer may send. Zero values mean "no limit"
// except MaxMessageSize, which always applies.
type InboundConfig struct {
	// MaxMessageSize is the largest message accepted, in bytes (RFC 3261 §18.1.1).
	MaxMessageSize int
	// MaxHeaders is the largest number of header fields in one message.
	MaxHeaders int
	// MaxVia is the largest number of Via header field values in one message.
	MaxVia int
	// RequestsPerSecondPerIP is the sustained request rate one IP address may
	// send; bursts of twice that are allowed. Zero disables the limit.
	RequestsPerSecondPerIP float64
}

// InboundDeps are an Inbound's collaborators.
type InboundDeps struct {
	// Handler receives every message that passes the checks. Required.
	Handler Handler
	// Metrics counts received and rejected messages; nil counts nothing.
	Metrics *Metrics
	// Raw, when set, is offered each REGISTER, from its bytes, before
	// sipgo parses it (the transaction layer, for the REGISTERs the
	// registrar reads itself); nil parses every message.
	Raw RawHandler
}

// RawHandler takes some requests from their bytes, before sipgo parses them.
type RawHandler interface {
	// HandleRaw handles data, a whole request from from within the size
	// and header limits and the rate limit, and reports whether it did.
	// It must take only requests that the framing and syntax rules accept
	// (framing.go, syntax.go), which have not run yet: rawreg reads a
	// strict subset of what they accept (TestRawRegisterKeepsRules). When it
	// reports false nothing has happened: the request goes through the
	// rules, is parsed and delivered as any other.
	HandleRaw(data []byte, from Conn) bool
}

// Inbound turns raw bytes from any transport into checked SIP messages for a
// Handler. It is safe for concurrent use.
type Inbound struct {
	parser  *sip.Parser
	limits  InboundConfig
	rate    *RateLimiter
	handler Handler
	raw     RawHandler
	metrics *Metrics
}

// rateVerdict is what the rate limit said of a request, if it was asked
// already.
type rateVerdict int8

const (
	unrated rateVerdict = iota
	rateAllowed
	rateLimited
)

// NewInbound returns an Inbound that checks messages against cfg and
// delivers them to deps.Handler.
func NewInbound(cfg InboundConfig, deps InboundDeps) *Inbound {
	p := sip.NewParser()
	p.MaxMessageLength = cfg.MaxMessageSize
	in := &Inbound{parser: p, limits: cfg, handler: deps.Handler, raw: deps.Raw, metrics: deps.Metrics}
	if r := cfg.RequestsPerSecondPerIP; r > 0 {
		in.rate = NewRateLimiter(r, 2*r)
	}
	return in
}

// Handler returns the handler messages are delivered to.
func (in *Inbound) Handler() Handler { return in.handler }

// Message checks and delivers one complete message: a UDP datagram or a
// WebSocket message. data is not retained. The framing rule runs before
// sipgo parses, control characters in the head included: sipgo would keep
// some of them (a bare LF) inside header values.
func (in *Inbound) Message(data []byte, from Conn) {
	if isKeepalive(data) {
		return
	}
	if len(data) > in.limits.MaxMessageSize {
		in.metrics.rejected("too_large")
		in.reject(data, from, sip.StatusMessageTooLarge, "Message Too Large")
		return
	}
	handled, verdict := in.offerRaw(data, from)
	if handled || in.refuseFraming(data, from) {
		return
	}
	in.parse(data, from, verdict)
}

// framed delivers a message the stream framer cut, which has passed the
// framing rule (and the size limit) on its way out of the stream already.
func (in *Inbound) framed(data []byte, from Conn) {
	if handled, verdict := in.offerRaw(data, from); !handled {
		in.parse(data, from, verdict)
	}
}

// offerRaw offers a REGISTER within the header limit to the RawHandler,
// once the rate limit allows it, and reports whether it was handled, and
// what the rate limit said if it was asked. The rate limit is asked here,
// before the rules and the parse, not after them as for other messages: a
// REGISTER that breaks them then costs its sender a token.
func (in *Inbound) offerRaw(data []byte, from Conn) (bool, rateVerdict) {
	if in.raw == nil || !in.rawCandidate(data) {
		return false, unrated
	}
	if in.rate != nil && !in.rate.Allow(from.RemoteAddr().Addr()) {
		return false, rateLimited
	}
	if in.raw.HandleRaw(data, from) {
		in.metrics.receivedRequest(from.Transport())
		return true, rateAllowed
	}
	return false, rateAllowed
}

// rawCandidate reports whether a message may go to the RawHandler: a
// REGISTER with no more lines than MaxHeaders allows header fields (the
// RawHandler reads one header field a line, and one Via).
func (in *Inbound) rawCandidate(data []byte) bool {
	return bytes.HasPrefix(data, []byte("REGISTER ")) &&
		(in.limits.MaxHeaders <= 0 || bytes.Count(data, crlf)-2 <= in.limits.MaxHeaders)
}

// parse parses a message that passed the framing rule and delivers it.
// verdict is the rate limit's, when it was asked already.
func (in *Inbound) parse(data []byte, from Conn, verdict rateVerdict) {
	end := bytes.Index(data, crlfCRLF) // the end of the head, for both rules
	if f := checkSyntaxAt(data, end); f != nil {
		in.refuse(f, data, from)
		return
	}
	msg, err := in.parser.ParseSIP(normalizeHeadAt(data, end))
	if err != nil {
		in.metrics.rejected("malformed")
		in.reject(data, from, sip.StatusBadRequest, in.badRequestReason(err, data))
		return
	}
	if req, ok := msg.(*sip.Request); ok {
		keepMethodCase(req, data)
	}
	in.deliver(msg, from, verdict)
}

// deliver checks a parsed message against the limits, stamps its origin and
// hands it to the handler. verdict is the rate limit's, when it was asked.
func (in *Inbound) deliver(msg sip.Message, from Conn, verdict rateVerdict) {
	req, isReq := msg.(*sip.Request)
	if isReq && in.rate != nil && req.Method != sip.ACK && !in.allowed(verdict, from) {
		in.metrics.rejected("rate_limited")
		res := sip.NewResponseFromRequest(req, sip.StatusServiceUnavailable, "Service Unavailable (rate limit)", nil)
		res.AppendHeader(sip.NewHeader("Retry-After", "1"))
		in.answer(from, res)
		return
	}
	if fault := in.check(msg); fault != "" {
		in.metrics.rejected("invalid")
		if isReq && req.Via() != nil && req.CSeq() != nil && req.From() != nil && req.To() != nil && req.CallID() != nil && req.Method != sip.ACK {
			in.answer(from, sip.NewResponseFromRequest(req, sip.StatusBadRequest, "Bad Request ("+fault+")", nil))
		}
		return
	}
	msg.SetTransport(from.Transport())
	if isReq {
		stampVia(req, from.RemoteAddr(), remoteSource(from))
	}
	in.metrics.received(msg, from.Transport())
	in.handler.HandleMessage(msg, from)
}

// allowed asks the rate limit about a request from from, unless it was
// asked already.
func (in *Inbound) allowed(verdict rateVerdict, from Conn) bool {
	if verdict != unrated {
		return verdict == rateAllowed
	}
	return in.rate.Allow(from.RemoteAddr().Addr())
}

// check returns the first fault that makes msg unacceptable, or "".
// RFC 3261 §8.1.1 and §16.3 step 1.
func (in *Inbound) check(msg sip.Message) string {
	switch {
	case msg.Via() == nil:
		return "missing Via"
	case msg.From() == nil:
		return "missing From"
	case msg.To() == nil:
		return "missing To"
	case msg.CallID() == nil || *msg.CallID() == "":
		return "missing Call-ID"
	case msg.CSeq() == nil:
		return "missing CSeq"
	}
	if fault := checkAddresses(msg); fault != "" {
		return fault
	}
	if req, ok := msg.(*sip.Request); ok {
		if req.SipVersion != "SIP/2.0" {
			return "version must be SIP/2.0"
		}
		if req.CSeq().MethodName != req.Method {
			return "CSeq method does not match the request"
		}
		if req.Recipient.Host == "" && req.Recipient.Scheme != "tel" {
			return "Request-URI has no host"
		}
	}
	return in.countHeaders(msg)
}

func (in *Inbound) countHeaders(msg sip.Message) string {
	var all []sip.Header
	switch m := msg.(type) {
	case *sip.Request:
		all = m.Headers()
	case *sip.Response:
		all = m.Headers()
	}
	if in.limits.MaxHeaders > 0 && len(all) > in.limits.MaxHeaders {
		return "too many header fields"
	}
	via := 0
	for _, h := range all {
		if _, ok := h.(*sip.ViaHeader); ok {
			via++
		}
	}
	if in.limits.MaxVia > 0 && via > in.limits.MaxVia {
		return "too many Via header fields"
	}
	return ""
}

// stampVia adds received and rport to the top Via, RFC 3261 §18.2.1 and
// RFC 3581 §4, so that responses find their way back through NAT. source
// is remote as text.
func stampVia(req *sip.Request, remote netip.AddrPort, source string) {
	via := req.Via()
	req.SetSource(source)
	// The IP and port are cut from source rather than rendered again,
	// unless the IP is IPv4-mapped: received carries it unmapped.
	var ip, port string
	if i := strings.LastIndexByte(source, ':'); i > 0 && !remote.Addr().Is4In6() {
		ip, port = strings.TrimSuffix(strings.TrimPrefix(source[:i], "["), "]"), source[i+1:]
	} else {
		ip, port = remote.Addr().Unmap().String(), strconv.Itoa(int(remote.Port()))
	}
	if via.Params == nil {
		via.Params = sip.NewParams()
	}
	if via.Host != ip {
		via.Params.Add("received", ip)
	}
	if v, ok := via.Params.Get("rport"); ok && v == "" {
		via.Params.Add("rport", port)
	}
}

func isKeepalive(data []byte) bool {
	return len(bytes.Trim(data, "\r\n")) == 0
}

// reject answers a message the parser refused, when it was a request whose
// transaction headers can be recovered. RFC 3261 §18.3 and §21.4.1.
func (in *Inbound) reject(data []byte, from Conn, code int, reason string) {
	res := rawResponse(data, code, reason)
	if res == nil {
		return
	}
	if _, err := in.parser.ParseSIP(Marshal(res)); err != nil {
		res = rawResponseRepaired(data, code, reason)
	}
	in.answer(from, res)
}

// answer sends an error response built from a faulty request, unless it does
// not parse itself: the parser accepts some headers (a Via with no
// transport, say) that it refuses once written back, and such a response is
// noise no client can match.
func (in *Inbound) answer(from Conn, res *sip.Response) {
	if _, err := in.parser.ParseSIP(Marshal(res)); err == nil {
		_ = from.Send(res)
	}
}

func (in *Inbound) badRequestReason(err error, data []byte) string {
	if errors.Is(err, sip.ErrMessageTooLarge) {
		return "Message Too Large"
	}
	return in.parseFaultReason(data)
}

// checkAddresses rejects what sipgo's lenient parser lets through but no
// peer could use: a Via without transport or host, a From or To without a
// URI scheme, a SIP URI without a host.
func checkAddresses(msg sip.Message) string {
	via := msg.Via()
	if via.ProtocolName != "SIP" || via.ProtocolVersion != "2.0" || via.Transport == "" || via.Host == "" {
		return "malformed Via"
	}
	for _, a := range []struct {
		name string
		uri  *sip.Uri
	}{{"From", &msg.From().Address}, {"To", &msg.To().Address}} {
		if !usableURI(a.uri) {
			return "malformed " + a.name + " URI"
		}
	}
	if req, ok := msg.(*sip.Request); ok && (!usableURI(&req.Recipient) || len(req.Recipient.Headers) > 0) {
		return "malformed Request-URI" // RFC 3261 §19.1.1: no headers in a Request-URI (RFC 4475 §3.1.2.11)
	}
	return ""
}

func usableURI(u *sip.Uri) bool {
	switch strings.ToLower(u.Scheme) {
	case "":
		return false
	case "sip", "sips":
		return u.Host != "" && validIPv6Reference(u.Host)
	}
	return true
}

// validIPv6Reference reports whether host, if it is an IPv6 reference
// ("[...]"), holds an IPv6 address as RFC 5954 corrected the grammar: not
// "2001:db8:::192.0.2.1" (RFC 5118 §4.10).
func validIPv6Reference(host string) bool {
	if len(host) == 0 || host[0] != '[' {
		return true
	}
	if len(host) < 2 || host[len(host)-1] != ']' {
		return false
	}
	ip, err := netip.ParseAddr(host[1 : len(host)-1])
	return err == nil && ip.Is6() && ip.Zone() == ""
}

// keepMethodCase gives req back the method its start line spelt: sipgo
// upper-cases it, but methods are case-sensitive (RFC 3261 §7.1), so
// "!odd-Method" is neither "!ODD-METHOD" nor what its CSeq names (RFC 4475
// §3.1.1.2). It allocates only for a method not spelt in upper case.
func keepMethodCase(req *sip.Request, data []byte) {
	method, _, _ := bytes.Cut(data, []byte(" "))
	if string(method) != string(req.Method) {
		req.Method = sip.RequestMethod(method)
	}
}
