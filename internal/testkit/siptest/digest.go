package siptest

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"slices"
	"strings"
)

// DigestAuthorization answers one digest challenge, the value of a
// WWW-Authenticate or Proxy-Authenticate header, for a request with method and
// Request-URI uri; nc is the nonce count. It returns the value for the
// matching Authorization or Proxy-Authorization header (RFC 7616 §3.4, RFC
// 8760 for SIP). It supports MD5 and SHA-256, their -sess variants, and
// qop=auth or no qop, with a random cnonce.
func DigestAuthorization(challenge, method, uri, user, pass string, nc int) (string, error) {
	ch, err := parseChallenge(challenge)
	if err != nil {
		return "", err
	}
	return ch.authorization(digestCreds{method: method, uri: uri, user: user, pass: pass, cnonce: randToken(16), nc: nc})
}

// digestChallenge is a parsed WWW-Authenticate or Proxy-Authenticate value.
type digestChallenge struct {
	realm, nonce, opaque, algorithm string
	qop                             []string
}

type digestCreds struct {
	method, uri, user, pass, cnonce string
	nc                              int
}

func parseChallenge(s string) (digestChallenge, error) {
	scheme, rest, _ := strings.Cut(strings.TrimSpace(s), " ")
	if !strings.EqualFold(scheme, "Digest") {
		return digestChallenge{}, fmt.Errorf("siptest: not a digest challenge: %q", s)
	}
	p, err := parseAuthParams(rest)
	if err != nil {
		return digestChallenge{}, err
	}
	ch := digestChallenge{realm: p["realm"], nonce: p["nonce"], opaque: p["opaque"], algorithm: p["algorithm"]}
	for q := range strings.SplitSeq(p["qop"], ",") {
		if q = strings.TrimSpace(q); q != "" {
			ch.qop = append(ch.qop, q)
		}
	}
	return ch, nil
}

// parseAuthParams parses a comma-separated auth-param list (RFC 7235 §2.1);
// names are lowercased, quoted values unquoted.
func parseAuthParams(s string) (map[string]string, error) {
	out := map[string]string{}
	for s = trimAuthSep(s); s != ""; s = trimAuthSep(s) {
		name, rest, ok := strings.Cut(s, "=")
		if !ok {
			return nil, fmt.Errorf("siptest: auth param without value: %q", s)
		}
		val, rest, err := cutAuthValue(strings.TrimSpace(rest))
		if err != nil {
			return nil, err
		}
		out[strings.ToLower(strings.TrimSpace(name))] = val
		s = rest
	}
	return out, nil
}

func trimAuthSep(s string) string { return strings.TrimLeft(s, " \t\r\n,") }

// cutAuthValue splits a token or quoted-string off the front of s.
func cutAuthValue(s string) (val, rest string, err error) {
	if !strings.HasPrefix(s, `"`) {
		val, rest, _ = strings.Cut(s, ",")
		return strings.TrimSpace(val), rest, nil
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			return b.String(), s[i+1:], nil
		case c == '\\' && i+1 < len(s):
			i++
			b.WriteByte(s[i])
		default:
			b.WriteByte(c)
		}
	}
	return "", "", errors.New("siptest: unterminated quoted string in challenge")
}

// response computes the request-digest (RFC 7616 §3.4.1, RFC 2617 §3.2.2.1).
func (ch digestChallenge) response(c digestCreds) (string, error) {
	h, err := digestHash(ch.algorithm)
	if err != nil {
		return "", err
	}
	ha1 := h(c.user + ":" + ch.realm + ":" + c.pass)
	if strings.HasSuffix(strings.ToLower(ch.algorithm), "-sess") {
		ha1 = h(ha1 + ":" + ch.nonce + ":" + c.cnonce)
	}
	ha2 := h(c.method + ":" + c.uri)
	if !ch.offersAuth() {
		return h(ha1 + ":" + ch.nonce + ":" + ha2), nil
	}
	return h(fmt.Sprintf("%s:%s:%08x:%s:auth:%s", ha1, ch.nonce, c.nc, c.cnonce, ha2)), nil
}

func (ch digestChallenge) offersAuth() bool {
	return slices.Contains(ch.qop, "auth")
}

func digestHash(algorithm string) (func(string) string, error) {
	var newHash func() hash.Hash
	switch strings.ToUpper(strings.TrimSuffix(strings.ToLower(algorithm), "-sess")) {
	case "", "MD5":
		newHash = md5.New
	case "SHA-256":
		newHash = sha256.New
	default:
		return nil, fmt.Errorf("siptest: unsupported digest algorithm %q", algorithm)
	}
	return func(s string) string {
		h := newHash()
		h.Write([]byte(s))
		return hex.EncodeToString(h.Sum(nil))
	}, nil
}

func (ch digestChallenge) authorization(c digestCreds) (string, error) {
	if len(ch.qop) > 0 && !ch.offersAuth() {
		return "", fmt.Errorf("siptest: unsupported qop %q", ch.qop)
	}
	resp, err := ch.response(c)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, `Digest username=%q, realm=%q, nonce=%q, uri=%q, response=%q`, c.user, ch.realm, ch.nonce, c.uri, resp)
	if ch.algorithm != "" {
		fmt.Fprintf(&b, ", algorithm=%s", ch.algorithm)
	}
	if ch.offersAuth() {
		fmt.Fprintf(&b, `, cnonce=%q, qop=auth, nc=%08x`, c.cnonce, c.nc)
	}
	if ch.opaque != "" {
		fmt.Fprintf(&b, ", opaque=%q", ch.opaque)
	}
	return b.String(), nil
}
