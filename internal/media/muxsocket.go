package media

import (
	"net"
	"net/netip"
	"os"
	"sync"
	"time"
)

// muxSocket is the browser-leg UDP socket as the ICE UDPMux sees it. It
// exists so Engine.Close can wait for the mux's reader goroutine, which
// pion starts and does not join: the reader's last act is a read that
// fails once the socket is closed.
type muxSocket struct {
	conn       *net.UDPConn
	readerOnce sync.Once
	readerDone chan struct{}

	// relay, when set, relays a packet inline and reports whether it did
	// (Engine.relayDirect); sc is the mux reader's scratch for it.
	relay func(p []byte, src netip.AddrPort, sc *scratch) bool
	sc    *scratch
}

func newMuxSocket(conn *net.UDPConn) *muxSocket {
	return &muxSocket{conn: conn, readerDone: make(chan struct{}), sc: newScratch()}
}

// waitReader waits until a read failed for good after Close, or at most a
// second in case the mux never started reading.
func (s *muxSocket) waitReader() {
	select {
	case <-s.readerDone:
	case <-time.After(time.Second):
	}
}

func (s *muxSocket) noteErr(err error) {
	if err != nil && !os.IsTimeout(err) {
		s.readerOnce.Do(func() { close(s.readerDone) })
	}
}

// ReadFromAddrPort and WriteToAddrPort keep the mux on its allocation-free
// path (ice.AddrPortReaderWriter). ReadFromAddrPort, which only pion's
// mux reader calls, relays established browser media itself and returns
// only what pion must see.
func (s *muxSocket) ReadFromAddrPort(b []byte) (int, netip.AddrPort, error) {
	for {
		n, addr, err := s.conn.ReadFromUDPAddrPort(b)
		if err == nil && s.relay != nil && s.relay(b[:n], addr, s.sc) {
			continue
		}
		s.noteErr(err)
		return n, addr, err
	}
}

func (s *muxSocket) WriteToAddrPort(b []byte, addr netip.AddrPort) (int, error) {
	return s.conn.WriteToUDPAddrPort(b, addr)
}

func (s *muxSocket) ReadFrom(b []byte) (int, net.Addr, error) {
	n, addr, err := s.conn.ReadFrom(b)
	s.noteErr(err)
	return n, addr, err
}

func (s *muxSocket) WriteTo(b []byte, addr net.Addr) (int, error) { return s.conn.WriteTo(b, addr) }
func (s *muxSocket) Close() error                                 { return s.conn.Close() }
func (s *muxSocket) LocalAddr() net.Addr                          { return s.conn.LocalAddr() }
func (s *muxSocket) SetDeadline(t time.Time) error                { return s.conn.SetDeadline(t) }
func (s *muxSocket) SetReadDeadline(t time.Time) error            { return s.conn.SetReadDeadline(t) }
func (s *muxSocket) SetWriteDeadline(t time.Time) error           { return s.conn.SetWriteDeadline(t) }
