package sock

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Handler is what a Poller calls, from its goroutine, with each datagram
// read from a socket, its (unmapped) source and the poller's worker state.
// p is the poller's buffer: the handler may change it in place, but not
// keep it once it returns.
type Handler[W any] func(p []byte, src netip.AddrPort, w W)

// Poller reads a set of UDP sockets from one goroutine, and hands each
// datagram to the handler its socket was added with.
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
//
// W is the worker state the poller's goroutine hands every handler, its
// scratch buffers for instance; only that goroutine uses it, so handlers
// need no lock for it.
type Poller[W any] struct {
	epfd int
	file *os.File // epfd, in Go's netpoller
	raw  syscall.RawConn

	w   W
	rx  *batch  // the receive buffers
	out *Outbox // sent at the end of each round; may be nil

	mu    sync.RWMutex
	socks []member[W] // by descriptor; guarded by mu

	done chan struct{}
}

// member is a socket registered with a poller.
type member[W any] struct {
	s *UDP
	h Handler[W]
	// drain makes the poller read the socket until it is empty each round,
	// for a socket many peers share; any other socket is read once a
	// round, which is all a call's socket needs at 50 packets a second.
	drain bool
}

// maxEvents bounds the sockets one epoll_wait reports; drainMax the
// datagrams a drained socket gives each round.
const (
	maxEvents = 128
	drainMax  = 64
)

// NewPoller starts a poller that reads datagrams of up to size bytes and
// hands them to their handlers with w. From then on w and out belong to
// the poller's goroutine; out (nil: none) is where handlers may queue what
// they send, and the poller sends it at the end of each round.
func NewPoller[W any](size int, out *Outbox, w W) (*Poller[W], error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll: %w", err)
	}
	if err := unix.SetNonblock(epfd, true); err != nil {
		unix.Close(epfd)
		return nil, fmt.Errorf("epoll: %w", err)
	}
	f := os.NewFile(uintptr(epfd), "sock-poller")
	raw, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("epoll: %w", err)
	}
	p := &Poller[W]{
		epfd: epfd, file: f, raw: raw,
		w: w, rx: newBatch(size), out: out,
		done: make(chan struct{}),
	}
	go p.run()
	return p, nil
}

// Add registers s for reading, one datagram a round, by h.
func (p *Poller[W]) Add(s *UDP, h Handler[W]) error { return p.add(s, h, false) }

// AddDrained registers s for reading by h until it is empty, a batch
// (recvmmsg) at a time and at most 64 datagrams a round: for a socket many
// peers share.
func (p *Poller[W]) AddDrained(s *UDP, h Handler[W]) error { return p.add(s, h, true) }

func (p *Poller[W]) add(s *UDP, h Handler[W], drain bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fd < 0 {
		return net.ErrClosed
	}
	p.mu.Lock()
	for len(p.socks) <= s.fd {
		p.socks = append(p.socks, member[W]{})
	}
	p.socks[s.fd] = member[W]{s: s, h: h, drain: drain}
	p.mu.Unlock()
	ev := unix.EpollEvent{Events: unix.EPOLLIN}
	*(*int32)(unsafe.Pointer(&ev.Fd)) = int32(s.fd)
	if err := unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, s.fd, &ev); err != nil {
		p.mu.Lock()
		p.socks[s.fd] = member[W]{}
		p.mu.Unlock()
		return fmt.Errorf("epoll add: %w", err)
	}
	s.p = p
	return nil
}

// remove unregisters s; its caller holds s.mu for writing and closes it
// next.
func (p *Poller[W]) remove(s *UDP) {
	unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, s.fd, nil)
	p.mu.Lock()
	if s.fd < len(p.socks) && p.socks[s.fd].s == s {
		p.socks[s.fd] = member[W]{}
	}
	p.mu.Unlock()
}

// Close stops the poller's goroutine and waits for it; its sockets must
// be closed already.
func (p *Poller[W]) Close() {
	p.file.Close() // wakes the parked loop with an error
	<-p.done
}

func (p *Poller[W]) run() {
	defer close(p.done)
	events := make([]unix.EpollEvent, maxEvents)
	// The rounds run inside Read's callback, so that the epoll descriptor
	// stays open (os.File's own reference) for as long as they use it. The
	// callback returns false, and Read parks, once a round finds nothing;
	// Read returns only when Close closed the file.
	p.raw.Read(func(uintptr) bool {
		for {
			n := p.poll(events)
			if n == 0 {
				return false
			}
			p.dispatch(events[:n])
			if p.out != nil {
				p.out.flush()
			}
		}
	})
}

// poll returns how many sockets are ready, without blocking.
func (p *Poller[W]) poll(events []unix.EpollEvent) int {
	n, _, errno := unix.RawSyscall6(unix.SYS_EPOLL_WAIT, uintptr(p.epfd),
		uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), 0, 0, 0)
	if errno != 0 {
		return 0
	}
	return int(n)
}

// dispatch reads each ready socket and hands what it read to the socket's
// handler: one datagram, so that a round costs no read that finds
// nothing, or from a drained socket up to drainMax, mmsgLen a system call.
// What is left is reported again in the next round.
func (p *Poller[W]) dispatch(events []unix.EpollEvent) {
	for i := range events {
		fd := int(*(*int32)(unsafe.Pointer(&events[i].Fd)))
		p.mu.RLock()
		var m member[W]
		if fd < len(p.socks) {
			m = p.socks[fd]
		}
		p.mu.RUnlock()
		if m.s == nil {
			continue
		}
		if m.drain {
			p.drain(m.s, m.h)
			continue
		}
		buf := p.rx.bufs[0]
		if n, src, err := m.s.recvFrom(buf, &p.rx.addrs[0]); err == nil {
			m.h(buf[:n], src, p.w)
		}
	}
}

// drain reads s a batch at a time until it is empty, or drainMax.
func (p *Poller[W]) drain(s *UDP, h Handler[W]) {
	rx := p.rx
	for read := 0; read < drainMax; {
		n, err := s.recvBatch(rx)
		if err != nil {
			return
		}
		for i := range n {
			h(rx.bufs[i][:rx.hdrs[i].n], rx.addrs[i].get(), p.w)
		}
		if n < mmsgLen {
			return
		}
		read += n
	}
}
