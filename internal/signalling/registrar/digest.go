package registrar

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"hash"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
)

// Digest algorithm names as they appear in the algorithm parameter
// (RFC 8760 §2.1, RFC 3261 §22.4).
const (
	AlgSHA256 = "SHA-256"
	AlgMD5    = "MD5"
)

// DefaultMaxNonces bounds the nonce-count table when AuthConfig.MaxNonces is
// zero. It is not in the config file.
const DefaultMaxNonces = 100000

// AuthResult is the outcome of Authenticator.Verify.
type AuthResult int

// The outcomes of Authenticator.Verify.
const (
	// AuthOK means the credentials are valid: answer the request.
	AuthOK AuthResult = iota
	// AuthMissing means there are no credentials for our realm: challenge.
	AuthMissing
	// AuthStale means the nonce is no longer good for this client: it
	// has expired (and the response was right), it was issued to another
	// client, or it was never ours. Challenge again with stale=true
	// (RFC 7616 §3.3).
	AuthStale
	// AuthFailed means a wrong password or an unknown user: answer 403.
	AuthFailed
	// AuthReplay means the nonce count did not increase (RFC 7616 §3.4): answer 403.
	AuthReplay
	// AuthBadRequest means the credentials are malformed: answer 400.
	AuthBadRequest
	// AuthURIMismatch means the credentials' uri is not the Request-URI
	// (RFC 7616 §3.4.6): answer 400.
	AuthURIMismatch
	// AuthLocked means the user, the source or the pair has failed too
	// often (see Attempts); the credentials were not checked. Answer it as
	// AuthFailed, so that a guess against a lock learns nothing.
	AuthLocked
)

// String returns the name of the result, for logs and metric labels.
func (r AuthResult) String() string {
	switch r {
	case AuthOK:
		return "ok"
	case AuthMissing:
		return "missing"
	case AuthStale:
		return "stale"
	case AuthFailed:
		return "failed"
	case AuthReplay:
		return "replay"
	case AuthBadRequest:
		return "bad_request"
	case AuthURIMismatch:
		return "uri_mismatch"
	case AuthLocked:
		return "locked"
	}
	return "AuthResult(" + strconv.Itoa(int(r)) + ")"
}

// AuthConfig configures an Authenticator.
type AuthConfig struct {
	// Realm is the protection domain sent in challenges (RFC 3261 §22.1). Required.
	Realm string
	// Users maps user names to plain-text passwords. It is copied.
	Users map[string]string
	// NonceTTL is how long a nonce stays valid; older ones are stale.
	// Required.
	NonceTTL time.Duration
	// MaxNonces bounds the nonce-count table; when full the oldest entry is
	// dropped. It is not in the config file: zero means DefaultMaxNonces.
	MaxNonces int
	// Algorithms lists the challenges offered, most preferred first
	// (RFC 8760 §2.4); only these are accepted. Required: names other than
	// SHA-256 and MD5 are skipped.
	Algorithms []string
}

// AuthDeps are an Authenticator's collaborators.
type AuthDeps struct {
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Attempts refuses users and sources that failed too often and learns
	// of each verdict; nil locks no one out.
	Attempts Attempts
	// Metrics counts refused credentials; nil counts nothing.
	Metrics *Metrics
}

// Authenticator issues and checks SIP Digest challenges (RFC 3261 §22,
// RFC 7616 and RFC 8760 for SHA-256, RFC 2617 for MD5) with qop=auth only.
// Nonces are stateless and self-authenticating, and bound to the client's
// IP address; only the last nonce count of each nonce in use is stored, to
// refuse replays. It is safe for concurrent use.
type Authenticator struct {
	realm    string
	users    map[string]string
	ttl      time.Duration
	algs     []string
	now      func() time.Time
	attempts Attempts
	metrics  *Metrics
	secret   []byte
	counts   *nonceCounts
	// macs holds HMAC-SHA256 states keyed with secret, reset for each
	// nonce: hmac.New costs several allocations per REGISTER.
	macs       sync.Pool
	realmBytes []byte // realm, for the MAC without a conversion each time
}

// NewAuthenticator returns an Authenticator with a fresh random nonce secret.
func NewAuthenticator(cfg AuthConfig, deps AuthDeps) *Authenticator {
	a := &Authenticator{
		realm:    cfg.Realm,
		users:    make(map[string]string, len(cfg.Users)),
		ttl:      cfg.NonceTTL,
		now:      deps.Now,
		attempts: deps.Attempts,
		metrics:  deps.Metrics,
		secret:   make([]byte, 32),
	}
	if a.now == nil {
		a.now = time.Now
	}
	for u, p := range cfg.Users {
		a.users[u] = p
	}
	for _, alg := range cfg.Algorithms {
		if supportedAlg(alg) {
			a.algs = append(a.algs, canonicalAlg(alg))
		}
	}
	maxNonces := cfg.MaxNonces
	if maxNonces <= 0 {
		maxNonces = DefaultMaxNonces
	}
	a.counts = newNonceCounts(maxNonces)
	rand.Read(a.secret)
	a.realmBytes = []byte(a.realm)
	a.macs.New = func() any { return hmac.New(sha256.New, a.secret) }
	return a
}

// Realm returns the realm sent in challenges.
func (a *Authenticator) Realm() string { return a.realm }

// Challenge returns a 401 with WWW-Authenticate (or, when proxy is set, a 407
// with Proxy-Authenticate) answering req, which came from src: one
// challenge per algorithm, most preferred first, each with its own nonce,
// good from src only, and qop="auth" (RFC 3261 §22.1, RFC 8760 §2.4). With
// stale set each carries stale=true (RFC 7616 §3.3).
func (a *Authenticator) Challenge(req *sip.Request, src netip.Addr, proxy bool, stale bool) *sip.Response {
	code, reason, name := 401, "Unauthorized", "WWW-Authenticate"
	if proxy {
		code, reason, name = 407, "Proxy Authentication Required", "Proxy-Authenticate"
	}
	res := sip.NewResponseFromRequest(req, code, reason, nil)
	now := a.now()
	for _, alg := range a.algs {
		v := "Digest realm=" + quote(a.realm) + ", nonce=" + quote(a.newNonce(now, src)) +
			", algorithm=" + alg + `, qop="auth"`
		if stale {
			v += ", stale=true"
		}
		res.AppendHeader(sip.NewHeader(name, v))
	}
	return res
}

// Verify checks the Authorization (or, when proxy is set, the
// Proxy-Authorization) credentials of req, which came from src, for this
// realm (RFC 3261 §22.2, §22.3). The response digest is computed over
// req.Method and the header's uri parameter, which must name
// req.Recipient. Every refusal is counted, and a wrong password or an
// unknown user is reported to Attempts, as is success. It returns the user
// name only with AuthOK.
func (a *Authenticator) Verify(req *sip.Request, src netip.Addr, proxy bool) (user string, res AuthResult) {
	name := "Authorization"
	if proxy {
		name = "Proxy-Authorization"
	}
	c, res := a.credentialsFor(req.GetHeaders(name))
	switch {
	case res == AuthMissing:
		return "", res // the first request of every client: no failure
	case res != AuthOK:
		a.metrics.failed(reasonMalformed)
		return "", res
	case !digestURIMatches(c.uri, &req.Recipient):
		a.metrics.failed(reasonURIMismatch)
		return "", AuthURIMismatch
	case a.attempts != nil && !a.attempts.Allow(c.username, src):
		a.metrics.failed(reasonLocked)
		return "", AuthLocked
	}
	res, reason := a.check(string(req.Method), c, src)
	switch {
	case res == AuthOK:
		if a.attempts != nil {
			a.attempts.Succeeded(c.username, src)
		}
		return c.username, AuthOK
	case res == AuthFailed && a.attempts != nil:
		a.attempts.Failed(c.username, src)
	}
	a.metrics.failed(reason)
	return "", res
}

// credentialsFor picks the first credentials for our realm. Credentials for
// other realms are not ours to judge (RFC 3261 §22.3), nor are those of a
// scheme other than Digest: they are no credentials, and the request is
// challenged with the scheme we know (RFC 4475 §3.3.7). A Digest value that
// does not parse makes the request bad unless another one matched.
func (a *Authenticator) credentialsFor(hdrs []sip.Header) (*credentials, AuthResult) {
	malformed := false
	for _, h := range hdrs {
		params, err := parseDigest(h.Value())
		if errors.Is(err, errNotDigest) {
			continue
		}
		if err != nil {
			malformed = true
			continue
		}
		if params["realm"] != a.realm {
			continue
		}
		c, ok := newCredentials(params)
		if !ok || !a.offers(c.algorithm) {
			return nil, AuthBadRequest
		}
		return c, AuthOK
	}
	if malformed {
		return nil, AuthBadRequest
	}
	return nil, AuthMissing
}

func (a *Authenticator) offers(alg string) bool {
	for _, x := range a.algs {
		if x == alg {
			return true
		}
	}
	return false
}

// check verifies the nonce, the response and the nonce count, in that order,
// so that neither a guess nor a replay advances the count.
//
// A nonce this Authenticator did not issue to src is stale whatever the
// response: it may be a client whose address changed (it retries with a
// fresh nonce) or a request captured elsewhere; the response is not even
// computed, so that such nonces are no oracle for guesses that Attempts
// never sees, and a spoofed UDP source cannot lock anyone out: only a
// nonce issued to an address counts failures against it.
func (a *Authenticator) check(method string, c *credentials, src netip.Addr) (AuthResult, failReason) {
	issued, now, res, reason := a.checkResponse(method, c, src)
	if res != AuthOK {
		return res, reason
	}
	return a.countNonce(c, issued, now)
}

// checkResponse is check up to the nonce count: it changes nothing. It
// returns the nonce's issue time and the time it was checked at.
func (a *Authenticator) checkResponse(method string, c *credentials, src netip.Addr) (issued, now time.Time, res AuthResult, reason failReason) {
	issued, ok := a.openNonce(c.nonce, src)
	if !ok {
		return issued, now, AuthStale, reasonForeignNonce
	}
	password, known := a.users[c.username]
	want := c.expected(method, password)
	got := strings.ToLower(c.response)
	switch {
	case subtle.ConstantTimeCompare([]byte(want), []byte(got)) != 1:
		if !known {
			return issued, now, AuthFailed, reasonUnknownUser
		}
		return issued, now, AuthFailed, reasonWrongPassword
	case !known: // the response of an empty password
		return issued, now, AuthFailed, reasonUnknownUser
	}
	now = a.now()
	if !now.Before(issued.Add(a.ttl)) {
		return issued, now, AuthStale, reasonStale
	}
	return issued, now, AuthOK, ""
}

// countNonce is the last step of check: it advances the nonce count of
// credentials checkResponse accepted at now. A refusal changes nothing
// that a second try of the same count would not change.
func (a *Authenticator) countNonce(c *credentials, issued, now time.Time) (AuthResult, failReason) {
	switch a.counts.advance(c.nonce, c.nc, issued, issued.Add(a.ttl), now) {
	case countReplayed:
		return AuthReplay, reasonReplay
	case countForgotten:
		return AuthStale, reasonStale
	}
	return AuthOK, ""
}

// nonceLen is the decoded nonce size: an 8-byte issue time (Unix
// nanoseconds), 8 random bytes and the first 16 bytes of the HMAC-SHA256
// of those, the client's IP address and the realm.
const nonceLen = 8 + 8 + 16

// nonceEncoding is strict so that each nonce has exactly one spelling and
// its nonce count cannot be reset by re-encoding it.
var nonceEncoding = base64.RawURLEncoding.Strict()

func (a *Authenticator) newNonce(now time.Time, src netip.Addr) string {
	var b [nonceLen]byte
	binary.BigEndian.PutUint64(b[:8], uint64(now.UnixNano()))
	rand.Read(b[8:16])
	mac := a.mac(b[:16], src)
	copy(b[16:], mac[:])
	return nonceEncoding.EncodeToString(b[:])
}

// openNonce returns the issue time of a nonce this Authenticator made for
// src.
func (a *Authenticator) openNonce(nonce string, src netip.Addr) (time.Time, bool) {
	if len(nonce) != nonceEncoding.EncodedLen(nonceLen) {
		return time.Time{}, false
	}
	var b [nonceLen]byte
	if n, err := nonceEncoding.Decode(b[:], []byte(nonce)); err != nil || n != nonceLen {
		return time.Time{}, false
	}
	if mac := a.mac(b[:16], src); !hmac.Equal(b[16:], mac[:]) {
		return time.Time{}, false
	}
	return time.Unix(0, int64(binary.BigEndian.Uint64(b[:8]))), true
}

// mac binds a nonce's time and random bytes to the client's address (an
// IPv4 address and its IPv4-mapped IPv6 form are one client; the zero
// Addr is a client too) and to the realm.
func (a *Authenticator) mac(data []byte, src netip.Addr) (out [16]byte) {
	m := a.macs.Get().(hash.Hash)
	m.Reset()
	m.Write(data)
	ip := src.Unmap().As16()
	m.Write(ip[:])
	m.Write(a.realmBytes)
	var sum [sha256.Size]byte
	copy(out[:], m.Sum(sum[:0]))
	a.macs.Put(m)
	return out
}

// credentials are the parameters of one Digest response (RFC 3261 §25.1).
type credentials struct {
	username, realm, nonce, uri, response string
	algorithm, cnonce, qop, ncText        string
	nc                                    uint32
}

// newCredentials checks that params hold a qop=auth response: username,
// realm, nonce, uri, response, cnonce and a non-zero 1-8 digit hex nc
// (RFC 7616 §3.4). RFC 2069 responses without qop are refused.
func newCredentials(params map[string]string) (*credentials, bool) {
	c := &credentials{
		username:  params["username"],
		realm:     params["realm"],
		nonce:     params["nonce"],
		uri:       params["uri"],
		response:  params["response"],
		algorithm: AlgMD5, // RFC 2617 §3.2.2: absent means MD5
		cnonce:    params["cnonce"],
		qop:       params["qop"],
		ncText:    params["nc"],
	}
	if alg, ok := params["algorithm"]; ok {
		c.algorithm = canonicalAlg(alg)
	}
	return c, c.valid()
}

// valid checks the credentials as newCredentials describes, and sets nc.
func (c *credentials) valid() bool {
	if c.username == "" || c.nonce == "" || c.uri == "" || c.response == "" ||
		c.cnonce == "" || !strings.EqualFold(c.qop, "auth") || !supportedAlg(c.algorithm) {
		return false
	}
	if len(c.ncText) == 0 || len(c.ncText) > 8 {
		return false
	}
	nc, err := strconv.ParseUint(c.ncText, 16, 32)
	if err != nil || nc == 0 {
		return false
	}
	c.nc = uint32(nc)
	return true
}

// expected computes the response for qop=auth (RFC 7616 §3.4.1, RFC 2617 §3.2.2.1):
// H(H(user:realm:password):nonce:nc:cnonce:qop:H(method:uri)). The
// hashes' inputs are built on the stack.
func (c *credentials) expected(method, password string) string {
	var in [256]byte
	var ha1, ha2, res [2 * sha256.Size]byte
	h1 := hashHex(ha1[:0], c.algorithm, joinDigest(in[:0], c.username, c.realm, password))
	h2 := hashHex(ha2[:0], c.algorithm, joinDigest(in[:0], method, c.uri))
	b := append(append(in[:0], h1...), ':')
	b = append(append(joinDigest(b, c.nonce, c.ncText, c.cnonce, c.qop), ':'), h2...)
	return string(hashHex(res[:0], c.algorithm, b))
}

// supportedAlg reports whether alg names an algorithm the Authenticator
// knows.
func supportedAlg(alg string) bool {
	alg = canonicalAlg(alg)
	return alg == AlgSHA256 || alg == AlgMD5
}

func canonicalAlg(alg string) string {
	switch {
	case strings.EqualFold(alg, AlgSHA256):
		return AlgSHA256
	case strings.EqualFold(alg, AlgMD5):
		return AlgMD5
	}
	return alg
}

// joinDigest appends parts to dst, split by ':'.
func joinDigest(dst []byte, parts ...string) []byte {
	for i, p := range parts {
		if i > 0 {
			dst = append(dst, ':')
		}
		dst = append(dst, p...)
	}
	return dst
}

// hashHex appends the hash of data by alg, a canonical name (MD5 unless
// SHA-256), in lower-case hex to dst.
func hashHex(dst []byte, alg string, data []byte) []byte {
	if alg == AlgSHA256 {
		sum := sha256.Sum256(data)
		return hex.AppendEncode(dst, sum[:])
	}
	sum := md5.Sum(data)
	return hex.AppendEncode(dst, sum[:])
}
