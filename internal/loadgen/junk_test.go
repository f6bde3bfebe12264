package loadgen

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/pion/stun/v4"
)

// TestJunk checks that Junk sends STUN binding requests naming a ufrag,
// until its context ends, and counts what it sent.
func TestJunk(t *testing.T) {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	type result struct {
		sent int64
		err  error
	}
	res := make(chan result, 1)
	go func() {
		n, err := Junk(ctx, netip.MustParseAddrPort(c.LocalAddr().String()))
		res <- result{n, err}
	}()
	buf := make([]byte, 1500)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := c.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	m := &stun.Message{Raw: buf[:n]}
	if err := m.Decode(); err != nil || m.Type != stun.BindingRequest {
		t.Fatalf("got %v (%v), want a binding request", m, err)
	}
	var u stun.Username
	if err := u.GetFrom(m); err != nil || u.String() != "nobodys:ufrag" {
		t.Errorf("USERNAME: got %q (%v)", u, err)
	}
	r := <-res
	if r.err != nil || r.sent < 1 {
		t.Errorf("got %d sent, %v", r.sent, r.err)
	}
}
