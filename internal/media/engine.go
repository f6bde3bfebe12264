package media

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/transport/v4/stdnet"

	"github.com/switchboard-gw/switchboard/internal/media/sock"
)

// browserReadBuffer is the receive buffer of each socket of the browser
// port: about 2,500 packets of G.711 over SRTP (the kernel counts each at
// about 800 bytes), where the default holds 256, a few milliseconds of a
// busy port's traffic, for the moments its poller is not running.
const browserReadBuffer = 1 << 20

// Config configures an Engine with the values of the config file's media
// block, taken as they are: New fills in nothing.
type Config struct {
	// WebRTCAddr is the one UDP address every browser leg shares (ICE over
	// a UDPMux). Required; port 0 picks a free port. An unspecified IP
	// (0.0.0.0, ::) needs PublicAddrs.
	WebRTCAddr netip.AddrPort
	// PublicAddrs are the IPs advertised as host candidates, for a gateway
	// behind 1:1 NAT. Empty means WebRTCAddr's IP.
	PublicAddrs []netip.Addr
	// RTPAddr is the IP plain legs bind to and write into SDP. Required.
	RTPAddr netip.Addr
	// RTPPorts is the inclusive port range for plain legs: an even RTP port
	// and RTCP on the next. Required: it must hold a pair.
	RTPPorts [2]int
	// MediaTimeout ends a bridge or relay (reason "media_timeout") when no
	// RTP came from either leg for this long after it started; zero turns
	// it off.
	MediaTimeout time.Duration
	// Workers is how many goroutines relay packets (pollers), each
	// reading its share of the calls' sockets and, past one, its socket
	// of the browser port's group (steer.go). Zero means half of
	// GOMAXPROCS, at least one.
	Workers int
}

// Deps are an Engine's collaborators.
type Deps struct {
	// Logger receives the engine's and pion's logs; nil discards them.
	Logger *slog.Logger
	// Metrics reports the pollers' counters; nil reports nothing.
	Metrics *Metrics
}

// Engine owns what every call shares: the browser-leg port (a socket per
// poller) and its ICE UDPMux, the pollers, the DTLS certificate and the
// plain-leg port pool.
type Engine struct {
	cfg         Config
	log         *slog.Logger
	pion        pionLogs
	sock        *muxSocket
	mux         *ice.UDPMuxDefault
	addr        netip.AddrPort
	cert        tls.Certificate
	fingerprint string
	ports       *portPool
	net         *stdnet.Net // the host's interfaces, read once for every ICE agent
	pollers     []*poller
	scratches   []*scratch // each poller's, by index
	nextPoller  atomic.Uint32

	// direct maps a browser leg's remote address to its bridge once SRTP
	// is up, for the pollers' direct relay (direct.go); each poller reads
	// it only to fill its own cache, on a miss.
	// checked maps the addresses that passed a bridge's ICE check to it,
	// for DTLS before ICE selects a pair (early.go).
	directMu sync.RWMutex
	direct   map[netip.AddrPort]*Bridge // guarded by directMu
	checked  map[netip.AddrPort]*Bridge // guarded by directMu

	// admit decides what of the rest may wait for pion's mux (admit.go).
	admit *admission

	mu     sync.Mutex
	closed bool                   // guarded by mu
	live   map[callMedia]struct{} // bridges and relays; guarded by mu

	// monitors counts the bridges' and relays' monitor goroutines, which
	// Close does not wait for while they run onEnd (onEnd may call Close).
	monitors sync.WaitGroup
}

// callMedia is one call's media the engine closes with itself: a Bridge or
// a PlainRelay.
type callMedia interface {
	Close() error
}

// New binds the browser-leg socket and makes the certificate.
func New(cfg Config, deps Deps) (*Engine, error) {
	if err := check(cfg); err != nil {
		return nil, err
	}
	if len(cfg.PublicAddrs) == 0 {
		cfg.PublicAddrs = []netip.Addr{cfg.WebRTCAddr.Addr()}
	}
	if cfg.Workers <= 0 {
		cfg.Workers = max(1, runtime.GOMAXPROCS(0)/2)
	}
	log := deps.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cert, err := newCertificate()
	if err != nil {
		return nil, fmt.Errorf("media: certificate: %w", err)
	}
	// An ICE agent without a Net of its own reads every interface and
	// address over netlink, which was a tenth of the CPU of a call.
	ifaces, err := stdnet.NewNet()
	if err != nil {
		return nil, fmt.Errorf("media: interfaces: %w", err)
	}
	group, err := sock.ListenGroup(cfg.WebRTCAddr, cfg.Workers, steerProgram(cfg.Workers))
	if err != nil {
		return nil, fmt.Errorf("media: %w", err)
	}
	e := &Engine{
		cfg:         cfg,
		log:         log,
		pion:        newPionLogs(log),
		sock:        newMuxSocket(group),
		addr:        group[0].LocalAddr(),
		cert:        cert,
		fingerprint: fingerprint(cert.Certificate[0]),
		ports:       newPortPool(cfg.RTPAddr, cfg.RTPPorts),
		net:         ifaces,
		live:        map[callMedia]struct{}{},
		direct:      map[netip.AddrPort]*Bridge{},
		checked:     map[netip.AddrPort]*Bridge{},
		admit:       newAdmission(),
	}
	for i, conn := range group {
		if err := conn.SetReadBuffer(browserReadBuffer); err != nil {
			e.sock.Close()
			e.closePollers()
			return nil, fmt.Errorf("media: %w", err)
		}
		p, sc, err := newPoller(i, conn)
		if err != nil {
			e.sock.Close()
			e.closePollers()
			return nil, err
		}
		e.pollers = append(e.pollers, p)
		e.scratches = append(e.scratches, sc)
	}
	for i, conn := range group {
		if err := e.pollers[i].AddDrained(conn, e.fromBrowserSocket); err != nil {
			e.sock.Close()
			e.closePollers()
			return nil, fmt.Errorf("media: %w", err)
		}
	}
	e.mux = ice.NewUDPMuxDefault(ice.UDPMuxParams{
		UDPConn: e.sock,
		Logger:  e.pion.NewLogger("udpmux"),
	})
	deps.Metrics.watch(e)
	return e, nil
}

// check returns the first thing in cfg no engine can run with; it fills
// in nothing.
func check(cfg Config) error {
	if !cfg.WebRTCAddr.IsValid() {
		return errors.New("media: WebRTCAddr is required")
	}
	if len(cfg.PublicAddrs) == 0 && cfg.WebRTCAddr.Addr().IsUnspecified() {
		return errors.New("media: PublicAddrs is required when WebRTCAddr's IP is unspecified")
	}
	for _, a := range cfg.PublicAddrs {
		if !a.IsValid() || a.IsUnspecified() {
			return fmt.Errorf("media: PublicAddrs: %v is not a usable address", a)
		}
	}
	if !cfg.RTPAddr.IsValid() {
		return errors.New("media: RTPAddr is required")
	}
	if cfg.RTPPorts[0] < 1 || cfg.RTPPorts[1] > 65535 || newPortPool(cfg.RTPAddr, cfg.RTPPorts).pairs() == 0 {
		return fmt.Errorf("media: RTPPorts %d-%d holds no even/odd port pair", cfg.RTPPorts[0], cfg.RTPPorts[1])
	}
	return nil
}

// Fingerprint is the certificate's fingerprint as an SDP a=fingerprint value:
// "sha-256 AB:CD:...".
func (e *Engine) Fingerprint() string { return e.fingerprint }

// WebRTCAddr is the bound browser-leg address.
func (e *Engine) WebRTCAddr() netip.AddrPort { return e.addr }

// Close closes every bridge and relay and the browser port, and returns
// once every goroutine the engine, its bridges and relays started is gone.
func (e *Engine) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	live := make([]callMedia, 0, len(e.live))
	for m := range e.live {
		live = append(live, m)
	}
	e.mu.Unlock()

	for _, m := range live {
		m.Close()
	}
	err := e.mux.Close()
	e.sock.waitReader()
	e.monitors.Wait()
	e.closePollers()
	return err
}

func (e *Engine) closePollers() {
	for _, p := range e.pollers {
		p.Close()
	}
}

// fromBrowserSocket is the handler of each poller's socket of the
// browser port: it relays SRTP of established legs on the spot, queues
// for pion's mux what pion could use, and refuses the rest (admit.go).
func (e *Engine) fromBrowserSocket(p []byte, src netip.AddrPort, sc *scratch) {
	if e.relayDirect(p, src, sc) {
		return
	}
	if ok, why := e.admit.admit(p, src, time.Now().UnixNano(), e.isChecked); !ok {
		sc.stats.refused[why].Add(1)
		return
	}
	e.sock.queue(p, src)
}

// isChecked reports whether src passed a bridge's ICE check (early.go).
func (e *Engine) isChecked(src netip.AddrPort) bool {
	e.directMu.RLock()
	_, ok := e.checked[src]
	e.directMu.RUnlock()
	return ok
}

// nextPollerIndex is the poller that reads the next call's plain sockets
// until its browser's media says which poller owns it (direct.go).
func (e *Engine) nextPollerIndex() int {
	return int(e.nextPoller.Add(1) % uint32(len(e.pollers)))
}

// pollSockets has poller i read a call's RTP and RTCP sockets with their
// handlers.
func (e *Engine) pollSockets(i int, rtp, rtcp *sock.UDP, onRTP, onRTCP handler) error {
	p := e.pollers[i]
	if err := p.Add(rtp, onRTP); err != nil {
		return fmt.Errorf("media: %w", err)
	}
	if err := p.Add(rtcp, onRTCP); err != nil {
		return fmt.Errorf("media: %w", err)
	}
	return nil
}

// track registers a new bridge or relay; false once the engine is closed.
func (e *Engine) track(m callMedia) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return false
	}
	e.live[m] = struct{}{}
	return true
}

func (e *Engine) untrack(m callMedia) {
	e.mu.Lock()
	delete(e.live, m)
	e.mu.Unlock()
}
