package sock

import (
	"bufio"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// BenchmarkKernelFloor measures what relaying a datagram costs the relay
// when it does nothing else: no SRTP, no lookup, no counters. It is the
// floor under the gateway's CPU per relayed packet on this machine, set by
// the kernel's per-datagram work, which the gateway's media path cannot go
// below in user space.
//
// A peer process (this test binary again, TestFloorPeer) sends floorPPS
// datagrams of 172 bytes a second (G.711 20 ms in SRTP) to the relay's
// socket, in bursts of a millisecond's worth, and reads what the relay
// sends to its sink; the relay runs in this process, whose CPU time
// (getrusage) is divided by the datagrams it relayed. As in the gateway on
// loopback, each send also pays the receiver's half of the delivery. Three
// relays:
//
//   - one-by-one: recvfrom, then sendto, blocking, as a call's own port
//     on the phone side would be at best;
//   - batched: recvmmsg of up to 16, waiting in poll(2) when empty, then
//     one sendmmsg of what it read, the most batching the kernel offers;
//   - poller: the gateway's own I/O layer, a Poller draining one socket
//     into its Outbox, parked in Go's netpoller between rounds.
//
// Run it alone, one iteration a sub-benchmark:
//
//	go test -run '^$' -bench KernelFloor -benchtime 1x -count 6 ./internal/media/sock/
func BenchmarkKernelFloor(b *testing.B) {
	for _, relay := range []struct {
		name string
		run  func(b *testing.B, in, out *UDP, sink netip.AddrPort, want int, peerDone <-chan struct{}) int
	}{
		{"one-by-one", relayOneByOne},
		{"batched", relayBatched},
		{"poller", relayPoller},
	} {
		b.Run(relay.name, func(b *testing.B) {
			var cpu time.Duration
			relayed := 0
			for b.Loop() {
				c, n := floorRun(b, relay.run)
				cpu += c
				relayed += n
			}
			if relayed == 0 {
				b.Fatal("nothing relayed")
			}
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(relayed), "cpu-ns/pkt")
			// A G.711 call relays 100 datagrams a second (50 each way).
			b.ReportMetric(1e9/(100*float64(cpu.Nanoseconds())/float64(relayed)), "calls/core")
		})
	}
}

const (
	floorPPS     = 100_000 // about a thousand calls' worth
	floorPackets = 200_000
	floorPktLen  = 172
)

// floorRun starts a peer, relays what it sends until it has all of it or
// the peer is done and quiet, and returns the process's CPU time over the
// relaying and how many datagrams were relayed.
func floorRun(b *testing.B, relay func(*testing.B, *UDP, *UDP, netip.AddrPort, int, <-chan struct{}) int) (time.Duration, int) {
	b.Helper()
	loop := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), 0)
	in, err := Listen(loop)
	if err != nil {
		b.Fatal(err)
	}
	defer in.Close()
	out, err := Listen(loop)
	if err != nil {
		b.Fatal(err)
	}
	defer out.Close()
	if err := in.SetReadBuffer(4 << 20); err != nil {
		b.Fatal(err)
	}

	cmd := exec.Command(os.Args[0], "-test.run=^TestFloorPeer$")
	cmd.Env = append(os.Environ(),
		"SB_FLOOR_PEER="+in.LocalAddr().String(),
		"SB_FLOOR_PACKETS="+strconv.Itoa(floorPackets))
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()
	lines := bufio.NewScanner(stdout)
	if !lines.Scan() {
		b.Fatal("the peer said nothing")
	}
	sink, err := netip.ParseAddrPort(lines.Text())
	if err != nil {
		b.Fatalf("the peer's sink: %v", err)
	}
	peerDone := make(chan struct{})
	go func() {
		for lines.Scan() {
		}
		close(peerDone)
	}()

	c0 := processCPU()
	n := relay(b, in, out, sink, floorPackets, peerDone)
	return processCPU() - c0, n
}

func processCPU() time.Duration {
	var ru unix.Rusage
	unix.Getrusage(unix.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// floorIdle is how long a relay waits for a datagram once the peer is done.
const floorIdle = 200 * time.Millisecond

func relayOneByOne(b *testing.B, in, out *UDP, sink netip.AddrPort, want int, peerDone <-chan struct{}) int {
	unix.SetNonblock(in.fd, false)
	tv := unix.NsecToTimeval(floorIdle.Nanoseconds())
	unix.SetsockoptTimeval(in.fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	buf := make([]byte, 2048)
	var from rawAddr
	got := 0
	for got < want {
		n, _, err := recvBlocking(in, buf, &from)
		if err != nil {
			if isDone(peerDone) {
				break
			}
			continue
		}
		if err := out.SendTo(buf[:n], sink); err != nil {
			b.Fatal(err)
		}
		got++
	}
	return got
}

// recvBlocking is recvFrom on a socket left blocking.
func recvBlocking(s *UDP, p []byte, a *rawAddr) (int, netip.AddrPort, error) {
	alen := uint32(unsafe.Sizeof(a.sa))
	n, _, errno := unix.Syscall6(unix.SYS_RECVFROM, uintptr(s.fd),
		uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)), 0,
		uintptr(unsafe.Pointer(&a.sa)), uintptr(unsafe.Pointer(&alen)))
	if errno != 0 {
		return 0, netip.AddrPort{}, errno
	}
	return int(n), a.get(), nil
}

func relayBatched(b *testing.B, in, out *UDP, sink netip.AddrPort, want int, peerDone <-chan struct{}) int {
	rx := newBatch(2048)
	o := NewOutbox(2048)
	var tally countTally
	pfd := []unix.PollFd{{Fd: int32(in.fd), Events: unix.POLLIN}}
	unix.SetNonblock(in.fd, true)
	got := 0
	for got < want {
		n, err := in.recvBatch(rx)
		if err != nil {
			if k, _ := unix.Poll(pfd, int(floorIdle.Milliseconds())); k == 0 && isDone(peerDone) {
				break
			}
			continue
		}
		for i := range n {
			o.Queue(out, rx.bufs[i][:rx.hdrs[i].n], sink, &tally, 0)
		}
		o.Flush()
		got += n
	}
	if d := tally.dropped.Load(); d != 0 {
		b.Fatalf("%d sends refused", d)
	}
	return got
}

func relayPoller(b *testing.B, in, out *UDP, sink netip.AddrPort, want int, peerDone <-chan struct{}) int {
	o := NewOutbox(2048)
	var tally countTally
	p, err := NewPoller(2048, o, struct{}{})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	var got atomic.Int64
	err = p.AddDrained(in, func(pkt []byte, _ netip.AddrPort, _ struct{}) {
		o.Queue(out, pkt, sink, &tally, 0)
		got.Add(1)
	})
	if err != nil {
		b.Fatal(err)
	}
	idleSince := time.Time{}
	last := int64(0)
	for int(got.Load()) < want {
		time.Sleep(10 * time.Millisecond)
		n := got.Load()
		switch {
		case n != last || !isDone(peerDone):
			last, idleSince = n, time.Time{}
		case idleSince.IsZero():
			idleSince = time.Now()
		case time.Since(idleSince) > floorIdle:
			return int(n)
		}
	}
	return int(got.Load())
}

func isDone(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// TestFloorPeer is BenchmarkKernelFloor's peer, in a process of its own: it
// prints its sink's address, sends SB_FLOOR_PACKETS datagrams at floorPPS
// to SB_FLOOR_PEER, reads the sink meanwhile, and exits. Without
// SB_FLOOR_PEER it is skipped.
func TestFloorPeer(t *testing.T) {
	to := os.Getenv("SB_FLOOR_PEER")
	if to == "" {
		t.Skip("BenchmarkKernelFloor's peer process")
	}
	dst := netip.MustParseAddrPort(to)
	packets, _ := strconv.Atoi(os.Getenv("SB_FLOOR_PACKETS"))
	loop := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), 0)
	sink, err := Listen(loop)
	if err != nil {
		t.Fatal(err)
	}
	if err := sink.SetReadBuffer(4 << 20); err != nil {
		t.Fatal(err)
	}
	feed, err := Listen(loop)
	if err != nil {
		t.Fatal(err)
	}
	unix.SetNonblock(sink.fd, false)
	go func() {
		buf := make([]byte, 2048)
		var from rawAddr
		for {
			if _, _, err := recvBlocking(sink, buf, &from); err != nil && err != unix.EINTR {
				return
			}
		}
	}()
	fmt.Println(sink.LocalAddr())
	time.Sleep(50 * time.Millisecond) // the relay starts reading

	pkt := make([]byte, floorPktLen)
	const perMs = floorPPS / 1000
	start := time.Now()
	for i := range packets {
		if i%perMs == 0 {
			due := start.Add(time.Duration(i/perMs) * time.Millisecond)
			for time.Now().Before(due) {
				time.Sleep(100 * time.Microsecond)
			}
		}
		if err := feed.SendTo(pkt, dst); err != nil && err != unix.EAGAIN {
			t.Fatal(err)
		}
	}
	time.Sleep(20 * time.Millisecond) // the last ones reach the sink
}
