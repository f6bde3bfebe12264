package siptransport

import (
	"bytes"
	"strings"
)

// The syntax rule catches, on the raw header block, what sipgo's lenient
// parser lets through and a peer behind switchboard could be misled by
// (RFC 4475 §3.1.2, §3.3.2). Unlike the framing rule it leaves the message's
// boundaries in no doubt, so a stream stays open after the answer:
//
//   - a Request-URI of a scheme switchboard does not route (sip, sips and
//     tel only) gets 416 (RFC 3261 §16.3 step 2, §8.2.2.1);
//   - a From, To or Contact that breaks the name-addr / addr-spec grammar
//     (§20.10, §25.1) gets 400: an unquoted display name that is not a run
//     of tokens, a quoted one that never ends, white space inside <...>, or
//     an addr-spec (no <>) holding white space, "?" or a quote.
var (
	faultScheme  = &fault{416, "Unsupported URI Scheme", "uri_scheme", true}
	faultAddress [numAddressFields]*fault
)

// addressFields are the headers whose values are name-addr or addr-spec.
var addressFields = [...]struct {
	name    string
	compact byte
}{{"From", 'f'}, {"To", 't'}, {"Contact", 'm'}}

const numAddressFields = len(addressFields)

func init() {
	for i, a := range addressFields {
		faultAddress[i] = &fault{400, "Bad Request (malformed " + a.name + ")", "malformed", true}
	}
}

// checkSyntax applies the syntax rule to a message that passed the framing
// rule. It allocates nothing.
func checkSyntax(data []byte) *fault { return checkSyntaxAt(data, bytes.Index(data, crlfCRLF)) }

// checkSyntaxAt is checkSyntax for a message whose head ends at end, where
// bytes.Index finds the first CRLF CRLF (-1 for none).
func checkSyntaxAt(data []byte, end int) *fault {
	if end < 0 {
		return nil // the framing rule has made sure there is one
	}
	block := data[:end]
	startLine, _, _ := bytes.Cut(block, crlf)
	if !bytes.HasPrefix(startLine, []byte("SIP/")) {
		_, rest, _ := bytes.Cut(startLine, []byte(" "))
		scheme, _, _ := bytes.Cut(rest, []byte(":"))
		if !knownScheme(scheme) {
			return faultScheme
		}
	}
	for pos := len(startLine) + len(crlf); pos < len(block); {
		end := lineEnd(block, pos)
		for end+len(crlf) < len(block) && isWSP(block[end+len(crlf)]) {
			end = lineEnd(block, end+len(crlf))
		}
		line := block[pos:end]
		pos = end + len(crlf)
		name, value, _ := bytes.Cut(line, []byte(":"))
		i := lookupAddressField(trimWSPRight(name))
		if i < 0 {
			continue
		}
		if badAddresses(trimLWS(value), i == 2) {
			return faultAddress[i]
		}
	}
	return nil
}

// knownScheme reports whether switchboard routes URIs of scheme.
func knownScheme(scheme []byte) bool {
	switch len(scheme) {
	case 3:
		return strings.EqualFold(string(scheme), "sip") || strings.EqualFold(string(scheme), "tel")
	case 4:
		return strings.EqualFold(string(scheme), "sips")
	}
	return false
}

// isScheme reports whether b is a URI scheme, RFC 3261 §25.1:
// ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ).
func isScheme(b []byte) bool {
	if len(b) == 0 || !isAlpha(b[0]) {
		return false
	}
	for _, c := range b[1:] {
		if !isAlpha(c) && !(c >= '0' && c <= '9') && c != '+' && c != '-' && c != '.' {
			return false
		}
	}
	return true
}

func isAlpha(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

// lookupAddressField returns the index in addressFields of a header name,
// or -1.
func lookupAddressField(name []byte) int {
	for i, a := range addressFields {
		if len(name) == 1 && name[0]|0x20 == a.compact ||
			len(name) == len(a.name) && strings.EqualFold(string(name), a.name) {
			return i
		}
	}
	return -1
}

// badAddresses reports whether a From or To value, or each element of a
// Contact list, breaks the grammar.
func badAddresses(v []byte, list bool) bool {
	if !list {
		return badAddress(v)
	}
	if len(v) == 1 && v[0] == '*' {
		return false
	}
	for len(v) > 0 {
		n := elementEnd(v)
		if badAddress(trimLWS(v[:n])) {
			return true
		}
		if n == len(v) {
			break
		}
		v = v[n+1:]
	}
	return false
}

// elementEnd returns the index of the comma that ends the first element of
// a list, outside quotes and <...>, or len(v).
func elementEnd(v []byte) int {
	quoted, bracket := false, false
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case quoted && c == '\\':
			i++
		case c == '"' && !bracket:
			quoted = !quoted
		case quoted:
		case c == '<':
			bracket = true
		case c == '>':
			bracket = false
		case c == ',' && !bracket:
			return i
		}
	}
	return len(v)
}

// badAddress reports whether v, a trimmed name-addr or addr-spec with its
// header parameters, breaks the grammar in a way sipgo does not refuse.
func badAddress(v []byte) bool {
	display := v
	if len(v) > 0 && v[0] == '"' {
		end := quotedEnd(v)
		if end < 0 {
			return true // the quoted display name never ends
		}
		display, v = nil, v[end:]
	}
	lt := bytes.IndexByte(v, '<')
	if lt < 0 {
		if display == nil {
			return true // a quoted display name needs <...>
		}
		uri, _, _ := bytes.Cut(v, []byte(";"))
		return bytes.ContainsAny(uri, " \t\r\n?\"") // §20.10: then it needs <...>
	}
	if display != nil && !isTokens(display[:lt]) {
		return true
	}
	gt := bytes.IndexByte(v[lt:], '>')
	return gt < 0 || bytes.ContainsAny(v[lt:lt+gt], " \t\r\n")
}

// quotedEnd returns the index just after the quoted string v starts with,
// or -1 when it never ends.
func quotedEnd(v []byte) int {
	for i := 1; i < len(v); i++ {
		switch v[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return -1
}

// isTokens reports whether b is an unquoted display name: tokens separated
// by linear white space, or nothing (RFC 3261 §25.1 display-name).
func isTokens(b []byte) bool {
	for _, c := range b {
		if !isLWS(c) && !isTokenChar(c) {
			return false
		}
	}
	return true
}

// trimWSPRight cuts the spaces and tabs that end b (what HCOLON allows
// before the colon), cheaper than bytes.TrimRight.
func trimWSPRight(b []byte) []byte {
	for len(b) > 0 && isWSP(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}
