package sock

import (
	"errors"
	"net"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/switchboard-gw/switchboard/internal/testkit/leakcheck"
)

// TestRecvQueueCountsWhatTheKernelQueuesAndDrops fills a socket nobody
// reads, with a small receive buffer: RecvQueue must see the queue grow,
// then the drops beyond it, and fail once the socket is closed.
func TestRecvQueueCountsWhatTheKernelQueuesAndDrops(t *testing.T) {
	leakcheck.Check(t)
	s := listen(t)
	if err := unix.SetsockoptInt(s.fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 4096); err != nil {
		t.Fatal(err)
	}
	q, err := s.RecvQueue()
	if err != nil {
		t.Fatal(err)
	}
	if q.Used != 0 || q.Drops != 0 || q.Limit < 4096 {
		t.Fatalf("idle socket: got %+v, want nothing used or dropped, a limit of 4096 bytes at least", q)
	}
	peer, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	if _, err := peer.WriteToUDPAddrPort(make([]byte, 100), s.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	if q, _ = s.RecvQueue(); q.Used == 0 {
		t.Fatalf("one datagram queued: got %+v, want some memory used", q)
	}
	for range 200 { // far more than 4 KiB of queue holds, each datagram costing its skb too
		_, _ = peer.WriteToUDPAddrPort(make([]byte, 100), s.LocalAddr())
	}
	if q, _ = s.RecvQueue(); q.Drops == 0 || q.Used == 0 {
		t.Fatalf("after 200 datagrams into a 4 KiB queue: got %+v, want drops", q)
	}
	s.Close()
	if _, err := s.RecvQueue(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("closed socket: got %v, want net.ErrClosed", err)
	}
}
