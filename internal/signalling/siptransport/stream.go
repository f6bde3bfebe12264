package siptransport

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
)

// sendQueueLen bounds the messages waiting for one slow peer.
const sendQueueLen = 256

// StreamListener accepts SIP over TCP or TLS (RFC 3261 §18.3 framing by
// Content-Length) and dials out on the same transport.
type StreamListener struct {
	ln        net.Listener
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
func ListenTCP(addr netip.AddrPort, in *Inbound, reg *Registry) (*StreamListener, error) {
	ln, err := net.ListenTCP("tcp", net.TCPAddrFromAddrPort(addr))
	if err != nil {
		return nil, err
	}
	return newStreamListener(ln, TCP, in, reg, nil), nil
}

// ListenTLS binds addr now with the server config; dialConf is used to dial
// out (nil: system roots).
func ListenTLS(addr netip.AddrPort, conf, dialConf *tls.Config, in *Inbound, reg *Registry) (*StreamListener, error) {
	tcp, err := net.ListenTCP("tcp", net.TCPAddrFromAddrPort(addr))
	if err != nil {
		return nil, err
	}
	ln := tls.NewListener(tcp, conf)
	if dialConf == nil {
		dialConf = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	return newStreamListener(ln, TLS, in, reg, dialConf), nil
}

func newStreamListener(ln net.Listener, transport string, in *Inbound, reg *Registry, dialTLS *tls.Config) *StreamListener {
	return &StreamListener{
		ln: ln, transport: transport, local: ln.Addr().(*net.TCPAddr).AddrPort(),
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
		l.start(nc, remote, release)
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
	return l.start(nc, remote, release), nil
}

func (l *StreamListener) start(nc net.Conn, remote netip.AddrPort, release func()) *streamConn {
	c := &streamConn{l: l, nc: nc, remote: remote, flowID: l.reg.NewFlowID(lowerTransport(l.transport) + "-"), release: release}
	c.queue = NewWriteQueue(sendQueueLen, c.write, func(error) { nc.Close() })
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
	flowID  string
	queue   *WriteQueue
	release func()
}

func (c *streamConn) Transport() string          { return c.l.transport }
func (c *streamConn) LocalAddr() netip.AddrPort  { return c.l.local }
func (c *streamConn) RemoteAddr() netip.AddrPort { return c.remote }
func (c *streamConn) FlowID() string             { return c.flowID }
func (c *streamConn) Send(msg sip.Message) error { return c.queue.PushMessage(msg) }

func (c *streamConn) write(b []byte) error {
	_ = c.nc.SetWriteDeadline(time.Now().Add(10 * time.Second))
	_, err := c.nc.Write(b)
	return err
}

func (c *streamConn) readLoop() {
	defer c.l.conns.Done()
	defer c.closed()
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
				return
			}
		}
		if err != nil {
			return // EOF or reset: routine for a stream; ConnClosed tells the owner
		}
	}
}

// consume frames the bytes into messages; false means the stream is broken:
// no Content-Length, or a message over the size limit, leaves no boundary
// to resynchronise on.
func (c *streamConn) consume(f *framer, data []byte) bool {
	f.push(data)
	for {
		kind, msg, err := f.next()
		switch {
		case err != nil:
			c.l.in.metrics.rejected("malformed")
			return false
		case kind == framePing:
			_ = c.queue.Push([]byte("\r\n"))
		case kind == frameMessage:
			c.l.in.Message(msg, c)
		default:
			return true
		}
	}
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
