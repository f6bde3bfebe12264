// Package gateway is switchboard's composition root: it builds every
// component from the configuration, binds every socket before serving, and
// stops them in order: drain first, then close. Tests reuse it to run whole
// gateways in one process.
package gateway

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/switchboard-gw/switchboard/internal/config"
	"github.com/switchboard-gw/switchboard/internal/media"
	"github.com/switchboard-gw/switchboard/internal/media/callmedia"
	"github.com/switchboard-gw/switchboard/internal/media/turnserver"
	"github.com/switchboard-gw/switchboard/internal/ops"
	"github.com/switchboard-gw/switchboard/internal/services"
	"github.com/switchboard-gw/switchboard/internal/signalling/registrar"
	"github.com/switchboard-gw/switchboard/internal/signalling/sipproxy"
	"github.com/switchboard-gw/switchboard/internal/signalling/siptransport"
	"github.com/switchboard-gw/switchboard/internal/signalling/siptx"
	"github.com/switchboard-gw/switchboard/internal/signalling/sipws"
	"github.com/switchboard-gw/switchboard/web"
)

// Gateway is one running switchboard.
type Gateway struct {
	cfg     *config.Config
	files   config.Files // what the files cfg names hold
	log     *slog.Logger
	metrics *prometheus.Registry

	net       *siptransport.Network
	layer     *siptx.Layer
	proxy     *sipproxy.Proxy
	registrar *registrar.Registrar
	engine    *media.Engine // nil when the media bridge is off
	mediaIPs  []netip.Addr  // the media bridge's candidates (media.public_ips resolved)
	calls     *callmedia.Manager
	services  *services.Server   // nil when services.enabled is off
	lockout   *registrar.Lockout // nil without registrar.auth
	turn      *turnserver.Server // nil when turn.enabled is off
	turnCreds http.Handler       // the credentials endpoint; nil when off

	ws, wss     *sipws.Server
	http, https *httpEndpoint
	admin       *httpEndpoint // nil when listen.admin is off

	// serving is set once Run serves every listener, draining when the
	// drain begins: /readyz reads them.
	serving, draining atomic.Bool

	stopSweep chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup
}

// httpEndpoint is a bound HTTP listener and its server.
type httpEndpoint struct {
	ln  net.Listener
	srv *http.Server
}

// New builds a gateway and binds its sockets; Run serves them. On error
// nothing stays bound.
func New(cfg *config.Config, log *slog.Logger) (*Gateway, error) {
	files, err := cfg.ReadFiles()
	if err != nil {
		return nil, err
	}
	g := &Gateway{cfg: cfg, files: files, log: log, metrics: prometheus.NewRegistry(), stopSweep: make(chan struct{})}
	g.metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if err := g.build(); err != nil {
		g.closeListeners()
		g.closeAdmin()
		if g.turn != nil {
			_ = g.turn.Close()
		}
		if g.calls != nil {
			g.calls.Close()
		}
		if g.engine != nil {
			_ = g.engine.Close()
		}
		return nil, err
	}
	return g, nil
}

func (g *Gateway) build() error {
	cfg := g.cfg
	g.layer = siptx.New(siptx.Config{T1: cfg.SIP.T1}, siptx.Deps{Metrics: siptx.NewMetrics(g.metrics)})
	limits := siptransport.InboundConfig{
		MaxMessageSize: cfg.Limits.MaxMessageSize, MaxHeaders: cfg.Limits.MaxHeaders,
		MaxVia: cfg.Limits.MaxVia, RequestsPerSecondPerIP: cfg.Limits.RequestsPerSecondPerIP,
	}
	inMetrics := siptransport.NewMetrics(g.metrics)
	in := siptransport.NewInbound(limits, siptransport.InboundDeps{Handler: g.layer, Raw: g.layer, Metrics: inMetrics})
	wsLimits := limits
	wsLimits.MaxMessageSize = cfg.WebSocket.MaxMessageSize
	wsIn := siptransport.NewInbound(wsLimits, siptransport.InboundDeps{Handler: g.layer, Raw: g.layer, Metrics: inMetrics})
	g.net = &siptransport.Network{
		Registry: siptransport.NewRegistry(siptransport.RegistryConfig{
			MaxConnections: cfg.Limits.MaxConnections, MaxConnectionsPerIP: cfg.Limits.MaxConnectionsPerIP,
		}),
		Endpoints: map[string]siptransport.Endpoint{},
	}
	if err := g.bindSIP(in); err != nil {
		return err
	}
	if err := g.bindHTTP(wsIn); err != nil {
		return err
	}
	if err := g.bindAdmin(); err != nil {
		return err
	}
	if err := g.bindServices(); err != nil {
		return err
	}
	if err := g.buildMedia(); err != nil {
		return err
	}
	proxyCfg := g.proxyConfig()
	deps := sipproxy.Deps{Layer: g.layer, Network: g.net, Logger: g.log, Metrics: sipproxy.NewMetrics(g.metrics)}
	if proxyCfg.Mode == sipproxy.ModeRegistrar {
		g.registrar = g.buildRegistrar()
		deps.Registrations, deps.Locator = proxyRegistrar{g.registrar}, proxyRegistrar{g.registrar}
	}
	if proxyCfg.Auth {
		deps.Authenticator = proxyAuth{g.registrar.Auth()}
	}
	if g.calls != nil {
		deps.Media = g.calls
	}
	if err := g.buildTURN(); err != nil {
		return err
	}
	var err error
	g.proxy, err = sipproxy.New(proxyCfg, deps)
	return err
}

// buildMedia starts the media engine, unless media.webrtc_listen is empty.
// It runs before the proxy is built, which its hang-up callback reaches
// through g: no call runs before the proxy exists.
func (g *Gateway) buildMedia() error {
	m := g.cfg.Media
	if !m.WebRTCListen.IsValid() {
		return nil
	}
	mc := mediaConfig(m)
	var err error
	if mc.PublicAddrs, err = publicIPs(m, interfaceIPs); err != nil {
		return err
	}
	deps := media.Deps{Logger: g.log.With("component", "media"), Metrics: media.NewMetrics(g.metrics)}
	if g.engine, err = media.New(mc, deps); err != nil {
		return fmt.Errorf("media.webrtc_listen: %w", err)
	}
	g.mediaIPs = mc.PublicAddrs
	if len(g.mediaIPs) == 0 {
		g.mediaIPs = []netip.Addr{g.engine.WebRTCAddr().Addr()}
	}
	g.log.Info("media bridge", "webrtc_listen", g.engine.WebRTCAddr().String(), "candidates", fmt.Sprint(g.mediaIPs))
	g.calls = callmedia.New(callmedia.Config{AnchorAll: m.AnchorAll, MaxCalls: m.MaxCalls, RefuseOverload: m.RefuseOverload}, callmedia.Deps{
		Engine: g.engine, Logger: g.log, Metrics: callmedia.NewMetrics(g.metrics), Relays: turnRelays{g},
		OnEnd: func(callID, reason string) {
			g.log.Info("ending call", "call_id", callID, "reason", reason)
			g.proxy.Hangup(callID, reason)
		},
	})
	return nil
}

// bindServices binds the built-in services, unless services.enabled is
// off. The proxy reaches them over UDP, so without listen.udp they stay off.
func (g *Gateway) bindServices() error {
	cfg := g.cfg
	if !cfg.Services.Enabled {
		return nil
	}
	if g.net.UDP == nil {
		g.log.Warn("built-in services off: they need listen.udp")
		return nil
	}
	sc := services.Config{
		RTPAddr:     cfg.Media.RTPIP, // where the bridge's plain legs are, and phones reach
		MaxDuration: cfg.Services.MaxDuration, T1: cfg.SIP.T1, UserAgent: cfg.SIP.UserAgent,
	}
	deps := services.Deps{Logger: g.log.With("component", "services"), Metrics: services.NewMetrics(g.metrics)}
	var err error
	g.services, err = services.New(sc, deps)
	return err
}

func mediaConfig(m config.Media) media.Config {
	return media.Config{
		WebRTCAddr: m.WebRTCListen, PublicAddrs: m.PublicIPs.IPs, RTPAddr: m.RTPIP,
		RTPPorts:     [2]int{int(m.RTPPorts.Min), int(m.RTPPorts.Max)},
		MediaTimeout: m.Timeout, Workers: m.Workers,
	}
}

// buildRegistrar builds the registrar and, when it authenticates, the
// in-memory lockout of users and addresses that fail too often.
func (g *Gateway) buildRegistrar() *registrar.Registrar {
	m := registrar.NewMetrics(g.metrics)
	deps := registrar.Deps{Metrics: m}
	if g.cfg.Registrar.Auth {
		g.lockout = registrar.NewLockout(lockoutConfig(g.cfg.Registrar.Lockout),
			registrar.LockoutDeps{Logger: g.log.With("component", "auth"), Metrics: m})
		deps.Attempts = g.lockout
	}
	return registrar.New(registrarConfig(g.cfg), deps)
}

func lockoutConfig(o config.Lockout) registrar.LockoutConfig {
	return registrar.LockoutConfig{
		UserIPFailures: o.UserIPFailures, UserFailures: o.UserFailures, IPFailures: o.IPFailures,
		Window: o.Window, Duration: o.Duration,
	}
}

func registrarConfig(cfg *config.Config) registrar.Config {
	users := map[string]string{}
	for _, u := range cfg.Registrar.Users {
		users[u.Username] = u.Password
	}
	return registrar.Config{
		Realm: cfg.Registrar.Realm, Domain: cfg.SIP.Domain, Auth: cfg.Registrar.Auth, Users: users,
		NonceTTL: cfg.Registrar.NonceTTL, MinExpires: cfg.Registrar.MinExpires,
		MaxExpires: cfg.Registrar.MaxExpires, DefaultExpires: cfg.Registrar.DefaultExpires,
		MaxContacts: cfg.Registrar.MaxContacts, DigestAlgorithms: cfg.Registrar.DigestAlgorithms,
	}
}

func (g *Gateway) proxyConfig() sipproxy.Config {
	cfg := g.cfg
	pc := sipproxy.Config{Mode: sipproxy.ModeRegistrar, Auth: cfg.Registrar.Auth, UserAgent: cfg.SIP.UserAgent,
		UpstreamPath: cfg.Upstream.Path, Trusted: g.trusted(), StripHeaders: cfg.Security.StripHeaders,
		Domain: cfg.SIP.Domain, Limits: sipproxy.Limits{
			CallsPerUser: cfg.Limits.CallsPerUser, CallRatePerUser: cfg.Limits.CallRatePerUser,
			MaxCallDuration: cfg.Limits.MaxCallDuration,
			AckTimeout:      64 * cfg.SIP.T1, // RFC 3261 §13.3.1.4: how long a UAS waits for the ACK
		}}
	if g.services != nil {
		pc.Services = g.services.Targets()
	}
	if cfg.Mode == config.ModeUpstream {
		pc.Mode, pc.Auth = sipproxy.ModeUpstream, false // the PBX authenticates
		pc.Upstream = cfg.Upstream.URI
	}
	for _, r := range cfg.Routes {
		pc.Routes = append(pc.Routes, sipproxy.Route{Prefix: r.Prefix, Strip: r.Strip, URI: r.URI, Allow: r.Allow, Deny: r.Deny})
	}
	return pc
}

// bindSIP binds the UDP, TCP and TLS listeners that are configured.
func (g *Gateway) bindSIP(in *siptransport.Inbound) error {
	cfg := g.cfg
	stream := siptransport.StreamConfig{FirstMessageTimeout: cfg.Limits.FirstMessageTimeout, IdleTimeout: cfg.Limits.IdleTimeout}
	var err error
	if cfg.Listen.UDP.IsValid() {
		if g.net.UDP, err = siptransport.ListenUDP(cfg.Listen.UDP, in); err != nil {
			return fmt.Errorf("listen.udp: %w", err)
		}
		g.advertise(siptransport.UDP, g.net.UDP.Addr())
	}
	if cfg.Listen.TCP.IsValid() {
		if g.net.TCP, err = siptransport.ListenTCP(cfg.Listen.TCP, stream, in, g.net.Registry); err != nil {
			return fmt.Errorf("listen.tcp: %w", err)
		}
		g.advertise(siptransport.TCP, g.net.TCP.Addr())
	}
	if cfg.Listen.TLS.IsValid() {
		conf, err := g.tlsConfig()
		if err != nil {
			return err
		}
		if g.net.TLS, err = siptransport.ListenTLS(cfg.Listen.TLS, stream, conf, nil, in, g.net.Registry); err != nil {
			return fmt.Errorf("listen.tls: %w", err)
		}
		g.advertise(siptransport.TLS, g.net.TLS.Addr())
	}
	return nil
}

// bindHTTP binds the HTTP and HTTPS listeners that carry the WebSockets.
func (g *Gateway) bindHTTP(in *siptransport.Inbound) error {
	cfg := g.cfg
	wsCfg := sipws.Config{
		AllowedOrigins: cfg.WebSocket.AllowedOrigins, MaxMessageSize: cfg.WebSocket.MaxMessageSize,
		PingInterval: cfg.WebSocket.PingInterval, IdleTimeout: cfg.WebSocket.IdleTimeout,
		WriteTimeout: cfg.WebSocket.WriteTimeout,
	}
	wsDeps := sipws.Deps{Inbound: in, Registry: g.net.Registry, Logger: g.log, Metrics: sipws.NewMetrics(g.metrics)}
	if cfg.Listen.HTTP.IsValid() {
		g.ws = sipws.New(wsCfg, wsDeps)
		ep, err := g.listenHTTP(cfg.Listen.HTTP, g.ws, nil)
		if err != nil {
			return fmt.Errorf("listen.http: %w", err)
		}
		g.http = ep
		g.advertise(siptransport.WS, addrPort(ep.ln))
	}
	if cfg.Listen.HTTPS.IsValid() {
		conf, err := g.tlsConfig()
		if err != nil {
			return err
		}
		wsCfg.Secure = true
		g.wss = sipws.New(wsCfg, wsDeps)
		ep, err := g.listenHTTP(cfg.Listen.HTTPS, g.wss, conf)
		if err != nil {
			return fmt.Errorf("listen.https: %w", err)
		}
		g.https = ep
		g.advertise(siptransport.WSS, addrPort(ep.ln))
	}
	return nil
}

func (g *Gateway) listenHTTP(addr netip.AddrPort, ws http.Handler, conf *tls.Config) (*httpEndpoint, error) {
	var ln net.Listener
	ln, err := net.ListenTCP("tcp", net.TCPAddrFromAddrPort(addr))
	if err != nil {
		return nil, err
	}
	if conf != nil {
		ln = tls.NewListener(ln, conf)
	}
	mux := http.NewServeMux()
	mux.Handle(g.cfg.WebSocket.Path, ws)
	if g.cfg.Softphone.Enabled {
		mux.Handle("/", web.Handler())
		ops.RegisterCall(mux, g.callState) // the page's media panel
	}
	if g.cfg.TURN.Enabled {
		mux.HandleFunc(turnCredentialsPath, g.serveTURNCredentials)
	}
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: g.cfg.WebSocket.HandshakeTimeout,
		IdleTimeout:       g.cfg.WebSocket.IdleTimeout,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(g.log.Handler(), slog.LevelDebug),
	}
	return &httpEndpoint{ln: ln, srv: srv}, nil
}

// tlsConfig is the TLS configuration of the https and tls listeners, with
// the certificate config.ReadFiles read.
func (g *Gateway) tlsConfig() (*tls.Config, error) {
	if g.files.Certificate == nil {
		return nil, errors.New("tls: needs tls.cert_file and tls.key_file")
	}
	return &tls.Config{Certificates: []tls.Certificate{*g.files.Certificate}, MinVersion: tls.VersionTLS12}, nil
}

// advertise records the address written in Via and Record-Route for a
// transport: the configured host, else the bound IP.
func (g *Gateway) advertise(transport string, bound netip.AddrPort) {
	host := g.cfg.SIP.AdvertiseHost
	if host == "" {
		host = bound.Addr().Unmap().String()
		if bound.Addr().Is6() && !bound.Addr().Is4In6() {
			host = "[" + host + "]"
		}
	}
	g.net.Endpoints[transport] = siptransport.Endpoint{Host: host, Port: int(bound.Port())}
}

func addrPort(ln net.Listener) netip.AddrPort {
	return ln.Addr().(*net.TCPAddr).AddrPort()
}

// Addrs are the bound addresses, for tests and the start-up log.
type Addrs struct {
	HTTP, HTTPS, UDP, TCP, TLS, Admin netip.AddrPort
	// TURN are the TURN listeners, zero when turn.enabled is off.
	TURN turnserver.Addrs
}

// attrs are the bound addresses as log attributes, unset ones left out.
func (a Addrs) attrs() []any {
	var out []any
	for _, kv := range []struct {
		name string
		addr netip.AddrPort
	}{{"http", a.HTTP}, {"https", a.HTTPS}, {"udp", a.UDP}, {"tcp", a.TCP}, {"tls", a.TLS}, {"admin", a.Admin},
		{"turn_udp", a.TURN.UDP}, {"turn_tcp", a.TURN.TCP}, {"turn_tls", a.TURN.TLS}} {
		if kv.addr.IsValid() {
			out = append(out, slog.String(kv.name, kv.addr.String()))
		}
	}
	return out
}

// Addrs returns the bound addresses; unset ones are zero.
func (g *Gateway) Addrs() Addrs {
	var a Addrs
	if g.http != nil {
		a.HTTP = addrPort(g.http.ln)
	}
	if g.https != nil {
		a.HTTPS = addrPort(g.https.ln)
	}
	if g.net.UDP != nil {
		a.UDP = g.net.UDP.Addr()
	}
	if g.net.TCP != nil {
		a.TCP = g.net.TCP.Addr()
	}
	if g.net.TLS != nil {
		a.TLS = g.net.TLS.Addr()
	}
	if g.admin != nil {
		a.Admin = addrPort(g.admin.ln)
	}
	if g.turn != nil {
		a.TURN = g.turn.Addrs()
	}
	return a
}

// Metrics returns the gateway's metrics registry.
func (g *Gateway) Metrics() *prometheus.Registry { return g.metrics }

// Registrar returns the registrar, or nil in upstream mode.
func (g *Gateway) Registrar() *registrar.Registrar { return g.registrar }

// Transactions returns the number of live SIP transactions.
func (g *Gateway) Transactions() int { return g.layer.Len() }

// Connections returns the number of live TCP, TLS and WebSocket flows.
func (g *Gateway) Connections() int { return g.net.Registry.Len() }
