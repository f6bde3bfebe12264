package sock

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
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
// Tried and dropped, each measured through the binary (docs/performance.md,
// "Where a media call's CPU goes"): sleeping a little between rounds, so
// that each finds more (a blocking nanosleep, or time.Sleep: the timer's
// wake-up costs more than the batching saves); spinning on empty polls
// before parking; and waiting in epoll_wait on a thread of the poller's own,
// as an ordinary system call (the runtime's hand-off of the P costs more
// than the netpoller) or as a raw one that keeps the P (5% less CPU per
// packet only if the P is never given back, which takes a core from the
// rest of the process, as GOMAXPROCS=1 does for the same 5%).
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

	// wake is an eventfd in the epoll set: Move writes it so that the
	// poller performs its hand-offs even when none of its sockets is ready.
	wake    int
	movesMu sync.Mutex
	moves   []move[W] // hand-offs to perform; guarded by movesMu
	closed  bool      // no more hand-offs; guarded by movesMu

	// packets and bytes count the datagrams handed to handlers; only the
	// poller's goroutine adds to them.
	packets, bytes atomic.Uint64

	done chan struct{}
}

// move is a hand-off Move asked for: s, with its handler, to poller to.
type move[W any] struct {
	s  *UDP
	to *Poller[W]
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
	wake, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("eventfd: %w", err)
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN}
	*(*int32)(unsafe.Pointer(&ev.Fd)) = int32(wake)
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, wake, &ev); err != nil {
		unix.Close(wake)
		f.Close()
		return nil, fmt.Errorf("epoll add: %w", err)
	}
	p := &Poller[W]{
		epfd: epfd, file: f, raw: raw,
		w: w, rx: newBatch(size), out: out,
		wake: wake,
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
	return p.addLocked(s, h, drain)
}

// addLocked is add with s.mu held for writing.
func (p *Poller[W]) addLocked(s *UDP, h Handler[W], drain bool) error {
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

// Move hands s, which p reads, to poller to, handler and all: p's
// goroutine takes s off its set between two of its rounds and adds it to
// to's, so that s's handler never runs on both goroutines at once, and
// what it touched happens before to's first read of s. Any goroutine may
// call Move; it returns at once. A socket closed or moved meanwhile is
// left alone. to must outlive s (pollers close after their sockets).
func (p *Poller[W]) Move(s *UDP, to *Poller[W]) {
	p.movesMu.Lock()
	defer p.movesMu.Unlock()
	if p.closed || to == p {
		return
	}
	p.moves = append(p.moves, move[W]{s: s, to: to})
	var one [8]byte // an eventfd counter increment
	binary.NativeEndian.PutUint64(one[:], 1)
	unix.Write(p.wake, one[:])
}

// handOff performs the hand-offs Move asked for; the poller's goroutine
// calls it between rounds.
func (p *Poller[W]) handOff() {
	var buf [8]byte
	unix.Read(p.wake, buf[:]) // reset the eventfd
	p.movesMu.Lock()
	moves := p.moves
	p.moves = nil
	p.movesMu.Unlock()
	for _, m := range moves {
		p.moveOne(m.s, m.to)
	}
}

func (p *Poller[W]) moveOne(s *UDP, to *Poller[W]) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fd < 0 {
		return
	}
	if s.p != registry(p) {
		// An earlier hand-off to another poller is still to be done:
		// ask that one, so that the latest Move wins.
		if q, ok := s.p.(*Poller[W]); ok && q != to {
			q.Move(s, to) // takes only q.movesMu, never held with a socket's lock
		}
		return
	}
	p.mu.RLock()
	m := p.socks[s.fd]
	p.mu.RUnlock()
	p.remove(s)
	s.p = nil
	if err := to.addLocked(s, m.h, m.drain); err != nil {
		p.addLocked(s, m.h, m.drain) // keep reading it here
	}
}

// Stats is how many datagrams, and bytes, the poller has handed to
// handlers.
func (p *Poller[W]) Stats() (packets, bytes uint64) {
	return p.packets.Load(), p.bytes.Load()
}

// Close stops the poller's goroutine and waits for it; its sockets must
// be closed already. Hand-offs not yet performed are dropped.
func (p *Poller[W]) Close() {
	p.movesMu.Lock()
	p.closed = true
	p.movesMu.Unlock()
	p.file.Close() // wakes the parked loop with an error
	<-p.done
	unix.Close(p.wake)
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
			woken := p.dispatch(events[:n])
			if p.out != nil {
				p.out.Flush()
			}
			if woken {
				p.handOff()
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
// What is left is reported again in the next round. It reports whether
// Move woke the poller.
func (p *Poller[W]) dispatch(events []unix.EpollEvent) (woken bool) {
	for i := range events {
		fd := int(*(*int32)(unsafe.Pointer(&events[i].Fd)))
		if fd == p.wake {
			woken = true
			continue
		}
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
			p.count(1, n)
			m.h(buf[:n], src, p.w)
		}
	}
	return woken
}

func (p *Poller[W]) count(packets, bytes int) {
	p.packets.Add(uint64(packets))
	p.bytes.Add(uint64(bytes))
}

// drain reads s a batch at a time until it is empty, or drainMax.
func (p *Poller[W]) drain(s *UDP, h Handler[W]) {
	rx := p.rx
	for read := 0; read < drainMax; {
		n, err := s.recvBatch(rx)
		if err != nil {
			return
		}
		bytes := 0
		for i := range n {
			bytes += int(rx.hdrs[i].n)
		}
		p.count(n, bytes)
		for i := range n {
			h(rx.bufs[i][:rx.hdrs[i].n], rx.addrs[i].get(), p.w)
		}
		if n < mmsgLen {
			return
		}
		read += n
	}
}
