package registrar

import (
	"bytes"
	"math/rand/v2"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/internal/signalling/registrar/rawreg"
)

// RegisterRaw is Register for a REGISTER in its bytes, data, as an
// ordinary UA sends it over a connection: rawreg reads the few headers the
// registrar needs, the bindings change as Register would change them, and
// the 200 is appended to dst as Register's response would render, but for
// its To tag. ok is false, and nothing has changed, for anything else: a
// request rawreg does not read, a registrar with Auth, a request Register
// would refuse. The caller then hands the request to Register.
//
// flow.Remote is the address the request came from, whose IP and port go
// into the Via's received and rport as the transport stamps them (RFC
// 3261 §18.2.1, RFC 3581 §4).
func (r *Registrar) RegisterRaw(data []byte, flow Flow, dst []byte) (out []byte, user string, ok bool) {
	var req rawreg.Request
	if !rawreg.Parse(data, &req) {
		return dst, "", false
	}
	reg, err := rawRegistration(&req, &r.cfg)
	if err != nil {
		return dst, "", false
	}
	var admit func() bool
	if r.cfg.Auth {
		if admit = r.auth.rawAdmission(&req, reg.user, flow.Remote.Addr()); admit == nil {
			return dst, "", false
		}
	}
	live, now, err := r.apply(reg, flow, admit)
	if err != nil {
		return dst, "", false
	}
	return r.appendOK(dst, &req, reg, live, now, flow.Remote), reg.user, true
}

// rawAdmission checks the credentials of a REGISTER rawreg read, from
// src, for user, the To user, as Verify and then Register would check
// them, in Verify's order (Attempts.Allow before the response, so that a
// guess against a lockout learns nothing here either), changing nothing.
// It returns nil unless they are in a form taken as it is (the uri
// parameter spelt as the Request-URI, for one) and right; else the rest of
// Verify's success, the nonce count and Attempts.Succeeded, which reports
// false, having changed nothing, when the count refuses.
func (a *Authenticator) rawAdmission(req *rawreg.Request, user string, src netip.Addr) func() bool {
	d := &req.Digest
	if req.Authorization == nil || string(d.Realm) != a.realm || string(d.URI) != string(req.RequestURI) ||
		string(d.Username) != user {
		return nil
	}
	value := string(req.Authorization)
	in := func(part []byte) string {
		if part == nil {
			return ""
		}
		return within(value, req.Authorization, part)
	}
	c := &credentials{username: in(d.Username), realm: in(d.Realm), nonce: in(d.Nonce), uri: in(d.URI),
		response: in(d.Response), algorithm: AlgMD5, cnonce: in(d.CNonce), qop: in(d.QOP), ncText: in(d.NC)}
	if d.Algorithm != nil {
		c.algorithm = canonicalAlg(in(d.Algorithm))
	}
	if !c.valid() || !a.offers(c.algorithm) || a.attempts != nil && !a.attempts.Allow(c.username, src) {
		return nil
	}
	issued, now, res, _ := a.checkResponse(string(sip.REGISTER), c, src)
	if res != AuthOK {
		return nil
	}
	return func() bool {
		if res, _ := a.countNonce(c, issued, now); res != AuthOK {
			return false
		}
		if a.attempts != nil {
			a.attempts.Succeeded(c.username, src)
		}
		return true
	}
}

// rawRegistration is parseRegistration for a REGISTER rawreg read.
func rawRegistration(req *rawreg.Request, cfg *Config) (*registration, *statusError) {
	reg := &registration{callID: string(req.CallID), cseq: req.CSeq}
	to := &req.ToURI
	var err *statusError
	if reg.user, reg.aor, err = aorOf(string(to.Scheme), string(to.User), string(to.Host), cfg.Domain); err != nil {
		return nil, err
	}
	var contacts [rawreg.MaxContacts]*sip.ContactHeader
	var rendered [rawreg.MaxContacts]string
	f := fields{supportsPath: req.SupportsPath, supportsOutbound: req.SupportsOutbound,
		expires: string(req.Expires), hasExpires: req.Expires != nil,
		contacts: contacts[:0], rendered: rendered[:0], owned: true}
	if req.Wildcard {
		f.contacts = []*sip.ContactHeader{{Address: sip.Uri{Wildcard: true}}}
	}
	for i := range req.NContacts {
		h, rendered, ok := rawContact(&req.Contacts[i])
		if !ok {
			return nil, errContact
		}
		f.contacts = append(f.contacts, h)
		f.rendered = append(f.rendered, rendered)
	}
	reg.supportsPath = f.supportsPath
	if err := reg.parseContacts(&f, cfg); err != nil {
		return nil, err
	}
	return reg, nil
}

// rawContact turns a Contact rawreg read into the header sipgo would have
// parsed, its strings cut from one copy of the value, and the value as a
// 200 lists it but for expires.
func rawContact(c *rawreg.Contact) (h *sip.ContactHeader, rendered string, ok bool) {
	value := string(c.Value)
	in := func(part []byte) string { return within(value, c.Value, part) }
	u := &c.URI
	h = &sip.ContactHeader{Address: sip.Uri{Scheme: in(u.Scheme), User: in(u.User), Host: in(u.Host)}}
	if len(u.Port) > 0 {
		h.Address.Port, _ = strconv.Atoi(in(u.Port))
	}
	h.Address.UriParams = rawParams(u.Params, in)
	h.Params = rawParams(c.Params, in)
	rendered = value
	for rest := c.Params; len(rest) > 0; {
		from := len(c.Value) - len(rest)
		name, _, next, _ := rawreg.NextParam(rest)
		rest = next
		if strings.EqualFold(in(name), "expires") {
			if len(rendered) != len(value) {
				return nil, "", false // two of them: not worth the bother
			}
			rendered = value[:from] + value[len(c.Value)-len(next):] // no copy when it is last
		}
	}
	return h, rendered, true
}

// rawParams are parameters rawreg read, as sipgo parses them (nil for
// none), their strings cut by in.
func rawParams(p []byte, in func([]byte) string) sip.HeaderParams {
	if len(p) == 0 {
		return nil
	}
	out := make(sip.HeaderParams, 0, bytes.Count(p, []byte(";")))
	for rest := p; len(rest) > 0; {
		name, v, next, _ := rawreg.NextParam(rest)
		rest = next
		kv := sip.HeaderKV{K: in(name)}
		if v != nil {
			kv.V = in(v)
		}
		out = append(out, kv)
	}
	return out
}

// within returns the part of s, a copy of b, that part is of b.
func within(s string, b, part []byte) string {
	i := cap(b) - cap(part)
	return s[i : i+len(part)]
}

// appendOK appends the 200 of RFC 3261 §10.3 step 8 that accept builds,
// rendered as sipgo renders it.
func (r *Registrar) appendOK(dst []byte, req *rawreg.Request, reg *registration, live []*entry, now time.Time, remote netip.AddrPort) []byte {
	dst = append(dst, "SIP/2.0 200 OK\r\nVia: "...)
	dst = appendVia(dst, req, remote)
	dst = append(append(dst, "\r\nFrom: "...), req.From...)
	dst = append(append(dst, "\r\nTo: "...), req.To...)
	dst = strconv.AppendUint(append(dst, ";tag="...), rand.Uint64(), 16)
	dst = append(append(dst, "\r\nCall-ID: "...), req.CallID...)
	dst = strconv.AppendUint(append(dst, "\r\nCSeq: "...), uint64(req.CSeq), 10)
	dst = append(dst, " REGISTER\r\nContent-Length: 0\r\n"...)
	for _, e := range live {
		dst = append(dst, "Contact: "...)
		dst = appendContact(dst, e)
		dst = strconv.AppendInt(append(dst, ";expires="...), seconds(e.b.Expires.Sub(now)), 10)
		dst = append(dst, "\r\n"...)
	}
	if reg.outbound {
		dst = append(dst, "Require: outbound\r\n"...)
	}
	dst = append(append(dst, "Date: "...), r.dateHeader(now).Value()...)
	return append(dst, "\r\n\r\n"...)
}

// appendVia appends the request's Via with received and rport filled in
// as siptransport.Inbound stamps them.
func appendVia(dst []byte, req *rawreg.Request, remote netip.AddrPort) []byte {
	var ipBuf [64]byte
	ip := remote.Addr().Unmap().AppendTo(ipBuf[:0])
	stampReceived := string(req.ViaHost) != string(ip)
	dst = append(dst, req.Via[:len(req.Via)-len(req.ViaParams)]...)
	hasReceived := false
	for rest := req.ViaParams; len(rest) > 0; {
		name, v, next, _ := rawreg.NextParam(rest)
		switch {
		case string(name) == "received" && stampReceived:
			hasReceived = true
			dst = append(append(dst, ";received="...), ip...)
		case string(name) == "rport" && v == nil:
			dst = strconv.AppendUint(append(dst, ";rport="...), uint64(remote.Port()), 10)
		default:
			dst = append(dst, rest[:len(rest)-len(next)]...)
		}
		rest = next
	}
	if stampReceived && !hasReceived {
		dst = append(append(dst, ";received="...), ip...)
	}
	return dst
}

// appendContact appends a binding's Contact, but for expires: as it came,
// or as sipgo renders it when it came through Register.
func appendContact(dst []byte, e *entry) []byte {
	if e.rendered != "" {
		return append(dst, e.rendered...)
	}
	w := bytes.NewBuffer(dst)
	h := sip.ContactHeader{Address: *e.b.Contact, Params: e.b.Params}
	w.WriteString(h.Value())
	return w.Bytes()
}
