package gateway

import (
	"crypto/rand"
	"crypto/subtle"
	"fmt"
	"net/http"
	"net/netip"

	"github.com/switchboard-gw/switchboard/internal/media/callmedia"
	"github.com/switchboard-gw/switchboard/internal/media/turnserver"
	"github.com/switchboard-gw/switchboard/internal/signalling/siptransport"
)

// turnCredentialsPath is where registered users get TURN credentials.
const turnCredentialsPath = "/turn/credentials"

// buildTURN starts the TURN server when turn.enabled is set. It runs after
// buildMedia, whose bound address the relays may always reach, and after
// the registrar, which the credentials endpoint asks.
func (g *Gateway) buildTURN() error {
	t := g.cfg.TURN
	if !t.Enabled {
		return nil
	}
	secret := g.files.TURNSecret
	if secret == nil {
		secret = make([]byte, 32)
		_, _ = rand.Read(secret)
	}
	tc := turnserver.Config{
		Realm: t.Realm, UDP: t.ListenUDP, TCP: t.ListenTCP, TLS: t.ListenTLS,
		RelayIP: t.RelayIP, RelayPublicIP: t.RelayPublicIP, RelayPorts: [2]uint16{t.RelayPortMin, t.RelayPortMax},
		Secret: secret, AllocationLifetime: t.AllocationLifetime,
		MaxAllocations: t.MaxAllocations, MaxAllocationsPerUser: t.MaxAllocationsPerUser,
		AllowedPeers: t.AllowedPeers, Own: g.ownMedia(),
	}
	if t.ListenTLS.IsValid() {
		conf, err := g.tlsConfig()
		if err != nil {
			return fmt.Errorf("turn.listen_tls: %w", err)
		}
		tc.TLSConfig = conf
	}
	m := turnserver.NewMetrics(g.metrics)
	var err error
	if g.turn, err = turnserver.New(tc, turnserver.Deps{Logger: g.log.With("component", "turn"), Metrics: m}); err != nil {
		return err
	}
	if g.registrar != nil {
		deps := turnserver.HandlerDeps{Users: turnUsers{g: g}, Metrics: m}
		if r := t.CredentialsPerSecondPerIP; r > 0 {
			deps.Limiter = siptransport.NewRateLimiter(r, 5)
		}
		g.turnCreds = g.turn.Handler(turnserver.HandlerConfig{TTL: t.CredentialTTL, URLs: g.turnURLs()}, deps)
	}
	return nil
}

// ownMedia is switchboard's media address as browsers reach it: each of
// the bridge's candidates (media.public_ips resolved) at its port.
func (g *Gateway) ownMedia() []netip.AddrPort {
	if g.engine == nil {
		return nil
	}
	port := g.engine.WebRTCAddr().Port()
	own := make([]netip.AddrPort, len(g.mediaIPs))
	for i, ip := range g.mediaIPs {
		own[i] = netip.AddrPortFrom(ip, port)
	}
	return own
}

// turnURLs are the TURN URLs pages get: sip.advertise_host, else each
// listener's own IP, at the bound ports; turns: URLs name turn.tls_host
// when it is set.
func (g *Gateway) turnURLs() []string {
	a := g.turn.Addrs()
	var urls []string
	for _, l := range []struct {
		addr          netip.AddrPort
		udp, tcp, tls bool
	}{{a.UDP, true, false, false}, {a.TCP, false, true, false}, {a.TLS, false, false, true}} {
		if !l.addr.IsValid() {
			continue
		}
		host := g.cfg.SIP.AdvertiseHost
		if l.tls && g.cfg.TURN.TLSHost != "" {
			host = g.cfg.TURN.TLSHost
		}
		if host == "" {
			host = l.addr.Addr().Unmap().String()
		}
		if _, err := netip.ParseAddr(host); err == nil && l.tls {
			g.log.Warn("TURN over TLS is offered at an IP address, which Firefox skips: set turn.tls_host to a name the certificate covers",
				"url_host", host)
		}
		port := l.addr.Port()
		urls = append(urls, turnserver.URLs(host, pick(l.udp, port), pick(l.tcp, port), pick(l.tls, port))...)
	}
	return urls
}

func pick(on bool, port uint16) uint16 {
	if on {
		return port
	}
	return 0
}

// serveTURNCredentials is the credentials endpoint on the public
// listeners: 404 until TURN is on in registrar mode.
func (g *Gateway) serveTURNCredentials(w http.ResponseWriter, r *http.Request) {
	if g.turnCreds == nil {
		http.NotFound(w, r)
		return
	}
	g.turnCreds.ServeHTTP(w, r)
}

// turnRelays is the TURN server as the calls' stats see it. buildTURN runs
// after the call manager is made, and before any call: g.turn is read
// only then, and is nil when TURN is off.
type turnRelays struct{ g *Gateway }

var _ callmedia.Relays = turnRelays{}

func (r turnRelays) RelayProtocol(addr netip.AddrPort) (string, bool) {
	if r.g.turn == nil {
		return "", false
	}
	return r.g.turn.RelayProtocol(addr)
}

// turnUsers is the registrar as the credentials endpoint sees it: the
// users' passwords, with the registrar's lockout counting failures, and
// their registrations.
type turnUsers struct{ g *Gateway }

var _ turnserver.Users = turnUsers{}

func (u turnUsers) Authenticate(user, password string, src netip.Addr) bool {
	cfg := u.g.cfg.Registrar
	if !cfg.Auth {
		return true // an open registrar: anyone may register as anyone
	}
	lock := u.g.lockout
	if lock != nil && !lock.Allow(user, src) {
		return false
	}
	ok := false
	for _, usr := range cfg.Users {
		if usr.Username == user {
			ok = subtle.ConstantTimeCompare([]byte(usr.Password), []byte(password)) == 1
		}
	}
	switch {
	case lock == nil:
	case ok:
		lock.Succeeded(user, src)
	default:
		lock.Failed(user, src)
	}
	return ok
}

func (u turnUsers) Registered(user string) bool {
	return len(u.g.registrar.LookupUser(user)) > 0
}
