package media

import (
	"fmt"
	"io"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pion/srtp/v3"
	"golang.org/x/sys/unix"

	"github.com/switchboard-gw/switchboard/internal/media/sock"
)

// BenchmarkShardedRelay measures the browser → plain relay through the
// engine's real path, on one and on two pollers: SRTP arrives on the
// browser port from a socket per call, is steered to a poller by its
// SSRC, looked up in the poller's cache, decrypted, counted and sent to
// the plain side (a loopback socket nobody reads). The benchmark's own
// goroutine is the browsers: it encrypts each chunk of packets with the
// timer stopped, then sends them 32 at a time with sendmmsg. An op is one
// packet relayed; pkts/s is the same figure as a rate, cpu-ns/pkt the
// process's CPU time (user and system) per packet over the timed part, and
// runq-ns/pkt the time its threads spent runnable but waiting for a CPU
// (/proc/self/task/*/schedstat), which says how much of the machine other
// processes took.
//
// mode=stream sends while the pollers relay, keeping at most benchWindow
// packets per poller unread so that no socket buffer overflows: on
// loopback the kernel delivers each datagram in its sender's system call,
// so the sender costs about what a poller does, and with two cores the
// sender and the pollers share them whatever the number of pollers.
// mode=burst measures the pollers alone: with the timer stopped, it holds
// every call's decryption lock, so that each poller stops at its first
// packet, and fills the sockets' buffers; then it releases the locks and
// times the pollers emptying them.
func BenchmarkShardedRelay(b *testing.B) {
	for _, mode := range []string{"stream", "burst"} {
		for _, workers := range []int{1, 2} {
			b.Run(fmt.Sprintf("mode=%s/pollers=%d", mode, workers), func(b *testing.B) {
				benchShardedRelay(b, workers, mode == "burst")
			})
		}
	}
}

const (
	benchCalls  = 32
	benchChunk  = 16384 // packets encrypted at a time, the timer stopped
	benchWindow = 1024  // packets sent and not yet read, per poller (its buffer holds 2,500)
	benchBurst  = 2048  // packets per socket of the browser port and round (its buffer holds 2,500)
)

// benchLeg is one call of the benchmark: its bridge, the browser's keys,
// its socket and its stream.
type benchLeg struct {
	br   *Bridge
	fb   *fakeBrowser
	src  *sock.UDP
	ssrc uint32
	seq  uint16
	pkts [][]byte // the current chunk, encrypted
}

func benchShardedRelay(b *testing.B, workers int, burst bool) {
	e := newTestEngine(b, benchCalls+16, func(c *Config) { c.Workers = workers }) // slack: other tests bind ports too
	sink := addrOf(listenUDP(b))
	legs := make([]*benchLeg, benchCalls)
	for j := range legs {
		br, fb := newKeyedBridge(b, e, srtp.ProtectionProfileAeadAes128Gcm, io.Discard)
		br.SetPlainRemote(sink, sink)
		src, err := sock.Listen(netip.AddrPortFrom(loopback, 0))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { src.Close() })
		e.setDirect(br, src.LocalAddr())
		legs[j] = &benchLeg{br: br, fb: fb, src: src, ssrc: uint32(0x5000 + j)}
	}
	s := &benchSender{e: e, out: sock.NewOutbox(maxPacket), sent: make([]uint64, workers)}
	for _, st := range e.PollerStats() {
		s.base = append(s.base, st.Packets)
	}

	// Warm up: every call claimed by the poller its SSRC is steered to.
	for _, l := range legs {
		l.encrypt(b, 64)
	}
	s.send(legs, 64)
	s.drain()
	for _, l := range legs {
		if got, want := l.br.owner.Load(), int32(ownerOf(l.ssrc, workers)); got != want {
			b.Fatalf("call with SSRC %#x owned by poller %d, want %d", l.ssrc, got, want)
		}
	}

	warm := uint64(0)
	for _, l := range legs {
		warm += l.br.plain.rtpOut.packets.Load()
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.StopTimer()
	var cpu, runq time.Duration
	timed := func(f func()) { // the timer runs, and CPU is counted, for f alone
		before, waitBefore := cpuTime(), runqWait()
		b.StartTimer()
		f()
		b.StopTimer()
		cpu += cpuTime() - before
		runq += runqWait() - waitBefore
	}
	chunk := benchChunk
	if burst {
		chunk = benchBurst * workers
	}
	for done := 0; done < b.N; {
		n := min(chunk, b.N-done)
		perLeg := (n + benchCalls - 1) / benchCalls
		for _, l := range legs {
			l.encrypt(b, perLeg)
		}
		if burst {
			s.fill(legs, perLeg)
			timed(func() { s.release(legs) })
		} else {
			timed(func() { s.send(legs, perLeg) })
		}
		done += perLeg * benchCalls
	}
	timed(s.drain)
	relayed := -int(warm)
	for _, l := range legs {
		st := l.br.Stats()
		if st.Browser.SRTPAuthFailures != 0 || st.Browser.Dropped != 0 || st.Plain.Dropped != 0 {
			b.Fatalf("call %#x: %d auth failures, %d and %d dropped", l.ssrc, st.Browser.SRTPAuthFailures, st.Browser.Dropped, st.Plain.Dropped)
		}
		relayed += int(st.Plain.RTPOut.Packets)
	}
	elapsed := b.Elapsed()
	b.ReportMetric(float64(relayed)/elapsed.Seconds(), "pkts/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(relayed), "cpu-ns/pkt")
	b.ReportMetric(float64(runq.Nanoseconds())/float64(relayed), "runq-ns/pkt")
}

// encrypt makes the leg's next n packets.
func (l *benchLeg) encrypt(b *testing.B, n int) {
	l.pkts = l.pkts[:0]
	for range n {
		l.seq++
		p, err := l.fb.enc.EncryptRTP(nil, rtpPacket(l.ssrc, l.seq, browserPayload), nil)
		if err != nil {
			b.Fatal(err)
		}
		l.pkts = append(l.pkts, p)
	}
}

// benchSender sends the calls' packets to the browser port, 32 to a
// sendmmsg, and keeps each poller's unread packets under benchWindow.
type benchSender struct {
	e    *Engine
	out  *sock.Outbox
	sent []uint64 // per poller
	base []uint64 // the pollers' reads before the benchmark
}

// send sends the n packets of each leg's chunk.
func (s *benchSender) send(legs []*benchLeg, n int) {
	dst := s.e.WebRTCAddr()
	for at := 0; at < n; at += 32 {
		for _, l := range legs {
			i := ownerOf(l.ssrc, len(s.sent))
			m := min(32, n-at)
			s.waitRoom(i, benchWindow-m)
			for _, p := range l.pkts[at : at+m] {
				s.out.Queue(l.src, p, dst, nopTally{}, 0)
			}
			s.out.Flush()
			s.sent[i] += uint64(m)
		}
	}
	for _, l := range legs {
		l.pkts = l.pkts[:0]
	}
}

// fill sends the n packets of each leg's chunk while every leg's
// decryption lock is held: the pollers stop at their first packet and the
// rest waits in the sockets' buffers.
func (s *benchSender) fill(legs []*benchLeg, n int) {
	for _, l := range legs {
		l.br.sess.Load().decMu.Lock()
	}
	dst := s.e.WebRTCAddr()
	for at := 0; at < n; at += 32 {
		for _, l := range legs {
			m := min(32, n-at)
			for _, p := range l.pkts[at : at+m] {
				s.out.Queue(l.src, p, dst, nopTally{}, 0)
			}
			s.out.Flush()
			s.sent[ownerOf(l.ssrc, len(s.sent))] += uint64(m)
		}
	}
	for _, l := range legs {
		l.pkts = l.pkts[:0]
	}
}

// release lets the pollers go and waits, asleep so as to leave them the
// cores, until they relayed every packet fill sent.
func (s *benchSender) release(legs []*benchLeg) {
	want := uint64(0)
	for _, n := range s.sent {
		want += n
	}
	for _, l := range legs {
		l.br.sess.Load().decMu.Unlock()
	}
	for {
		got := uint64(0) // the warm-up counts on both sides
		for _, l := range legs {
			got += l.br.plain.rtpOut.packets.Load()
		}
		if got >= want {
			return
		}
		time.Sleep(20 * time.Microsecond)
	}
}

// waitRoom waits until poller i has at most limit packets unread.
func (s *benchSender) waitRoom(i, limit int) {
	for {
		read, _ := s.e.pollers[i].Stats()
		if int(s.sent[i])-int(read-s.base[i]) <= limit {
			return
		}
		runtime.Gosched()
	}
}

// drain waits until every poller has read all that was sent.
func (s *benchSender) drain() {
	for i := range s.sent {
		s.waitRoom(i, 0)
	}
}

type nopTally struct{}

func (nopTally) Sent(int, int64) {}
func (nopTally) Dropped(int64)   {}

// runqWait is how long the process's threads have waited on a run queue
// (the second field of each thread's schedstat).
func runqWait() time.Duration {
	tasks, _ := os.ReadDir("/proc/self/task")
	var total time.Duration
	for _, t := range tasks {
		raw, err := os.ReadFile("/proc/self/task/" + t.Name() + "/schedstat")
		if err != nil {
			continue
		}
		if f := strings.Fields(string(raw)); len(f) >= 2 {
			ns, _ := strconv.ParseInt(f[1], 10, 64)
			total += time.Duration(ns)
		}
	}
	return total
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru unix.Rusage
	unix.Getrusage(unix.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
