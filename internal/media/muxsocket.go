package media

import (
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-gw/switchboard/internal/media/sock"
)

// muxQueue bounds the datagrams waiting for pion's mux reader: STUN, DTLS
// and media from legs not yet on the direct relay. Beyond it they are
// dropped, as on a congested link.
const muxQueue = 1024

// muxSocket is the browser-leg port as pion's ICE UDPMux sees it: one
// socket, or a group of them, one per poller (steer.go). The pollers read
// them; media of established legs is relayed there and then (direct.go),
// and everything else is queued for the mux's reader goroutine, which
// pion starts and does not join: waitReader lets Engine.Close wait for it.
// What pion sends leaves from the group's first socket, from the same
// address as any other.
type muxSocket struct {
	sock   *sock.UDP
	group  []*sock.UDP
	local  *net.UDPAddr
	in     chan muxPacket
	closed chan struct{}

	closeOnce  sync.Once
	readerOnce sync.Once
	readerDone chan struct{}
	dropped    atomic.Uint64 // queue full
	queued     atomic.Uint64 // queued, ever
}

type muxPacket struct {
	data []byte
	src  netip.AddrPort
}

func newMuxSocket(group []*sock.UDP) *muxSocket {
	return &muxSocket{
		sock:       group[0],
		group:      group,
		local:      net.UDPAddrFromAddrPort(group[0].LocalAddr()),
		in:         make(chan muxPacket, muxQueue),
		closed:     make(chan struct{}),
		readerDone: make(chan struct{}),
	}
}

// queue hands a copy of p to the mux reader; the poller calls it.
func (s *muxSocket) queue(p []byte, src netip.AddrPort) {
	select {
	case s.in <- muxPacket{data: append([]byte(nil), p...), src: src}:
		s.queued.Add(1)
	default:
		s.dropped.Add(1)
	}
}

// waitReader waits until the mux reader saw the socket closed, or at most a
// second in case the mux never started reading.
func (s *muxSocket) waitReader() {
	select {
	case <-s.readerDone:
	case <-time.After(time.Second):
	}
}

// ReadFromAddrPort and WriteToAddrPort keep the mux on its allocation-free
// path (ice.AddrPortReaderWriter).
func (s *muxSocket) ReadFromAddrPort(b []byte) (int, netip.AddrPort, error) {
	select {
	case pkt := <-s.in:
		return copy(b, pkt.data), pkt.src, nil
	case <-s.closed:
		s.readerOnce.Do(func() { close(s.readerDone) })
		return 0, netip.AddrPort{}, net.ErrClosed
	}
}

func (s *muxSocket) WriteToAddrPort(b []byte, addr netip.AddrPort) (int, error) {
	if err := s.sock.SendTo(b, addr); err != nil {
		return 0, &net.OpError{Op: "write", Net: "udp", Source: s.local, Addr: net.UDPAddrFromAddrPort(addr), Err: err}
	}
	return len(b), nil
}

func (s *muxSocket) ReadFrom(b []byte) (int, net.Addr, error) {
	n, addr, err := s.ReadFromAddrPort(b)
	if err != nil {
		return 0, nil, err
	}
	return n, net.UDPAddrFromAddrPort(addr), nil
}

func (s *muxSocket) WriteTo(b []byte, addr net.Addr) (int, error) {
	ua, ok := addr.(*net.UDPAddr)
	if !ok {
		return 0, &net.OpError{Op: "write", Net: "udp", Source: s.local, Addr: addr, Err: net.UnknownNetworkError(addr.Network())}
	}
	return s.WriteToAddrPort(b, ua.AddrPort())
}

// Close closes the sockets; the mux reader's next read fails.
func (s *muxSocket) Close() error {
	var err error
	s.closeOnce.Do(func() {
		close(s.closed)
		for _, c := range s.group {
			if cerr := c.Close(); err == nil {
				err = cerr
			}
		}
	})
	return err
}

func (s *muxSocket) LocalAddr() net.Addr { return s.local }

// Writes never block and reads end at Close, so deadlines have nothing to
// do; pion sets a write deadline only to abort a blocked write on close.
func (s *muxSocket) SetDeadline(time.Time) error      { return nil }
func (s *muxSocket) SetReadDeadline(time.Time) error  { return nil }
func (s *muxSocket) SetWriteDeadline(time.Time) error { return nil }
