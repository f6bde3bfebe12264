package sipproxy

import (
	"strings"

	"github.com/emiago/sipgo/sip"
)

// removedCredentials is the label of switchboard_proxy_headers_removed_total
// for Proxy-Authorization of switchboard's own realm.
const removedCredentials = "Proxy-Authorization"

// consumeCredentials removes from out, a request about to be forwarded, the
// Proxy-Authorization values for switchboard's own realm: credentials a
// proxy consumes (RFC 3261 §20.28, §22.3: a value is consumed by the proxy
// whose realm it names, and by no other), which are no business of the
// trunk, PBX or user behind it. Values for other realms stay for the
// proxies they name, and Authorization, for the UAS (in upstream mode the
// PBX's), is never touched.
func (p *Proxy) consumeCredentials(out *sip.Request) {
	if p.auth == nil {
		return
	}
	realm := p.auth.Realm()
	hdrs := out.GetHeaders("Proxy-Authorization")
	if len(hdrs) == 0 {
		return
	}
	var keep []sip.Header
	for _, h := range hdrs {
		if r, ok := digestRealm(h.Value()); ok && r == realm {
			p.metrics.headerRemoved(removedCredentials)
			continue
		}
		keep = append(keep, h)
	}
	if len(keep) == len(hdrs) {
		return
	}
	for _, h := range hdrs {
		out.RemoveHeader(h.Name())
	}
	for _, h := range keep {
		out.AppendHeader(h)
	}
}

// digestRealm returns the realm parameter of credentials (RFC 3261 §25.1
// digest-response: a scheme, then comma-separated name=value pairs, a
// value a token or a quoted string); false when there is none or the value
// does not parse.
func digestRealm(v string) (string, bool) {
	_, params, ok := strings.Cut(strings.TrimSpace(v), " ")
	if !ok {
		return "", false
	}
	for params = strings.TrimLeft(params, " \t"); params != ""; {
		eq := strings.IndexByte(params, '=')
		if eq < 0 {
			return "", false
		}
		name := strings.TrimSpace(params[:eq])
		rest := strings.TrimLeft(params[eq+1:], " \t")
		val, after, ok := paramValue(rest)
		if !ok {
			return "", false
		}
		if strings.EqualFold(name, "realm") {
			return val, true
		}
		params = strings.TrimLeft(after, " \t")
		if params == "" {
			break
		}
		if params[0] != ',' {
			return "", false
		}
		params = strings.TrimLeft(params[1:], " \t")
	}
	return "", false
}

// paramValue reads a token or a quoted string (with its quoted-pairs) at
// the start of s, returning it and what follows.
func paramValue(s string) (val, rest string, ok bool) {
	if !strings.HasPrefix(s, `"`) {
		end := strings.IndexAny(s, ", \t")
		if end < 0 {
			end = len(s)
		}
		return s[:end], s[end:], true
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; c {
		case '"':
			return b.String(), s[i+1:], true
		case '\\':
			if i+1 == len(s) {
				return "", "", false
			}
			i++
			b.WriteByte(s[i])
		default:
			b.WriteByte(c)
		}
	}
	return "", "", false
}
