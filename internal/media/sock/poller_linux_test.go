package sock

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/internal/testkit/leakcheck"
)

// worker is the test pollers' worker state: which goroutine handlers run
// on is checked through it.
type worker struct{ datagrams int }

// TestPollerReadsEverySocket has one poller read many sockets, some of
// them drained, while sockets come and go, and checks that each datagram
// reaches its socket's handler once, with the poller's worker state and
// source, and that closing the poller leaves no goroutine or descriptor
// behind.
func TestPollerReadsEverySocket(t *testing.T) {
	leakcheck.Check(t)
	w := &worker{}
	p, err := NewPoller(2048, nil, w)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()

	sender, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer sender.Close()
	from := sender.LocalAddr().(*net.UDPAddr).AddrPort()

	const socks, perSock = 40, 50
	var mu sync.Mutex
	got := map[string]int{}
	var wrong []string
	all := make([]*UDP, socks)
	for i := range all {
		s, err := Listen(netip.MustParseAddrPort("127.0.0.1:0"))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		h := func(b []byte, src netip.AddrPort, hw *worker) {
			hw.datagrams++ // the poller's goroutine alone: no lock
			mu.Lock()
			got[string(b)]++
			if src != from || hw != w {
				wrong = append(wrong, fmt.Sprintf("%q from %v with %p", b, src, hw))
			}
			mu.Unlock()
		}
		add := p.Add
		if i%2 == 0 {
			add = p.AddDrained
		}
		if err := add(s, h); err != nil {
			t.Fatal(err)
		}
		all[i] = s
	}
	// A socket that closes at once, and one added after close: neither
	// disturbs the others.
	gone, err := Listen(netip.MustParseAddrPort("127.0.0.1:0"))
	if err != nil {
		t.Fatal(err)
	}
	nop := func([]byte, netip.AddrPort, *worker) {}
	if err := p.Add(gone, nop); err != nil {
		t.Fatal(err)
	}
	gone.Close()
	if err := p.Add(gone, nop); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Add after Close = %v, want net.ErrClosed", err)
	}

	for n := range perSock {
		for i, s := range all {
			msg := fmt.Sprintf("%d/%d", i, n)
			if _, err := sender.WriteToUDPAddrPort([]byte(msg), s.LocalAddr()); err != nil {
				t.Fatal(err)
			}
		}
		if n%10 == 9 {
			time.Sleep(time.Millisecond) // stay within the receive buffers
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n == socks*perSock {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("handlers saw %d distinct datagrams, want %d", n, socks*perSock)
		}
		time.Sleep(5 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	for msg, n := range got {
		if n != 1 {
			t.Errorf("datagram %q handled %d times", msg, n)
		}
	}
	for _, w := range wrong {
		t.Errorf("handler got %s, want from %v with the poller's worker", w, from)
	}
}

// TestPollerFlushesItsOutbox has a handler answer each datagram through
// the poller's outbox, and checks that the answers leave at the end of
// the round, each reported sent.
func TestPollerFlushesItsOutbox(t *testing.T) {
	leakcheck.Check(t)
	out := NewOutbox(2048)
	var tally countTally
	p, err := NewPoller(2048, out, out)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	s := listen(t)
	if err := p.Add(s, func(b []byte, src netip.AddrPort, o *Outbox) {
		o.Queue(s, append(o.Buf()[:0], "re: "+string(b)...), src, &tally, 1)
	}); err != nil {
		t.Fatal(err)
	}
	peer, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	if _, err := peer.WriteToUDPAddrPort([]byte("hello"), s.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	peer.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 64)
	n, src, err := peer.ReadFromUDPAddrPort(buf)
	if err != nil {
		t.Fatal(err)
	}
	if string(buf[:n]) != "re: hello" || src != s.LocalAddr() {
		t.Errorf("peer got %q from %v, want \"re: hello\" from %v", buf[:n], src, s.LocalAddr())
	}
	deadline := time.Now().Add(5 * time.Second)
	for tally.sent.Load() != 1 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if got := tally.sent.Load(); got != 1 {
		t.Errorf("tally counts %d sent, want 1", got)
	}
}

// TestPollerMove hands a socket from one poller to another while a peer
// keeps sending, and checks that every datagram is handled once, on the
// first poller before the hand-off and on the second after, never on both
// at once, and that each poller counts what it handled.
func TestPollerMove(t *testing.T) {
	leakcheck.Check(t)
	type owner struct {
		name string
		busy bool // set while its handler runs: the poller's goroutine alone writes it
	}
	a, b := &owner{name: "a"}, &owner{name: "b"}
	pa, err := NewPoller(2048, nil, a)
	if err != nil {
		t.Fatal(err)
	}
	defer pa.Close()
	pb, err := NewPoller(2048, nil, b)
	if err != nil {
		t.Fatal(err)
	}
	defer pb.Close()

	s := listen(t)
	var mu sync.Mutex
	var seen []string // the owner of each datagram, in order
	inHandler := 0
	overlap := false
	h := func(p []byte, _ netip.AddrPort, w *owner) {
		mu.Lock()
		inHandler++
		overlap = overlap || inHandler > 1
		mu.Unlock()
		time.Sleep(50 * time.Microsecond) // widen the window a concurrent handler would need
		mu.Lock()
		seen = append(seen, w.name)
		inHandler--
		mu.Unlock()
	}
	if err := pa.Add(s, h); err != nil {
		t.Fatal(err)
	}
	peer, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	const total = 200
	for i := range total {
		if i == total/2 {
			pa.Move(s, pb)
		}
		peer.WriteToUDPAddrPort([]byte{byte(i)}, s.LocalAddr())
		time.Sleep(100 * time.Microsecond)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := len(seen)
		mu.Unlock()
		if n == total {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("handled %d datagrams, want %d", n, total)
		}
		time.Sleep(5 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if overlap {
		t.Error("the socket's handler ran on both pollers at once")
	}
	if seen[0] != "a" || seen[total-1] != "b" {
		t.Errorf("first datagram on %s, last on %s: want a, then b", seen[0], seen[total-1])
	}
	for i := 1; i < total; i++ {
		if seen[i] == "a" && seen[i-1] == "b" {
			t.Fatalf("datagram %d handled on a after b had taken the socket", i)
		}
	}
	na, _ := pa.Stats()
	nb, bytes := pb.Stats()
	if na+nb != total || bytes != nb {
		t.Errorf("stats: a %d, b %d datagrams (%d bytes), want %d in all, 1 byte each", na, nb, bytes, total)
	}
}
