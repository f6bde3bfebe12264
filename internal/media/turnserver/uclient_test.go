package turnserver

import (
	"context"
	"net/netip"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/internal/testkit/leakcheck"
)

// uclient runs coturn's turnutils_uclient (the client only: coturn's own
// server is never started) against s with REST credentials minted from
// secret by the client itself, relaying to peer. It returns the output
// and whether the client exited 0.
func uclient(t *testing.T, s *testServer, network, secret string, peer netip.AddrPort) (string, bool) {
	t.Helper()
	path, err := exec.LookPath("turnutils_uclient")
	if err != nil {
		t.Skip("turnutils_uclient not found: install the Debian package coturn (scripts/test-deps.sh)")
	}
	a := s.Addrs()
	args := []string{"-v", "-u", "alice", "-W", secret, "-c", "-n", "20", "-m", "1", "-l", "120", "-z", "5",
		"-e", peer.Addr().String(), "-r", strconv.Itoa(int(peer.Port()))}
	port := a.UDP.Port()
	switch network {
	case "tcp":
		args, port = append(args, "-t"), a.TCP.Port()
	case "tls":
		args, port = append(args, "-t", "-S"), a.TLS.Port()
	}
	args = append(args, "-p", strconv.Itoa(int(port)), "127.0.0.1")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, args...).CombinedOutput()
	return string(out), err == nil
}

var lostRE = regexp.MustCompile(`Total lost packets (\d+)`)

// TestCoturnClient relays coturn's client through switchboard over UDP,
// TCP and TLS to a UDP echo the test allows: its REST credentials, minted
// by coturn's code, are accepted and no packet is lost.
func TestCoturnClient(t *testing.T) {
	leakcheck.Check(t)
	s := startServer(t, func(c *Config) { c.AllowedPeers = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")} })
	echo := netip.MustParseAddrPort(udpEcho(t).String())
	for _, network := range []string{"udp", "tcp", "tls"} {
		t.Run(network, func(t *testing.T) {
			out, ok := uclient(t, s, network, testSecret, echo)
			m := lostRE.FindStringSubmatch(out)
			if !ok || m == nil || m[1] != "0" {
				t.Fatalf("turnutils_uclient over %s: exit ok %v, want lost packets 0:\n%s", network, ok, out)
			}
		})
	}
	if got := s.metric(t, "switchboard_turn_relayed_packets_total", "from_peer"); got < 60 {
		t.Errorf("relayed packets from the echo: got %v, want at least 60", got)
	}
}

// TestCoturnClientRefused: coturn's client with the wrong secret gets 401,
// and with the right one towards a loopback peer, not allowed here, 403.
func TestCoturnClientRefused(t *testing.T) {
	leakcheck.Check(t)
	s := startServer(t, nil)
	echo := netip.MustParseAddrPort(udpEcho(t).String())
	// coturn's client retries a 401 until it gives up, saying only that.
	out, ok := uclient(t, s, "udp", "not-the-secret-at-all", echo)
	if ok || !strings.Contains(out, "Cannot complete Allocation") {
		t.Errorf("wrong secret: exit ok %v, want a failed allocation:\n%s", ok, out)
	}
	if got := s.metric(t, "switchboard_turn_allocations_total", "created"); got != 0 {
		t.Errorf("allocations with the wrong secret: got %v, want 0", got)
	}
	out, ok = uclient(t, s, "tcp", testSecret, echo)
	if ok || !regexp.MustCompile(`\b403\b`).MatchString(out) {
		t.Errorf("loopback peer: exit ok %v, want a failure with 403:\n%s", ok, out)
	}
	if got := s.metric(t, "switchboard_turn_refused_total", "unauthorized"); got < 1 {
		t.Errorf("unauthorized refusals: got %v, want at least 1", got)
	}
	if got := s.metric(t, "switchboard_turn_refused_total", "forbidden_peer"); got < 1 {
		t.Errorf("forbidden_peer refusals: got %v, want at least 1", got)
	}
}
