package turnserver

import (
	"net"
	"testing"
	"time"

	"github.com/pion/turn/v5"
)

// pionAllocate makes a UDP allocation with pion's TURN client and returns
// the relayed connection, closed when the test ends.
func pionAllocate(t *testing.T, s *testServer) net.PacketConn { return pionAllocateB(t, s) }

// pionAllocateB is pionAllocate for tests and benchmarks.
func pionAllocateB(t testing.TB, s *testServer) net.PacketConn {
	t.Helper()
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	user, pass := s.mint("alice", time.Hour)
	c, err := turn.NewClient(&turn.ClientConfig{
		TURNServerAddr: s.Addrs().UDP.String(), Username: user, Password: pass, Realm: "switchboard", Conn: conn,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Listen(); err != nil {
		t.Fatal(err)
	}
	relay, err := c.Allocate()
	if err != nil {
		c.Close()
		conn.Close()
		t.Fatalf("Allocate: %v", err)
	}
	t.Cleanup(func() {
		relay.Close()
		c.Close()
		conn.Close()
	})
	return relay
}
