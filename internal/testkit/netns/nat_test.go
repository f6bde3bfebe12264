package netns

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// TestNATPolicies: from the private host, each policy lets out exactly what
// it says, and the public host sees the router's address.
func TestNATPolicies(t *testing.T) {
	for _, tt := range []struct {
		policy                            Policy
		udp5000, udp3478, tcp443, tcp8443 bool
	}{
		{Open, true, true, true, true},
		{UDPOnlyTo, false, true, true, true},
		{TCP443Only, false, false, true, false},
	} {
		t.Run(tt.policy.String(), func(t *testing.T) {
			n := New(t).NewNAT(tt.policy, 3478)
			if got := udpReaches(t, n, 5000); got != tt.udp5000 {
				t.Errorf("UDP to 5000 gets through: %v, want %v", got, tt.udp5000)
			}
			if got := udpReaches(t, n, 3478); got != tt.udp3478 {
				t.Errorf("UDP to 3478 gets through: %v, want %v", got, tt.udp3478)
			}
			if got := tcpReaches(t, n, 443); got != tt.tcp443 {
				t.Errorf("TCP to 443 gets through: %v, want %v", got, tt.tcp443)
			}
			if got := tcpReaches(t, n, 8443); got != tt.tcp8443 {
				t.Errorf("TCP to 8443 gets through: %v, want %v", got, tt.tcp8443)
			}
		})
	}
}

// udpReaches sends a datagram from the private host to the public one's
// port and reports whether it arrived, from the router's address, and
// whether the answer came back through the NAT.
func udpReaches(t *testing.T, n *NAT, port int) bool {
	t.Helper()
	var srv, cli net.PacketConn
	must(t, n.Public.Do(func() (err error) {
		srv, err = net.ListenPacket("udp4", netip.AddrPortFrom(n.PublicIP, uint16(port)).String())
		return err
	}))
	defer srv.Close()
	must(t, n.Private.Do(func() (err error) {
		cli, err = net.ListenPacket("udp4", ":0")
		return err
	}))
	defer cli.Close()
	to := net.UDPAddrFromAddrPort(netip.AddrPortFrom(n.PublicIP, uint16(port)))
	if _, err := cli.WriteTo([]byte("ping"), to); err != nil {
		return false
	}
	buf := make([]byte, 16)
	srv.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	_, from, err := srv.ReadFrom(buf)
	if err != nil {
		return false
	}
	if got := from.(*net.UDPAddr).AddrPort().Addr().Unmap(); got != n.RouterIP {
		t.Errorf("UDP from the private host arrived from %v, want the router's %v", got, n.RouterIP)
	}
	srv.WriteTo([]byte("pong"), from)
	cli.SetReadDeadline(time.Now().Add(time.Second))
	if _, _, err := cli.ReadFrom(buf); err != nil {
		t.Errorf("UDP to %d went out but the answer did not come back: %v", port, err)
	}
	return true
}

// tcpReaches reports whether the private host can connect to the public
// one's port.
func tcpReaches(t *testing.T, n *NAT, port int) bool {
	t.Helper()
	var ln net.Listener
	must(t, n.Public.Do(func() (err error) {
		ln, err = net.Listen("tcp4", netip.AddrPortFrom(n.PublicIP, uint16(port)).String())
		return err
	}))
	defer ln.Close()
	var c net.Conn
	err := n.Private.Do(func() (err error) {
		c, err = net.DialTimeout("tcp4", netip.AddrPortFrom(n.PublicIP, uint16(port)).String(), 300*time.Millisecond)
		return err
	})
	if err != nil {
		return false
	}
	c.Close()
	return true
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestHosts: a program run in a namespace resolves the names its hosts
// file gives, through the file and through the namespace's DNS server,
// which says at once that other names do not exist; another namespace
// does not know the name.
func TestHosts(t *testing.T) {
	l := New(t)
	a, b := l.Host("a"), l.Host("b")
	a.Hosts("198.18.0.2 turn.example.test")
	out, err := a.Command("getent", "hosts", "turn.example.test").Output()
	if err != nil || !strings.Contains(string(out), "198.18.0.2") {
		t.Errorf("getent in a: got %q, %v; want 198.18.0.2", out, err)
	}
	if out, err := b.Command("getent", "hosts", "turn.example.test").Output(); err == nil {
		t.Errorf("getent in b: got %q, want no such name", out)
	}
	if out, err := a.Command("cat", "/etc/resolv.conf").Output(); err != nil || string(out) != "nameserver 127.0.0.53\n" {
		t.Errorf("resolv.conf in a: %q, %v", out, err)
	}

	// The DNS server, asked as Chromium's own DNS client would.
	dns := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var c net.Conn
		err := a.Do(func() (err error) {
			c, err = (&net.Dialer{}).DialContext(ctx, network, resolverAddr)
			return err
		})
		return c, err
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	addrs, err := dns.LookupHost(ctx, "Turn.Example.Test")
	if err != nil || len(addrs) != 1 || addrs[0] != "198.18.0.2" {
		t.Errorf("DNS in a: %v, %v; want [198.18.0.2]", addrs, err)
	}
	_, err = dns.LookupHost(ctx, "clients2.google.com")
	var dnsErr *net.DNSError
	if !errors.As(err, &dnsErr) || !dnsErr.IsNotFound {
		t.Errorf("DNS in a, another name: %v; want not found", err)
	}
}
