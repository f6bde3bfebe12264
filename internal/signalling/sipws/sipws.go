// Package sipws serves SIP over WebSocket (RFC 7118) behind net/http.
//
// net/http owns the listener, so the handshake runs on the connection's own
// goroutine under the server's header deadline: a slow or silent client never
// delays anyone else. The handler refuses a handshake that does not offer the
// "sip" subprotocol (RFC 7118 §4.1) or comes from an Origin not on the
// allow-list (RFC 6455 §10.2), a WebSocket version other than 13 (426 with
// Sec-WebSocket-Version: 13, §4.4) and a handshake with a header repeated
// that must be single (400, §11.3.1), then reads whole messages, text or
// binary, fragmented or not, up to a size limit (larger: close 1009), pings
// the client, and closes it when it falls silent. It fails a connection
// (§7.1.7) whose text message is not UTF-8 (1007, §8.1), whose close frame
// has a 1-byte body (1002, §5.5.1), that sends more than maxPingsPerSecond
// pings a second (1008), or whose message breaks the SIP framing rule (1002,
// after the answer).
package sipws

import (
	"log/slog"
	"net/http"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/switchboard-gw/switchboard/internal/signalling/siptransport"
)

// Subprotocol is the WebSocket subprotocol for SIP, RFC 7118 §4.1.
const Subprotocol = "sip"

// Config sets the endpoint's limits.
type Config struct {
	// AllowedOrigins lists the Origin values accepted; empty or "*" accepts any.
	AllowedOrigins []string
	// MaxMessageSize is the largest message accepted, in bytes. Required.
	MaxMessageSize int
	// PingInterval is how often a ping is sent; zero disables pings.
	PingInterval time.Duration
	// IdleTimeout closes a connection from which nothing arrived for this
	// long. Required.
	IdleTimeout time.Duration
	// WriteTimeout bounds one write. Required.
	WriteTimeout time.Duration
	// Secure marks the endpoint as wss: its flows use transport WSS.
	Secure bool
}

// Deps are a Server's collaborators.
type Deps struct {
	// Inbound checks and delivers every message the connections read.
	Inbound *siptransport.Inbound
	// Registry admits the connections and makes them findable by flow ID.
	Registry *siptransport.Registry
	// Logger logs the connections' ends.
	Logger *slog.Logger
	// Metrics counts handshakes and connections; nil counts nothing.
	Metrics *Metrics
}

// Server is an http.Handler for the WebSocket endpoint.
type Server struct {
	cfg      Config
	in       *siptransport.Inbound
	reg      *siptransport.Registry
	log      *slog.Logger
	upgrader websocket.Upgrader
	metrics  *Metrics

	// mu guards draining and conns.
	mu       sync.Mutex
	draining bool
	conns    map[*Conn]struct{}
	wg       sync.WaitGroup
}

// New returns a handler that delivers messages to deps.Inbound and registers
// its connections in deps.Registry.
func New(cfg Config, deps Deps) *Server {
	s := &Server{cfg: cfg, in: deps.Inbound, reg: deps.Registry, log: deps.Logger, metrics: deps.Metrics,
		conns: map[*Conn]struct{}{}}
	s.upgrader = websocket.Upgrader{
		Subprotocols:      []string{Subprotocol},
		ReadBufferSize:    readBufferSize,
		CheckOrigin:       s.originAllowed,
		WriteBufferPool:   writeBufferPool,
		EnableCompression: false,
		// gorilla's reasons name its checks and can quote the request:
		// the client gets the status text only.
		Error: func(w http.ResponseWriter, _ *http.Request, status int, _ error) {
			http.Error(w, http.StatusText(status), status)
		},
	}
	return s
}

// writeBufferPool lends write buffers only while a message is written, and
// readBufferSize keeps the read buffer small: an idle browser then holds no
// write buffer and 1 KiB of read buffer instead of net/http's 4 KiB.
var writeBufferPool = &sync.Pool{}

const readBufferSize = 1024

func (s *Server) originAllowed(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if len(s.cfg.AllowedOrigins) == 0 || slices.Contains(s.cfg.AllowedOrigins, "*") {
		return true
	}
	return origin != "" && slices.Contains(s.cfg.AllowedOrigins, origin)
}

// ServeHTTP upgrades the request to a SIP WebSocket.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !websocket.IsWebSocketUpgrade(r) {
		s.metrics.refused("not_websocket")
		http.Error(w, "this endpoint speaks SIP over WebSocket (RFC 7118)", http.StatusUpgradeRequired)
		return
	}
	if repeatsSingleHeader(r.Header) {
		s.metrics.refused("duplicate_header")
		http.Error(w, "handshake header repeated", http.StatusBadRequest)
		return
	}
	if v := r.Header.Values("Sec-Websocket-Version"); len(v) == 0 || v[0] != "13" {
		// RFC 6455 §4.2.2 step 4 and §4.4: the versions understood.
		s.metrics.refused("version")
		w.Header().Set("Sec-WebSocket-Version", "13")
		http.Error(w, "WebSocket version 13 required", http.StatusUpgradeRequired)
		return
	}
	if !slices.Contains(websocket.Subprotocols(r), Subprotocol) {
		s.metrics.refused("no_subprotocol")
		http.Error(w, `WebSocket subprotocol "sip" required (RFC 7118)`, http.StatusBadRequest)
		return
	}
	if !s.originAllowed(r) {
		s.metrics.refused("origin")
		http.Error(w, "origin not allowed", http.StatusForbidden)
		return
	}
	if s.isDraining() {
		s.metrics.refused("draining")
		w.Header().Set("Retry-After", "5")
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	remote, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		http.Error(w, "bad remote address", http.StatusBadRequest)
		return
	}
	release, err := s.reg.Admit(remote.Addr())
	if err != nil {
		s.metrics.refused("limit")
		w.Header().Set("Retry-After", "5")
		http.Error(w, "too many connections", http.StatusServiceUnavailable)
		return
	}
	watch := newFrameWatch()
	ws, err := s.upgrader.Upgrade(watchingWriter{w, watch}, r, nil)
	if err != nil {
		release()
		s.metrics.refused("handshake")
		return
	}
	s.serve(ws, watch, remote, release)
}

// singleHeaders are the handshake headers a client sends once: RFC 6455
// §11.3.1 and §11.3.5 (in a request), RFC 6454 §7.3 (Origin). gorilla reads
// the first of each.
var singleHeaders = []string{"Sec-Websocket-Key", "Sec-Websocket-Version", "Origin"}

func repeatsSingleHeader(h http.Header) bool {
	for _, name := range singleHeaders {
		if len(h.Values(name)) > 1 {
			return true
		}
	}
	return false
}

func (s *Server) serve(ws *websocket.Conn, watch *frameWatch, remote netip.AddrPort, release func()) {
	c := newConn(s, ws, watch, remote, release)
	s.mu.Lock()
	if s.draining {
		s.mu.Unlock()
		c.closeWith(websocket.CloseGoingAway, "shutting down")
		c.finish()
		return
	}
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	s.reg.Add(c)
	s.metrics.opened()
	// The read loop runs on a goroutine of its own so that this handler
	// returns: net/http's connection goroutine then ends and frees its 4 KiB
	// reader and the 4 KiB writer Hijack made, which it would otherwise keep
	// for the WebSocket's whole life.
	go func() {
		defer s.wg.Done()
		c.readLoop()
	}()
}

func (s *Server) forget(c *Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	s.reg.Remove(c)
	s.metrics.closed()
}

func (s *Server) isDraining() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.draining
}

// Drain refuses new connections from now on.
func (s *Server) Drain() {
	s.mu.Lock()
	s.draining = true
	s.mu.Unlock()
}

// Close refuses new connections, closes the live ones with 1001 Going Away
// (RFC 6455 §7.4.1) and waits for their goroutines. http.Server.Shutdown
// does not do this: it forgets hijacked connections.
func (s *Server) Close() {
	s.Drain()
	s.mu.Lock()
	conns := make([]*Conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.closeWith(websocket.CloseGoingAway, "server shutting down")
	}
	s.wg.Wait()
}

// Len returns the number of open connections.
func (s *Server) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}
