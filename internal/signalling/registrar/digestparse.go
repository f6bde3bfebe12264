package registrar

import (
	"errors"
	"strings"
)

// maxDigestParams bounds how many parameters one credentials value may carry;
// a real one has about ten (RFC 3261 §25.1 dig-resp, RFC 7616 §3.4).
const maxDigestParams = 32

// Errors returned by parseDigest. They never leave the package: Verify maps
// every one of them to AuthBadRequest.
var (
	errNotDigest      = errors.New("registrar: auth scheme is not Digest")
	errDigestSyntax   = errors.New("registrar: malformed Digest parameters")
	errDigestDupParam = errors.New("registrar: repeated Digest parameter")
)

// parseDigest parses a "Digest k=v, k2="quoted, \"v\"", ..." header field
// value (RFC 3261 §25.1 credentials, RFC 7235 §2.1 auth-param) into a map keyed
// by lower-case parameter name, with quoted values unescaped.
//
// It accepts linear white space around '=' and ',', empty list elements
// (RFC 7230 §7) and, for interoperability, unquoted values that are not
// strict tokens (uri=sip:x@y). It rejects a missing scheme, a name without a
// value, an unterminated quoted string, control characters and a repeated
// parameter, which RFC 7235 §2.1 forbids and which would make the value
// ambiguous.
func parseDigest(v string) (map[string]string, error) {
	s := digestScanner{s: strings.TrimLeft(v, " \t")}
	scheme := s.token()
	if !strings.EqualFold(scheme, "Digest") {
		return nil, errNotDigest
	}
	if !s.space() {
		return nil, errDigestSyntax
	}
	params := make(map[string]string)
	for {
		s.skip(" \t,")
		if s.done() {
			break
		}
		name, val, err := s.param()
		if err != nil {
			return nil, err
		}
		name = strings.ToLower(name)
		if _, dup := params[name]; dup {
			return nil, errDigestDupParam
		}
		if len(params) == maxDigestParams {
			return nil, errDigestSyntax
		}
		params[name] = val
		s.skip(" \t")
		if !s.done() && !s.consume(',') {
			return nil, errDigestSyntax
		}
	}
	if len(params) == 0 {
		return nil, errDigestSyntax
	}
	return params, nil
}

// digestScanner walks a header value one byte at a time. Every method stops
// at the end of the input, so malformed values fail instead of panicking.
type digestScanner struct {
	s string
	i int
}

func (p *digestScanner) done() bool { return p.i >= len(p.s) }

func (p *digestScanner) consume(c byte) bool {
	if p.done() || p.s[p.i] != c {
		return false
	}
	p.i++
	return true
}

func (p *digestScanner) skip(set string) {
	for !p.done() && strings.IndexByte(set, p.s[p.i]) >= 0 {
		p.i++
	}
}

// space skips at least one space or tab and reports whether it found one.
func (p *digestScanner) space() bool {
	start := p.i
	p.skip(" \t")
	return p.i > start
}

// token reads an RFC 7230 §3.2.6 token.
func (p *digestScanner) token() string {
	start := p.i
	for !p.done() && isTokenChar(p.s[p.i]) {
		p.i++
	}
	return p.s[start:p.i]
}

// param reads one name=value pair, the value quoted or bare.
func (p *digestScanner) param() (name, val string, err error) {
	name = p.token()
	if name == "" {
		return "", "", errDigestSyntax
	}
	p.skip(" \t")
	if !p.consume('=') {
		return "", "", errDigestSyntax
	}
	p.skip(" \t")
	if p.consume('"') {
		val, err = p.quoted()
		return name, val, err
	}
	val = p.bare()
	if val == "" {
		return "", "", errDigestSyntax
	}
	return name, val, nil
}

// quoted reads the rest of an RFC 3261 §25.1 quoted-string, the opening
// quote already consumed, resolving quoted-pairs.
func (p *digestScanner) quoted() (string, error) {
	var b strings.Builder
	for !p.done() {
		c := p.s[p.i]
		p.i++
		switch {
		case c == '"':
			return b.String(), nil
		case c == '\\':
			if p.done() || isCtl(p.s[p.i]) && p.s[p.i] != '\t' {
				return "", errDigestSyntax
			}
			b.WriteByte(p.s[p.i])
			p.i++
		case isCtl(c) && c != '\t':
			return "", errDigestSyntax
		default:
			b.WriteByte(c)
		}
	}
	return "", errDigestSyntax
}

// bare reads an unquoted value up to the next separator.
func (p *digestScanner) bare() string {
	start := p.i
	for !p.done() {
		c := p.s[p.i]
		if c == ',' || c == ' ' || c == '\t' || c == '"' || isCtl(c) {
			break
		}
		p.i++
	}
	return p.s[start:p.i]
}

func isCtl(c byte) bool { return c < 0x20 || c == 0x7f }

func isTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// quote renders s as a quoted-string (RFC 3261 §25.1), escaping '"' and '\'.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
	return b.String()
}
