package media

import (
	"fmt"
	"net"
	"os"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// poller reads a set of udpSocks from one goroutine: the relay's packet
// loop.
//
// Reading each socket from a goroutine of its own costs a goroutine wake-up
// and a parked read that finds nothing per packet, which at tens of
// thousands of packets a second was most of the relay's CPU. A poller
// instead keeps its sockets in an epoll set of its own, which sits in Go's
// netpoller as one descriptor: the goroutine parks there while nothing is
// queued, and once woken it takes every ready socket in turn, round after
// round, until a round finds none. The busier the relay, the more packets
// a wake-up serves.
//
// (Sleeping a little between rounds, so that each finds more, was tried:
// a blocking nanosleep costs the runtime more than the rounds save.)
type poller struct {
	epfd int
	file *os.File // epfd, in Go's netpoller
	raw  syscall.RawConn

	mu    sync.RWMutex
	socks []*udpSock // by descriptor; guarded by mu

	done chan struct{}
}

// maxEvents bounds the sockets one epoll_wait reports; drainMax the
// datagrams a drain socket gives each round.
const (
	maxEvents = 128
	drainMax  = 64
)

func newPoller() (*poller, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("media: epoll: %w", err)
	}
	if err := unix.SetNonblock(epfd, true); err != nil {
		unix.Close(epfd)
		return nil, fmt.Errorf("media: epoll: %w", err)
	}
	f := os.NewFile(uintptr(epfd), "media-poller")
	raw, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("media: epoll: %w", err)
	}
	p := &poller{epfd: epfd, file: f, raw: raw, done: make(chan struct{})}
	go p.run()
	return p, nil
}

// add registers s, whose handle must be set, for reading.
func (p *poller) add(s *udpSock) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fd < 0 {
		return net.ErrClosed
	}
	p.mu.Lock()
	for len(p.socks) <= s.fd {
		p.socks = append(p.socks, nil)
	}
	p.socks[s.fd] = s
	p.mu.Unlock()
	ev := unix.EpollEvent{Events: unix.EPOLLIN}
	*(*int32)(unsafe.Pointer(&ev.Fd)) = int32(s.fd)
	if err := unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, s.fd, &ev); err != nil {
		p.mu.Lock()
		p.socks[s.fd] = nil
		p.mu.Unlock()
		return fmt.Errorf("media: epoll add: %w", err)
	}
	s.p = p
	return nil
}

// remove unregisters s; its caller holds s.mu for writing and closes it
// next.
func (p *poller) remove(s *udpSock) {
	unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, s.fd, nil)
	p.mu.Lock()
	if s.fd < len(p.socks) && p.socks[s.fd] == s {
		p.socks[s.fd] = nil
	}
	p.mu.Unlock()
}

// close stops the loop and waits for it; its sockets must be closed
// already.
func (p *poller) close() {
	p.file.Close() // wakes the parked loop with an error
	<-p.done
}

func (p *poller) run() {
	defer close(p.done)
	sc := newScratch()
	sc.rx = newMmsgBatch(maxPacket)
	sc.tx = newOutbox()
	events := make([]unix.EpollEvent, maxEvents)
	// The rounds run inside Read's callback, so that the epoll descriptor
	// stays open (os.File's own reference) for as long as they use it. The
	// callback returns false, and Read parks, once a round finds nothing;
	// Read returns only when close closed the file.
	p.raw.Read(func(uintptr) bool {
		for {
			n := p.poll(events)
			if n == 0 {
				return false
			}
			p.dispatch(events[:n], sc)
			sc.tx.flush()
		}
	})
}

// poll returns how many sockets are ready, without blocking.
func (p *poller) poll(events []unix.EpollEvent) int {
	n, _, errno := unix.RawSyscall6(unix.SYS_EPOLL_WAIT, uintptr(p.epfd),
		uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), 0, 0, 0)
	if errno != 0 {
		return 0
	}
	return int(n)
}

// dispatch reads each ready socket and hands what it read to the socket's
// handler: one datagram, so that a round costs no read that finds
// nothing, or from a drain socket up to drainMax, mmsgLen a system call.
// What is left is reported again in the next round.
func (p *poller) dispatch(events []unix.EpollEvent, sc *scratch) {
	for i := range events {
		fd := int(*(*int32)(unsafe.Pointer(&events[i].Fd)))
		p.mu.RLock()
		var s *udpSock
		if fd < len(p.socks) {
			s = p.socks[fd]
		}
		p.mu.RUnlock()
		if s == nil {
			continue
		}
		if s.drain {
			p.drain(s, sc)
			continue
		}
		if n, src, err := s.recvFrom(sc.in, &sc.addr); err == nil {
			s.handle(sc.in[:n], src, sc)
		}
	}
}

// drain reads s a batch at a time until it is empty, or drainMax.
func (p *poller) drain(s *udpSock, sc *scratch) {
	rx := sc.rx
	for read := 0; read < drainMax; {
		n, err := s.recvBatch(rx)
		if err != nil {
			return
		}
		for i := range n {
			s.handle(rx.bufs[i][:rx.hdrs[i].n], rx.addrs[i].get(), sc)
		}
		if n < mmsgLen {
			return
		}
		read += n
	}
}
