package sock

import (
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/switchboard-gw/switchboard/internal/testkit/leakcheck"
)

// isWouldBlock reports whether err means nothing was queued.
func isWouldBlock(err error) bool { return errors.Is(err, unix.EAGAIN) }

// listen binds a loopback socket the test closes at its end.
func listen(t testing.TB) *UDP {
	t.Helper()
	s, err := Listen(netip.MustParseAddrPort("127.0.0.1:0"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestUDPSendReceive checks the raw socket's addresses both ways, on IPv4
// and on a dual-stack IPv6 socket that reaches IPv4 peers through
// v4-mapped addresses.
func TestUDPSendReceive(t *testing.T) {
	leakcheck.Check(t)
	for _, tc := range []struct{ bind, peer string }{
		{"127.0.0.1:0", "127.0.0.1:0"},
		{"[::1]:0", "[::1]:0"},
		{"[::]:0", "127.0.0.1:0"},
	} {
		t.Run(tc.bind+"→"+tc.peer, func(t *testing.T) {
			s, err := Listen(netip.MustParseAddrPort(tc.bind))
			if err != nil {
				t.Skipf("no %s here: %v", tc.bind, err)
			}
			defer s.Close()
			peer, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort(tc.peer)))
			if err != nil {
				t.Skipf("no %s here: %v", tc.peer, err)
			}
			defer peer.Close()
			peerAddr := peer.LocalAddr().(*net.UDPAddr).AddrPort()
			local := s.LocalAddr()
			if local.Port() == 0 {
				t.Fatalf("local address %v has no port", local)
			}

			if err := s.SendTo([]byte("ping"), peerAddr); err != nil {
				t.Fatalf("SendTo %v: %v", peerAddr, err)
			}
			buf := make([]byte, 64)
			peer.SetReadDeadline(time.Now().Add(5 * time.Second))
			n, from, err := peer.ReadFromUDPAddrPort(buf)
			if err != nil || string(buf[:n]) != "ping" {
				t.Fatalf("peer read %q, %v", buf[:n], err)
			}
			if from.Port() != local.Port() {
				t.Errorf("peer saw source %v, want port %d", from, local.Port())
			}

			dst := netip.AddrPortFrom(peerAddr.Addr(), local.Port())
			if local.Addr().IsUnspecified() {
				dst = netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), local.Port())
			}
			if _, err := peer.WriteToUDPAddrPort([]byte("pong"), dst); err != nil {
				t.Fatal(err)
			}
			var a rawAddr
			deadline := time.Now().Add(5 * time.Second)
			for {
				n, src, err := s.recvFrom(buf, &a)
				if err == nil {
					if string(buf[:n]) != "pong" || src != peerAddr {
						t.Fatalf("recvFrom = %q from %v, want \"pong\" from %v", buf[:n], src, peerAddr)
					}
					break
				}
				if !isWouldBlock(err) || time.Now().After(deadline) {
					t.Fatalf("recvFrom: %v", err)
				}
				time.Sleep(time.Millisecond)
			}
		})
	}
}

func TestUDPClosed(t *testing.T) {
	leakcheck.Check(t)
	s, err := Listen(netip.MustParseAddrPort("127.0.0.1:0"))
	if err != nil {
		t.Fatal(err)
	}
	v4 := listen(t)
	if err := v4.SendTo([]byte("x"), netip.MustParseAddrPort("[::1]:9")); !errors.Is(err, unix.EAFNOSUPPORT) {
		t.Errorf("an IPv4 socket sending to an IPv6 address: got %v, want EAFNOSUPPORT", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := s.SendTo([]byte("x"), v4.LocalAddr()); !errors.Is(err, net.ErrClosed) {
		t.Errorf("SendTo after Close = %v, want net.ErrClosed", err)
	}
	if _, _, err := s.recvFrom(make([]byte, 8), &rawAddr{}); !errors.Is(err, net.ErrClosed) {
		t.Errorf("recvFrom after Close = %v, want net.ErrClosed", err)
	}
}

// TestSendToAllocatesNothing holds the packet path to its promise.
func TestSendToAllocatesNothing(t *testing.T) {
	s, sink := listen(t), listen(t)
	p := make([]byte, 160)
	if n := testing.AllocsPerRun(100, func() { s.SendTo(p, sink.LocalAddr()) }); n != 0 {
		t.Errorf("SendTo: got %v allocations, want 0", n)
	}
}
