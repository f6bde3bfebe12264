// Package turnserver is switchboard's embedded TURN server (RFC 8656) on
// pion/turn: UDP, TCP and TLS listeners, coturn-compatible REST
// credentials (creds.go), quotas per user and in total, and a relay that
// reaches no address on this host or behind it unless told to (peers.go),
// switchboard's own media address aside, so that relayed browsers reach the
// bridge. gate.go answers what pion/turn answers otherwise (401 to bad
// credentials, 403 to denied peers); handler.go is the endpoint where
// switchboard's own registered users get short-lived credentials.
package turnserver

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"time"

	"github.com/pion/logging"
	"github.com/pion/stun/v4"
	"github.com/pion/turn/v5"
)

// Config configures the TURN server. Zero addresses are listeners that are
// off; at least one must be set.
type Config struct {
	// Realm is the STUN realm of the long-term credentials.
	Realm string
	// UDP, TCP and TLS are the listen addresses.
	UDP, TCP, TLS netip.AddrPort
	// TLSConfig holds the certificate of the TLS listener.
	TLSConfig *tls.Config
	// RelayIP is the address relay sockets bind; RelayPublicIP, when set,
	// is the one written in XOR-RELAYED-ADDRESS instead (a 1:1 NAT).
	RelayIP, RelayPublicIP netip.Addr
	// RelayPorts is the inclusive range of relay ports.
	RelayPorts [2]uint16
	// Secret is the shared secret of the REST credentials.
	Secret []byte
	// AllocationLifetime is the lifetime of an allocation whose request
	// names none (RFC 8656 §7.2; clients may ask for up to an hour).
	AllocationLifetime time.Duration
	// MaxAllocations and MaxAllocationsPerUser are the quotas; 0 is none.
	// MaxAllocations also bounds the open TCP and TLS connections of each
	// listener.
	MaxAllocations, MaxAllocationsPerUser int
	// AllowedPeers are networks relayed to even though they are denied by
	// default.
	AllowedPeers []netip.Prefix
	// Own are switchboard's media addresses as browsers reach them.
	Own []netip.AddrPort
}

// Deps are what the server is given.
type Deps struct {
	Logger  *slog.Logger
	Metrics *Metrics
	// Now is the clock credentials are checked with; nil is time.Now.
	Now func() time.Time
}

// Server is a running TURN server.
type Server struct {
	pion   *turn.Server
	creds  *Credentials
	relays *relays
	udp    net.PacketConn
	tcp    net.Listener
	tls    net.Listener
}

// New binds the listeners and serves them until Close.
func New(cfg Config, deps Deps) (*Server, error) {
	if deps.Now == nil {
		deps.Now = time.Now
	}
	s := &Server{creds: NewCredentials(cfg.Secret, cfg.Realm)}
	policy := NewPeerPolicy(cfg.AllowedPeers, cfg.Own)
	g := &gate{creds: s.creds, policy: policy, realm: cfg.Realm, metrics: deps.Metrics, now: deps.Now}
	relayIP := cfg.RelayPublicIP
	if !relayIP.IsValid() {
		relayIP = cfg.RelayIP
	}
	r := &relays{
		ports: &turn.RelayAddressGeneratorPortRange{
			RelayAddress: net.IP(relayIP.AsSlice()), Address: cfg.RelayIP.String(),
			MinPort: cfg.RelayPorts[0], MaxPort: cfg.RelayPorts[1],
		},
		policy: policy, maxTotal: cfg.MaxAllocations, maxPerUser: cfg.MaxAllocationsPerUser,
		log: deps.Logger, metrics: deps.Metrics,
		live: map[*relayConn]struct{}{}, perUser: map[string]int{}, byAddr: map[netip.AddrPort]*relayConn{},
	}
	deps.Metrics.relays.Store(r)
	s.relays = r
	permit := func(_ net.Addr, ip net.IP) bool {
		a, _ := netip.AddrFromSlice(ip)
		return policy.PermitIP(a)
	}
	sc := turn.ServerConfig{
		Realm:              cfg.Realm,
		AuthHandler:        s.auth(deps.Now),
		QuotaHandler:       r.quota,
		AllocationLifetime: cfg.AllocationLifetime,
		LoggerFactory:      pionLogs{deps.Logger},
	}
	if err := s.bind(cfg, g, r, permit, &sc); err != nil {
		s.closeSockets()
		return nil, err
	}
	var err error
	if s.pion, err = turn.NewServer(sc); err != nil {
		s.closeSockets()
		return nil, fmt.Errorf("turn: %w", err)
	}
	return s, nil
}

// bind opens each configured listener and adds it to sc behind the gate.
func (s *Server) bind(cfg Config, g *gate, r *relays, permit turn.PermissionHandler, sc *turn.ServerConfig) error {
	lc := net.ListenConfig{}
	if cfg.UDP.IsValid() {
		pc, err := lc.ListenPacket(context.Background(), "udp", cfg.UDP.String())
		if err != nil {
			return fmt.Errorf("turn.listen_udp: %w", err)
		}
		s.udp = pc
		sc.PacketConnConfigs = append(sc.PacketConnConfigs, turn.PacketConnConfig{
			PacketConn: &gatedPacketConn{PacketConn: pc, gate: g}, RelayAddressGenerator: listenerRelays{r, "udp"}, PermissionHandler: permit,
		})
	}
	listen := func(key string, addr netip.AddrPort, conf *tls.Config) (net.Listener, error) {
		proto := "tcp"
		if conf != nil {
			proto = "tls"
		}
		ln, err := lc.Listen(context.Background(), "tcp", addr.String())
		if err != nil {
			return nil, fmt.Errorf("%s: %w", key, err)
		}
		if conf != nil {
			ln = tls.NewListener(ln, conf)
		}
		gl := newGatedListener(ln, g, maxConns(cfg.MaxAllocations))
		sc.ListenerConfigs = append(sc.ListenerConfigs, turn.ListenerConfig{
			Listener: gl, RelayAddressGenerator: listenerRelays{r, proto}, PermissionHandler: permit,
		})
		return gl, nil
	}
	var err error
	if cfg.TCP.IsValid() {
		if s.tcp, err = listen("turn.listen_tcp", cfg.TCP, nil); err != nil {
			return err
		}
	}
	if cfg.TLS.IsValid() {
		if cfg.TLSConfig == nil {
			return errors.New("turn.listen_tls: needs a certificate")
		}
		if s.tls, err = listen("turn.listen_tls", cfg.TLS, cfg.TLSConfig); err != nil {
			return err
		}
	}
	if s.udp == nil && s.tcp == nil && s.tls == nil {
		return errors.New("turn: no listener")
	}
	return nil
}

func maxConns(maxAllocations int) int {
	if maxAllocations <= 0 {
		return 100000
	}
	return maxAllocations
}

// auth is pion's AuthHandler. The gate has refused what does not verify;
// this gives pion the key and the user the quotas count.
func (s *Server) auth(now func() time.Time) turn.AuthHandler {
	return func(ra *turn.RequestAttributes) (string, []byte, bool) {
		grace := refreshGrace
		if ra.Method == stun.MethodAllocate {
			grace = 0
		}
		user, key, res := s.creds.check(ra.Username, now(), grace)
		return user, key, res == credOK
	}
}

// RelayProtocol tells whether addr is the address of one of the server's
// live relays, advertised or bound, and if so the transport its client
// reaches the server over: "udp", "tcp" or "tls" (RFC 8656 §3.1). It takes
// a lock: for stats, not for every packet.
func (s *Server) RelayProtocol(addr netip.AddrPort) (string, bool) {
	return s.relays.protocol(addr)
}

// Credentials returns the server's credentials, to mint with.
func (s *Server) Credentials() *Credentials { return s.creds }

// Addrs are the bound listen addresses; zero for a listener that is off.
type Addrs struct {
	UDP, TCP, TLS netip.AddrPort
}

// Addrs returns the bound listen addresses.
func (s *Server) Addrs() Addrs {
	var a Addrs
	if s.udp != nil {
		a.UDP = s.udp.LocalAddr().(*net.UDPAddr).AddrPort()
	}
	if s.tcp != nil {
		a.TCP = s.tcp.Addr().(*net.TCPAddr).AddrPort()
	}
	if s.tls != nil {
		a.TLS = s.tls.Addr().(*net.TCPAddr).AddrPort()
	}
	return a
}

// Close stops the listeners, closes every allocation and connection, and
// returns when pion has let go of the connections.
func (s *Server) Close() error {
	if s.pion == nil {
		return nil
	}
	return s.pion.Close()
}

func (s *Server) closeSockets() {
	for _, c := range []interface{ Close() error }{s.udp, s.tcp, s.tls} {
		if c != nil {
			_ = c.Close()
		}
	}
}

// pionLogs routes pion/turn's log lines into slog at Debug: they concern
// one client, and the refusals that matter are counted and logged here.
type pionLogs struct{ log *slog.Logger }

func (f pionLogs) NewLogger(scope string) logging.LeveledLogger {
	return pionLogger{f.log.With("pion", scope)}
}

type pionLogger struct{ log *slog.Logger }

func (l pionLogger) logf(format string, args ...any) {
	if l.log.Enabled(context.Background(), slog.LevelDebug) {
		l.log.Debug(fmt.Sprintf(format, args...))
	}
}

func (l pionLogger) Trace(msg string)                  {}
func (l pionLogger) Tracef(format string, args ...any) {}
func (l pionLogger) Debug(msg string)                  { l.log.Debug(msg) }
func (l pionLogger) Debugf(format string, args ...any) { l.logf(format, args...) }
func (l pionLogger) Info(msg string)                   { l.log.Debug(msg) }
func (l pionLogger) Infof(format string, args ...any)  { l.logf(format, args...) }
func (l pionLogger) Warn(msg string)                   { l.log.Debug(msg) }
func (l pionLogger) Warnf(format string, args ...any)  { l.logf(format, args...) }
func (l pionLogger) Error(msg string)                  { l.log.Debug(msg) }
func (l pionLogger) Errorf(format string, args ...any) { l.logf(format, args...) }
