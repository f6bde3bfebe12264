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
	"hash"
	"strconv"
	"strings"
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
	// AuthStale means the response was right but the nonce has expired:
	// challenge again with stale=true (RFC 7616 §3.3).
	AuthStale
	// AuthFailed means a wrong password, an unknown user or a nonce we did
	// not issue: answer 403.
	AuthFailed
	// AuthReplay means the nonce count did not increase (RFC 7616 §3.4): answer 403.
	AuthReplay
	// AuthBadRequest means the credentials are malformed: answer 400.
	AuthBadRequest
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
}

// Authenticator issues and checks SIP Digest challenges (RFC 3261 §22,
// RFC 7616 and RFC 8760 for SHA-256, RFC 2617 for MD5) with qop=auth only.
// Nonces are stateless and self-authenticating; only the last nonce count
// of each nonce in use is stored, to refuse replays. It is safe for
// concurrent use.
type Authenticator struct {
	realm  string
	users  map[string]string
	ttl    time.Duration
	algs   []string
	now    func() time.Time
	secret []byte
	counts *nonceCounts
}

// NewAuthenticator returns an Authenticator with a fresh random nonce secret.
func NewAuthenticator(cfg AuthConfig, deps AuthDeps) *Authenticator {
	a := &Authenticator{
		realm:  cfg.Realm,
		users:  make(map[string]string, len(cfg.Users)),
		ttl:    cfg.NonceTTL,
		now:    deps.Now,
		secret: make([]byte, 32),
	}
	if a.now == nil {
		a.now = time.Now
	}
	for u, p := range cfg.Users {
		a.users[u] = p
	}
	for _, alg := range cfg.Algorithms {
		if h := digestHash(alg); h != nil {
			a.algs = append(a.algs, canonicalAlg(alg))
		}
	}
	maxNonces := cfg.MaxNonces
	if maxNonces <= 0 {
		maxNonces = DefaultMaxNonces
	}
	a.counts = newNonceCounts(maxNonces)
	rand.Read(a.secret)
	return a
}

// Realm returns the realm sent in challenges.
func (a *Authenticator) Realm() string { return a.realm }

// Challenge returns a 401 with WWW-Authenticate (or, when proxy is set, a 407
// with Proxy-Authenticate) answering req: one challenge per algorithm, most
// preferred first, each with its own nonce and qop="auth" (RFC 3261 §22.1,
// RFC 8760 §2.4). With stale set each carries stale=true (RFC 7616 §3.3).
func (a *Authenticator) Challenge(req *sip.Request, proxy bool, stale bool) *sip.Response {
	code, reason, name := 401, "Unauthorized", "WWW-Authenticate"
	if proxy {
		code, reason, name = 407, "Proxy Authentication Required", "Proxy-Authenticate"
	}
	res := sip.NewResponseFromRequest(req, code, reason, nil)
	now := a.now()
	for _, alg := range a.algs {
		v := "Digest realm=" + quote(a.realm) + ", nonce=" + quote(a.newNonce(now)) +
			", algorithm=" + alg + `, qop="auth"`
		if stale {
			v += ", stale=true"
		}
		res.AppendHeader(sip.NewHeader(name, v))
	}
	return res
}

// Verify checks the Authorization (or, when proxy is set, the
// Proxy-Authorization) credentials of req for this realm (RFC 3261 §22.2,
// §22.3). The response digest is computed over req.Method and the header's
// uri parameter. It returns the user name only with AuthOK.
func (a *Authenticator) Verify(req *sip.Request, proxy bool) (user string, res AuthResult) {
	name := "Authorization"
	if proxy {
		name = "Proxy-Authorization"
	}
	c, res := a.credentialsFor(req.GetHeaders(name))
	if res != AuthOK {
		return "", res
	}
	return a.check(string(req.Method), c)
}

// credentialsFor picks the first credentials for our realm. Credentials for
// other realms are not ours to judge (RFC 3261 §22.3); a value that does not
// parse at all makes the request bad unless another one matched.
func (a *Authenticator) credentialsFor(hdrs []sip.Header) (*credentials, AuthResult) {
	malformed := false
	for _, h := range hdrs {
		params, err := parseDigest(h.Value())
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
func (a *Authenticator) check(method string, c *credentials) (string, AuthResult) {
	issued, ok := a.openNonce(c.nonce)
	if !ok {
		return "", AuthFailed
	}
	password, known := a.users[c.username]
	want := c.expected(method, password)
	got := strings.ToLower(c.response)
	if subtle.ConstantTimeCompare([]byte(want), []byte(got)) != 1 || !known {
		return "", AuthFailed
	}
	now := a.now()
	expires := issued.Add(a.ttl)
	if !now.Before(expires) {
		return "", AuthStale
	}
	if !a.counts.advance(c.nonce, c.nc, expires, now) {
		return "", AuthReplay
	}
	return c.username, AuthOK
}

// nonceLen is the decoded nonce size: an 8-byte issue time (Unix
// nanoseconds), 8 random bytes and the first 16 bytes of their HMAC-SHA256.
const nonceLen = 8 + 8 + 16

// nonceEncoding is strict so that each nonce has exactly one spelling and
// its nonce count cannot be reset by re-encoding it.
var nonceEncoding = base64.RawURLEncoding.Strict()

func (a *Authenticator) newNonce(now time.Time) string {
	var b [nonceLen]byte
	binary.BigEndian.PutUint64(b[:8], uint64(now.UnixNano()))
	rand.Read(b[8:16])
	copy(b[16:], a.mac(b[:16]))
	return nonceEncoding.EncodeToString(b[:])
}

// openNonce returns the issue time of a nonce this Authenticator made.
func (a *Authenticator) openNonce(nonce string) (time.Time, bool) {
	if len(nonce) != nonceEncoding.EncodedLen(nonceLen) {
		return time.Time{}, false
	}
	var b [nonceLen]byte
	if n, err := nonceEncoding.Decode(b[:], []byte(nonce)); err != nil || n != nonceLen {
		return time.Time{}, false
	}
	if !hmac.Equal(b[16:], a.mac(b[:16])) {
		return time.Time{}, false
	}
	return time.Unix(0, int64(binary.BigEndian.Uint64(b[:8]))), true
}

func (a *Authenticator) mac(data []byte) []byte {
	m := hmac.New(sha256.New, a.secret)
	m.Write(data)
	return m.Sum(nil)[:16]
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
	if c.username == "" || c.nonce == "" || c.uri == "" || c.response == "" ||
		c.cnonce == "" || !strings.EqualFold(c.qop, "auth") || digestHash(c.algorithm) == nil {
		return nil, false
	}
	if len(c.ncText) == 0 || len(c.ncText) > 8 {
		return nil, false
	}
	nc, err := strconv.ParseUint(c.ncText, 16, 32)
	if err != nil || nc == 0 {
		return nil, false
	}
	c.nc = uint32(nc)
	return c, true
}

// expected computes the response for qop=auth (RFC 7616 §3.4.1, RFC 2617 §3.2.2.1):
// H(H(user:realm:password):nonce:nc:cnonce:qop:H(method:uri)).
func (c *credentials) expected(method, password string) string {
	h := digestHash(c.algorithm)
	ha1 := hashHex(h, c.username, c.realm, password)
	ha2 := hashHex(h, method, c.uri)
	return hashHex(h, ha1, c.nonce, c.ncText, c.cnonce, c.qop, ha2)
}

// digestHash returns a new hash for an algorithm name, or nil if unsupported.
func digestHash(alg string) hash.Hash {
	switch canonicalAlg(alg) {
	case AlgSHA256:
		return sha256.New()
	case AlgMD5:
		return md5.New()
	}
	return nil
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

func hashHex(h hash.Hash, parts ...string) string {
	h.Reset()
	for i, p := range parts {
		if i > 0 {
			h.Write([]byte{':'})
		}
		h.Write([]byte(p))
	}
	return hex.EncodeToString(h.Sum(nil))
}
