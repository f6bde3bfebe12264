package registrar

import (
	"net/url"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// uriParamsThatMatter are the URI parameters that must match whenever
// either URI has them (RFC 3261 §19.1.4).
var uriParamsThatMatter = []string{"user", "ttl", "method", "maddr", "transport"}

// digestURIMatches reports whether the uri parameter of a Digest response
// names the request's Request-URI (RFC 7616 §3.4.6, RFC 2617 §3.2.2.5,
// which RFC 3261 §22.4 adopts). The same spelling matches at once;
// otherwise both are compared as SIP URIs by RFC 3261 §19.1.4, so that a
// client rendering the URI a little differently (host case, parameter order,
// escaping) is not refused. A uri that does not parse never matches.
func digestURIMatches(uri string, ruri *sip.Uri) bool {
	if uri == ruri.String() {
		return true
	}
	var u sip.Uri
	if err := sip.ParseUri(uri, &u); err != nil {
		return false
	}
	return sameURI(&u, ruri)
}

// sameURI compares two URIs by RFC 3261 §19.1.4: scheme and host without
// regard to case, user and password exactly (escapes resolved), the port
// only if both or neither have one, the parameters of uriParamsThatMatter
// if either has them, any other parameter if both have it, and every
// header. A URI of another scheme matches only its own spelling.
func sameURI(a, b *sip.Uri) bool {
	if !strings.EqualFold(a.Scheme, b.Scheme) || a.Wildcard != b.Wildcard {
		return false
	}
	if a.Scheme != "sip" && a.Scheme != "sips" {
		return a.Raw() == b.Raw()
	}
	return unescaped(a.User) == unescaped(b.User) &&
		unescaped(a.Password) == unescaped(b.Password) &&
		strings.EqualFold(a.Host, b.Host) && a.Port == b.Port &&
		sameURIParams(a.UriParams, b.UriParams) && sameHeaders(a.Headers, b.Headers)
}

func sameURIParams(a, b sip.HeaderParams) bool {
	for _, name := range uriParamsThatMatter {
		va, inA := param(a, name)
		vb, inB := param(b, name)
		if (inA || inB) && !(inA && inB && strings.EqualFold(va, vb)) {
			return false
		}
	}
	for _, kv := range a {
		if vb, ok := param(b, kv.K); ok && !strings.EqualFold(unescaped(kv.V), unescaped(vb)) {
			return false
		}
	}
	return true
}

// sameHeaders compares URI headers, which must all be present in both
// (RFC 3261 §19.1.4); names ignore case, values do not.
func sameHeaders(a, b sip.HeaderParams) bool {
	if len(a) != len(b) {
		return false
	}
	for _, kv := range a {
		if vb, ok := param(b, kv.K); !ok || unescaped(kv.V) != unescaped(vb) {
			return false
		}
	}
	return true
}

// unescaped resolves %HH escapes (RFC 3261 §19.1.4: an unreserved
// character and its escape are equal); a malformed escape stays as it is.
func unescaped(s string) string {
	if strings.IndexByte(s, '%') < 0 {
		return s
	}
	if u, err := url.PathUnescape(s); err == nil {
		return u
	}
	return s
}
