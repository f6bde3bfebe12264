package media

import (
	"net"
	"net/netip"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Batched system calls (recvmmsg, sendmmsg) for the shared browser-leg
// socket, which carries every call's browser packets: a poller reads it a
// batch at a time and sends what a round relays towards browsers in one
// call, instead of one system call per packet each way.

// mmsgLen is how many datagrams one recvmmsg or sendmmsg moves.
const mmsgLen = 32

// mmsghdr is struct mmsghdr (recvmmsg(2)).
type mmsghdr struct {
	hdr unix.Msghdr
	n   uint32
	_   [4]byte
}

// mmsgBatch is room for mmsgLen datagrams and their addresses; the
// headers point into it once and for all.
type mmsgBatch struct {
	hdrs  [mmsgLen]mmsghdr
	iovs  [mmsgLen]unix.Iovec
	addrs [mmsgLen]rawAddr
	bufs  [mmsgLen][]byte
}

func newMmsgBatch(size int) *mmsgBatch {
	b := &mmsgBatch{}
	b.init(size)
	return b
}

func (b *mmsgBatch) init(size int) {
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
func (s *udpSock) recvBatch(b *mmsgBatch) (int, error) {
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

// outbox gathers the packets a poller's round relays towards browsers, for
// one sendmmsg. Each remembers the counters to credit once it is sent, or
// the drop counter to charge if it is not.
type outbox struct {
	mmsgBatch
	sock  *udpSock
	n     int
	slots [mmsgLen]outSlot
}

type outSlot struct {
	sent *counter
	leg  *legCounters
	now  int64
}

func newOutbox() *outbox {
	o := &outbox{}
	o.init(maxPacket + srtpOverhead)
	return o
}

// buf is where the next packet should be written, to be queued without a
// copy.
func (o *outbox) buf() []byte { return o.bufs[o.n] }

// queue adds p, for dst on sock, crediting sent and leg.lastOut once sent;
// it sends what is queued first if that was for another socket, and after
// when the outbox is full.
func (o *outbox) queue(sock *udpSock, p []byte, dst netip.AddrPort, sent *counter, leg *legCounters, now int64) {
	if o.n > 0 && o.sock != sock {
		o.flush()
	}
	o.sock = sock
	i := o.n
	if len(p) > 0 && &p[0] != &o.bufs[i][0] {
		p = o.bufs[i][:copy(o.bufs[i], p)]
	}
	salen := o.addrs[i].put(dst, sock.v6)
	if salen == 0 {
		leg.dropped.Add(1)
		return
	}
	o.hdrs[i].hdr.Namelen = uint32(salen)
	o.iovs[i].SetLen(len(p))
	o.slots[i] = outSlot{sent: sent, leg: leg, now: now}
	o.n++
	if o.n == mmsgLen {
		o.flush()
	}
}

// flush sends what is queued. A datagram the kernel refuses (a full send
// buffer) is dropped and counted, and the rest still go.
func (o *outbox) flush() {
	done := 0
	for done < o.n {
		m, err := o.sock.sendBatch(o.hdrs[done:o.n])
		if err != nil {
			o.slots[done].leg.dropped.Add(1)
			done++
			continue
		}
		for i := done; i < done+m; i++ {
			sl := &o.slots[i]
			sl.sent.add(int(o.iovs[i].Len))
			sl.leg.lastOut.Store(sl.now)
		}
		done += m
	}
	o.n = 0
}

func (s *udpSock) sendBatch(hdrs []mmsghdr) (int, error) {
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
