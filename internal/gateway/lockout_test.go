package gateway

import (
	"errors"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/internal/config"
	"github.com/switchboard-gw/switchboard/internal/testkit/leakcheck"
	"github.com/switchboard-gw/switchboard/internal/testkit/siptest"
)

// lockoutGateway authenticates alice and bob and locks a user out from an
// address after 3 failures, for a second.
func lockoutGateway(t *testing.T, mutate func(*config.Config)) *testGateway {
	return startGateway(t, func(c *config.Config) {
		c.Registrar.Auth = true
		c.Registrar.Users = []config.User{{Username: "alice", Password: "wonderland"}, {Username: "bob", Password: "builder"}}
		c.Registrar.Lockout = config.Lockout{UserIPFailures: 3, Window: time.Minute, Duration: time.Second}
		if mutate != nil {
			mutate(c)
		}
	})
}

// registerCode registers ua and returns the final status code.
func registerCode(t *testing.T, ua *siptest.UA) int {
	t.Helper()
	res, err := ua.Register(ctx(t), 300)
	if err != nil {
		t.Fatalf("register %s: %v", ua.User, err)
	}
	return res.StatusCode
}

func TestLockoutAndRecovery(t *testing.T) {
	leakcheck.Check(t)
	g := lockoutGateway(t, nil)
	alice := browser(t, g, "alice")
	alice.Password = "looking-glass"
	for i := range 3 {
		if got := registerCode(t, alice); got != 403 {
			t.Fatalf("wrong password %d: got %d, want 403", i+1, got)
		}
	}
	alice.Password = "wonderland"
	res, err := alice.Register(ctx(t), 300)
	if err != nil || res.StatusCode != 403 || res.Reason != "Forbidden (bad credentials)" {
		t.Fatalf("right password while locked out: got %v, %v; want 403 Forbidden (bad credentials)", res, err)
	}
	bob := browser(t, g, "bob")
	bob.Password = "builder"
	if got := registerCode(t, bob); got != 200 {
		t.Errorf("bob from the same address: got %d, want 200", got)
	}
	start := time.Now()
	waitFor(t, func() bool { return registerCode(t, alice) == 200 })
	if waited := time.Since(start); waited > 2*time.Second {
		t.Errorf("alice got back in after %v, want about a second", waited)
	}
	for _, m := range []struct {
		name, label, value string
		want               float64
	}{
		{"switchboard_auth_failures_total", "reason", "wrong_password", 3},
		{"switchboard_auth_lockouts_total", "scope", "user_ip", 1},
	} {
		if got := counterValue(t, g, m.name, m.label, m.value); got != m.want {
			t.Errorf("%s{%s=%q}: got %v, want %v", m.name, m.label, m.value, got, m.want)
		}
	}
	if got := counterValue(t, g, "switchboard_auth_failures_total", "reason", "locked"); got < 1 {
		t.Errorf("locked refusals: got %v, want at least 1", got)
	}
}

// TestProxyAuthLockout guesses alice's password on calls to a trunk from a
// UDP phone, which the proxy authenticates with Proxy-Authorization, and
// checks that the guesses count against the phone's address: alice's
// REGISTER from that address is then refused too.
func TestProxyAuthLockout(t *testing.T) {
	leakcheck.Check(t)
	g := lockoutGateway(t, func(c *config.Config) {
		// The trunk is trusted by its IP, so it must not share the phone's.
		c.Routes = []config.Route{{Prefix: "9", URI: sipURI(t, "sip:127.0.0.3:9;transport=udp")}}
	})
	_, phoneUA := phone(t, g, "alice")
	phoneUA.Password = "looking-glass"
	for i := range 3 {
		_, err := phoneUA.Invite(ctx(t), userURI(g, "9123"), siptest.AudioSDP("127.0.0.1", 4000))
		var se *siptest.StatusError
		if !errors.As(err, &se) || se.Response.StatusCode != sip.StatusForbidden {
			t.Fatalf("INVITE with a wrong password %d: got %v, want 403", i+1, err)
		}
	}
	alice := browser(t, g, "alice")
	alice.Password = "wonderland"
	if got := registerCode(t, alice); got != 403 {
		t.Errorf("REGISTER after 3 wrong INVITEs from the same address: got %d, want 403", got)
	}
	waitFor(t, func() bool { return registerCode(t, alice) == 200 })
}

// counterValue reads one counter from the gateway's registry.
func counterValue(t *testing.T, g *testGateway, name, label, value string) float64 {
	t.Helper()
	mfs, err := g.Metrics().Gather()
	if err != nil {
		t.Fatal(err)
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
	t.Fatalf("no %s{%s=%q}", name, label, value)
	return 0
}
