package sipproxy

import (
	"strings"

	"github.com/emiago/sipgo/sip"
)

// proxyOptions are the option tags switchboard accepts in Proxy-Require.
// Neither is defined as a Proxy-Require tag: RFC 5626 (outbound) and RFC
// 3327 (path) use them in Supported and Require, between a UA and its
// registrar. But they name what an edge proxy in front of a registrar does,
// and switchboard does it in both modes (flow tokens, ;ob, 430 and CRLF
// keep-alives for outbound; Path pushed as Route, or inserted into relayed
// REGISTERs, for path), so a UA that insists its proxies support them gets
// what it asks for. They are the tags an OPTIONS to switchboard lists in
// Supported. Any other tag is answered 420.
var proxyOptions = []string{"outbound", "path"}

// maxUnsupported bounds the option tags a 420 lists.
const maxUnsupported = 8

// badExtension is RFC 3261 §16.3 step 5 (and §8.2.2.3): a Proxy-Require
// option switchboard does not support, answered 420 with the tags in an
// Unsupported header.
type badExtension struct{ unsupported []string }

func (e *badExtension) Error() string { return "unsupported Proxy-Require option" }

// SIPStatus is the response a badExtension calls for.
func (e *badExtension) SIPStatus() (int, string) {
	return sip.StatusBadExtension, "Bad Extension (unsupported Proxy-Require option)"
}

var errBadProxyRequire = status(sip.StatusBadRequest, "Bad Request (malformed Proxy-Require)")

// checkProxyRequire is RFC 3261 §16.3 step 5: every option tag of every
// Proxy-Require must be one switchboard supports.
func checkProxyRequire(req *sip.Request) error {
	var unsupported []string
	for _, h := range req.Headers() {
		if !strings.EqualFold(strings.TrimSpace(h.Name()), "Proxy-Require") {
			continue
		}
		for tag := range strings.SplitSeq(h.Value(), ",") {
			tag = strings.TrimSpace(tag)
			switch {
			case !isOptionTag(tag):
				return errBadProxyRequire
			case supportedOption(tag) || len(unsupported) == maxUnsupported:
			default:
				unsupported = append(unsupported, tag)
			}
		}
	}
	if len(unsupported) > 0 {
		return &badExtension{unsupported: unsupported}
	}
	return nil
}

func supportedOption(tag string) bool {
	for _, o := range proxyOptions {
		if strings.EqualFold(tag, o) {
			return true
		}
	}
	return false
}

// isOptionTag reports whether s is an RFC 3261 §25.1 token, as option tags are.
func isOptionTag(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-.!%*_+`'~", c) >= 0) {
			return false
		}
	}
	return true
}
