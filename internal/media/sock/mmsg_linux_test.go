package sock

import (
	"fmt"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/switchboard-gw/switchboard/internal/testkit/leakcheck"
)

// countTally counts what an outbox reports, and remembers the last sent
// datagram's tag.
type countTally struct {
	sent, bytes, dropped atomic.Uint64
	lastTag              atomic.Int64
}

func (c *countTally) Sent(n int, tag int64) {
	c.sent.Add(1)
	c.bytes.Add(uint64(n))
	c.lastTag.Store(tag)
}

func (c *countTally) Dropped(int64) { c.dropped.Add(1) }

// TestBatchedSendAndReceive sends more than one batch through an outbox
// and reads it back with recvmmsg, checking order, sources and what the
// tally was told, and that a datagram the socket cannot send is reported
// dropped.
func TestBatchedSendAndReceive(t *testing.T) {
	leakcheck.Check(t)
	from, to := listen(t), listen(t)

	const total = mmsgLen + 8
	o := NewOutbox(2048)
	var tally countTally
	var bytes uint64
	for i := range total {
		p := fmt.Appendf(o.Buf()[:0], "packet %d", i)
		bytes += uint64(len(p))
		o.Queue(from, p, to.LocalAddr(), &tally, int64(i+1))
	}
	o.Queue(from, []byte("nowhere"), netip.MustParseAddrPort("[::1]:9"), &tally, 0)
	o.Flush()
	if got := tally.sent.Load(); got != total {
		t.Errorf("tally counts %d sent, want %d", got, total)
	}
	if got := tally.bytes.Load(); got != bytes {
		t.Errorf("tally counts %d bytes sent, want %d", got, bytes)
	}
	if got := tally.dropped.Load(); got != 1 {
		t.Errorf("dropped = %d, want 1 (the IPv6 destination)", got)
	}
	if got := tally.lastTag.Load(); got != total {
		t.Errorf("last sent tag = %d, want the last packet's %d", got, total)
	}

	var got []string
	rx := newBatch(2048)
	deadline := time.Now().Add(5 * time.Second)
	for len(got) < total && time.Now().Before(deadline) {
		n, err := to.recvBatch(rx)
		if isWouldBlock(err) {
			time.Sleep(time.Millisecond)
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		for i := range n {
			if src := rx.addrs[i].get(); src != from.LocalAddr() {
				t.Errorf("datagram %d from %v, want %v", len(got), src, from.LocalAddr())
			}
			got = append(got, string(rx.bufs[i][:rx.hdrs[i].n]))
		}
	}
	if len(got) != total {
		t.Fatalf("received %d datagrams, want %d", len(got), total)
	}
	for i, g := range got {
		if want := fmt.Sprintf("packet %d", i); g != want {
			t.Fatalf("datagram %d is %q, want %q", i, g, want)
		}
	}
}

// BenchmarkOutbox queues and sends one full outbox of 160-byte datagrams
// (a sendmmsg) to a loopback socket nobody reads: the kernel drops what
// overflows it after the send.
func BenchmarkOutbox(b *testing.B) {
	from, to := listen(b), listen(b)
	unix.SetsockoptInt(to.fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 4096)
	o := NewOutbox(2048)
	var tally countTally
	b.ReportAllocs()
	for b.Loop() {
		for i := range mmsgLen {
			o.Queue(from, o.Buf()[:160], to.LocalAddr(), &tally, int64(i))
		}
	}
	if n := tally.dropped.Load(); n != 0 {
		b.Fatalf("%d dropped", n)
	}
}
