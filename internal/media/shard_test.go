package media

import (
	"bytes"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/net/bpf"

	"github.com/switchboard-gw/switchboard/internal/testkit/leakcheck"
)

// TestSteerProgram runs the steering program in x/net/bpf's VM over the
// packets a browser port gets.
func TestSteerProgram(t *testing.T) {
	rtcpSR := []byte{0x80, 200, 0, 6, 0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 0}
	rtcpRR := []byte{0x81, 201, 0, 7, 0, 0, 0, 7, 0xaa, 0xaa, 0xaa, 0xaa}
	tests := []struct {
		name string
		pkt  []byte
		n    int
		want int
	}{
		{name: "RTP by SSRC, 2", pkt: rtpPacket(0x1234567b, 1, browserPayload), n: 2, want: 1},
		{name: "RTP by SSRC, 3", pkt: rtpPacket(0x1234567b, 1, browserPayload), n: 3, want: 0x1234567b % 3},
		{name: "RTP with marker", pkt: append([]byte{0x80, 0x80 | 111}, rtpPacket(6, 1, nil)[2:]...), n: 4, want: 2},
		{name: "RTCP SR by sender SSRC", pkt: rtcpSR, n: 4, want: 0xdeadbeef % 4},
		{name: "RTCP RR by sender SSRC", pkt: rtcpRR, n: 5, want: 2},
		{name: "STUN to the kernel's hash", pkt: []byte{0, 1, 0, 0, 0x21, 0x12, 0xa4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, n: 2, want: 2},
		{name: "DTLS to the kernel's hash", pkt: []byte{22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, n: 2, want: 2},
		{name: "short RTP to the first", pkt: []byte{0x80, 0, 0, 1}, n: 2, want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prog, ok := bpf.Disassemble(steerProgram(tt.n))
			if !ok {
				t.Fatal("the program does not disassemble")
			}
			vm, err := bpf.NewVM(prog)
			if err != nil {
				t.Fatal(err)
			}
			got, err := vm.Run(tt.pkt)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("socket %d, want %d", got, tt.want)
			}
		})
	}
}

// browserSock is a socket playing a browser whose SRTP keys a test set.
type browserSock struct {
	conn *net.UDPConn
	fb   *fakeBrowser
}

// send sends RTP with ssrc and seq, encrypted, to the browser port.
func (s browserSock) send(t *testing.T, e *Engine, ssrc uint32, seq uint16, payload []byte) {
	t.Helper()
	p, err := s.fb.enc.EncryptRTP(nil, rtpPacket(ssrc, seq, payload), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.conn.WriteToUDPAddrPort(p, e.WebRTCAddr()); err != nil {
		t.Fatal(err)
	}
}

// recv waits for SRTP from the browser port and returns it decrypted.
func (s browserSock) recv(t *testing.T, e *Engine, what string) rtp.Packet {
	t.Helper()
	buf := make([]byte, 1500)
	s.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, from, err := s.conn.ReadFromUDPAddrPort(buf)
	if err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
	if from != e.WebRTCAddr() {
		t.Errorf("%s came from %v, want the browser port %v", what, from, e.WebRTCAddr())
	}
	plain, err := s.fb.dec.DecryptRTP(nil, buf[:n], nil)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	var p rtp.Packet
	if err := p.Unmarshal(plain); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestShardedBridgeFollowsItsBrowser runs a keyed bridge on two pollers
// over real sockets: the browser's RTP is steered by its SSRC, the call
// moves to that poller, plain RTP is then read there and leaves towards
// the browser from the same port; the browser's address changes (a new
// 5-tuple, as after a NAT rebinding or an ICE restart) and the media
// follows; its SSRC changes to one steered to the other poller and the
// call moves there.
func TestShardedBridgeFollowsItsBrowser(t *testing.T) {
	leakcheck.Check(t)
	e := newTestEngine(t, 2, func(c *Config) { c.Workers = 2 })
	b, fb := newKeyedBridge(t, e, srtp.ProtectionProfileAeadAes128Gcm, nil)
	pbx := newPBXSocket(t)
	b.SetPlainRemote(pbx.addr(), netip.AddrPort{})
	browserA := browserSock{conn: listenUDP(t), fb: fb}
	e.setDirect(b, addrOf(browserA.conn))

	// The browser's SSRC steers it to the poller that does not read the
	// plain leg yet.
	first := b.owner.Load()
	ssrc := uint32(0x1000 + 1 - first)
	seq := uint16(0)
	sendUntil := func(s browserSock, ssrc uint32, what string, done func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !done() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			seq++
			s.send(t, e, ssrc, seq, browserPayload)
			time.Sleep(5 * time.Millisecond)
		}
	}
	sendUntil(browserA, ssrc, "the call to move to its browser's poller", func() bool {
		return b.owner.Load() == int32(ownerOf(ssrc, 2))
	})
	d := pbx.next(t, "the browser's RTP at the PBX", func(datagram) bool { return true })
	if !bytes.Contains(d.data, browserPayload) {
		t.Errorf("PBX got % x, want the browser's payload", d.data)
	}
	if st := e.PollerStats(); st[first].Handoffs != 0 || st[1-first].Handoffs != 1 || st[1-first].Foreign == 0 {
		t.Errorf("poller stats %+v: want one hand-off to poller %d, after foreign packets there", st, 1-first)
	}

	// The plain leg is read by the owner once the old one has done the
	// hand-off, moments after the claim: from then on the other poller
	// reads nothing while the PBX talks.
	local := b.Local().RTP
	probe := uint16(1000)
	waitFor(t, "the owner to read the plain leg", func() bool {
		n := e.PollerStats()[1-first].Packets
		probe++
		pbx.conn.WriteToUDPAddrPort(rtpPacket(pbxSSRC, probe, pbxPayload), local)
		browserA.recv(t, e, "a probe from the PBX")
		return e.PollerStats()[1-first].Packets > n
	})
	before := e.PollerStats()
	for i := range 20 {
		pbx.conn.WriteToUDPAddrPort(rtpPacket(pbxSSRC, uint16(i), pbxPayload), local)
	}
	if p := browserA.recv(t, e, "the PBX's RTP at the browser"); !bytes.Equal(p.Payload, pbxPayload) || p.SSRC != b.Local().SSRC {
		t.Errorf("browser got %v, want the PBX's payload with SSRC %#x", p.Header, b.Local().SSRC)
	}
	waitFor(t, "the owner to read the PBX's packets", func() bool {
		return e.PollerStats()[1-first].Packets >= before[1-first].Packets+20
	})
	if after := e.PollerStats(); after[first].Packets != before[first].Packets {
		t.Errorf("poller %d read %d packets while only the call's plain leg was busy, want 0",
			first, after[first].Packets-before[first].Packets)
	}

	// A new address: the old one's entry in the owner's cache is stale.
	browserB := browserSock{conn: listenUDP(t), fb: fb}
	e.setDirect(b, addrOf(browserB.conn))
	pbx.drain()
	browserA.send(t, e, ssrc, seq+1, payload("stale"))
	browserB.send(t, e, ssrc, seq+2, browserPayload)
	seq += 2
	d = pbx.next(t, "RTP from the browser's new address", func(datagram) bool { return true })
	if !bytes.Contains(d.data, browserPayload) {
		t.Errorf("PBX got % x first, want the packet from the new address, not the old one's", d.data)
	}
	pbx.conn.WriteToUDPAddrPort(rtpPacket(pbxSSRC, 100, pbxPayload), local)
	if p := browserB.recv(t, e, "the PBX's RTP at the new address"); p.SequenceNumber != 100 {
		t.Errorf("browser's new address got sequence %d, want 100", p.SequenceNumber)
	}

	// A new SSRC steered to the other poller: the call follows, once
	// claimInterval has passed since the last move.
	newSSRC := ssrc + 1
	sendUntil(browserB, newSSRC, "the call to move with the browser's new SSRC", func() bool {
		return b.owner.Load() == int32(ownerOf(newSSRC, 2))
	})
	pbx.conn.WriteToUDPAddrPort(rtpPacket(pbxSSRC, 200, pbxPayload), local)
	if p := browserB.recv(t, e, "the PBX's RTP after the second move"); p.SequenceNumber != 200 {
		t.Errorf("browser got sequence %d, want 200", p.SequenceNumber)
	}
	if st := b.Stats().Browser; st.SRTPAuthFailures != 0 {
		t.Errorf("SRTP auth failures: %d, want 0", st.SRTPAuthFailures)
	}
}

// TestDirectCacheDropsStaleEntries checks a poller's cache against the
// engine's map as bridges come and go.
func TestDirectCacheDropsStaleEntries(t *testing.T) {
	e := newTestEngine(t, 3, nil)
	b, _ := newKeyedBridge(t, e, srtp.ProtectionProfileAeadAes128Gcm, nil)
	var c directCache
	a1, a2 := netip.MustParseAddrPort("127.0.0.1:1000"), netip.MustParseAddrPort("127.0.0.1:1002")
	if got := c.lookup(e, a1); got != nil {
		t.Fatalf("unmapped address: got %p, want nil", got)
	}
	e.setDirect(b, a1)
	if got := c.lookup(e, a1); got != b {
		t.Fatalf("mapped address: got %p, want the bridge", got)
	}
	e.setDirect(b, a2)
	if got := c.lookup(e, a1); got != nil {
		t.Errorf("the bridge's old address: got %p, want nil", got)
	}
	if got := c.lookup(e, a2); got != b {
		t.Errorf("the bridge's new address: got %p, want the bridge", got)
	}
	b.Close()
	if got := c.lookup(e, a2); got != nil {
		t.Errorf("a closed bridge's address: got %p, want nil", got)
	}
	live, _ := newKeyedBridge(t, e, srtp.ProtectionProfileAeadAes128Gcm, nil)
	a3 := netip.MustParseAddrPort("127.0.0.1:1004")
	e.setDirect(live, a3)
	for i := range 3 * minSweep { // entries of bridges long gone are swept as others fill in
		c.m[netip.AddrPortFrom(loopback, uint16(2000+i))] = b
		delete(c.m, a3)
		if got := c.lookup(e, a3); got != live {
			t.Fatalf("live bridge's address: got %p, want the bridge", got)
		}
	}
	if len(c.m) > minSweep+1 {
		t.Errorf("cache holds %d entries, want at most %d", len(c.m), minSweep+1)
	}
}

// checkOwner checks that the call's plain leg is read by the poller its
// browser's RTP is steered to.
func (c *call) checkOwner(t *testing.T) {
	t.Helper()
	ssrc := uint32(c.peer.sender.GetParameters().Encodings[0].SSRC)
	want := int32(ownerOf(ssrc, len(c.e.pollers)))
	waitFor(t, "the call to move to its browser's poller", func() bool { return c.b.owner.Load() == want })
}

// TestShardedCalls runs calls with pion peers on two pollers: each
// call's media flows both ways and ends on the poller its browser's SSRC
// is steered to, each call moving once at most.
func TestShardedCalls(t *testing.T) {
	leakcheck.Check(t)
	e := newTestEngine(t, 4, func(c *Config) { c.Workers = 2 })
	const calls = 4
	for i := range calls {
		c := startCall(t, e, i%2 == 0, nil)
		c.exchange(t)
		c.checkOwner(t)
	}
	st := e.PollerStats()
	t.Logf("pollers: %+v", st)
	if moves := st[0].Handoffs + st[1].Handoffs; moves > calls {
		t.Errorf("%d hand-offs for %d calls, want one a call at most", moves, calls)
	}
}

// TestPollerMetrics scrapes the pollers' counters after a few packets
// each way through a keyed bridge on two pollers.
func TestPollerMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	e, err := New(Config{
		WebRTCAddr: netip.AddrPortFrom(loopback, 0), RTPAddr: loopback,
		RTPPorts: freePortRange(t, 1), Workers: 2,
	}, Deps{Logger: testLogger(t), Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	b, fb := newKeyedBridge(t, e, srtp.ProtectionProfileAeadAes128Gcm, nil)
	pbx := newPBXSocket(t)
	b.SetPlainRemote(pbx.addr(), netip.AddrPort{})
	browser := browserSock{conn: listenUDP(t), fb: fb}
	e.setDirect(b, addrOf(browser.conn))
	const ssrc = 0x2001 // steered to poller 1
	for i := range 10 {
		browser.send(t, e, ssrc, uint16(i), browserPayload)
		pbx.next(t, "the browser's RTP at the PBX", func(datagram) bool { return true })
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		for _, mt := range f.GetMetric() {
			got[f.GetName()+"/"+mt.GetLabel()[0].GetValue()] = mt.GetCounter().GetValue()
		}
	}
	for _, name := range []string{"packets_total", "bytes_total", "foreign_packets_total", "handoffs_total"} {
		for _, p := range []string{"0", "1"} {
			if _, ok := got["switchboard_media_poller_"+name+"/"+p]; !ok {
				t.Errorf("no switchboard_media_poller_%s{poller=%q}", name, p)
			}
		}
	}
	if n := got["switchboard_media_poller_packets_total/1"]; n < 10 {
		t.Errorf("poller 1 read %v packets, want the browser's 10 at least", n)
	}
	if n := got["switchboard_media_poller_bytes_total/1"]; n < 10*float64(len(browserPayload)) {
		t.Errorf("poller 1 read %v bytes, want more than the payloads' %d", n, 10*len(browserPayload))
	}
}

// TestShardedBridgeTwoStreams has a browser send two streams whose SSRCs
// steer to different pollers, while the PBX talks: both pollers relay the
// call's browser packets at once (under the race detector), nothing is
// lost, and the call changes owner at most once a claimInterval.
func TestShardedBridgeTwoStreams(t *testing.T) {
	leakcheck.Check(t)
	e := newTestEngine(t, 2, func(c *Config) { c.Workers = 2 })
	b, fb := newKeyedBridge(t, e, srtp.ProtectionProfileAeadAes128Gcm, nil)
	pbx := newPBXSocket(t)
	b.SetPlainRemote(pbx.addr(), netip.AddrPort{})
	browser := browserSock{conn: listenUDP(t), fb: fb}
	e.setDirect(b, addrOf(browser.conn))
	local := b.Local().RTP

	const rounds = 150 // 1.5 s at 10 ms
	start := time.Now()
	for i := range rounds {
		browser.send(t, e, 0x3000, uint16(i), browserPayload) // poller 0
		browser.send(t, e, 0x3001, uint16(i), browserPayload) // poller 1
		pbx.conn.WriteToUDPAddrPort(rtpPacket(pbxSSRC, uint16(i), pbxPayload), local)
		time.Sleep(10 * time.Millisecond)
	}
	waitFor(t, "every browser packet at the PBX", func() bool {
		return b.Stats().Plain.RTPOut.Packets == 2*rounds
	})
	waitFor(t, "the PBX's packets at the browser", func() bool {
		return b.Stats().Browser.RTPOut.Packets == rounds
	})
	st := b.Stats()
	if st.Browser.Dropped != 0 || st.Browser.SRTPAuthFailures != 0 || st.Plain.Dropped != 0 {
		t.Errorf("dropped %d and %d, %d auth failures; want none", st.Browser.Dropped, st.Plain.Dropped, st.Browser.SRTPAuthFailures)
	}
	ps := e.PollerStats()
	moves := ps[0].Handoffs + ps[1].Handoffs
	most := 1 + uint64(time.Since(start)/claimInterval)
	if moves < 1 || moves > most {
		t.Errorf("the call moved %d times in %v, want 1 to %d (at most one a second, after the first)", moves, time.Since(start), most)
	}
	if ps[0].Foreign+ps[1].Foreign < rounds-2 {
		t.Errorf("%d foreign packets, want about one stream's %d: one of them is always on the other poller", ps[0].Foreign+ps[1].Foreign, rounds)
	}
}
