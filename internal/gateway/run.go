package gateway

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"
)

// drainQuiet is how long no transaction may be pending before a drain
// ends: long enough for the ACK that follows a 2xx, which belongs to no
// transaction.
const drainQuiet = 500 * time.Millisecond

// sweepInterval is how often expired registrations are removed.
const sweepInterval = 5 * time.Second

// Run serves until ctx is cancelled, then drains: no new dialogs or
// connections, live transactions may finish within shutdown.drain_timeout,
// then WebSockets close with 1001 and everything stops. It returns early,
// after stopping, when a listener fails.
func (g *Gateway) Run(ctx context.Context) error {
	failed := make(chan error, 8)
	serve := func(f func() error) {
		g.wg.Add(1)
		go func() {
			defer g.wg.Done()
			if err := f(); err != nil {
				failed <- err
			}
		}()
	}
	if g.net.UDP != nil {
		serve(g.net.UDP.Serve)
	}
	if g.net.TCP != nil {
		serve(g.net.TCP.Serve)
	}
	if g.net.TLS != nil {
		serve(g.net.TLS.Serve)
	}
	for _, ep := range []*httpEndpoint{g.http, g.https, g.admin} {
		if ep != nil {
			serve(func() error { return ignoreClosed(ep.srv.Serve(ep.ln)) })
		}
	}
	if g.services != nil {
		serve(g.services.Serve)
		g.log.Info("built-in services", "users", "echo, tone", "sip", g.services.Addr().String())
	}
	if g.registrar != nil {
		g.wg.Add(1)
		go g.sweep()
	}
	g.serving.Store(true)
	g.log.Info("switchboard started", g.cfg.Summary()...)
	g.log.Info("listening", g.Addrs().attrs()...)
	if u := g.softphoneURL(); u != "" {
		g.log.Info("softphone: open "+u+" in a browser, register any name, then call echo or tone", "url", u)
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-failed:
		g.log.Error("listener failed", "error", err)
	}
	g.shutdown()
	return err
}

func ignoreClosed(err error) error {
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// shutdown drains, then stops everything and waits for every goroutine.
// The admin listener serves until the end, its /readyz saying "draining".
func (g *Gateway) shutdown() {
	g.draining.Store(true)
	g.log.Info("draining", "transactions", g.layer.Pending(), "connections", g.net.Registry.Len(),
		"deadline", g.cfg.Shutdown.DrainTimeout)
	g.proxy.Drain()
	if g.ws != nil {
		g.ws.Drain()
	}
	if g.wss != nil {
		g.wss.Drain()
	}
	deadline := time.Now().Add(g.cfg.Shutdown.DrainTimeout)
	quiet := time.Now()
	for time.Now().Before(deadline) && time.Since(quiet) < drainQuiet {
		if g.layer.Pending() > 0 {
			quiet = time.Now()
		}
		time.Sleep(20 * time.Millisecond)
	}
	g.Close()
}

// Close stops at once: every listener and connection closes (WebSockets
// with 1001) and every goroutine the gateway started has returned.
func (g *Gateway) Close() { g.closeOnce.Do(g.close) }

func (g *Gateway) close() {
	close(g.stopSweep)
	for _, ep := range []*httpEndpoint{g.http, g.https} {
		if ep != nil {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			_ = ep.srv.Shutdown(ctx)
			cancel()
		}
	}
	if g.ws != nil {
		g.ws.Close()
	}
	if g.wss != nil {
		g.wss.Close()
	}
	g.closeListeners()
	g.proxy.Close()
	if g.turn != nil {
		_ = g.turn.Close()
	}
	if g.calls != nil {
		g.calls.Close()
		_ = g.engine.Close()
	}
	g.closeAdmin()
	g.wg.Wait()
	g.log.Info("switchboard stopped", "transactions_left", g.layer.Len())
}

func (g *Gateway) closeListeners() {
	if g.net == nil {
		return
	}
	if g.net.UDP != nil {
		_ = g.net.UDP.Close()
	}
	if g.net.TCP != nil {
		_ = g.net.TCP.Close()
	}
	if g.net.TLS != nil {
		_ = g.net.TLS.Close()
	}
	for _, ep := range []*httpEndpoint{g.http, g.https} {
		if ep != nil {
			_ = ep.ln.Close()
		}
	}
	if g.services != nil {
		_ = g.services.Close() // its calls end without BYE: the proxy is going too
	}
}

// closeAdmin stops the admin listener, last of all so that /metrics and
// /readyz answer until the rest has stopped.
func (g *Gateway) closeAdmin() {
	if g.admin == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	_ = g.admin.srv.Shutdown(ctx)
	cancel()
	_ = g.admin.ln.Close() // when Run never served it
}

func (g *Gateway) sweep() {
	defer g.wg.Done()
	t := time.NewTicker(sweepInterval)
	defer t.Stop()
	for {
		select {
		case <-g.stopSweep:
			return
		case <-t.C:
			if gone := g.registrar.Sweep(); len(gone) > 0 {
				g.log.Debug("registrations expired", "count", len(gone))
			}
		}
	}
}

// softphoneURL is where the softphone page is served, "" when it is off:
// the https listener's if there is one (browsers allow the microphone only
// on HTTPS pages or localhost), else the http one's. A wildcard address is
// shown as sip.advertise_host.
func (g *Gateway) softphoneURL() string {
	if !g.cfg.Softphone.Enabled {
		return ""
	}
	a := g.Addrs()
	scheme, addr := "https", a.HTTPS
	if !addr.IsValid() {
		scheme, addr = "http", a.HTTP
	}
	if !addr.IsValid() {
		return ""
	}
	host := addr.Addr().String()
	switch {
	case addr.Addr().IsUnspecified() && g.cfg.SIP.AdvertiseHost != "":
		host = g.cfg.SIP.AdvertiseHost
	case addr.Addr().Is6():
		host = "[" + host + "]"
	}
	return scheme + "://" + host + ":" + strconv.Itoa(int(addr.Port())) + "/"
}
