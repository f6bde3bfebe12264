package media

import (
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
)

var loopback = netip.MustParseAddr("127.0.0.1")

// newTestEngine starts an engine on loopback with a free port range of
// pairs port pairs and a 60s media timeout, and closes it when the test
// ends.
func newTestEngine(t testing.TB, pairs int, mod func(*Config)) *Engine {
	t.Helper()
	cfg := Config{
		WebRTCAddr:   netip.AddrPortFrom(loopback, 0),
		RTPAddr:      loopback,
		RTPPorts:     freePortRange(t, pairs),
		MediaTimeout: 60 * time.Second,
	}
	if mod != nil {
		mod(&cfg)
	}
	e, err := New(cfg, Deps{Logger: testLogger(t)})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// testLogger logs to the test at Info with -v, else Warn; lines that come
// after the test ended (from pion goroutines winding down) are dropped.
func testLogger(t testing.TB) *slog.Logger {
	level := slog.LevelWarn
	if testing.Verbose() {
		level = slog.LevelInfo
	}
	w := &testWriter{t: t}
	t.Cleanup(func() {
		w.mu.Lock()
		w.done = true
		w.mu.Unlock()
	})
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

type testWriter struct {
	t    testing.TB
	mu   sync.Mutex
	done bool // guarded by mu
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

// freePortRange finds pairs consecutive even/odd port pairs nobody holds,
// so parallel packages do not collide.
func freePortRange(t testing.TB, pairs int) [2]int {
	t.Helper()
	for try := 0; try < 50; try++ {
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		lo := c.LocalAddr().(*net.UDPAddr).Port &^ 1
		c.Close()
		if lo+2*pairs > 65535 {
			continue
		}
		ok := true
		for p := lo; p < lo+2*pairs && ok; p++ {
			c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: p})
			if err != nil {
				ok = false
				continue
			}
			c.Close()
		}
		if ok {
			return [2]int{lo, lo + 2*pairs - 1}
		}
	}
	t.Fatal("no free port range")
	return [2]int{}
}

// listenUDP binds a loopback socket the test closes at its end.
func listenUDP(t testing.TB) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func addrOf(c *net.UDPConn) netip.AddrPort { return c.LocalAddr().(*net.UDPAddr).AddrPort() }

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
