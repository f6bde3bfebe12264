package turnserver

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"sync"
	"time"
)

// gatedPacketConn is the UDP listener as pion/turn reads it: every datagram
// passes the gate first.
type gatedPacketConn struct {
	net.PacketConn
	gate *gate
}

func (c *gatedPacketConn) ReadFrom(p []byte) (int, net.Addr, error) {
	for {
		n, addr, err := c.PacketConn.ReadFrom(p)
		if err != nil {
			return n, addr, err
		}
		reply, pass := c.gate.inspect(p[:n])
		if pass {
			return n, addr, nil
		}
		if reply != nil {
			_, _ = c.PacketConn.WriteTo(reply, addr)
		}
	}
}

// firstFrameTimeout bounds a TCP or TLS connection's handshake and its
// first request whose credentials verify; idleTimeout closes one on which
// no such request (a Refresh at least, RFC 8656 §7) came for longer than
// the longest allocation.
var firstFrameTimeout = 10 * time.Second // a variable for the tests

const idleTimeout = time.Hour + time.Minute

// maxUnverifiedPerIP is how many TCP or TLS connections one address (an
// IPv6 /64) may
// hold on a listener before a request on them has verified: enough for a
// large office behind one NAT gathering at once (a connection proves itself
// within a round trip or two), too few for one host to take every slot of
// turn.max_allocations with connections that never will. A variable for
// the tests.
var maxUnverifiedPerIP = 32

// maxFrame is the largest STUN message or ChannelData frame: a 16-bit
// length after a header.
const maxFrame = 20 + 0xffff + 3

// gatedConn is a TCP or TLS connection as pion/turn reads it: it cuts the
// stream into STUN and ChannelData frames (RFC 8656 §12.5: ChannelData is
// padded to four bytes over streams), gates each and hands on the ones that
// pass.
type gatedConn struct {
	net.Conn
	gate *gate
	done func() // pion has finished with the connection
	// verified gives back the connection's place among its address's
	// unverified ones: at its first request whose credentials verify, or
	// at Close. Called once, through verifyOnce.
	verified   func()
	verifyOnce sync.Once

	// Read's state, touched only by pion's reading goroutine. The buffers
	// are reused: in[inOff:] is read and not yet framed, out[outOff:]
	// passed and not yet read.
	in, out       []byte
	inOff, outOff int
	opaque        bool // not STUN framing: handed on as it is, for pion to refuse
	idleSet       time.Time

	closeOnce sync.Once
}

func (c *gatedConn) Read(p []byte) (int, error) {
	for c.outOff == len(c.out) {
		c.out, c.outOff = c.out[:0], 0
		if err := c.fill(); err != nil {
			return 0, err
		}
	}
	n := copy(p, c.out[c.outOff:])
	c.outOff += n
	return n, nil
}

// fill reads once from the connection and frames what it can.
func (c *gatedConn) fill() error {
	if len(c.in) >= maxFrame {
		return errors.New("turnserver: frame too long")
	}
	if cap(c.in)-len(c.in) < 2048 {
		c.in = append(make([]byte, 0, 2*cap(c.in)+4096), c.in...)
	}
	n, err := c.Conn.Read(c.in[len(c.in):cap(c.in)])
	if n > 0 {
		c.in = c.in[:len(c.in)+n]
		c.frames()
	}
	if err != nil && len(c.out) == 0 {
		return err
	}
	return nil
}

// frames moves every complete frame of c.in that passes the gate to c.out.
func (c *gatedConn) frames() {
	for len(c.in)-c.inOff >= 4 && !c.opaque {
		rest := c.in[c.inOff:]
		size, ok := frameSize(rest)
		if !ok {
			c.opaque = true
			break
		}
		if len(rest) < size {
			break
		}
		frame := rest[:size]
		reply, pass, signed := c.gate.check(frame)
		if signed { // a client with credentials: the connection is in use
			c.verifyOnce.Do(c.verified)
			c.touch()
		}
		if pass {
			c.out = append(c.out, frame...)
		} else if reply != nil {
			_, _ = c.Conn.Write(reply)
		}
		c.inOff += size
	}
	if c.opaque {
		c.out = append(c.out, c.in[c.inOff:]...)
		c.inOff = len(c.in)
	}
	// Keep what is left of a frame at the start of the buffer.
	c.in = c.in[:copy(c.in, c.in[c.inOff:])]
	c.inOff = 0
}

// touch pushes the idle deadline on, at most once a minute.
func (c *gatedConn) touch() {
	if now := time.Now(); now.Sub(c.idleSet) > time.Minute {
		c.idleSet = now
		_ = c.Conn.SetReadDeadline(now.Add(idleTimeout))
	}
}

// frameSize is the length of the frame b starts with: a STUN message
// (first two bits 0) or ChannelData (channel 0x4000-0x4fff, RFC 8656
// §12), padded.
func frameSize(b []byte) (int, bool) {
	length := int(binary.BigEndian.Uint16(b[2:4]))
	switch {
	case b[0]&0xc0 == 0:
		return 20 + length, true
	case b[0] >= 0x40 && b[0] <= 0x4f:
		return 4 + (length+3)&^3, true
	}
	return 0, false
}

// Close is pion's, at the end of its goroutine for the connection.
func (c *gatedConn) Close() error {
	err := c.Conn.Close()
	c.verifyOnce.Do(c.verified)
	c.closeOnce.Do(c.done)
	return err
}

// gatedListener hands pion/turn gated connections, at most max at once,
// and closes those still open when it closes.
type gatedListener struct {
	net.Listener
	gate *gate
	max  int

	mu sync.Mutex
	// conns are the open connections, by the raw conn; unverified counts
	// those of each address on which no request has verified yet. Both
	// guarded by mu.
	conns      map[net.Conn]struct{}
	unverified map[netip.Addr]int
	wg         sync.WaitGroup
}

func newGatedListener(ln net.Listener, g *gate, max int) *gatedListener {
	return &gatedListener{Listener: ln, gate: g, max: max,
		conns: map[net.Conn]struct{}{}, unverified: map[netip.Addr]int{}}
}

func (l *gatedListener) Accept() (net.Conn, error) {
	for {
		raw, err := l.Listener.Accept()
		if errors.Is(err, net.ErrClosed) {
			return nil, err
		}
		if err != nil { // EMFILE and the like: pion would stop accepting for good
			time.Sleep(50 * time.Millisecond)
			continue
		}
		ip := client(connIP(raw))
		l.mu.Lock()
		full := len(l.conns) >= l.max
		crowded := l.unverified[ip] >= maxUnverifiedPerIP
		if !full && !crowded {
			l.conns[raw] = struct{}{}
			l.unverified[ip]++
			l.wg.Add(1)
		}
		l.mu.Unlock()
		if full || crowded {
			if full {
				l.gate.metrics.refused("connections")
			} else {
				l.gate.metrics.refused("connections_per_ip")
			}
			_ = raw.Close()
			continue
		}
		_ = raw.SetReadDeadline(time.Now().Add(firstFrameTimeout))
		c := &gatedConn{Conn: raw, gate: l.gate}
		c.verified = func() {
			l.mu.Lock()
			if l.unverified[ip]--; l.unverified[ip] <= 0 {
				delete(l.unverified, ip)
			}
			l.mu.Unlock()
		}
		c.done = func() {
			l.mu.Lock()
			delete(l.conns, raw)
			l.mu.Unlock()
			l.wg.Done()
		}
		return c, nil
	}
}

// connIP is a connection's peer address, unmapped; the zero Addr if it
// has none (then all such share one count).
func connIP(c net.Conn) netip.Addr {
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		return a.AddrPort().Addr().Unmap()
	}
	return netip.Addr{}
}

// Close stops accepting, closes every connection and waits until pion has
// let go of each.
func (l *gatedListener) Close() error {
	err := l.Listener.Close()
	l.mu.Lock()
	for c := range l.conns {
		_ = c.Close()
	}
	l.mu.Unlock()
	l.wg.Wait()
	return err
}
