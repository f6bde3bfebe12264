package gateway

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/switchboard-gw/switchboard/internal/media/callmedia"
	"github.com/switchboard-gw/switchboard/internal/ops"
)

// The admin listener's HTTP timeouts: its clients are scrapers and
// probes, which ask one short question at a time.
const (
	adminReadHeaderTimeout = 5 * time.Second
	adminIdleTimeout       = time.Minute
)

// Why /readyz says the gateway is not ready.
var (
	errStarting = errors.New("starting")
	errDraining = errors.New("draining")
)

// bindAdmin binds the admin listener, unless listen.admin is off.
func (g *Gateway) bindAdmin() error {
	addr := g.cfg.Listen.Admin
	if !addr.IsValid() {
		return nil
	}
	cfg := ops.Config{Token: g.files.AdminToken}
	ln, err := net.ListenTCP("tcp", net.TCPAddrFromAddrPort(addr))
	if err != nil {
		return fmt.Errorf("listen.admin: %w", err)
	}
	handler := ops.New(cfg, ops.Deps{Metrics: g.metrics, Calls: g.callStates, Ready: g.readiness})
	g.admin = &httpEndpoint{ln: ln, srv: &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: adminReadHeaderTimeout,
		IdleTimeout:       adminIdleTimeout,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(g.log.Handler(), slog.LevelDebug),
	}}
	return nil
}

// readiness is /readyz's answer: nil once Run serves every listener, until
// the drain begins.
func (g *Gateway) readiness() error {
	switch {
	case g.draining.Load():
		return errDraining
	case !g.serving.Load():
		return errStarting
	}
	return nil
}

// callStates is the media state of every anchored call, for /calls; nil
// when the media bridge is off. (The HTTP listeners are bound before the
// media engine is built, so it reads g.calls when asked.)
func (g *Gateway) callStates() []callmedia.CallState {
	if g.calls == nil {
		return nil
	}
	return g.calls.Snapshot()
}

// callState is the media state of one anchored call, for the softphone's
// /calls/{call-id}.
func (g *Gateway) callState(callID string) (callmedia.CallState, bool) {
	if g.calls == nil {
		return callmedia.CallState{}, false
	}
	return g.calls.State(callID)
}
