package siptransport

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
)

// sendQueueLen bounds the messages waiting for one slow peer.
const sendQueueLen = 256

// Once its framing broke, a connection's answer is written and what the peer
// still sends is read and dropped for at most lingerTime or lingerBytes
// before it is closed, so that the peer reads the answer, not a reset.
const (
	lingerTime  = time.Second
	lingerBytes = 64 << 10
)

// StreamConfig bounds how long a TCP or TLS connection may stay silent.
type StreamConfig struct {
	// FirstMessageTimeout closes an accepted connection that has not
	// completed its TLS handshake and sent one whole SIP message this long
	// after it was accepted. CRLF keep-alives do not count: they keep a
	// flow (RFC 5626 §4.4.1), and a connection with no message is none.
	// Zero means no limit.
	FirstMessageTimeout time.Duration
	// IdleTimeout closes a connection on which nothing, not even a CRLF
	// keep-alive, arrived for this long (counted from the first message on
	// an accepted connection). Zero means no limit.
	IdleTimeout time.Duration
}

// StreamListener accepts SIP over TCP or TLS (RFC 3261 §18.3 framing by
// Content-Length) and dials out on the same transport.
type StreamListener struct {
	ln        net.Listener
	cfg       StreamConfig
	transport string
	local     netip.AddrPort
	in        *Inbound
	reg       *Registry
	dialTLS   *tls.Config

	// mu guards byRemote: the connection to reuse for each remote address.
	mu       sync.Mutex
	byRemote map[netip.AddrPort]*streamConn
	conns    sync.WaitGroup
}

// ListenTCP binds addr now, as net.ListenTCP does; Serve accepts on it.
func ListenTCP(addr netip.AddrPort, cfg StreamConfig, in *Inbound, reg *Registry) (*StreamListener, error) {
	ln, err := net.ListenTCP("tcp", net.TCPAddrFromAddrPort(addr))
	if err != nil {
		return nil, err
	}
	return newStreamListener(ln, cfg, TCP, in, reg, nil), nil
}

// ListenTLS binds addr now with the server config; dialConf is used to dial
// out (nil: system roots).
func ListenTLS(addr netip.AddrPort, cfg StreamConfig, conf, dialConf *tls.Config, in *Inbound, reg *Registry) (*StreamListener, error) {
	tcp, err := net.ListenTCP("tcp", net.TCPAddrFromAddrPort(addr))
	if err != nil {
		return nil, err
	}
	ln := tls.NewListener(tcp, conf)
	if dialConf == nil {
		dialConf = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	return newStreamListener(ln, cfg, TLS, in, reg, dialConf), nil
}

func newStreamListener(ln net.Listener, cfg StreamConfig, transport string, in *Inbound, reg *Registry, dialTLS *tls.Config) *StreamListener {
	return &StreamListener{
		ln: ln, cfg: cfg, transport: transport, local: ln.Addr().(*net.TCPAddr).AddrPort(),
		in: in, reg: reg, dialTLS: dialTLS, byRemote: map[netip.AddrPort]*streamConn{},
	}
}

// Addr is the bound address.
func (l *StreamListener) Addr() netip.AddrPort { return l.local }

// Serve accepts connections until Close.
func (l *StreamListener) Serve() error {
	for {
		nc, err := l.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			return err
		}
		remote := nc.RemoteAddr().(*net.TCPAddr).AddrPort()
		release, err := l.reg.Admit(remote.Addr())
		if err != nil {
			nc.Close()
			continue
		}
		l.start(nc, remote, release, true)
	}
}

// Dial returns a connection to remote, reusing one if it is open.
func (l *StreamListener) Dial(ctx context.Context, remote netip.AddrPort) (Conn, error) {
	l.mu.Lock()
	c := l.byRemote[remote]
	l.mu.Unlock()
	if c != nil {
		return c, nil
	}
	release, err := l.reg.Admit(remote.Addr())
	if err != nil {
		return nil, err
	}
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", remote.String())
	if err == nil && l.transport == TLS {
		tc := tls.Client(nc, l.dialTLS.Clone())
		if err = tc.HandshakeContext(ctx); err != nil {
			nc.Close()
		}
		nc = tc
	}
	if err != nil {
		release()
		return nil, err
	}
	return l.start(nc, remote, release, false), nil
}

// start serves nc. An accepted connection must send its first message
// within FirstMessageTimeout; one switchboard dialled need not.
func (l *StreamListener) start(nc net.Conn, remote netip.AddrPort, release func(), accepted bool) *streamConn {
	c := &streamConn{l: l, nc: nc, remote: remote, source: remote.String(), flowID: l.reg.NewFlowID(lowerTransport(l.transport) + "-"), release: release,
		heard: !accepted || l.cfg.FirstMessageTimeout <= 0}
	if !c.heard {
		_ = nc.SetDeadline(time.Now().Add(l.cfg.FirstMessageTimeout))
	}
	c.queue = NewStreamWriteQueue(sendQueueLen, c.write, func(error) { nc.Close() })
	l.mu.Lock()
	l.byRemote[remote] = c
	l.mu.Unlock()
	l.reg.Add(c)
	l.conns.Add(1)
	go c.readLoop()
	return c
}

// Close stops accepting, closes every connection and waits for them.
func (l *StreamListener) Close() error {
	err := l.ln.Close()
	l.mu.Lock()
	for _, c := range l.byRemote {
		c.nc.Close()
	}
	l.mu.Unlock()
	l.conns.Wait()
	return err
}

// streamConn is one TCP or TLS connection.
type streamConn struct {
	l       *StreamListener
	nc      net.Conn
	remote  netip.AddrPort
	source  string // remote as text
	flowID  string
	queue   *WriteQueue
	release func()

	// The fields below are used by the read goroutine only. heard is set
	// once a whole message arrived (or the first-message deadline does not
	// apply); touched is when the idle deadline was last moved; broken is
	// set when a message broke the framing rule.
	heard   bool
	touched time.Time
	broken  bool
}

var _ StreamConn = (*streamConn)(nil)

func (c *streamConn) Transport() string          { return c.l.transport }
func (c *streamConn) LocalAddr() netip.AddrPort  { return c.l.local }
func (c *streamConn) RemoteAddr() netip.AddrPort { return c.remote }
func (c *streamConn) FlowID() string             { return c.flowID }
func (c *streamConn) RemoteSource() string       { return c.source }
func (c *streamConn) Send(msg sip.Message) error { return c.queue.PushMessage(msg) }

// SendBuffer queues a message rendered by hand (BufferSender).
func (c *streamConn) SendBuffer(buf *bytes.Buffer) error { return c.queue.PushBuffer(buf) }

func (c *streamConn) write(b []byte) error {
	_ = c.nc.SetWriteDeadline(time.Now().Add(10 * time.Second))
	_, err := c.nc.Write(b)
	return err
}

// BreakFraming stops reading: the read loop closes the connection once the
// answer to the message that broke the framing rule is written.
func (c *streamConn) BreakFraming() { c.broken = true }

func (c *streamConn) readLoop() {
	defer c.l.conns.Done()
	defer c.closed()
	if !c.handshake() {
		return
	}
	c.keepAlive()
	f := &framer{max: c.l.in.limits.MaxMessageSize}
	buf := make([]byte, 4096)
	for {
		n, err := c.nc.Read(buf)
		if n > 0 {
			// What the messages read call for on this connection is
			// written here, after their dispatch (WriteQueue.Hold).
			c.queue.Hold()
			ok := c.consume(f, buf[:n])
			c.queue.Flush()
			if !ok {
				c.l.in.metrics.connClosed(c.l.transport, "framing")
				c.shutAfterFault()
				return
			}
			c.keepAlive()
		}
		if err != nil {
			if isTimeout(err) {
				c.l.in.metrics.connClosed(c.l.transport, c.timeoutReason())
			}
			return // EOF or reset: routine for a stream; ConnClosed tells the owner
		}
	}
}

// handshake completes a TLS server handshake under the first-message
// deadline; it reports false when the connection is to be dropped.
func (c *streamConn) handshake() bool {
	tc, ok := c.nc.(*tls.Conn)
	if !ok {
		return true
	}
	if tc.ConnectionState().HandshakeComplete {
		return true // dialled: Dial completed it
	}
	if err := tc.Handshake(); err != nil {
		c.l.in.metrics.connClosed(c.l.transport, "tls_handshake")
		return false
	}
	return true
}

func (c *streamConn) timeoutReason() string {
	if !c.heard {
		return "first_message_timeout"
	}
	return "idle_timeout"
}

// keepAlive moves the read deadline after bytes arrived. Until the first
// whole message the deadline set at accept stands; from then on it is
// IdleTimeout past the last read, or none. Moving a deadline costs a timer
// update, so it moves at most once per idleGrain: a silent connection is
// closed between IdleTimeout and IdleTimeout+idleGrain after it fell silent.
func (c *streamConn) keepAlive() {
	if !c.heard {
		return
	}
	idle := c.l.cfg.IdleTimeout
	now := time.Now()
	if !c.touched.IsZero() && (idle <= 0 || now.Sub(c.touched) < idleGrain(idle)) {
		return
	}
	c.touched = now
	var deadline time.Time
	if idle > 0 {
		deadline = now.Add(idle + idleGrain(idle))
	}
	_ = c.nc.SetReadDeadline(deadline)
}

// idleGrain is how far an idle deadline may lag: 1/64 of the idle timeout,
// at most a second.
func idleGrain(idle time.Duration) time.Duration { return min(idle/64, time.Second) }

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// consume frames the bytes into messages; false means the stream is broken
// (the framing rule refused a message): there is no boundary left to
// resynchronise on.
func (c *streamConn) consume(f *framer, data []byte) bool {
	f.push(data)
	for {
		kind, msg, fl := f.next()
		switch kind {
		case frameBroken:
			if msg != nil {
				c.l.in.refuse(fl, msg, c)
			} else {
				c.l.in.metrics.rejected(fl.label)
			}
			return false
		case framePing:
			_ = c.queue.Push([]byte("\r\n"))
		case frameMessage:
			c.heard = true
			c.l.in.framed(msg, c)
			if c.broken {
				return false
			}
		default:
			return true
		}
	}
}

// shutAfterFault lets the answer to a message that broke the framing rule
// reach the peer: what is queued is written, the write side is shut, and
// what the peer still sends is read and dropped for a moment, so that the
// close is not a reset that could discard the answer on the peer's side.
func (c *streamConn) shutAfterFault() {
	c.queue.Seal()
	c.queue.Wait()
	switch nc := c.nc.(type) {
	case *net.TCPConn:
		_ = nc.CloseWrite()
	case *tls.Conn:
		_ = nc.CloseWrite()
	}
	_ = c.nc.SetReadDeadline(time.Now().Add(lingerTime))
	_, _ = io.CopyN(io.Discard, c.nc, lingerBytes)
}

func (c *streamConn) closed() {
	c.nc.Close()
	c.queue.Close()
	c.queue.Wait()
	c.l.mu.Lock()
	if c.l.byRemote[c.remote] == c {
		delete(c.l.byRemote, c.remote)
	}
	c.l.mu.Unlock()
	c.l.reg.Remove(c)
	c.release()
	c.l.in.Handler().ConnClosed(c)
}

func lowerTransport(t string) string {
	switch t {
	case TCP:
		return "tcp"
	case TLS:
		return "tls"
	}
	return t
}
