package media

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/switchboard-gw/switchboard/internal/testkit/leakcheck"
)

// isWouldBlock reports whether err means nothing was queued.
func isWouldBlock(err error) bool { return errors.Is(err, unix.EAGAIN) }

// TestUDPSockSendReceive checks the raw socket's addresses both ways, on
// IPv4 and on a dual-stack IPv6 socket that reaches IPv4 peers through
// v4-mapped addresses.
func TestUDPSockSendReceive(t *testing.T) {
	leakcheck.Check(t)
	for _, tc := range []struct{ bind, peer string }{
		{"127.0.0.1:0", "127.0.0.1:0"},
		{"[::1]:0", "[::1]:0"},
		{"[::]:0", "127.0.0.1:0"},
	} {
		t.Run(tc.bind+"→"+tc.peer, func(t *testing.T) {
			s, err := listenUDPSock(netip.MustParseAddrPort(tc.bind))
			if err != nil {
				t.Skipf("no %s here: %v", tc.bind, err)
			}
			defer s.close()
			peer, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort(tc.peer)))
			if err != nil {
				t.Skipf("no %s here: %v", tc.peer, err)
			}
			defer peer.Close()
			peerAddr := peer.LocalAddr().(*net.UDPAddr).AddrPort()
			if s.local.Port() == 0 {
				t.Fatalf("local address %v has no port", s.local)
			}

			var a rawAddr
			if err := s.sendTo([]byte("ping"), peerAddr, &a); err != nil {
				t.Fatalf("sendTo %v: %v", peerAddr, err)
			}
			buf := make([]byte, 64)
			peer.SetReadDeadline(time.Now().Add(5 * time.Second))
			n, from, err := peer.ReadFromUDPAddrPort(buf)
			if err != nil || string(buf[:n]) != "ping" {
				t.Fatalf("peer read %q, %v", buf[:n], err)
			}
			if from.Port() != s.local.Port() {
				t.Errorf("peer saw source %v, want port %d", from, s.local.Port())
			}

			dst := netip.AddrPortFrom(peerAddr.Addr(), s.local.Port())
			if s.local.Addr().IsUnspecified() {
				dst = netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), s.local.Port())
			}
			if _, err := peer.WriteToUDPAddrPort([]byte("pong"), dst); err != nil {
				t.Fatal(err)
			}
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

func TestUDPSockClosed(t *testing.T) {
	leakcheck.Check(t)
	s, err := listenUDPSock(netip.MustParseAddrPort("127.0.0.1:0"))
	if err != nil {
		t.Fatal(err)
	}
	v4, err := listenUDPSock(netip.MustParseAddrPort("127.0.0.1:0"))
	if err != nil {
		t.Fatal(err)
	}
	defer v4.close()
	if err := v4.sendTo([]byte("x"), netip.MustParseAddrPort("[::1]:9"), nil); err == nil {
		t.Error("an IPv4 socket sent to an IPv6 address")
	}
	if err := s.close(); err != nil {
		t.Fatal(err)
	}
	if err := s.close(); err != nil {
		t.Errorf("second close: %v", err)
	}
	if err := s.sendTo([]byte("x"), v4.local, nil); !errors.Is(err, net.ErrClosed) {
		t.Errorf("sendTo after close = %v, want net.ErrClosed", err)
	}
	if _, _, err := s.recvFrom(make([]byte, 8), &rawAddr{}); !errors.Is(err, net.ErrClosed) {
		t.Errorf("recvFrom after close = %v, want net.ErrClosed", err)
	}
}

// TestPollerReadsEverySocket has one poller read many sockets, some of
// them drained, while sockets come and go, and checks that each datagram
// reaches its socket's handler once, and that closing the poller leaves
// no goroutine or descriptor behind.
func TestPollerReadsEverySocket(t *testing.T) {
	leakcheck.Check(t)
	p, err := newPoller()
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()

	const socks, perSock = 40, 50
	var mu sync.Mutex
	got := map[string]int{}
	all := make([]*udpSock, socks)
	for i := range all {
		s, err := listenUDPSock(netip.MustParseAddrPort("127.0.0.1:0"))
		if err != nil {
			t.Fatal(err)
		}
		defer s.close()
		s.drain = i%2 == 0
		s.handle = func(b []byte, _ netip.AddrPort, _ *scratch) {
			mu.Lock()
			got[string(b)]++
			mu.Unlock()
		}
		if err := p.add(s); err != nil {
			t.Fatal(err)
		}
		all[i] = s
	}
	// A socket that closes at once, and one added after close: neither
	// disturbs the others.
	gone, err := listenUDPSock(netip.MustParseAddrPort("127.0.0.1:0"))
	if err != nil {
		t.Fatal(err)
	}
	gone.handle = func([]byte, netip.AddrPort, *scratch) {}
	if err := p.add(gone); err != nil {
		t.Fatal(err)
	}
	gone.close()
	if err := p.add(gone); !errors.Is(err, net.ErrClosed) {
		t.Errorf("add after close = %v, want net.ErrClosed", err)
	}

	sender, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer sender.Close()
	for n := range perSock {
		for i, s := range all {
			msg := fmt.Sprintf("%d/%d", i, n)
			if _, err := sender.WriteToUDPAddrPort([]byte(msg), s.local); err != nil {
				t.Fatal(err)
			}
		}
		if n%10 == 9 {
			time.Sleep(time.Millisecond) // stay within the receive buffers
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n == socks*perSock {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("handlers saw %d distinct datagrams, want %d", n, socks*perSock)
		}
		time.Sleep(5 * time.Millisecond)
	}
	for msg, n := range got {
		if n != 1 {
			t.Errorf("datagram %q handled %d times", msg, n)
		}
	}
}

// TestBatchedSendAndReceive sends more than one batch through an outbox
// and reads it back with recvmmsg, checking order, sources and counters,
// and that a datagram the socket cannot send is counted as dropped.
func TestBatchedSendAndReceive(t *testing.T) {
	leakcheck.Check(t)
	from, err := listenUDPSock(netip.MustParseAddrPort("127.0.0.1:0"))
	if err != nil {
		t.Fatal(err)
	}
	defer from.close()
	to, err := listenUDPSock(netip.MustParseAddrPort("127.0.0.1:0"))
	if err != nil {
		t.Fatal(err)
	}
	defer to.close()

	const total = mmsgLen + 8
	o := newOutbox()
	var sent counter
	var leg legCounters
	for i := range total {
		p := fmt.Appendf(o.buf()[:0], "packet %d", i)
		o.queue(from, p, to.local, &sent, &leg, int64(i+1))
	}
	o.queue(from, []byte("nowhere"), netip.MustParseAddrPort("[::1]:9"), &sent, &leg, 0)
	o.flush()
	if got := sent.packets.Load(); got != total {
		t.Errorf("sent counts %d packets, want %d", got, total)
	}
	if got := leg.dropped.Load(); got != 1 {
		t.Errorf("dropped = %d, want 1 (the IPv6 destination)", got)
	}
	if got := leg.lastOut.Load(); got != total {
		t.Errorf("lastOut = %d, want the last packet's %d", got, total)
	}

	var got []string
	rx := newMmsgBatch(maxPacket)
	deadline := time.Now().Add(5 * time.Second)
	for len(got) < total && time.Now().Before(deadline) {
		n, err := to.recvBatch(rx)
		if isWouldBlock(err) {
			time.Sleep(time.Millisecond)
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		for i := range n {
			if src := rx.addrs[i].get(); src != from.local {
				t.Errorf("datagram %d from %v, want %v", len(got), src, from.local)
			}
			got = append(got, string(rx.bufs[i][:rx.hdrs[i].n]))
		}
	}
	if len(got) != total {
		t.Fatalf("received %d datagrams, want %d", len(got), total)
	}
	for i, g := range got {
		if want := fmt.Sprintf("packet %d", i); g != want {
			t.Fatalf("datagram %d is %q, want %q", i, g, want)
		}
	}
}
