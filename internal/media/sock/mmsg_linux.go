package sock

import (
	"net"
	"net/netip"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Batched system calls (recvmmsg, sendmmsg), for a socket shared by many
// peers: a poller reads a drained socket a batch at a time, and an Outbox
// sends what a round queued in one call, instead of one system call per
// packet each way.

// mmsgLen is how many datagrams one recvmmsg or sendmmsg moves.
const mmsgLen = 32

// mmsghdr is struct mmsghdr (recvmmsg(2)).
type mmsghdr struct {
	hdr unix.Msghdr
	n   uint32
	_   [4]byte
}

// batch is room for mmsgLen datagrams and their addresses; the headers
// point into it once and for all.
type batch struct {
	hdrs  [mmsgLen]mmsghdr
	iovs  [mmsgLen]unix.Iovec
	addrs [mmsgLen]rawAddr
	bufs  [mmsgLen][]byte
}

func newBatch(size int) *batch {
	b := &batch{}
	b.init(size)
	return b
}

func (b *batch) init(size int) {
	for i := range b.hdrs {
		b.bufs[i] = make([]byte, size)
		b.iovs[i].Base = &b.bufs[i][0]
		b.iovs[i].SetLen(size)
		b.hdrs[i].hdr.Name = (*byte)(unsafe.Pointer(&b.addrs[i].sa))
		b.hdrs[i].hdr.Iov = &b.iovs[i]
		b.hdrs[i].hdr.SetIovlen(1)
	}
}

// recvBatch reads up to mmsgLen queued datagrams into b; datagram i is
// b.bufs[i][:b.hdrs[i].n] from b.addrs[i]. It returns unix.EAGAIN when
// none is queued.
func (s *UDP) recvBatch(b *batch) (int, error) {
	for i := range b.hdrs {
		b.hdrs[i].hdr.Namelen = uint32(unsafe.Sizeof(b.addrs[i].sa))
		b.hdrs[i].hdr.Flags = 0
		b.iovs[i].SetLen(len(b.bufs[i]))
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.fd < 0 {
		return 0, net.ErrClosed
	}
	n, _, errno := unix.RawSyscall6(unix.SYS_RECVMMSG, uintptr(s.fd),
		uintptr(unsafe.Pointer(&b.hdrs[0])), mmsgLen, 0, 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}

// A Tally learns what became of each datagram queued in an Outbox: Sent,
// with its length, once the kernel took it, or Dropped. tag is what the
// datagram was queued with. The Outbox keeps the Tally as an interface
// value, so a pointer type reports without allocating.
type Tally interface {
	Sent(n int, tag int64)
	Dropped(tag int64)
}

// Outbox gathers datagrams for one sendmmsg: those a Poller's round
// queues, sent when the round ends. It belongs to one goroutine: once
// given to NewPoller, the poller's.
type Outbox struct {
	batch
	sock  *UDP
	n     int
	slots [mmsgLen]outSlot
}

type outSlot struct {
	tally Tally
	tag   int64
}

// NewOutbox makes an Outbox for datagrams of up to size bytes.
func NewOutbox(size int) *Outbox {
	o := &Outbox{}
	o.init(size)
	return o
}

// Buf is where the next datagram should be written, to be queued without
// a copy.
func (o *Outbox) Buf() []byte { return o.bufs[o.n] }

// Queue adds p, for dst on sock, to be reported to t with tag once sent;
// it sends what is queued first if that was for another socket, and after
// when the outbox is full. A destination sock cannot reach is Dropped at
// once.
func (o *Outbox) Queue(sock *UDP, p []byte, dst netip.AddrPort, t Tally, tag int64) {
	if o.n > 0 && o.sock != sock {
		o.Flush()
	}
	o.sock = sock
	i := o.n
	if len(p) > 0 && &p[0] != &o.bufs[i][0] {
		p = o.bufs[i][:copy(o.bufs[i], p)]
	}
	salen := o.addrs[i].put(dst, sock.v6)
	if salen == 0 {
		t.Dropped(tag)
		return
	}
	o.hdrs[i].hdr.Namelen = uint32(salen)
	o.iovs[i].SetLen(len(p))
	o.slots[i] = outSlot{tally: t, tag: tag}
	o.n++
	if o.n == mmsgLen {
		o.Flush()
	}
}

// Flush sends what is queued. A datagram the kernel refuses (a full send
// buffer) is Dropped, and the rest still go. A Poller flushes its outbox
// at the end of each round; another owner calls Flush itself.
func (o *Outbox) Flush() {
	done := 0
	for done < o.n {
		m, err := o.sock.sendBatch(o.hdrs[done:o.n])
		if err != nil {
			sl := &o.slots[done]
			sl.tally.Dropped(sl.tag)
			done++
			continue
		}
		for i := done; i < done+m; i++ {
			sl := &o.slots[i]
			sl.tally.Sent(int(o.iovs[i].Len), sl.tag)
		}
		done += m
	}
	o.n = 0
}

func (s *UDP) sendBatch(hdrs []mmsghdr) (int, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.fd < 0 {
		return 0, net.ErrClosed
	}
	n, _, errno := unix.RawSyscall6(unix.SYS_SENDMMSG, uintptr(s.fd),
		uintptr(unsafe.Pointer(&hdrs[0])), uintptr(len(hdrs)), 0, 0, 0)
	if errno != 0 {
		return 0, errno
	}
	if n == 0 {
		return 0, unix.EAGAIN
	}
	return int(n), nil
}
