// Package services runs switchboard's built-in services, which any client
// reaches by dialling their names: "echo" answers and sends the caller's
// audio back, "tone" answers and plays a 440 Hz tone.
//
// The services are a plain SIP phone inside the process: a minimal user
// agent server (RFC 3261 §8.2, §12.1.1, §13.3, §15) on a loopback UDP
// socket, with plain RTP media. The proxy routes calls for them to that
// socket like calls to any phone, so the media bridge anchors a browser's
// call to them exactly as it anchors a call to a phone, and an echo test
// exercises the microphone, ICE, DTLS-SRTP and the bridge end to end.
package services

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
)

// The services, by the user part that reaches them.
const (
	Echo = "echo"
	Tone = "tone"
)

// The limits for the Config fields that are not in the config file, used
// when those fields are zero.
const (
	defaultIdleTimeout = 60 * time.Second
	defaultMaxCalls    = 1000
)

// Config says how the services behave. RTPAddr, MaxDuration and T1 come
// from the config file and are taken as they are; the other fields are not
// in the file and exist for tests.
type Config struct {
	// RTPAddr is the address media sockets bind and SDP advertises
	// (media.rtp_ip). Required.
	RTPAddr netip.Addr
	// MaxDuration ends a call with BYE after this long
	// (services.max_duration). Required.
	MaxDuration time.Duration
	// T1 is the round-trip estimate retransmissions start from (RFC 3261
	// §17.1.1.1, sip.t1). Required.
	T1 time.Duration
	// UserAgent is the value of the Server and User-Agent headers; "" sends
	// none.
	UserAgent string
	// IdleTimeout ends a call with BYE when no RTP arrived for this long
	// while the caller was sending; zero means 60s.
	IdleTimeout time.Duration
	// AnswerDelay rings (180) for this long before answering; zero answers
	// at once.
	AnswerDelay time.Duration
	// MaxCalls is the most calls up at once; more are answered 503. Zero
	// means 1000.
	MaxCalls int
}

// Deps are the services' collaborators.
type Deps struct {
	// Logger receives one line per call that ends; nil logs nothing.
	Logger *slog.Logger
	// Metrics counts calls; nil counts nothing.
	Metrics *Metrics
}

// t2 caps the retransmission interval, RFC 3261 §17.1.2.2.
func (c Config) t2() time.Duration { return max(8*c.T1, 4*time.Second) }

// Server is the services' user agent: one UDP socket for SIP, and per call
// an RTP socket and two goroutines (see call.run and stream.read).
type Server struct {
	cfg     Config
	log     *slog.Logger
	metrics *Metrics
	conn    *net.UDPConn
	addr    netip.AddrPort

	// closing is closed by Close; every call goroutine watches it.
	closing chan struct{}

	// mu guards the fields below. Goroutines are added to wg under mu and
	// only while closed is false, so that none starts after Close waits.
	mu     sync.Mutex
	calls  map[string]*call // by Call-ID, until they stop lingering
	active int              // calls not yet ended
	closed bool
	wg     sync.WaitGroup
}

// New binds the SIP socket on 127.0.0.1 with a port the kernel picks;
// Serve answers on it.
func New(cfg Config, deps Deps) (*Server, error) {
	if !cfg.RTPAddr.IsValid() || cfg.MaxDuration <= 0 || cfg.T1 <= 0 {
		return nil, errors.New("services: RTPAddr, MaxDuration and T1 are required")
	}
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, fmt.Errorf("services: %w", err)
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = defaultIdleTimeout
	}
	if cfg.MaxCalls <= 0 {
		cfg.MaxCalls = defaultMaxCalls
	}
	log := deps.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Server{
		cfg: cfg, log: log, metrics: deps.Metrics, conn: conn, addr: conn.LocalAddr().(*net.UDPAddr).AddrPort(),
		closing: make(chan struct{}), calls: map[string]*call{},
	}, nil
}

// Addr is the SIP address requests for the services go to.
func (s *Server) Addr() netip.AddrPort { return s.addr }

// Targets maps each service's user name to the address that answers it.
func (s *Server) Targets() map[string]netip.AddrPort {
	return map[string]netip.AddrPort{Echo: s.addr, Tone: s.addr}
}

// Active returns the number of calls up.
func (s *Server) Active() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.active
}

// Serve reads SIP messages until Close. One buffer and one parser serve
// every read; the parser copies what it keeps.
func (s *Server) Serve() error {
	if !s.track() {
		return nil
	}
	defer s.wg.Done()
	buf := make([]byte, 65536)
	parser := sip.NewParser()
	for {
		n, from, err := s.conn.ReadFromUDPAddrPort(buf)
		if errors.Is(err, net.ErrClosed) {
			return nil
		}
		if err != nil {
			continue
		}
		msg, err := parser.ParseSIP(buf[:n])
		if err != nil || !complete(msg) {
			continue // not SIP we can answer: a stateless UAS drops it
		}
		from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
		switch m := msg.(type) {
		case *sip.Request:
			m.SetSource(from.String())
			s.handleRequest(m, from)
		case *sip.Response:
			s.handleResponse(m)
		}
	}
}

// track counts one more goroutine in wg, unless the server is closed.
func (s *Server) track() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.wg.Add(1)
	return true
}

// complete reports whether msg has the headers every answer needs.
func complete(msg sip.Message) bool {
	return msg.Via() != nil && msg.From() != nil && msg.To() != nil && msg.CallID() != nil && msg.CSeq() != nil
}

// Close stops Serve, drops every call without signalling (the gateway
// around it is stopping) and returns when every goroutine has.
func (s *Server) Close() error {
	s.mu.Lock()
	already := s.closed
	s.closed = true
	s.mu.Unlock()
	if already {
		return nil
	}
	close(s.closing)
	err := s.conn.Close()
	s.wg.Wait()
	return err
}

// write sends b to addr; a lost datagram is what retransmissions are for.
func (s *Server) write(b []byte, to netip.AddrPort) {
	_, _ = s.conn.WriteToUDPAddrPort(b, to)
}

// send renders msg and sends it to addr, returning the bytes sent so that
// they can be sent again.
func (s *Server) send(msg sip.Message, to netip.AddrPort) []byte {
	b := []byte(msg.String())
	s.write(b, to)
	return b
}
