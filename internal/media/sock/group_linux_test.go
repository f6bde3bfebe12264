package sock

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/net/bpf"

	"github.com/switchboard-gw/switchboard/internal/testkit/leakcheck"
)

// byFirstByte steers a datagram to the socket its first byte names; 0xff
// and anything past the group fall back to the kernel's hash.
var byFirstByte = mustAssemble([]bpf.Instruction{
	bpf.LoadAbsolute{Off: 0, Size: 1},
	bpf.RetA{},
})

func mustAssemble(prog []bpf.Instruction) []bpf.RawInstruction {
	raw, err := bpf.Assemble(prog)
	if err != nil {
		panic(err)
	}
	return raw
}

// TestListenGroupSteers binds a group of three on IPv4 and on dual-stack
// IPv6, and checks that every member has the group's address, that each
// datagram reaches the member the program names, whoever sends it, and
// that one the program leaves to the kernel reaches exactly one member.
func TestListenGroupSteers(t *testing.T) {
	for _, tc := range []struct{ bind, peer string }{
		{"127.0.0.1:0", "127.0.0.1:0"},
		{"[::]:0", "127.0.0.1:0"},
	} {
		t.Run(tc.bind, func(t *testing.T) {
			leakcheck.Check(t)
			const n = 3
			group, err := ListenGroup(netip.MustParseAddrPort(tc.bind), n, byFirstByte)
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				for _, s := range group {
					s.Close()
				}
			}()
			if len(group) != n {
				t.Fatalf("got %d sockets, want %d", len(group), n)
			}
			port := group[0].LocalAddr().Port()
			for i, s := range group {
				if s.LocalAddr().Port() != port || port == 0 {
					t.Errorf("socket %d bound to %v, want port %d", i, s.LocalAddr(), port)
				}
			}
			dst := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), port)
			for sender := range 4 { // the program, not the 4-tuple, decides
				c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort(tc.peer)))
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				for want := range n {
					msg := []byte{byte(want), byte(sender)}
					if _, err := c.WriteToUDPAddrPort(msg, dst); err != nil {
						t.Fatal(err)
					}
					if got := receiver(t, group, msg); got != want {
						t.Errorf("datagram for socket %d from sender %d reached socket %d", want, sender, got)
					}
				}
				msg := []byte{0xff, byte(sender)}
				c.WriteToUDPAddrPort(msg, dst)
				if got := receiver(t, group, msg); got < 0 {
					t.Errorf("datagram left to the kernel reached no socket")
				}
			}
		})
	}
}

// receiver returns which socket of group received msg, or -1 after a
// while.
func receiver(t *testing.T, group []*UDP, msg []byte) int {
	t.Helper()
	buf := make([]byte, 64)
	var a rawAddr
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		for i, s := range group {
			n, _, err := s.recvFrom(buf, &a)
			if err == nil && string(buf[:n]) == string(msg) {
				return i
			}
			if err == nil {
				t.Errorf("socket %d got %x, want only %x", i, buf[:n], msg)
			}
		}
		time.Sleep(time.Millisecond)
	}
	return -1
}

// TestListenGroupRefusesAHeldPort: a second group on a group's port fails,
// though both set SO_REUSEPORT.
func TestListenGroupRefusesAHeldPort(t *testing.T) {
	leakcheck.Check(t)
	first, err := ListenGroup(netip.MustParseAddrPort("127.0.0.1:0"), 2, byFirstByte)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		for _, s := range first {
			s.Close()
		}
	}()
	if second, err := ListenGroup(first[0].LocalAddr(), 2, byFirstByte); err == nil {
		for _, s := range second {
			s.Close()
		}
		t.Errorf("a second group bound %v, held by the first", first[0].LocalAddr())
	}
}

// TestListenGroupOfOne is Listen: no SO_REUSEPORT, so the port stays the
// socket's own.
func TestListenGroupOfOne(t *testing.T) {
	group, err := ListenGroup(netip.MustParseAddrPort("127.0.0.1:0"), 1, byFirstByte)
	if err != nil {
		t.Fatal(err)
	}
	defer group[0].Close()
	if _, err := ListenGroup(group[0].LocalAddr(), 2, nil); err == nil {
		t.Error("a group joined a port bound without SO_REUSEPORT")
	}
}
