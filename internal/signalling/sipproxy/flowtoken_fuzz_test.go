package sipproxy

import (
	"strings"
	"testing"
)

// FuzzFlowToken checks that any flow ID survives a round trip through a
// token, that its token fits a URI user part unescaped, and that decode
// never panics on what a peer may put in a Route.
func FuzzFlowToken(f *testing.F) {
	tokens := newFlowTokens()
	for _, s := range []string{
		"", "ws-1", "udp-0.0.0.0:5060-192.0.2.1:5060", "tls-42", "\x00\xff",
		tokens.encode("ws-7", "c1"), "d3MtNw.", ".", "..", "d3MtNw.AAAAAAAAAAAA",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tokens.decode(s, "c1") // must not panic; a forgery is refused by the MAC
		tok := tokens.encode(s, "c1")
		if i := strings.IndexFunc(tok, notUserChar); i >= 0 {
			t.Errorf("encode(%q) = %q: %q is not allowed unescaped in a user part", s, tok, tok[i])
		}
		if id, ok := tokens.decode(tok, "c1"); !ok || id != s {
			t.Errorf("decode(encode(%q)) = %q, %v", s, id, ok)
		}
	})
}

// notUserChar reports a character that RFC 3261 §25.1 does not allow
// unescaped in a URI user part (unreserved and user-unreserved).
func notUserChar(r rune) bool {
	switch {
	case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9':
		return false
	}
	return !strings.ContainsRune("-_.!~*'()&=+$,;?/", r)
}
