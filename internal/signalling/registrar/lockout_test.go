package registrar

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
	"github.com/prometheus/client_golang/prometheus"
)

// testLockout is the lockout the tests run against: small numbers, so that
// every scope is reached quickly.
var testLockout = LockoutConfig{
	UserIPFailures: 3, UserFailures: 6, IPFailures: 5,
	Window: 5 * time.Minute, Duration: 15 * time.Minute,
}

// lockEnv is an authenticating registrar with a Lockout, its metrics and
// its log.
type lockEnv struct {
	t       *testing.T
	clk     *fakeClock
	r       *Registrar
	lockout *Lockout
	metrics *prometheus.Registry
	log     *bytes.Buffer
	seq     int
}

func newLockEnv(t *testing.T, cfg LockoutConfig) *lockEnv {
	e := &lockEnv{t: t, clk: newClock(), metrics: prometheus.NewRegistry(), log: &bytes.Buffer{}}
	m := NewMetrics(e.metrics)
	e.lockout = NewLockout(cfg, LockoutDeps{Now: e.clk.Now, Metrics: m, Logger: slog.New(slog.NewTextHandler(e.log, nil))})
	rc := testConfig()
	rc.Auth, rc.Users = true, testUsers
	e.r = New(withTestDefaults(rc), Deps{Now: e.clk.Now, Attempts: e.lockout, Metrics: m})
	return e
}

// from returns a flow from ip.
func from(ip string) Flow {
	return Flow{ID: "ws-" + ip, Transport: "wss", Remote: netip.AddrPortFrom(netip.MustParseAddr(ip), 50000)}
}

// login registers user with password from flow as JsSIP does, answering
// the 401 to its first REGISTER, and returns the final status code.
func (e *lockEnv) login(flow Flow, user, password string) int {
	e.t.Helper()
	c := e.challengeFor(flow, user)
	return e.answer(flow, user, password, c, 1)
}

func (e *lockEnv) challengeFor(flow Flow, user string) *digest.Challenge {
	e.t.Helper()
	e.seq++
	res, _ := e.r.Register(register(e.t, "lk", e.seq, toUser(user), contactA), flow)
	if res.StatusCode != 401 {
		e.t.Fatalf("unauthenticated REGISTER for %s: got %d %s, want 401", user, res.StatusCode, res.Reason)
	}
	c, err := digest.ParseChallenge(headerValues(res, "WWW-Authenticate")[0])
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func (e *lockEnv) answer(flow Flow, user, password string, c *digest.Challenge, nc int) int {
	e.t.Helper()
	cred, err := digest.Digest(c, digest.Options{Method: "REGISTER", URI: "sip:example.com", Username: user, Password: password, Count: nc, Cnonce: "c0ffee"})
	if err != nil {
		e.t.Fatal(err)
	}
	e.seq++
	res, _ := e.r.Register(register(e.t, "lk", e.seq, toUser(user), contactA, "Authorization: "+cred.String()), flow)
	if res.StatusCode == 403 && res.Reason != "Forbidden (bad credentials)" {
		e.t.Errorf("got 403 %q, want the reason of any bad credentials", res.Reason)
	}
	return res.StatusCode
}

// fail makes n failed logins of user from flow, each answered 403.
func (e *lockEnv) fail(flow Flow, user string, n int) {
	e.t.Helper()
	for i := range n {
		if got := e.login(flow, user, "guess"+fmt.Sprint(i)); got != 403 {
			e.t.Fatalf("wrong password %d for %s: got %d, want 403", i+1, user, got)
		}
	}
}

func (e *lockEnv) counter(name, label, value string) float64 {
	e.t.Helper()
	mfs, err := e.metrics.Gather()
	if err != nil {
		e.t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == label && l.GetValue() == value {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	e.t.Fatalf("no %s{%s=%q}", name, label, value)
	return 0
}

func toUser(user string) string { return "To: <sip:" + user + "@example.com>" }

// withTestDefaults fills in what newTestRegistrar does.
func withTestDefaults(cfg Config) Config {
	cfg.Realm = "example.com"
	cfg.NonceTTL = 5 * time.Minute
	cfg.DigestAlgorithms = []string{AlgSHA256, AlgMD5}
	return cfg
}

var (
	home    = from("192.0.2.10")   // where alice logs in from
	office  = from("192.0.2.20")   // another of alice's places
	mallory = from("203.0.113.66") // the attacker
	v6a     = from("2001:db8:1:2::a")
	v6b     = from("2001:db8:1:2::b") // same /64 as v6a
)

// TestLockout pins each rule, step by step: who fails, then who logs in
// with the right password, and what they get.
func TestLockout(t *testing.T) {
	type login struct {
		flow     Flow
		user     string
		after    time.Duration // clock advance before the login
		wantCode int
	}
	tests := []struct {
		name  string
		cfg   LockoutConfig
		setup func(e *lockEnv)
		steps []login
	}{{
		name:  "N-1 failures then the right password",
		setup: func(e *lockEnv) { e.fail(home, "alice", 2) },
		steps: []login{{home, "alice", 0, 200}},
	}, {
		name: "a success clears the pair's count",
		setup: func(e *lockEnv) {
			e.fail(home, "alice", 2)
			e.login(home, "alice", "wonderland")
			e.fail(home, "alice", 2)
		},
		steps: []login{{home, "alice", 0, 200}},
	}, {
		name:  "N failures lock the pair: the right password is refused until the lockout ends",
		setup: func(e *lockEnv) { e.fail(mallory, "alice", 3) },
		steps: []login{
			{mallory, "alice", 0, 403},
			{mallory, "alice", 15*time.Minute - time.Second, 403},
			{mallory, "alice", time.Second, 200},
		},
	}, {
		name:  "a locked pair does not lock the user elsewhere",
		setup: func(e *lockEnv) { e.fail(mallory, "alice", 3) },
		steps: []login{{home, "alice", 0, 200}, {mallory, "bob", 0, 200}},
	}, {
		name: "failures age out with the window",
		setup: func(e *lockEnv) {
			e.fail(mallory, "alice", 2)
			e.clk.Advance(5 * time.Minute)
			e.fail(mallory, "alice", 2)
		},
		steps: []login{{mallory, "alice", 0, 200}},
	}, {
		name: "stuffing from one IP locks it for every user",
		setup: func(e *lockEnv) {
			for i := range 5 {
				e.fail(mallory, fmt.Sprint("user", i), 1)
			}
		},
		steps: []login{{mallory, "bob", 0, 403}, {home, "bob", 0, 200}, {mallory, "bob", 15 * time.Minute, 200}},
	}, {
		name: "an IP lockout spares the users that logged in from it",
		setup: func(e *lockEnv) {
			e.login(home, "alice", "wonderland") // alice's phone, behind the same NAT
			for i := range 5 {
				e.fail(home, fmt.Sprint("user", i), 1)
			}
		},
		steps: []login{{home, "alice", 0, 200}, {home, "bob", 0, 403}},
	}, {
		name: "guessing from many IPs locks the user from new ones, not where it logged in",
		setup: func(e *lockEnv) {
			e.login(home, "alice", "wonderland")
			for i := range 6 {
				e.fail(from(fmt.Sprintf("198.51.100.%d", i+1)), "alice", 1)
			}
		},
		steps: []login{
			{home, "alice", 0, 200},
			{office, "alice", 0, 403},
			{office, "bob", 0, 200},
			{office, "alice", 15 * time.Minute, 200},
		},
	}, {
		name: "trust lasts a day",
		setup: func(e *lockEnv) {
			e.login(home, "alice", "wonderland")
			e.clk.Advance(24 * time.Hour)
			for i := range 6 {
				e.fail(from(fmt.Sprintf("198.51.100.%d", i+1)), "alice", 1)
			}
		},
		steps: []login{{home, "alice", 0, 403}},
	}, {
		name:  "a trusted pair's own failures still lock it",
		setup: func(e *lockEnv) { e.login(home, "alice", "wonderland"); e.fail(home, "alice", 3) },
		steps: []login{{home, "alice", 0, 403}, {office, "alice", 0, 200}},
	}, {
		name:  "an IPv6 source is its /64",
		setup: func(e *lockEnv) { e.fail(v6a, "alice", 3) },
		steps: []login{{v6b, "alice", 0, 403}},
	}, {
		name:  "a scope with 0 failures is off",
		cfg:   LockoutConfig{IPFailures: 2, Window: time.Minute, Duration: time.Minute},
		setup: func(e *lockEnv) { e.fail(mallory, "alice", 1); e.fail(mallory, "bob", 10) },
		steps: []login{{mallory, "alice", 0, 403}, {home, "bob", 0, 200}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			if cfg == (LockoutConfig{}) {
				cfg = testLockout
			}
			e := newLockEnv(t, cfg)
			tt.setup(e)
			for i, s := range tt.steps {
				e.clk.Advance(s.after)
				pw := testUsers[s.user]
				if got := e.login(s.flow, s.user, pw); got != s.wantCode {
					t.Errorf("step %d: %s from %s: got %d, want %d", i, s.user, s.flow.Remote.Addr(), got, s.wantCode)
				}
			}
		})
	}
}

// TestLockoutSparesNormalClients checks that what a legitimate client does
// with the right password never counts as a failure: a first REGISTER
// without credentials, a nonce gone stale, a reconnect on another port, a
// nonce from before an address change, a replayed count.
func TestLockoutSparesNormalClients(t *testing.T) {
	e := newLockEnv(t, LockoutConfig{UserIPFailures: 1, UserFailures: 1, IPFailures: 1, Window: time.Hour, Duration: time.Hour})
	for range 10 {
		e.challengeFor(home, "alice")
	}
	c := e.challengeFor(home, "alice")
	e.clk.Advance(5 * time.Minute)
	if got := e.answer(home, "alice", "wonderland", c, 1); got != 401 {
		t.Errorf("stale nonce: got %d, want 401", got)
	}
	c = e.challengeFor(home, "alice")
	if got := e.answer(home, "alice", "wonderland", c, 1); got != 200 {
		t.Fatalf("login: got %d, want 200", got)
	}
	if got := e.answer(home, "alice", "wonderland", c, 1); got != 403 {
		t.Errorf("replayed nc: got %d, want 403", got)
	}
	reconnect := home
	reconnect.ID, reconnect.Remote = "ws-9", netip.AddrPortFrom(home.Remote.Addr(), 50009)
	if got := e.answer(reconnect, "alice", "wonderland", c, 2); got != 200 {
		t.Errorf("nc 2 after a reconnect: got %d, want 200", got)
	}
	if got := e.answer(office, "alice", "wonderland", c, 3); got != 401 {
		t.Errorf("nonce after an address change: got %d, want 401 stale", got)
	}
	for _, f := range []Flow{home, office} {
		if got := e.login(f, "alice", "wonderland"); got != 200 {
			t.Errorf("from %s after all that: got %d, want 200", f.Remote.Addr(), got)
		}
	}
	if got := e.counter("switchboard_auth_lockouts_total", "scope", scopeUserIP); got != 0 {
		t.Errorf("got %v lockouts, want 0", got)
	}
}

// TestLockoutIgnoresForeignNonces checks that credentials with a nonce
// not sent to their source (as a forged UDP source address would carry)
// count no failure against that source, right or wrong.
func TestLockoutIgnoresForeignNonces(t *testing.T) {
	e := newLockEnv(t, testLockout)
	c := e.challengeFor(mallory, "alice") // mallory's own nonce
	for i := range 10 {
		if got := e.answer(home, "alice", "guess", c, i+1); got != 401 {
			t.Fatalf("spoofed attempt %d: got %d, want 401 stale", i, got)
		}
	}
	if got := e.login(home, "alice", "wonderland"); got != 200 {
		t.Errorf("alice at home: got %d, want 200", got)
	}
	if got := e.counter("switchboard_auth_failures_total", "reason", string(reasonForeignNonce)); got != 10 {
		t.Errorf("foreign_nonce failures: got %v, want 10", got)
	}
}

func TestLockoutMetricsAndLog(t *testing.T) {
	e := newLockEnv(t, testLockout)
	e.fail(mallory, "alice", 3)    // locks the pair
	e.fail(mallory, "carol", 2)    // unknown user; the fifth failure locks the IP
	e.login(mallory, "alice", "x") // refused unchecked
	e.login(mallory, "bob", "x")
	tests := []struct {
		name, label, value string
		want               float64
	}{
		{"switchboard_auth_failures_total", "reason", "wrong_password", 3},
		{"switchboard_auth_failures_total", "reason", "unknown_user", 2},
		{"switchboard_auth_failures_total", "reason", "locked", 2},
		{"switchboard_auth_lockouts_total", "scope", "user_ip", 1},
		{"switchboard_auth_lockouts_total", "scope", "ip", 1},
		{"switchboard_auth_lockouts_total", "scope", "user", 0},
	}
	for _, tt := range tests {
		if got := e.counter(tt.name, tt.label, tt.value); got != tt.want {
			t.Errorf("%s{%s=%q}: got %v, want %v", tt.name, tt.label, tt.value, got, tt.want)
		}
	}
	lines := strings.Split(strings.TrimSpace(e.log.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "scope=user_ip") || !strings.Contains(lines[0], "user=alice") ||
		!strings.Contains(lines[1], "scope=ip") || !strings.Contains(lines[1], "source=203.0.113.66") {
		t.Errorf("got log:\n%s\nwant one line for the pair's lockout, one for the IP's", e.log)
	}
	for _, r := range failReasons {
		e.counter("switchboard_auth_failures_total", "reason", string(r)) // exported from the start
	}
}

// TestLockoutBounded floods the tables with 100k users from 100k addresses
// and checks that they stay within MaxEntries, and that a lockout from
// before the flood is still in force.
func TestLockoutBounded(t *testing.T) {
	clk := newClock()
	const max = 1000
	l := NewLockout(LockoutConfig{UserIPFailures: 2, UserFailures: 50, IPFailures: 50, Window: time.Hour, Duration: time.Hour, MaxEntries: max},
		LockoutDeps{Now: clk.Now})
	victim := netip.MustParseAddr("192.0.2.1")
	l.Failed("alice", victim)
	l.Failed("alice", victim)
	for i := range 100000 {
		ip := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		l.Failed(fmt.Sprint("user", i), ip)
		l.Succeeded(fmt.Sprint("u", i), ip)
	}
	if got := l.Len(); got > 4*max {
		t.Errorf("got %d entries, want at most %d", got, 4*max)
	}
	if l.Allow("alice", victim) {
		t.Errorf("got alice allowed from %s, want the lockout from before the flood kept", victim)
	}
	clk.Advance(time.Hour)
	if !l.Allow("alice", victim) {
		t.Errorf("got alice refused after the lockout, want allowed")
	}
}

// TestVerifyProxyLockout checks that the proxy's path shares the score:
// guesses over INVITE lock out a REGISTER too.
func TestVerifyProxyLockout(t *testing.T) {
	e := newLockEnv(t, testLockout)
	src := mallory.Remote.Addr()
	invite := func(auth string) *sip.Request {
		return parseRequest(t, "INVITE sip:bob@example.com SIP/2.0", "Via: SIP/2.0/UDP 203.0.113.66;branch=z9hG4bK1",
			"From: <sip:alice@example.com>;tag=1", "To: <sip:bob@example.com>", "Call-ID: i1", "CSeq: 1 INVITE", auth)
	}
	auth := e.r.Auth()
	for i := range 3 {
		ch := auth.Challenge(invite("Subject: x"), src, true, false)
		c, err := digest.ParseChallenge(headerValues(ch, "Proxy-Authenticate")[0])
		if err != nil {
			t.Fatal(err)
		}
		cred, _ := digest.Digest(c, digest.Options{Method: "INVITE", URI: "sip:bob@example.com", Username: "alice", Password: fmt.Sprint("guess", i), Count: 1, Cnonce: "x"})
		if _, res := auth.Verify(invite("Proxy-Authorization: "+cred.String()), src, true); res != AuthFailed {
			t.Fatalf("guess %d: got %v, want %v", i, res, AuthFailed)
		}
	}
	if got := e.login(mallory, "alice", "wonderland"); got != 403 {
		t.Errorf("REGISTER after 3 INVITE guesses: got %d, want 403", got)
	}
}
