package sipproxy

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/emiago/sipgo/sip"
)

// The dial plan: what a trunk receives is a number, and only a number its
// route takes. The Request-URI user of a call that no registered user or
// built-in service answers is normalised first (normaliseNumber); routes
// match the result by prefix, and their Allow and Deny patterns decide
// whether they take it. Registered users' and services' names are not
// numbers, and never pass through here.

// maxNumberLen bounds a normalised number: E.164 allows 15 digits, and
// dial strings with trunk prefixes a few more.
const maxNumberLen = 32

// The ways a number is refused, as the switchboard_proxy_numbers_refused_total
// metric labels them.
const (
	numberInvalid      = "invalid"       // not [+]digits: 404
	numberPhoneContext = "phone_context" // a local number with ;phone-context: 484
	numberIncomplete   = "incomplete"    // no digits: 484
	numberNotAllowed   = "not_allowed"   // no route's Allow and Deny take it: 403
)

// normaliseNumber turns the user part of a Request-URI into the number a
// trunk receives: "+" and ASCII digits only.
//
//   - %XX escapes are decoded first (RFC 3261 §19.1.2: "%2B" is "+"), so
//     that an escape hides nothing from the checks below.
//   - A ";phone-context=" (RFC 3966 §5.1.5) makes the number local to a
//     context switchboard does not know: refused 484, for the UA to send
//     the global number. Any other parameter (";ext=", ";isub=") is
//     refused as not a number.
//   - Visual separators ("-", ".", "(" and ")", RFC 3966 §3) are removed.
//   - What is left must be an optional leading "+" (E.164) and ASCII
//     digits: "#", "*", letters, spaces and digits of other scripts are
//     refused 404, for no number at switchboard's trunks answers to them
//     (RFC 3261 §21.4.5). No digits at all is an incomplete address, 484
//     (RFC 3261 §21.4.22).
func normaliseNumber(user string) (string, *StatusError) {
	s, ok := unescape(user)
	if !ok {
		return "", errNotANumber
	}
	if i := strings.IndexByte(s, ';'); i >= 0 {
		if strings.Contains(strings.ToLower(s[i:]), ";phone-context=") {
			return "", errPhoneContext
		}
		return "", errNotANumber
	}
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == '-' || r == '.' || r == '(' || r == ')':
		case r == '+' && i == 0:
			b.WriteByte('+')
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			return "", errNotANumber
		}
	}
	n := b.String()
	switch {
	case strings.TrimPrefix(n, "+") == "":
		return "", errIncomplete
	case len(n) > maxNumberLen:
		return "", errNotANumber
	}
	return n, nil
}

// unescape decodes the %XX escapes of a URI user part, RFC 3261 §19.1.2;
// it reports false for a malformed escape, or one that decodes to bytes
// that are not UTF-8.
func unescape(s string) (string, bool) {
	if !strings.Contains(s, "%") {
		return s, true
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
			return "", false
		}
		b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
		i += 2
	}
	out := b.String()
	return out, utf8.ValidString(out)
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}

// isName reports whether a Request-URI user part is meant as a name, not
// a number: it holds no digit of any script and does not start with "+".
// A name that is no registered user or service is not for a trunk: it
// gets the answers it got before any dial plan (480, 404).
func isName(user string) bool {
	s, ok := unescape(user)
	return ok && !strings.HasPrefix(s, "+") && !strings.ContainsFunc(s, unicode.IsDigit)
}

// trunk applies the first route that takes the Request-URI's number: its
// prefix matches the normalised number, and its Allow and Deny take what
// is left after Strip, which is what the trunk receives. It reports false
// when no route's prefix matches, and an error for a number that is
// malformed or that the routes whose prefix matches all refuse.
func (p *Proxy) trunk(out *sip.Request) (target, bool, error) {
	if len(p.cfg.Routes) == 0 || isName(out.Recipient.User) {
		return target{}, false, nil
	}
	number, err := normaliseNumber(out.Recipient.User)
	if err != nil {
		p.metrics.numberRefused(numberReason(err))
		return target{}, false, err
	}
	refused := false
	for _, r := range p.cfg.Routes {
		if !strings.HasPrefix(number, r.Prefix) {
			continue
		}
		dialled := number[min(r.Strip, len(number)):]
		if !r.takes(dialled) {
			refused = true
			continue
		}
		uri := *out.Recipient.Clone()
		uri.User = dialled
		uri.Host, uri.Port, uri.UriParams = r.URI.Host, r.URI.Port, r.URI.UriParams.Clone()
		t := target{uri: uri, transport: transportOf(&r.URI), host: r.URI.Host, port: r.URI.Port}
		if t.port == 0 {
			t.port = 5060
		}
		return t, true, nil
	}
	if refused {
		p.metrics.numberRefused(numberNotAllowed)
		return target{}, false, errNumberNotAllowed
	}
	return target{}, false, nil
}

// takes reports whether r's patterns let it take number: no Deny pattern
// matches it, and an Allow pattern does if there are any.
func (r *Route) takes(number string) bool {
	for _, pat := range r.Deny {
		if matchNumber(pat, number) {
			return false
		}
	}
	if len(r.Allow) == 0 {
		return true
	}
	for _, pat := range r.Allow {
		if matchNumber(pat, number) {
			return true
		}
	}
	return false
}

// matchNumber matches a pattern: a number, or a prefix ending in "*".
func matchNumber(pattern, number string) bool {
	if prefix, ok := strings.CutSuffix(pattern, "*"); ok {
		return strings.HasPrefix(number, prefix)
	}
	return number == pattern
}

// numberReason is the metric label of a refused number.
func numberReason(err *StatusError) string {
	switch err {
	case errPhoneContext:
		return numberPhoneContext
	case errIncomplete:
		return numberIncomplete
	}
	return numberInvalid
}
