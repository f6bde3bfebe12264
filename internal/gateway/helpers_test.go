package gateway

import (
	"context"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/internal/config"
	"github.com/switchboard-gw/switchboard/internal/testkit/siptest"
)

// testGateway runs a gateway on loopback ports chosen by the kernel.
type testGateway struct {
	*Gateway
	done chan error
	stop context.CancelFunc
	once sync.Once
}

// loopback0 is a listen address on loopback with a port the kernel picks.
var loopback0 = netip.MustParseAddrPort("127.0.0.1:0")

// sipURI parses a SIP URI for a config.
func sipURI(t testing.TB, s string) sip.Uri {
	t.Helper()
	var u sip.Uri
	if err := sip.ParseUri(s, &u); err != nil {
		t.Fatal(err)
	}
	return u
}

func startGateway(t testing.TB, mutate func(*config.Config)) *testGateway {
	t.Helper()
	cfg := config.Embedded()
	cfg.Listen = config.Listen{HTTP: loopback0, UDP: loopback0, TCP: loopback0, Admin: loopback0}
	cfg.Shutdown.DrainTimeout = 2 * time.Second
	cfg.Limits.RequestsPerSecondPerIP = 0
	cfg.Media.WebRTCListen = loopback0
	if mutate != nil {
		mutate(cfg)
	}
	var log *slog.Logger
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	} else {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	g, err := New(cfg, log)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, stop := context.WithCancel(context.Background())
	tg := &testGateway{Gateway: g, done: make(chan error, 1), stop: stop}
	go func() { tg.done <- g.Run(ctx) }()
	t.Cleanup(tg.shutdown)
	return tg
}

func (g *testGateway) shutdown() {
	g.once.Do(func() {
		g.stop()
		<-g.done
	})
}

func (g *testGateway) wsURL() string { return "ws://" + g.Addrs().HTTP.String() + "/ws" }

func (g *testGateway) domain() string { return g.Addrs().UDP.Addr().String() }

// browser is a JsSIP-like user on a WebSocket.
func browser(t testing.TB, g *testGateway, user string) *siptest.UA {
	t.Helper()
	ws, err := siptest.DialWS(ctx(t), g.wsURL())
	if err != nil {
		t.Fatalf("DialWS: %v", err)
	}
	t.Cleanup(func() { ws.Close() })
	return &siptest.UA{Transport: ws, User: user, Domain: g.domain(),
		InstanceID: "<urn:uuid:" + user + "-0000-4000-8000-000000000000>", RegID: 1}
}

// phone is a plain SIP phone on UDP that talks to the gateway.
func phone(t testing.TB, g *testGateway, user string, opts ...siptest.UDPOption) (*siptest.UDPPeer, *siptest.UA) {
	t.Helper()
	p, err := siptest.NewUDPPeer(opts...)
	if err != nil {
		t.Fatalf("NewUDPPeer: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	ua := p.UA(user, g.Addrs().UDP)
	ua.Domain = g.domain()
	return p, ua
}

func register(t testing.TB, ua *siptest.UA) {
	t.Helper()
	res, err := ua.Register(ctx(t), 300)
	if err != nil {
		t.Fatalf("register %s: %v", ua.User, err)
	}
	if res.StatusCode != 200 {
		t.Fatalf("register %s: got %d %s, want 200", ua.User, res.StatusCode, res.Reason)
	}
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return c
}

func userURI(g *testGateway, user string) sip.Uri {
	return sip.Uri{Scheme: "sip", User: user, Host: g.domain()}
}
