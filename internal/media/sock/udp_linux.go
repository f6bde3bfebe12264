package sock

import (
	"fmt"
	"net"
	"net/netip"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// UDP is a non-blocking UDP socket that Go's netpoller never sees: a
// Poller reads it and anyone may send on it. Reads and sends use raw
// system calls with the address in a stack sockaddr, so the packet path
// allocates nothing and costs one system call per packet.
//
// The descriptor's lifetime is guarded by mu: reads and sends hold it for
// reading, Close holds it for writing, so a descriptor number is never used
// after Close, when the kernel may already have handed it to another
// socket.
type UDP struct {
	mu    sync.RWMutex
	fd    int // -1 once closed; guarded by mu
	v6    bool
	local netip.AddrPort

	p registry // the poller it is registered with, if any; guarded by mu
}

// registry is a Poller of any worker state, as the socket sees it: Close
// takes the socket off it before closing the descriptor.
type registry interface {
	remove(s *UDP)
}

// Listen binds a non-blocking UDP socket to addr (port 0: any). An IPv6
// address, :: included, gets a dual-stack socket, as net.ListenUDP would.
func Listen(addr netip.AddrPort) (*UDP, error) { return listenUDP(addr, false) }

// listenUDP is Listen, with SO_REUSEPORT set before bind when reuse is true.
func listenUDP(addr netip.AddrPort, reuse bool) (*UDP, error) {
	addr = netip.AddrPortFrom(addr.Addr().Unmap(), addr.Port())
	v6 := addr.Addr().Is6()
	family := unix.AF_INET
	if v6 {
		family = unix.AF_INET6
	}
	fd, err := unix.Socket(family, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_UDP)
	if err != nil {
		return nil, fmt.Errorf("socket: %w", err)
	}
	s := &UDP{fd: fd, v6: v6}
	if reuse {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); err != nil {
			unix.Close(fd)
			return nil, fmt.Errorf("SO_REUSEPORT: %w", err)
		}
	}
	if err := s.bind(addr); err != nil {
		unix.Close(fd)
		return nil, &net.OpError{Op: "listen", Net: "udp", Addr: net.UDPAddrFromAddrPort(addr), Err: err}
	}
	return s, nil
}

func (s *UDP) bind(addr netip.AddrPort) error {
	var sa unix.Sockaddr
	if s.v6 {
		if err := unix.SetsockoptInt(s.fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 0); err != nil {
			return err
		}
		sa = &unix.SockaddrInet6{Port: int(addr.Port()), Addr: addr.Addr().As16()}
	} else {
		sa = &unix.SockaddrInet4{Port: int(addr.Port()), Addr: addr.Addr().As4()}
	}
	if err := unix.Bind(s.fd, sa); err != nil {
		return err
	}
	bound, err := unix.Getsockname(s.fd)
	if err != nil {
		return err
	}
	switch b := bound.(type) {
	case *unix.SockaddrInet4:
		s.local = netip.AddrPortFrom(netip.AddrFrom4(b.Addr), uint16(b.Port))
	case *unix.SockaddrInet6:
		s.local = netip.AddrPortFrom(netip.AddrFrom16(b.Addr).Unmap(), uint16(b.Port))
	}
	return nil
}

// SetReadBuffer asks for a receive buffer of bytes (SO_RCVBUF: the kernel
// doubles it for its bookkeeping and caps it at net.core.rmem_max).
func (s *UDP) SetReadBuffer(bytes int) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.fd < 0 {
		return net.ErrClosed
	}
	if err := unix.SetsockoptInt(s.fd, unix.SOL_SOCKET, unix.SO_RCVBUF, bytes); err != nil {
		return fmt.Errorf("SO_RCVBUF: %w", err)
	}
	return nil
}

// LocalAddr is the address the socket is bound to, unmapped.
func (s *UDP) LocalAddr() netip.AddrPort { return s.local }

// rawAddr is room for either kind of socket address.
type rawAddr struct {
	sa unix.RawSockaddrInet6 // the larger of the two; an inet4 one is a prefix
}

// put writes dst into a as the socket's family wants it: IPv4 into an
// IPv6 socket as a v4-mapped address. It returns the length, or 0 when an
// IPv4 socket cannot reach an IPv6 address.
func (a *rawAddr) put(dst netip.AddrPort, v6 bool) uintptr {
	ip := dst.Addr()
	if v6 {
		a.sa = unix.RawSockaddrInet6{Family: unix.AF_INET6, Addr: ip.As16()}
		putPort(&a.sa.Port, dst.Port())
		return unix.SizeofSockaddrInet6
	}
	ip = ip.Unmap()
	if !ip.Is4() {
		return 0
	}
	sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(&a.sa))
	*sa4 = unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: ip.As4()}
	putPort(&sa4.Port, dst.Port())
	return unix.SizeofSockaddrInet4
}

// get reads the address the kernel wrote into a, unmapped.
func (a *rawAddr) get() netip.AddrPort {
	switch a.sa.Family {
	case unix.AF_INET:
		sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(&a.sa))
		return netip.AddrPortFrom(netip.AddrFrom4(sa4.Addr), getPort(&sa4.Port))
	case unix.AF_INET6:
		return netip.AddrPortFrom(netip.AddrFrom16(a.sa.Addr).Unmap(), getPort(&a.sa.Port))
	}
	return netip.AddrPort{}
}

// putPort and getPort store a port in network byte order, as sockaddr
// wants it.
func putPort(p *uint16, port uint16) {
	b := (*[2]byte)(unsafe.Pointer(p))
	b[0], b[1] = byte(port>>8), byte(port)
}

func getPort(p *uint16) uint16 {
	b := (*[2]byte)(unsafe.Pointer(p))
	return uint16(b[0])<<8 | uint16(b[1])
}

// recvFrom reads one datagram into p. It returns unix.EAGAIN when none is
// queued, and net.ErrClosed once closed. Only the socket's poller calls it.
func (s *UDP) recvFrom(p []byte, a *rawAddr) (int, netip.AddrPort, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.fd < 0 {
		return 0, netip.AddrPort{}, net.ErrClosed
	}
	salen := uint32(unsafe.Sizeof(a.sa))
	n, _, errno := unix.RawSyscall6(unix.SYS_RECVFROM, uintptr(s.fd),
		uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)), 0,
		uintptr(unsafe.Pointer(&a.sa)), uintptr(unsafe.Pointer(&salen)))
	if errno != 0 {
		return 0, netip.AddrPort{}, errno
	}
	return int(n), a.get(), nil
}

// SendTo sends p to dst. It never blocks: a full send buffer is
// unix.EAGAIN, a dropped packet as on any congested link. An IPv4 socket
// cannot reach an IPv6 destination (unix.EAFNOSUPPORT); once closed,
// SendTo fails with net.ErrClosed.
func (s *UDP) SendTo(p []byte, dst netip.AddrPort) error {
	var a rawAddr // stays on the stack
	salen := a.put(dst, s.v6)
	if salen == 0 {
		return unix.EAFNOSUPPORT
	}
	var data uintptr
	if len(p) > 0 {
		data = uintptr(unsafe.Pointer(&p[0]))
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.fd < 0 {
		return net.ErrClosed
	}
	_, _, errno := unix.RawSyscall6(unix.SYS_SENDTO, uintptr(s.fd), data, uintptr(len(p)), 0,
		uintptr(unsafe.Pointer(&a.sa)), salen)
	if errno != 0 {
		return errno
	}
	return nil
}

// Close takes the socket off its poller and closes it; later reads and
// sends fail with net.ErrClosed. Close is idempotent.
func (s *UDP) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fd < 0 {
		return nil
	}
	if s.p != nil {
		s.p.remove(s)
	}
	err := unix.Close(s.fd)
	s.fd = -1
	return err
}
