package turnserver

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/pion/stun/v4"

	"github.com/switchboard-gw/switchboard/internal/testkit/leakcheck"
)

// allocate signs in as user and makes a UDP allocation.
func allocate(t *testing.T, s *testServer, network, user string) *stunClient {
	t.Helper()
	c := dialSTUN(t, s, network)
	c.user, c.pass = s.mint(user, time.Hour)
	if res := c.do(stun.MethodAllocate, udpTransport); code(res) != 0 {
		t.Fatalf("Allocate over %s: got %s, want success", network, describe(res))
	}
	return c
}

// TestDeniedPeersForbidden sends CreatePermission and ChannelBind for every
// denied spelling, over UDP, TCP and TLS: each is answered 403 and
// counted.
func TestDeniedPeersForbidden(t *testing.T) {
	leakcheck.Check(t)
	s := startServer(t, nil)
	for _, network := range []string{"udp", "tcp", "tls"} {
		t.Run(network, func(t *testing.T) {
			c := allocate(t, s, network, "mallory")
			spellings := deniedSpellings
			if network != "udp" {
				spellings = []string{"127.0.0.1", "::ffff:127.0.0.1", "64:ff9b::169.254.169.254", "fd00:ec2::254"}
			}
			for i, sp := range spellings {
				ap := netip.AddrPortFrom(netip.MustParseAddr(sp), 5060)
				if res := c.do(stun.MethodCreatePermission, peer(ap)); code(res) != 403 {
					t.Errorf("CreatePermission %s: got %s, want 403", sp, describe(res))
				}
				if res := c.do(stun.MethodChannelBind, channel(0x4000+i), peer(ap)); code(res) != 403 {
					t.Errorf("ChannelBind %s: got %s, want 403", sp, describe(res))
				}
			}
			// A public peer is fine: the connection and allocation live on.
			if res := c.do(stun.MethodCreatePermission, peer(netip.MustParseAddrPort("203.0.113.9:5000"))); code(res) != 0 {
				t.Errorf("CreatePermission 203.0.113.9: got %s, want success", describe(res))
			}
		})
	}
	if got := s.metric(t, "switchboard_turn_refused_total", "forbidden_peer"); got < float64(2*len(deniedSpellings)) {
		t.Errorf("forbidden_peer refusals: got %v, want at least %d", got, 2*len(deniedSpellings))
	}
}

// TestOwnMediaAddressOnly lets a relay reach switchboard's media port on a
// loopback address, and nothing else there.
func TestOwnMediaAddressOnly(t *testing.T) {
	leakcheck.Check(t)
	s := startServer(t, func(c *Config) { c.Own = []netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:10000")} })
	c := allocate(t, s, "udp", "alice")
	tests := []struct {
		name string
		req  func() *stun.Message
		want int
	}{
		{"permission for the media IP", func() *stun.Message {
			return c.do(stun.MethodCreatePermission, peer(netip.MustParseAddrPort("127.0.0.1:1")))
		}, 0},
		{"channel to the media port", func() *stun.Message {
			return c.do(stun.MethodChannelBind, channel(0x4001), peer(netip.MustParseAddrPort("127.0.0.1:10000")))
		}, 0},
		{"channel to the SIP port", func() *stun.Message {
			return c.do(stun.MethodChannelBind, channel(0x4002), peer(netip.MustParseAddrPort("127.0.0.1:5060")))
		}, 403},
		{"another loopback address", func() *stun.Message {
			return c.do(stun.MethodCreatePermission, peer(netip.MustParseAddrPort("127.0.0.2:10000")))
		}, 403},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if res := tc.req(); code(res) != tc.want {
				t.Errorf("got %s, want %d", describe(res), tc.want)
			}
		})
	}
}

// TestBadCredentialsUnauthorized: expired, forged and malformed
// usernames, a wrong password and a wrong realm all get 401.
func TestBadCredentialsUnauthorized(t *testing.T) {
	leakcheck.Check(t)
	s := startServer(t, nil)
	forged := NewCredentials([]byte("not-the-secret-at-all"), "switchboard")
	expiredUser, expiredPass := s.mint("alice", -time.Second)
	forgedUser, forgedPass := forged.Mint("alice", time.Now().Add(time.Hour))
	goodUser, _ := s.mint("alice", time.Hour)
	tests := []struct{ name, user, pass string }{
		{"expired", expiredUser, expiredPass},
		{"forged with another secret", forgedUser, forgedPass},
		{"wrong password", goodUser, "guess"},
		{"no expiry", "alice", "whatever"},
		{"expiry pushed on", "9999999999:alice", expiredPass},
	}
	for _, network := range []string{"udp", "tcp", "tls"} {
		for _, tc := range tests {
			t.Run(network+"/"+tc.name, func(t *testing.T) {
				c := dialSTUN(t, s, network)
				c.user, c.pass = tc.user, tc.pass
				if res := c.do(stun.MethodAllocate, udpTransport); code(res) != 401 {
					t.Errorf("Allocate: got %s, want 401", describe(res))
				}
			})
		}
	}
	if n := s.metric(t, "switchboard_turn_allocations", ""); n != 0 {
		t.Errorf("allocations: got %v, want 0", n)
	}
	if got := s.metric(t, "switchboard_turn_refused_total", "unauthorized"); got != float64(3*len(tests)) {
		t.Errorf("unauthorized refusals: got %v, want %d", got, 3*len(tests))
	}
}

// TestExpiredCredentialsKeepAllocation: credentials that expire during a
// call still refresh the allocation they made, but make no new one.
func TestExpiredCredentialsKeepAllocation(t *testing.T) {
	leakcheck.Check(t)
	s := startServer(t, nil)
	c := dialSTUN(t, s, "udp")
	c.user, c.pass = s.mint("alice", time.Minute)
	if res := c.do(stun.MethodAllocate, udpTransport); code(res) != 0 {
		t.Fatalf("Allocate: got %s", describe(res))
	}
	s.clock.Add(2 * time.Minute)
	if res := c.do(stun.MethodRefresh, stun.RawAttribute{Type: stun.AttrLifetime, Value: []byte{0, 0, 2, 88}}); code(res) != 0 {
		t.Errorf("Refresh after expiry: got %s, want success", describe(res))
	}
	other := dialSTUN(t, s, "udp")
	other.user, other.pass = c.user, c.pass
	if res := other.do(stun.MethodAllocate, udpTransport); code(res) != 401 {
		t.Errorf("new Allocate after expiry: got %s, want 401", describe(res))
	}
}

// TestQuotas: a user's allocations beyond its quota, and anyone's beyond
// the server's, get 486 Allocation Quota Reached.
func TestQuotas(t *testing.T) {
	leakcheck.Check(t)
	s := startServer(t, func(c *Config) { c.MaxAllocationsPerUser, c.MaxAllocations = 2, 3 })
	allocate(t, s, "udp", "flood")
	allocate(t, s, "tcp", "flood")
	c := dialSTUN(t, s, "udp")
	c.user, c.pass = s.mint("flood", time.Hour)
	if res := c.do(stun.MethodAllocate, udpTransport); code(res) != 486 {
		t.Errorf("third allocation of one user: got %s, want 486", describe(res))
	}
	allocate(t, s, "udp", "bob")
	d := dialSTUN(t, s, "udp")
	d.user, d.pass = s.mint("carol", time.Hour)
	if res := d.do(stun.MethodAllocate, udpTransport); code(res) != 486 {
		t.Errorf("allocation beyond the server's quota: got %s, want 486", describe(res))
	}
	if got := s.metric(t, "switchboard_turn_allocations_total", "quota_user"); got != 1 {
		t.Errorf("quota_user: got %v, want 1", got)
	}
	if got := s.metric(t, "switchboard_turn_allocations_total", "quota_total"); got != 1 {
		t.Errorf("quota_total: got %v, want 1", got)
	}
}

// TestTCPRelayRefused: RFC 6062 TCP allocations would reach any TCP
// service; they get 442.
func TestTCPRelayRefused(t *testing.T) {
	leakcheck.Check(t)
	s := startServer(t, nil)
	c := dialSTUN(t, s, "tcp")
	c.user, c.pass = s.mint("alice", time.Hour)
	tcp := stun.RawAttribute{Type: stun.AttrRequestedTransport, Value: []byte{6, 0, 0, 0}}
	if res := c.do(stun.MethodAllocate, tcp); code(res) != 442 {
		t.Errorf("TCP Allocate: got %s, want 442", describe(res))
	}
}

// TestRelayCounts relays through pion's own TURN client to a UDP echo the
// test allows, and finds the packets counted both ways.
func TestRelayCounts(t *testing.T) {
	leakcheck.Check(t)
	s := startServer(t, func(c *Config) { c.AllowedPeers = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")} })
	echo := udpEcho(t)
	relay := pionAllocate(t, s)
	buf := make([]byte, 1500)
	for i := range 5 {
		if _, err := relay.WriteTo([]byte("hello through the relay"), echo); err != nil {
			t.Fatalf("WriteTo: %v", err)
		}
		_ = relay.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, from, err := relay.ReadFrom(buf)
		if err != nil {
			t.Fatalf("packet %d back from the echo: %v", i, err)
		}
		if string(buf[:n]) != "hello through the relay" || from.String() != echo.String() {
			t.Fatalf("got %q from %v", buf[:n], from)
		}
	}
	for _, dir := range []string{"to_peer", "from_peer"} {
		// The relay counts a packet after sending it: the echo may be back first.
		deadline := time.Now().Add(5 * time.Second)
		for s.metric(t, "switchboard_turn_relayed_packets_total", dir) < 5 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if got := s.metric(t, "switchboard_turn_relayed_packets_total", dir); got != 5 {
			t.Errorf("relayed packets %s: got %v, want 5", dir, got)
		}
	}
}

// udpEcho is a UDP socket on loopback that sends back what it gets.
func udpEcho(t testing.TB) net.Addr {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			_, _ = pc.WriteTo(buf[:n], from)
		}
	}()
	t.Cleanup(func() { pc.Close(); <-done })
	return pc.LocalAddr()
}

// TestStreamWithoutCredentialsClosed: a TCP connection that sends only
// requests without valid credentials, STUN Binding here, is closed when
// the first-request deadline passes; one that allocated stays open.
func TestStreamWithoutCredentialsClosed(t *testing.T) {
	leakcheck.Check(t)
	defer func(d time.Duration) { firstFrameTimeout = d }(firstFrameTimeout)
	firstFrameTimeout = 300 * time.Millisecond
	s := startServer(t, nil)
	idle := dialSTUN(t, s, "tcp")
	used := allocate(t, s, "tcp", "alice")
	deadline := time.Now().Add(5 * time.Second)
	for {
		_ = idle.conn.SetDeadline(time.Now().Add(time.Second))
		binding := stun.MustBuild(stun.TransactionID, stun.BindingRequest)
		_, err := idle.conn.Write(binding.Raw)
		if err == nil {
			_, err = idle.conn.Read(make([]byte, 1500))
		}
		if err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a connection without credentials is still open after 5 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if res := used.do(stun.MethodRefresh); code(res) != 0 {
		t.Errorf("Refresh on the connection that allocated: got %s, want success", describe(res))
	}
}

// TestOtherFamilyRefused: relays are of turn.relay_ip's family; an
// Allocate for IPv6 relays on an IPv4 relay address gets an error, and no
// allocation is left behind.
func TestOtherFamilyRefused(t *testing.T) {
	leakcheck.Check(t)
	s := startServer(t, nil)
	c := dialSTUN(t, s, "udp")
	c.user, c.pass = s.mint("alice", time.Hour)
	ipv6 := stun.RawAttribute{Type: stun.AttrRequestedAddressFamily, Value: []byte{2, 0, 0, 0}}
	res := c.do(stun.MethodAllocate, udpTransport, ipv6)
	if code(res) == 0 {
		t.Errorf("IPv6 Allocate on an IPv4 relay address: got %s, want an error", describe(res))
	}
	t.Logf("answer: %s", describe(res))
	if n := s.metric(t, "switchboard_turn_allocations", ""); n != 0 {
		t.Errorf("allocations: got %v, want 0", n)
	}
}

// TestRelayProtocol: the server tells its relay addresses by the transport
// their clients came over, and forgets one once its allocation is gone.
func TestRelayProtocol(t *testing.T) {
	leakcheck.Check(t)
	s := startServer(t, nil)
	for _, network := range []string{"udp", "tcp", "tls"} {
		t.Run(network, func(t *testing.T) {
			c := dialSTUN(t, s, network)
			c.user, c.pass = s.mint("alice", time.Hour)
			res := c.do(stun.MethodAllocate, udpTransport)
			var relayed stun.XORMappedAddress
			if err := relayed.GetFromAs(res, stun.AttrXORRelayedAddress); err != nil {
				t.Fatalf("Allocate: got %s, want a relayed address: %v", describe(res), err)
			}
			addr := netip.AddrPortFrom(netip.MustParseAddr(relayed.IP.String()), uint16(relayed.Port))
			if got, ok := s.RelayProtocol(addr); !ok || got != network {
				t.Errorf("RelayProtocol(%v): got %q, %v; want %q, true", addr, got, ok, network)
			}
			other := netip.AddrPortFrom(addr.Addr(), addr.Port()+1)
			if got, ok := s.RelayProtocol(other); ok {
				t.Errorf("RelayProtocol(%v), no relay: got %q, true; want false", other, got)
			}
			if res := c.do(stun.MethodRefresh, stun.RawAttribute{Type: stun.AttrLifetime, Value: []byte{0, 0, 0, 0}}); code(res) != 0 {
				t.Fatalf("Refresh to 0: got %s", describe(res))
			}
			deadline := time.Now().Add(2 * time.Second)
			for _, ok := s.RelayProtocol(addr); ok; _, ok = s.RelayProtocol(addr) {
				if time.Now().After(deadline) {
					t.Fatalf("RelayProtocol(%v) still known 2s after the allocation was deleted", addr)
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
}

// TestUnverifiedConnectionsPerIP: one address holds at most
// maxUnverifiedPerIP TCP connections on which nothing has verified; the
// next is closed at once and counted, while another address connects and
// allocates; a connection that allocates, or closes, gives its place back.
func TestUnverifiedConnectionsPerIP(t *testing.T) {
	leakcheck.Check(t)
	defer func(n int) { maxUnverifiedPerIP = n }(maxUnverifiedPerIP)
	maxUnverifiedPerIP = 3
	s := startServer(t, nil)
	from := func(ip string) *stunClient {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: time.Second}
		conn, err := d.Dial("tcp", s.Addrs().TCP.String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		return &stunClient{t: t, conn: conn, stream: true}
	}
	// answers says whether the server answers a Binding request on c.
	answers := func(c *stunClient) bool {
		_ = c.conn.SetDeadline(time.Now().Add(2 * time.Second))
		defer c.conn.SetDeadline(time.Time{})
		if _, err := c.conn.Write(stun.MustBuild(stun.TransactionID, stun.BindingRequest).Raw); err != nil {
			return false
		}
		_, err := c.conn.Read(make([]byte, 1500))
		return err == nil
	}

	var idle []*stunClient
	for range maxUnverifiedPerIP {
		c := from("127.0.0.1")
		if !answers(c) {
			t.Fatal("a connection under the limit got no answer")
		}
		idle = append(idle, c)
	}
	if answers(from("127.0.0.1")) {
		t.Fatalf("connection %d from one address without credentials: answered, want closed", maxUnverifiedPerIP+1)
	}
	if n := s.metric(t, "switchboard_turn_refused_total", "connections_per_ip"); n != 1 {
		t.Errorf("refused connections_per_ip: %v, want 1", n)
	}

	other := from("127.0.0.2")
	other.user, other.pass = s.mint("bob", time.Hour)
	if res := other.do(stun.MethodAllocate, udpTransport); code(res) != 0 {
		t.Fatalf("Allocate from another address: got %s, want success", describe(res))
	}

	// One idle connection allocates: its place is free again.
	idle[0].user, idle[0].pass = s.mint("alice", time.Hour)
	if res := idle[0].do(stun.MethodAllocate, udpTransport); code(res) != 0 {
		t.Fatalf("Allocate on an idle connection: got %s, want success", describe(res))
	}
	if !answers(from("127.0.0.1")) {
		t.Error("after one connection verified, a new one from its address got no answer")
	}
	// Now full again; one closes, and its place is free too.
	if answers(from("127.0.0.1")) {
		t.Error("over the limit again: answered, want closed")
	}
	idle[1].conn.Close()
	deadline := time.Now().Add(2 * time.Second)
	for !answers(from("127.0.0.1")) {
		if time.Now().After(deadline) {
			t.Fatal("a closed connection's place was not given back within 2 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
