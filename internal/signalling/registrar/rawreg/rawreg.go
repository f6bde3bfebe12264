// Package rawreg reads an ordinary REGISTER from its bytes, in one pass and
// without allocating, so that the registrar can answer it without sipgo
// parsing every header into objects and rendering its 200 back from them.
//
// It reads only the canonical form of each header it needs: the form sipgo
// renders, so that the bytes of Via, From, To and Call-ID can be copied
// into the response unchanged and still match what sipgo would have
// written from their parse. Anything else — a compact header name, a
// folded line, a second Via, a comma list, a display name without quotes,
// an IPv6 host, a duplicated parameter, Require, Path, Route, a body — is
// not read at all: Parse reports false and the message takes the usual
// way through sipgo. So the fast way is a subset of the usual one, never a
// second interpretation of the same bytes.
package rawreg

import "bytes"

// MaxContacts is the most Contact header fields Parse reads; a REGISTER
// with more takes the usual way.
const MaxContacts = 8

// Request is a REGISTER as Parse read it. Every byte slice points into the
// message; nothing is copied.
type Request struct {
	// Via is the value of the one Via; ViaHost its sent-by host and
	// ViaParams its parameters, from the first ';'.
	Via, ViaHost, ViaParams []byte
	// From and To are the values of those headers; ToURI is To's address.
	From, To []byte
	ToURI    URI
	CallID   []byte
	CSeq     uint32
	// Contacts are the Contact values, in order (none with Wildcard).
	Contacts  [MaxContacts]Contact
	NContacts int
	// Wildcard is "Contact: *".
	Wildcard bool
	// Expires is the value of the Expires header, nil when there is none.
	Expires []byte
	// Supported lists the option tags path (RFC 3327) or outbound (RFC 5626).
	SupportsPath, SupportsOutbound bool
	// Headers is how many header fields the message has.
	Headers int
	// RequestURI is the Request-URI.
	RequestURI []byte
	// Authorization is the value of the one Authorization header, nil when
	// there is none; Digest holds its parameters.
	Authorization []byte
	Digest        Digest
}

// Digest are the parameters of Digest credentials (RFC 3261 §25.1
// dig-resp), without quotes, as slices of Request.Authorization; nil for a
// parameter that is not there.
type Digest struct {
	Username, Realm, Nonce, URI, Response, Algorithm, CNonce, QOP, NC []byte
}

// URI is a SIP URI in name-addr form, its parts as slices of the message.
type URI struct {
	// Text is the whole URI, without the angle brackets.
	Text                     []byte
	Scheme, User, Host, Port []byte
	// Params are the URI parameters, from the first ';'.
	Params []byte
}

// Contact is one Contact value: "<URI>" and its header parameters.
type Contact struct {
	// Value is the whole value.
	Value []byte
	URI   URI
	// Params are the header parameters after '>', from the first ';'.
	Params []byte
}

// Parse reads data, a whole message, into req and reports whether it is a
// REGISTER in the form this package reads, with no body. When it reports
// false req holds nothing useful. What it reads, siptransport's framing
// and syntax rules accept (no control character, each header once, no
// folding, a SIP Request-URI...), so that a REGISTER it reads need not go
// through them first.
func Parse(data []byte, req *Request) bool {
	*req = Request{}
	rest, ok := bytes.CutPrefix(data, []byte("REGISTER "))
	if !ok {
		return false
	}
	line, rest, ok := cutLine(rest)
	if !ok {
		return false
	}
	ruri, ok := bytes.CutSuffix(line, []byte(" SIP/2.0"))
	if !ok || !requestURI(ruri) {
		return false
	}
	req.RequestURI = ruri
	var seen seen
	for {
		line, rest, ok = cutLine(rest)
		if !ok {
			return false
		}
		if len(line) == 0 {
			break
		}
		req.Headers++
		if !req.header(line, &seen) {
			return false
		}
	}
	return len(rest) == 0 && seen.complete()
}

// seen counts the headers that must appear once.
type seen struct {
	via, from, to, callID, cseq, maxForwards, contentLength, expires, authorization int
}

func (s *seen) complete() bool {
	return s.via == 1 && s.from == 1 && s.to == 1 && s.callID == 1 && s.cseq == 1 &&
		s.maxForwards <= 1 && s.contentLength <= 1 && s.expires <= 1 && s.authorization <= 1
}

// header reads one header field line.
func (req *Request) header(line []byte, s *seen) bool {
	colon := bytes.IndexByte(line, ':')
	if colon < 0 || colon+1 == len(line) || line[colon+1] != ' ' {
		return false
	}
	name, value := line[:colon], line[colon+2:]
	if len(name) < 2 || !isToken(name) || len(value) == 0 || isWSP(value[0]) || isWSP(value[len(value)-1]) {
		return false
	}
	switch nameOf(name) {
	case hVia:
		s.via++
		return req.via(value)
	case hFrom:
		s.from++
		req.From = value
		_, ok := nameAddr(value, false)
		return ok
	case hTo:
		s.to++
		req.To = value
		u, ok := nameAddr(value, false)
		req.ToURI = u
		return ok && !hasParam(value[len(u.Text)+2+displayLen(value):], "tag")
	case hCallID:
		s.callID++
		req.CallID = value
		return isWord(value)
	case hCSeq:
		s.cseq++
		n, ok := bytes.CutSuffix(value, []byte(" REGISTER"))
		if !ok {
			return false
		}
		req.CSeq, ok = number(n, 1<<31-1)
		return ok
	case hMaxForwards:
		s.maxForwards++
		n, ok := number(value, 255)
		return ok && n > 0
	case hContentLength:
		s.contentLength++
		n, ok := number(value, 0)
		return ok && n == 0
	case hContact:
		return req.contact(value)
	case hExpires:
		s.expires++
		req.Expires = value
		_, ok := number(value, 1<<32-1)
		return ok
	case hSupported:
		req.SupportsPath = req.SupportsPath || hasOptionTag(value, "path")
		req.SupportsOutbound = req.SupportsOutbound || hasOptionTag(value, "outbound")
		return noControl(value)
	case hAuthorization:
		s.authorization++
		req.Authorization = value
		return req.Digest.read(value)
	case hSpecial:
		return false
	}
	return noControl(value)
}

// noControl reports whether a header value holds no control character but
// HT (the framing rule refuses them).
func noControl(v []byte) bool {
	for _, c := range v {
		if c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// The headers Parse tells apart.
const (
	hOther = iota
	hVia
	hFrom
	hTo
	hCallID
	hCSeq
	hMaxForwards
	hContentLength
	hContact
	hExpires
	hSupported
	hAuthorization
	// hSpecial is a header Parse does not read but sipgo parses, or the
	// registrar or proxy acts on: such a REGISTER takes the usual way.
	hSpecial
)

// headerNames are the names nameOf knows, lower case, by kind.
var headerNames = [...]struct {
	name string
	kind int
}{
	{"via", hVia}, {"from", hFrom}, {"to", hTo}, {"call-id", hCallID}, {"cseq", hCSeq},
	{"max-forwards", hMaxForwards}, {"content-length", hContentLength}, {"contact", hContact},
	{"expires", hExpires}, {"supported", hSupported}, {"authorization", hAuthorization},
	{"content-type", hSpecial}, {"route", hSpecial}, {"record-route", hSpecial}, {"require", hSpecial},
	{"proxy-require", hSpecial}, {"path", hSpecial}, {"refer-to", hSpecial}, {"referred-by", hSpecial},
	{"proxy-authorization", hSpecial},
}

// namesByLen are the indexes into headerNames of the names of each length.
var namesByLen = func() (t [24][]int) {
	for i, h := range headerNames {
		t[len(h.name)] = append(t[len(h.name)], i)
	}
	return t
}()

// nameOf returns the kind of a header name, compared without regard to case.
func nameOf(name []byte) int {
	if len(name) >= len(namesByLen) {
		return hOther
	}
	for _, i := range namesByLen[len(name)] {
		if h := &headerNames[i]; h.name[0] == name[0]|0x20 && is(name, h.name) {
			return h.kind
		}
	}
	return hOther
}

// via reads "SIP/2.0/TRANSPORT host[:port][;params]".
func (req *Request) via(v []byte) bool {
	req.Via = v
	rest, ok := bytes.CutPrefix(v, []byte("SIP/2.0/"))
	if !ok {
		return false
	}
	transport, rest, ok := cut(rest, ' ')
	if !ok || len(transport) == 0 || !allUpper(transport) {
		return false
	}
	sentBy, params, _ := cutAt(rest, ';')
	host, port, hasPort := cut(sentBy, ':')
	if !isHost(host) || hasPort && !isPort(port) {
		return false
	}
	req.ViaHost, req.ViaParams = host, params
	return validParams(params, false)
}

// read reads Digest credentials in the form JsSIP and SIP.js send them:
// "Digest " and then name=value pairs split by ", ", every name one of
// the parameters of Digest in lower case and there once, every value a
// token or a quoted string of printable characters but quote and
// backslash, so that its bytes are what any reader makes of it.
func (d *Digest) read(v []byte) bool {
	rest, ok := bytes.CutPrefix(v, []byte("Digest "))
	if !ok {
		return false
	}
	for {
		var name, value []byte
		if name, rest, ok = cut(rest, '='); !ok {
			return false
		}
		end := bytes.Index(rest, []byte(", "))
		if end < 0 {
			end = len(rest)
		}
		value, rest = rest[:end], rest[end:]
		if len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"' {
			value = value[1 : len(value)-1]
			if !all(value, cQuoted|cSpace) {
				return false
			}
		} else if !isToken(value) {
			return false
		}
		field := d.field(name)
		if field == nil || *field != nil {
			return false
		}
		*field = value
		if len(rest) == 0 {
			return d.Username != nil
		}
		rest = rest[2:]
	}
}

// field returns the field of the parameter named name, nil for a name
// read does not know.
func (d *Digest) field(name []byte) *[]byte {
	switch string(name) {
	case "username":
		return &d.Username
	case "realm":
		return &d.Realm
	case "nonce":
		return &d.Nonce
	case "uri":
		return &d.URI
	case "response":
		return &d.Response
	case "algorithm":
		return &d.Algorithm
	case "cnonce":
		return &d.CNonce
	case "qop":
		return &d.QOP
	case "nc":
		return &d.NC
	}
	return nil
}

// contact reads one Contact value, or the wildcard.
func (req *Request) contact(v []byte) bool {
	if string(v) == "*" {
		req.Wildcard = true
		return req.NContacts == 0
	}
	if req.Wildcard || req.NContacts == MaxContacts {
		return false
	}
	u, ok := nameAddr(v, true)
	if !ok || displayLen(v) != 0 {
		return false
	}
	req.Contacts[req.NContacts] = Contact{Value: v, URI: u, Params: v[len(u.Text)+2:]}
	req.NContacts++
	return true
}

// nameAddr reads `["display" ]<sip:user@host[:port][;params]>[;params]`,
// header parameter values quoted only when quoted is set.
func nameAddr(v []byte, quoted bool) (URI, bool) {
	d := displayLen(v)
	if d < 0 || len(v) < d+2 || v[d] != '<' {
		return URI{}, false
	}
	end := bytes.IndexByte(v[d:], '>')
	if end < 0 {
		return URI{}, false
	}
	u, ok := sipURI(v[d+1 : d+end])
	return u, ok && validParams(v[d+end+1:], quoted)
}

// displayLen is the length of a quoted display name and the space after it
// at the start of v: 0 when there is none, -1 when it is not one Parse
// reads (escapes, or no space before '<').
func displayLen(v []byte) int {
	if len(v) == 0 || v[0] != '"' {
		return 0
	}
	end := bytes.IndexByte(v[1:], '"')
	if end <= 0 {
		return -1
	}
	name := v[1 : 1+end]
	if bytes.IndexByte(name, '\\') >= 0 || isWSP(name[0]) || isWSP(name[len(name)-1]) || len(v) < end+3 || v[end+2] != ' ' {
		return -1
	}
	for _, c := range name {
		if c < ' ' || c > '~' {
			return -1
		}
	}
	return end + 3
}

// sipURI reads "sip:user@host[:port][;params]" or the same in sips.
func sipURI(t []byte) (URI, bool) {
	u := URI{Text: t}
	scheme, rest, ok := cut(t, ':')
	if !ok || string(scheme) != "sip" && string(scheme) != "sips" {
		return u, false
	}
	u.Scheme = scheme
	user, rest, ok := cut(rest, '@')
	if !ok || len(user) == 0 || !isUser(user) {
		return u, false
	}
	u.User = user
	hostPort, params, _ := cutAt(rest, ';')
	host, port, hasPort := cut(hostPort, ':')
	if !isHost(host) || hasPort && !isPort(port) {
		return u, false
	}
	u.Host, u.Port, u.Params = host, port, params
	return u, validParams(params, false)
}

// requestURI reads a REGISTER's Request-URI: "sip:host[:port][;params]".
func requestURI(t []byte) bool {
	scheme, rest, ok := cut(t, ':')
	if !ok || string(scheme) != "sip" && string(scheme) != "sips" {
		return false
	}
	hostPort, params, _ := cutAt(rest, ';')
	host, port, hasPort := cut(hostPort, ':')
	return isHost(host) && (!hasPort || isPort(port)) && validParams(params, false)
}

// cut is bytes.Cut for a one-byte separator.
func cut(b []byte, c byte) (before, after []byte, found bool) {
	if i := bytes.IndexByte(b, c); i >= 0 {
		return b[:i], b[i+1:], true
	}
	return b, nil, false
}

// cutAt cuts b before the first c: params keep their leading c.
func cutAt(b []byte, c byte) (before, after []byte, found bool) {
	if i := bytes.IndexByte(b, c); i >= 0 {
		return b[:i], b[i:], true
	}
	return b, nil, false
}

// validParams checks ";name[=value]..." (or nothing): names and values
// tokens, values quoted strings too when quoted is set, no name twice
// (sipgo keeps one), at most maxParams of them.
func validParams(p []byte, quoted bool) bool {
	var names [maxParams][]byte
	n := 0
	for rest := p; len(rest) > 0; n++ {
		name, value, next, ok := NextParam(rest)
		if !ok || n == maxParams || !isToken(name) {
			return false
		}
		for _, seen := range names[:n] {
			if string(seen) == string(name) {
				return false
			}
		}
		names[n] = name
		if value != nil && !isToken(value) && !(quoted && isQuoted(value)) {
			return false
		}
		rest = next
	}
	return true
}

// maxParams is the most parameters of one URI or header value Parse reads.
const maxParams = 16

// NextParam cuts the first ";name[=value]" off p. value is nil when the
// parameter has no '=', and keeps its quotes when it is quoted.
func NextParam(p []byte) (name, value, rest []byte, ok bool) {
	if len(p) == 0 || p[0] != ';' {
		return nil, nil, nil, false
	}
	p = p[1:]
	i := 0
	for i < len(p) && p[i] != ';' && p[i] != '=' {
		i++
	}
	name = p[:i]
	if i == len(p) || p[i] == ';' {
		return name, nil, p[i:], true
	}
	v := p[i+1:]
	end := 0
	if len(v) > 0 && v[0] == '"' {
		close := bytes.IndexByte(v[1:], '"')
		if close < 0 {
			return nil, nil, nil, false
		}
		end = close + 2
		if end < len(v) && v[end] != ';' {
			return nil, nil, nil, false
		}
	} else if end = bytes.IndexByte(v, ';'); end < 0 {
		end = len(v)
	}
	if end == 0 {
		return nil, nil, nil, false
	}
	return name, v[:end], v[end:], true
}

// Param returns the value of the parameter named name (compared exactly,
// as sipgo does) in p, and whether it is there.
func Param(p []byte, name string) (value []byte, ok bool) {
	for rest := p; len(rest) > 0; {
		var n, v []byte
		if n, v, rest, ok = NextParam(rest); !ok {
			return nil, false
		}
		if string(n) == name {
			return v, true
		}
	}
	return nil, false
}

func hasParam(p []byte, name string) bool {
	_, ok := Param(p, name)
	return ok
}

// hasOptionTag reports whether a list of option tags holds tag, compared
// without regard to case (RFC 3261 §19.2).
func hasOptionTag(v []byte, tag string) bool {
	for len(v) > 0 {
		var t []byte
		t, v, _ = cut(v, ',')
		if bytes.EqualFold(bytes.TrimSpace(t), []byte(tag)) {
			return true
		}
	}
	return false
}

// number reads 1 to 10 decimal digits of a value at most limit.
func number(b []byte, limit uint64) (uint32, bool) {
	if len(b) == 0 || len(b) > 10 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	return uint32(n), n <= limit
}

// cutLine cuts the first CRLF-ended line off b. A bare CR or LF ends no
// line: it makes the message one Parse does not read.
func cutLine(b []byte) (line, rest []byte, ok bool) {
	i := bytes.IndexByte(b, '\r')
	if i < 0 || i+1 == len(b) || b[i+1] != '\n' || bytes.IndexByte(b[:i], '\n') >= 0 {
		return nil, nil, false
	}
	return b[:i], b[i+2:], true
}

// is compares a header name with a lower-case one, ignoring case.
func is(name []byte, lower string) bool {
	if len(name) != len(lower) {
		return false
	}
	for i := range len(name) {
		if name[i]|0x20 != lower[i] && !(name[i] == '-' && lower[i] == '-') {
			return false
		}
	}
	return true
}

func isWSP(c byte) bool { return c == ' ' || c == '\t' }

func allUpper(b []byte) bool {
	for _, c := range b {
		if c < 'A' || c > 'Z' {
			return false
		}
	}
	return true
}

// isHost reads a host name or IPv4 address: letters, digits, '-' and '.'.
func isHost(b []byte) bool { return len(b) > 0 && all(b, cHost) }

// isPort reads 1 to 65535 with no leading zero.
func isPort(b []byte) bool {
	if len(b) == 0 || b[0] == '0' {
		return false
	}
	n, ok := number(b, 65535)
	return ok && n > 0
}

// isToken reads an RFC 3261 §25.1 token.
func isToken(b []byte) bool { return len(b) > 0 && all(b, cToken) }

// isUser reads the user part of a SIP URI, its unreserved characters only.
func isUser(b []byte) bool { return all(b, cUser) }

// isWord reads a Call-ID: RFC 3261 §25.1 word characters but quote and
// backslash.
func isWord(b []byte) bool { return all(b, cWord) }

// isQuoted reads a quoted string with no quote, backslash or white space inside.
func isQuoted(b []byte) bool {
	return len(b) >= 2 && b[0] == '"' && b[len(b)-1] == '"' && all(b[1:len(b)-1], cQuoted)
}

// The character classes of the grammar Parse reads, as bits of classes.
const (
	cToken = 1 << iota
	cUser
	cWord
	cHost
	cQuoted
	// cSpace is the space a quoted Digest value may hold.
	cSpace
)

var classes = func() (t [256]uint8) {
	add := func(class uint8, chars string) {
		for i := range len(chars) {
			t[chars[i]] |= class
		}
	}
	const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	add(cToken, alnum+"-.!%*_+`'~")
	add(cUser, alnum+"-_.!~*'()+")
	add(cWord, alnum+"-.!%*_+`'~()<>:/[]?{}@")
	add(cHost, alnum+"-.")
	t[' '] |= cSpace
	for c := '!'; c <= '~'; c++ {
		if c != '"' && c != '\\' {
			t[c] |= cQuoted
		}
	}
	return t
}()

// all reports whether every byte of b is of class.
func all(b []byte, class uint8) bool {
	for _, c := range b {
		if classes[c]&class == 0 {
			return false
		}
	}
	return true
}
