package gateway

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/internal/config"
	"github.com/switchboard-gw/switchboard/internal/testkit/siptest"
)

func TestLoopDetected(t *testing.T) {
	port := freeUDPPort(t)
	g := startGateway(t, func(c *config.Config) {
		c.Listen.UDP = netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port))
		c.Routes = []config.Route{{Prefix: "55", URI: sipURI(t, "sip:127.0.0.1:"+strconv.Itoa(port)+";transport=udp")}}
	})
	alice := browser(t, g, "alice")
	res, err := alice.Do(ctx(t), alice.NewRequest(sip.OPTIONS, userURI(g, "551")))
	if err != nil || res.StatusCode != 482 {
		t.Fatalf("request routed back to the gateway itself: got %v, %v; want 482", res, err)
	}
}

func TestConnectionsPerIPLimited(t *testing.T) {
	g := startGateway(t, func(c *config.Config) { c.Limits.MaxConnectionsPerIP = 2 })
	for i := range 2 {
		ws, err := siptest.DialWS(ctx(t), g.wsURL())
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		defer ws.Close()
	}
	_, err := siptest.DialWS(ctx(t), g.wsURL())
	var he *siptest.HandshakeError
	if !errors.As(err, &he) || he.StatusCode != 503 {
		t.Fatalf("third connection: got %v, want HTTP 503", err)
	}
}

func TestRequestRateLimited(t *testing.T) {
	g := startGateway(t, func(c *config.Config) { c.Limits.RequestsPerSecondPerIP = 5 })
	alice := browser(t, g, "alice")
	limited := 0
	for range 30 {
		res, err := alice.Do(ctx(t), alice.NewRequest(sip.OPTIONS, sip.Uri{Scheme: "sip", Host: g.domain()}))
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode == 503 {
			limited++
		}
	}
	if limited == 0 {
		t.Fatal("30 requests at once with a limit of 5/s (burst 10): none got 503")
	}
}

// TestSilentClientDelaysNoHandshake opens connections that never send a
// byte, then checks a real client still gets through at once.
func TestSilentClientDelaysNoHandshake(t *testing.T) {
	g := startGateway(t, func(c *config.Config) { c.WebSocket.HandshakeTimeout = 2 * time.Second })
	for range 20 {
		c, err := net.Dial("tcp", g.Addrs().HTTP.String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	start := time.Now()
	ws, err := siptest.DialWS(ctx(t), g.wsURL())
	if err != nil {
		t.Fatal(err)
	}
	ws.Close()
	if e := time.Since(start); e > 500*time.Millisecond {
		t.Errorf("handshake behind silent clients took %v", e)
	}
}

func freeUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close() // nothing else binds loopback ports in the gap
	return c.LocalAddr().(*net.UDPAddr).Port
}

// TestPortInUseIsAnErrorNotAPanic: a listener that cannot bind makes New
// fail with the key's name, and releases what it had bound.
func TestPortInUseIsAnErrorNotAPanic(t *testing.T) {
	taken, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	cfg := config.Embedded()
	cfg.Listen = config.Listen{HTTP: loopback0, TCP: loopback0, UDP: taken.LocalAddr().(*net.UDPAddr).AddrPort()}
	cfg.Media.WebRTCListen = loopback0
	_, err = New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err == nil || !strings.Contains(err.Error(), "listen.udp") {
		t.Fatalf("got %v, want an error naming listen.udp", err)
	}
}

// TestStreamDeadlinesFromConfig checks that limits.first_message_timeout
// and limits.idle_timeout reach the TCP listener.
func TestStreamDeadlinesFromConfig(t *testing.T) {
	g := startGateway(t, func(c *config.Config) {
		c.Limits.FirstMessageTimeout = 200 * time.Millisecond
		c.Limits.IdleTimeout = 400 * time.Millisecond
	})
	tests := []struct {
		name     string
		send     string
		min, max time.Duration
	}{
		{"silent", "", 200 * time.Millisecond, 1500 * time.Millisecond},
		{"idle after a message", options(g.Addrs().TCP.String()), 400 * time.Millisecond, 2 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			c, err := net.Dial("tcp", g.Addrs().TCP.String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_, _ = c.Write([]byte(tt.send))
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, err := io.Copy(io.Discard, c); err != nil {
				t.Fatalf("got %v, want the gateway to close the connection", err)
			}
			if e := time.Since(start); e < tt.min || e > tt.max {
				t.Errorf("closed after %v, want between %v and %v", e, tt.min, tt.max)
			}
		})
	}
}
