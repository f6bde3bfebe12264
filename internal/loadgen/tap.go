package loadgen

import (
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// tapConn is a call's UDP socket as its ICE UDPMux sees it. The mux's
// reader goroutine reads through it; RTP and RTCP (first byte 128-191,
// RFC 7983 §7) go to the call's stream, once it has one, and never reach
// the mux. STUN (0-3) and DTLS (20-63) go up as usual.
type tapConn struct {
	conn  *net.UDPConn
	media atomic.Pointer[stream]

	readerOnce sync.Once
	readerDone chan struct{}
}

func newTapConn(conn *net.UDPConn) *tapConn {
	return &tapConn{conn: conn, readerDone: make(chan struct{})}
}

func isMedia(b byte) bool { return b >= 128 && b <= 191 }

// ReadFromAddrPort keeps the mux on its allocation-free path
// (ice.AddrPortReaderWriter).
func (c *tapConn) ReadFromAddrPort(b []byte) (int, netip.AddrPort, error) {
	for {
		n, addr, err := c.conn.ReadFromUDPAddrPort(b)
		if err != nil {
			c.noteErr(err)
			return n, addr, err
		}
		if n == 0 || !isMedia(b[0]) {
			return n, addr, nil
		}
		if s := c.media.Load(); s != nil {
			s.receive(b[:n])
		}
	}
}

func (c *tapConn) ReadFrom(b []byte) (int, net.Addr, error) {
	n, addr, err := c.ReadFromAddrPort(b)
	if err != nil {
		return n, nil, err
	}
	return n, net.UDPAddrFromAddrPort(addr), nil
}

// noteErr marks the reader gone once a read failed for good.
func (c *tapConn) noteErr(err error) {
	if !os.IsTimeout(err) {
		c.readerOnce.Do(func() { close(c.readerDone) })
	}
}

// waitReader waits until the mux's reader saw the socket closed, or at most
// a second in case it never started reading.
func (c *tapConn) waitReader() {
	select {
	case <-c.readerDone:
	case <-time.After(time.Second):
	}
}

func (c *tapConn) WriteToAddrPort(b []byte, addr netip.AddrPort) (int, error) {
	return c.conn.WriteToUDPAddrPort(b, addr)
}
func (c *tapConn) WriteTo(b []byte, addr net.Addr) (int, error) { return c.conn.WriteTo(b, addr) }
func (c *tapConn) Close() error                                 { return c.conn.Close() }
func (c *tapConn) LocalAddr() net.Addr                          { return c.conn.LocalAddr() }
func (c *tapConn) SetDeadline(t time.Time) error                { return c.conn.SetDeadline(t) }
func (c *tapConn) SetReadDeadline(t time.Time) error            { return c.conn.SetReadDeadline(t) }
func (c *tapConn) SetWriteDeadline(t time.Time) error           { return c.conn.SetWriteDeadline(t) }
