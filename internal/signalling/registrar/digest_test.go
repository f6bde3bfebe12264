package registrar

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

var testUsers = map[string]string{"alice": "wonderland", "bob": "builder"}

// authEnv is an authenticating registrar and the helpers a test UA needs.
// Responses are computed with github.com/icholy/digest, an implementation
// independent of ours.
type authEnv struct {
	t   *testing.T
	clk *fakeClock
	r   *Registrar
	// flow is where the request under test comes from; challenges go to
	// flowA.
	flow Flow
}

// newTestAuthenticator returns an Authenticator on clk's time with a 5m
// nonce TTL and SHA-256 then MD5, the config file's defaults.
func newTestAuthenticator(cfg AuthConfig, clk *fakeClock) *Authenticator {
	cfg.NonceTTL = 5 * time.Minute
	cfg.Algorithms = []string{AlgSHA256, AlgMD5}
	return NewAuthenticator(cfg, AuthDeps{Now: clk.Now})
}

func newAuthEnv(t *testing.T) *authEnv {
	clk := newClock()
	cfg := testConfig()
	cfg.Auth = true
	cfg.Users = testUsers
	cfg.NonceTTL = time.Minute
	return &authEnv{t: t, clk: clk, r: newTestRegistrar(cfg, clk), flow: flowA}
}

// forge returns c with its nonce's random part changed, so that its MAC no
// longer matches.
func forge(t *testing.T, c *digest.Challenge) *digest.Challenge {
	t.Helper()
	b, err := nonceEncoding.DecodeString(c.Nonce)
	if err != nil {
		t.Fatal(err)
	}
	b[10] ^= 1
	c.Nonce = nonceEncoding.EncodeToString(b)
	return c
}

// wantStale fails t unless every challenge of res has stale=true.
func wantStale(t *testing.T, res *sip.Response) {
	t.Helper()
	vs := headerValues(res, "WWW-Authenticate")
	if len(vs) == 0 {
		t.Errorf("got no challenge, want stale ones")
	}
	for _, v := range vs {
		if c, err := digest.ParseChallenge(v); err != nil || !c.Stale {
			t.Errorf("got %q, want stale=true", v)
		}
	}
}

// challenge sends an unauthenticated REGISTER and returns the challenge
// offered for alg.
func (e *authEnv) challenge(alg string) *digest.Challenge {
	e.t.Helper()
	res, _ := e.r.Register(register(e.t, "c0", 1, contactA), flowA)
	if res.StatusCode != 401 {
		e.t.Fatalf("got %d %s, want 401", res.StatusCode, res.Reason)
	}
	for _, v := range headerValues(res, "WWW-Authenticate") {
		c, err := digest.ParseChallenge(v)
		if err != nil {
			e.t.Fatalf("parse challenge %q: %v", v, err)
		}
		if c.Algorithm == alg {
			return c
		}
	}
	e.t.Fatalf("no %s challenge in %q", alg, headerValues(res, "WWW-Authenticate"))
	return nil
}

// answer returns an Authorization header line for a REGISTER to
// sip:example.com.
func (e *authEnv) answer(c *digest.Challenge, user, password string, nc int) string {
	e.t.Helper()
	return e.answerURI(c, "sip:example.com", user, password, nc)
}

// answerURI is answer with the digest uri given.
func (e *authEnv) answerURI(c *digest.Challenge, uri, user, password string, nc int) string {
	e.t.Helper()
	cred, err := digest.Digest(c, digest.Options{
		Method: "REGISTER", URI: uri, Username: user, Password: password, Count: nc, Cnonce: "0a4f113b",
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return "Authorization: " + cred.String()
}

func TestRegisterAuth(t *testing.T) {
	tests := []struct {
		name string
		// run returns the request under test, after any earlier exchange.
		run        func(e *authEnv) *sip.Request
		wantCode   int
		wantReason string
		wantUser   string
		check      func(t *testing.T, res *sip.Response)
	}{{
		name:     "no credentials: SHA-256 then MD5 challenges",
		run:      func(e *authEnv) *sip.Request { return register(t, "c1", 1, contactA) },
		wantCode: 401,
		check: func(t *testing.T, res *sip.Response) {
			got := headerValues(res, "WWW-Authenticate")
			if len(got) != 2 {
				t.Fatalf("got %q, want two challenges", got)
			}
			for i, alg := range []string{"SHA-256", "MD5"} {
				p, err := parseDigest(got[i])
				if err != nil {
					t.Fatalf("challenge %d %q: %v", i, got[i], err)
				}
				want := map[string]string{"realm": "example.com", "nonce": p["nonce"], "algorithm": alg, "qop": "auth"}
				if !maps.Equal(p, want) || len(p["nonce"]) != 43 {
					t.Errorf("challenge %d: got %v, want %v with a 43-character nonce", i, p, want)
				}
			}
			if got[0] == got[1] {
				t.Errorf("got the same nonce twice, want a fresh one each")
			}
		},
	}, {
		name: "SHA-256",
		run: func(e *authEnv) *sip.Request {
			return register(t, "c1", 1, contactA, e.answer(e.challenge("SHA-256"), "alice", "wonderland", 1))
		},
		wantCode: 200,
		wantUser: "alice",
	}, {
		name: "MD5",
		run: func(e *authEnv) *sip.Request {
			return register(t, "c1", 1, contactA, e.answer(e.challenge("MD5"), "alice", "wonderland", 1))
		},
		wantCode: 200,
		wantUser: "alice",
	}, {
		name: "MD5 computed by hand, algorithm omitted",
		run: func(e *authEnv) *sip.Request {
			nonce := e.challenge("MD5").Nonce
			h := func(s string) string { sum := md5.Sum([]byte(s)); return hex.EncodeToString(sum[:]) }
			ha1 := h("alice:example.com:wonderland")
			ha2 := h("REGISTER:sip:example.com")
			resp := h(ha1 + ":" + nonce + ":00000001:xyz:auth:" + ha2)
			return register(t, "c1", 1, contactA, fmt.Sprintf(
				`Authorization: Digest username="alice",realm="example.com",nonce="%s",uri="sip:example.com",response="%s",qop=auth,nc=00000001,cnonce="xyz"`,
				nonce, resp))
		},
		wantCode: 200,
		wantUser: "alice",
	}, {
		name: "nonce count must grow",
		run: func(e *authEnv) *sip.Request {
			c := e.challenge("SHA-256")
			for cseq, nc := range []int{1, 2, 5} {
				if res, _ := e.r.Register(register(t, "c1", cseq+1, contactA, e.answer(c, "alice", "wonderland", nc)), flowA); res.StatusCode != 200 {
					t.Fatalf("nc %d: got %d %s, want 200", nc, res.StatusCode, res.Reason)
				}
			}
			return register(t, "c1", 9, contactA, e.answer(c, "alice", "wonderland", 4))
		},
		wantCode:   403,
		wantReason: "Forbidden (bad credentials)",
	}, {
		name: "exact replay",
		run: func(e *authEnv) *sip.Request {
			auth := e.answer(e.challenge("MD5"), "alice", "wonderland", 1)
			e.r.Register(register(t, "c1", 1, contactA, auth), flowA)
			return register(t, "c1", 1, contactA, auth)
		},
		wantCode: 403,
	}, {
		name: "wrong password",
		run: func(e *authEnv) *sip.Request {
			return register(t, "c1", 1, contactA, e.answer(e.challenge("SHA-256"), "alice", "looking-glass", 1))
		},
		wantCode:   403,
		wantReason: "Forbidden (bad credentials)",
	}, {
		name: "unknown user",
		run: func(e *authEnv) *sip.Request {
			return register(t, "c1", 1, "To: <sip:carol@example.com>", contactA, e.answer(e.challenge("SHA-256"), "carol", "", 1))
		},
		wantCode: 403,
	}, {
		name: "valid credentials for another user than To",
		run: func(e *authEnv) *sip.Request {
			return register(t, "c1", 1, contactA, e.answer(e.challenge("SHA-256"), "bob", "builder", 1))
		},
		wantCode:   403,
		wantReason: "Forbidden (user does not match To)",
	}, {
		name: "expired nonce with the right response is stale",
		run: func(e *authEnv) *sip.Request {
			c := e.challenge("SHA-256")
			e.clk.Advance(time.Minute)
			return register(t, "c1", 1, contactA, e.answer(c, "alice", "wonderland", 1))
		},
		wantCode: 401,
		check:    wantStale,
	}, {
		name: "expired nonce with a wrong response is not stale",
		run: func(e *authEnv) *sip.Request {
			c := e.challenge("SHA-256")
			e.clk.Advance(time.Minute)
			return register(t, "c1", 1, contactA, e.answer(c, "alice", "nope", 1))
		},
		wantCode: 403,
	}, {
		// RFC 7616 §3.3: stale means "the nonce is invalid but the digest
		// is valid". A nonce we did not make for this client is stale
		// whatever the response, so that it is no password oracle.
		name: "forged nonce, right password: stale",
		run: func(e *authEnv) *sip.Request {
			return register(t, "c1", 1, contactA, e.answer(forge(t, e.challenge("SHA-256")), "alice", "wonderland", 1))
		},
		wantCode: 401,
		check:    wantStale,
	}, {
		name: "forged nonce, wrong password: stale as well",
		run: func(e *authEnv) *sip.Request {
			return register(t, "c1", 1, contactA, e.answer(forge(t, e.challenge("SHA-256")), "alice", "nope", 1))
		},
		wantCode: 401,
		check:    wantStale,
	}, {
		name: "nonce from another registrar",
		run: func(e *authEnv) *sip.Request {
			c := newAuthEnv(t).challenge("SHA-256")
			return register(t, "c1", 1, contactA, e.answer(c, "alice", "wonderland", 1))
		},
		wantCode: 401,
		check:    wantStale,
	}, {
		name: "nonce issued to another IP: stale",
		run: func(e *authEnv) *sip.Request {
			c := e.challenge("SHA-256") // to flowA's 192.0.2.10
			e.flow = flowOtherIP
			return register(t, "c1", 1, contactA, e.answer(c, "alice", "wonderland", 1))
		},
		wantCode: 401,
		check:    wantStale,
	}, {
		name: "nonce used from another port of the same IP: a reconnect",
		run: func(e *authEnv) *sip.Request {
			c := e.challenge("SHA-256")
			e.flow = flowB
			return register(t, "c1", 1, contactA, e.answer(c, "alice", "wonderland", 1))
		},
		wantCode: 200,
		wantUser: "alice",
	}, {
		name: "digest uri is another URI",
		run: func(e *authEnv) *sip.Request {
			return register(t, "c1", 1, contactA, e.answerURI(e.challenge("SHA-256"), "sip:other.example.com", "alice", "wonderland", 1))
		},
		wantCode:   400,
		wantReason: "Bad Request (digest uri does not match Request-URI)",
	}, {
		name: "digest uri with a port the Request-URI lacks",
		run: func(e *authEnv) *sip.Request {
			return register(t, "c1", 1, contactA, e.answerURI(e.challenge("SHA-256"), "sip:example.com:5060", "alice", "wonderland", 1))
		},
		wantCode:   400,
		wantReason: "Bad Request (digest uri does not match Request-URI)",
	}, {
		name: "digest uri spelled otherwise: same SIP URI",
		run: func(e *authEnv) *sip.Request {
			return register(t, "c1", 1, contactA, e.answerURI(e.challenge("SHA-256"), "SIP:Example.COM", "alice", "wonderland", 1))
		},
		wantCode: 200,
		wantUser: "alice",
	}, {
		name: "malformed Authorization",
		run: func(e *authEnv) *sip.Request {
			return register(t, "c1", 1, contactA, `Authorization: Digest username="alice, realm="example.com"`)
		},
		wantCode:   400,
		wantReason: "Bad Request (malformed Authorization)",
	}, {
		name: "no qop is refused",
		run: func(e *authEnv) *sip.Request {
			line := e.answer(e.challenge("MD5"), "alice", "wonderland", 1)
			line = strings.Replace(line, `qop=auth, `, "", 1)
			return register(t, "c1", 1, contactA, line)
		},
		wantCode: 400,
	}, {
		name: "credentials for another realm only",
		run: func(e *authEnv) *sip.Request {
			c := e.challenge("SHA-256")
			c.Realm = "elsewhere"
			return register(t, "c1", 1, contactA, e.answer(c, "alice", "wonderland", 1))
		},
		wantCode: 401,
	}, {
		name: "Proxy-Authorization does not authenticate a REGISTER",
		run: func(e *authEnv) *sip.Request {
			line := e.answer(e.challenge("SHA-256"), "alice", "wonderland", 1)
			return register(t, "c1", 1, contactA, "Proxy-"+line)
		},
		wantCode: 401,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newAuthEnv(t)
			req := tt.run(e)
			res, user := e.r.Register(req, e.flow)
			if res.StatusCode != tt.wantCode {
				t.Fatalf("got %d %s, want %d", res.StatusCode, res.Reason, tt.wantCode)
			}
			if tt.wantReason != "" && res.Reason != tt.wantReason {
				t.Errorf("got reason %q, want %q", res.Reason, tt.wantReason)
			}
			if user != tt.wantUser {
				t.Errorf("got user %q, want %q", user, tt.wantUser)
			}
			if tt.check != nil {
				tt.check(t, res)
			}
		})
	}
}

func TestVerifyProxy(t *testing.T) {
	clk := newClock()
	a := newTestAuthenticator(AuthConfig{Realm: "example.com", Users: testUsers}, clk)
	invite := func(extra ...string) *sip.Request {
		return parseRequest(t, append([]string{
			"INVITE sip:bob@example.com SIP/2.0",
			"Via: SIP/2.0/WSS x.invalid;branch=z9hG4bK77",
			"From: <sip:alice@example.com>;tag=1",
			"To: <sip:bob@example.com>",
			"Call-ID: i1",
			"CSeq: 1 INVITE",
		}, extra...)...)
	}
	ch := a.Challenge(invite(), srcA, true, false)
	if ch.StatusCode != 407 || len(headerValues(ch, "Proxy-Authenticate")) != 2 || len(headerValues(ch, "WWW-Authenticate")) != 0 {
		t.Fatalf("got %d with %q, want 407 with two Proxy-Authenticate", ch.StatusCode, headerValues(ch, "Proxy-Authenticate"))
	}
	c, err := digest.ParseChallenge(headerValues(ch, "Proxy-Authenticate")[0])
	if err != nil {
		t.Fatal(err)
	}
	cred, err := digest.Digest(c, digest.Options{Method: "INVITE", URI: "sip:bob@example.com", Username: "alice", Password: "wonderland"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		req      *sip.Request
		proxy    bool
		wantUser string
		want     AuthResult
	}{
		{"Proxy-Authorization", invite("Proxy-Authorization: " + cred.String()), true, "alice", AuthOK},
		{"Authorization is not for proxies", invite("Authorization: " + cred.String()), true, "", AuthMissing},
		{"method is covered", func() *sip.Request {
			r := invite("Proxy-Authorization: " + cred.String())
			r.Method = sip.BYE
			return r
		}(), true, "", AuthFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			user, got := a.Verify(tt.req, srcA, tt.proxy)
			if got != tt.want || user != tt.wantUser {
				t.Errorf("got %q %v, want %q %v", user, got, tt.wantUser, tt.want)
			}
		})
	}
}

func TestVerifyPicksOurRealm(t *testing.T) {
	a := newTestAuthenticator(AuthConfig{Realm: "example.com", Users: testUsers}, newClock())
	c, err := digest.ParseChallenge(headerValues(a.Challenge(register(t, "c1", 1), srcA, false, false), "WWW-Authenticate")[0])
	if err != nil {
		t.Fatal(err)
	}
	const ours = "Authorization: OURS"
	tests := []struct {
		name  string
		lines []string
		want  AuthResult
	}{
		{"other realm first", []string{`Authorization: Digest username="x", realm="other", nonce="n", uri="u", response="r"`, ours}, AuthOK},
		{"garbage then ours", []string{"Authorization: Basic YWxhZGRpbjpvcGVuc2VzYW1l", ours}, AuthOK},
		{"another scheme only is no credentials (RFC 4475 §3.3.7)", []string{"Authorization: Basic YWxhZGRpbjpvcGVuc2VzYW1l"}, AuthMissing},
		{"an unknown scheme only", []string{"Authorization: NoOneKnowsThisScheme opaque-data=here"}, AuthMissing},
		{"malformed Digest only", []string{`Authorization: Digest username="alice`}, AuthBadRequest},
		{"other realm only", []string{`Authorization: Digest username="x", realm="other"`}, AuthMissing},
		{"ours without cnonce", []string{`Authorization: Digest username="alice", realm="example.com", nonce="n", uri="u", response="r", qop=auth, nc=00000001`}, AuthBadRequest},
		{"ours with nc 0", []string{`Authorization: Digest username="alice", realm="example.com", nonce="n", uri="u", response="r", qop=auth, nc=00000000, cnonce="c"`}, AuthBadRequest},
		{"ours with unknown algorithm", []string{`Authorization: Digest username="alice", realm="example.com", nonce="n", uri="u", response="r", qop=auth, nc=1, cnonce="c", algorithm=SHA-512-256`}, AuthBadRequest},
		{"ours with a nonce we never made", []string{`Authorization: Digest username="alice", realm="example.com", nonce="n", uri="sip:example.com", response="r", qop=auth, nc=1, cnonce="c"`}, AuthStale},
		{"ours for another URI", []string{`Authorization: Digest username="alice", realm="example.com", nonce="n", uri="u", response="r", qop=auth, nc=1, cnonce="c"`}, AuthURIMismatch},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cred, err := digest.Digest(c, digest.Options{Method: "REGISTER", URI: "sip:example.com", Username: "alice", Password: "wonderland", Count: i + 1})
			if err != nil {
				t.Fatal(err)
			}
			lines := slices.Clone(tt.lines)
			if i := slices.Index(lines, ours); i >= 0 {
				lines[i] = "Authorization: " + cred.String()
			}
			if _, got := a.Verify(register(t, "c1", 1, lines...), srcA, false); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestNonceIsStrictBase64(t *testing.T) {
	a := newTestAuthenticator(AuthConfig{Realm: "r"}, newClock())
	n := a.newNonce(time.Now(), srcA)
	if _, ok := a.openNonce(n, srcA); !ok {
		t.Fatalf("got own nonce %q refused, want accepted", n)
	}
	// The last character carries 2 padding bits; another spelling of the
	// same bytes must not pass, or it would get a fresh nonce count.
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := strings.IndexByte(alphabet, n[len(n)-1])
	alias := n[:len(n)-1] + string(alphabet[last^1])
	if _, ok := a.openNonce(alias, srcA); ok {
		t.Errorf("got alias %q of %q accepted, want refused", alias, n)
	}
}

func TestNonceCounts(t *testing.T) {
	t0 := newClock().Now()
	type step struct {
		nonce string
		nc    uint32
		// issued and at are offsets from t0; a nonce expires a minute
		// after it was issued.
		issued, at time.Duration
		want       countResult
	}
	tests := []struct {
		name    string
		max     int
		steps   []step
		wantLen int
	}{{
		name: "counts must increase",
		max:  10,
		steps: []step{
			{"a", 1, 0, 0, countOK}, {"a", 1, 0, 0, countReplayed}, {"a", 3, 0, 0, countOK},
			{"a", 2, 0, 0, countReplayed}, {"b", 1, 0, 0, countOK},
		},
		wantLen: 2,
	}, {
		name: "full table drops the oldest, whose nonce is then stale",
		max:  2,
		steps: []step{
			{"a", 5, 1, 1, countOK}, {"b", 1, 2, 2, countOK}, {"c", 1, 3, 3, countOK},
			{"a", 6, 1, 4, countForgotten},
			// an older nonce never used before may have been dropped too
			{"z", 1, 0, 4, countForgotten},
			{"d", 1, 4, 4, countOK},
		},
		wantLen: 2,
	}, {
		name: "expired entries are pruned",
		max:  10,
		steps: []step{
			{"a", 1, 0, 0, countOK}, {"b", 1, 0, 0, countOK},
			{"c", 1, time.Minute, time.Minute, countOK},
		},
		wantLen: 1,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nc := newNonceCounts(tt.max)
			for i, s := range tt.steps {
				issued := t0.Add(s.issued)
				if got := nc.advance(s.nonce, s.nc, issued, issued.Add(time.Minute), t0.Add(s.at)); got != s.want {
					t.Errorf("step %d (%s nc=%d): got %v, want %v", i, s.nonce, s.nc, got, s.want)
				}
			}
			if got := nc.len(); got != tt.wantLen {
				t.Errorf("got %d entries, want %d", got, tt.wantLen)
			}
		})
	}
}

func TestParseDigest(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    map[string]string
		wantErr error
	}{{
		name: "JsSIP",
		in:   `Digest algorithm=MD5, username="alice", realm="example.com", nonce="abc", uri="sip:example.com", response="0123", qop=auth, cnonce="x1", nc=00000001`,
		want: map[string]string{"algorithm": "MD5", "username": "alice", "realm": "example.com", "nonce": "abc", "uri": "sip:example.com", "response": "0123", "qop": "auth", "cnonce": "x1", "nc": "00000001"},
	}, {
		name: "escaped quote and comma inside quotes",
		in:   `Digest username="al\"ice, jr", realm="a\\b"`,
		want: map[string]string{"username": `al"ice, jr`, "realm": `a\b`},
	}, {
		name: "spaces, tabs, empty elements and case",
		in:   "  digest   USERNAME = \"a\" ,\t, Realm=r ,",
		want: map[string]string{"username": "a", "realm": "r"},
	}, {
		name: "unquoted uri",
		in:   `Digest uri=sip:bob@example.com;transport=ws, nc=1`,
		want: map[string]string{"uri": "sip:bob@example.com;transport=ws", "nc": "1"},
	}, {
		name: "empty quoted value",
		in:   `Digest opaque=""`,
		want: map[string]string{"opaque": ""},
	},
		{name: "empty", in: "", wantErr: errNotDigest},
		{name: "Basic", in: "Basic YWxhZGRpbjpvcGVuc2VzYW1l", wantErr: errNotDigest},
		{name: "scheme only", in: "Digest", wantErr: errDigestSyntax},
		{name: "no space after scheme", in: `Digest,username="a"`, wantErr: errDigestSyntax},
		{name: "no params", in: "Digest  , ", wantErr: errDigestSyntax},
		{name: "name only", in: "Digest username", wantErr: errDigestSyntax},
		{name: "no value", in: "Digest username=, realm=r", wantErr: errDigestSyntax},
		{name: "unterminated quote", in: `Digest username="alice`, wantErr: errDigestSyntax},
		{name: "trailing backslash", in: `Digest username="alice\`, wantErr: errDigestSyntax},
		{name: "junk after quoted value", in: `Digest username="a"b`, wantErr: errDigestSyntax},
		{name: "quote inside bare value", in: `Digest username=a"b"`, wantErr: errDigestSyntax},
		{name: "missing comma", in: `Digest username="a" realm="r"`, wantErr: errDigestSyntax},
		{name: "control character", in: "Digest username=\"a\x00\"", wantErr: errDigestSyntax},
		{name: "repeated parameter", in: `Digest realm="a", REALM="b"`, wantErr: errDigestDupParam},
		{name: "too many parameters", in: "Digest " + manyParams(maxDigestParams+1), wantErr: errDigestSyntax},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseDigest(tt.in)
			if err != tt.wantErr {
				t.Fatalf("got error %v, want %v", err, tt.wantErr)
			}
			if !maps.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func manyParams(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "p%d=1, ", i)
	}
	return b.String()
}

func TestAuthResultString(t *testing.T) {
	tests := []struct {
		r    AuthResult
		want string
	}{{AuthOK, "ok"}, {AuthMissing, "missing"}, {AuthStale, "stale"}, {AuthFailed, "failed"}, {AuthReplay, "replay"}, {AuthBadRequest, "bad_request"}, {AuthURIMismatch, "uri_mismatch"}, {AuthLocked, "locked"}, {AuthResult(42), "AuthResult(42)"}}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.r.String(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
