package services

import (
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// ptime is the packet interval of the tone, and the step of the echo's
// timestamps when a new stream starts.
const ptime = 20 * time.Millisecond

// rtpHeader is the size of an RTP header without CSRCs or extension.
const rtpHeader = 12

// stream is one call's media: an RTP socket, and a socket that holds the
// RTCP port the SDP names. The reader (read) echoes; the call's clock
// (call.run) sends the tone. What signalling decided reaches both through
// atomics, so the packet paths take no lock and allocate nothing.
type stream struct {
	service string
	conn    *net.UDPConn
	// rtcp is bound only to keep its port ours; nothing reads it, and its
	// receive buffer is the smallest the kernel allows. nil with rtcp-mux.
	rtcp  *net.UDPConn
	local local
	ssrc  uint32

	params  atomic.Pointer[params]         // nil until answered
	latched atomic.Pointer[netip.AddrPort] // the source of the first RTP packet
	lastRTP atomic.Int64                   // when RTP last arrived, Unix ns
	packets atomic.Int64                   // RTP packets received

	echo echoState // the reader's own
	tone toneState // the clock's own

	closeOnce sync.Once
}

// params is what the SDP exchange decided.
type params struct {
	pt     uint8
	codec  codec
	remote netip.AddrPort // from the caller's SDP; invalid: send nowhere until latched
	send   bool           // the services' direction includes sending
}

// echoState maps the caller's sequence numbers and timestamps onto the
// echo's own stream (RFC 3550 §5.1), so that the caller sees one
// consistent source even when its own SSRC changes.
type echoState struct {
	started bool
	ssrc    uint32 // the caller's current SSRC
	seqOff  uint16
	tsOff   uint32
	seq     uint16 // the last sent
	ts      uint32
}

// toneState is the tone's position and its one packet buffer.
type toneState struct {
	seq   uint16
	ts    uint32
	frame int
	first bool
	pkt   [rtpHeader + frameSamples]byte
}

// newStream binds an RTP socket at addr, and an RTCP one unless the caller
// multiplexes RTCP.
func newStream(service string, addr netip.Addr, mux bool) (*stream, error) {
	conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(addr, 0)))
	if err != nil {
		return nil, err
	}
	m := &stream{service: service, conn: conn, ssrc: rand.Uint32(),
		local: local{name: service, addr: conn.LocalAddr().(*net.UDPAddr).AddrPort()}}
	m.local.addr = netip.AddrPortFrom(addr, m.local.addr.Port())
	if !mux {
		if m.rtcp, err = net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(addr, 0))); err != nil {
			conn.Close()
			return nil, err
		}
		_ = m.rtcp.SetReadBuffer(0)
		m.local.rtcpPort = int(m.rtcp.LocalAddr().(*net.UDPAddr).Port)
	}
	m.echo.seq, m.echo.ts = uint16(rand.Uint32()), rand.Uint32()
	m.tone.seq, m.tone.ts, m.tone.first = uint16(rand.Uint32()), rand.Uint32(), true
	return m, nil
}

// close frees the ports; the reader returns.
func (m *stream) close() {
	m.closeOnce.Do(func() {
		m.conn.Close()
		if m.rtcp != nil {
			m.rtcp.Close()
		}
	})
}

// set applies what an SDP exchange decided. A new remote address is a new
// peer: the latch is released.
func (m *stream) set(p *params) {
	if old := m.params.Swap(p); old == nil || old.remote != p.remote {
		m.latched.Store(nil)
	}
}

// read receives RTP until the socket closes: it latches on the first
// packet's source, drops packets from any other, notes the time, and
// echoes.
func (m *stream) read() {
	buf := make([]byte, 1500)
	for {
		n, src, err := m.conn.ReadFromUDPAddrPort(buf)
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil || !isRTP(buf[:n]) {
			continue
		}
		src = netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
		if l := m.latched.Load(); l == nil {
			first := src // its own variable: only a latch allocates
			m.latched.Store(&first)
		} else if *l != src {
			continue
		}
		m.lastRTP.Store(time.Now().UnixNano())
		m.packets.Add(1)
		if m.service == Echo {
			m.echoBack(buf[:n], src)
		}
	}
}

// isRTP reports whether p is an RTP packet: version 2, a whole header, and
// not RTCP multiplexed on the port (RFC 5761 §4: payload types 64-95).
func isRTP(p []byte) bool {
	return len(p) >= rtpHeader && p[0]>>6 == 2 && (p[1] < 192 || p[1] > 223)
}

// echoBack sends p back to src as a packet of the echo's own stream.
func (m *stream) echoBack(p []byte, src netip.AddrPort) {
	prm := m.params.Load()
	if prm == nil || !prm.send {
		return
	}
	e := &m.echo
	seq, ts, ssrc := binary.BigEndian.Uint16(p[2:]), binary.BigEndian.Uint32(p[4:]), binary.BigEndian.Uint32(p[8:])
	if !e.started || ssrc != e.ssrc {
		// A new source: continue the echo's stream where it stopped.
		e.started, e.ssrc = true, ssrc
		e.seqOff, e.tsOff = e.seq+1-seq, e.ts+frameSamples-ts
		p[1] |= 0x80 // marker: a discontinuity (RFC 3551 §4.1)
	}
	e.seq, e.ts = seq+e.seqOff, ts+e.tsOff
	binary.BigEndian.PutUint16(p[2:], e.seq)
	binary.BigEndian.PutUint32(p[4:], e.ts)
	binary.BigEndian.PutUint32(p[8:], m.ssrc)
	_, _ = m.conn.WriteToUDPAddrPort(p, src)
}

// sendTone sends the next 20 ms of the tone to the latched source, else to
// the caller's SDP address (symmetric RTP, RFC 4961).
func (m *stream) sendTone() {
	prm := m.params.Load()
	if prm == nil || !prm.send {
		return
	}
	dst := prm.remote
	if l := m.latched.Load(); l != nil {
		dst = *l
	} else if dst.Addr() != m.localIP() {
		// Until the caller's RTP arrives, send only to switchboard's own
		// media bridge: an unauthenticated INVITE must not aim a stream at
		// any address it names.
		return
	}
	if !dst.IsValid() || dst.Port() == 0 {
		return
	}
	t := &m.tone
	p := t.pkt[:]
	p[0], p[1] = 0x80, prm.pt
	if t.first {
		p[1] |= 0x80 // marker: the start of a talkspurt
		t.first = false
	}
	binary.BigEndian.PutUint16(p[2:], t.seq)
	binary.BigEndian.PutUint32(p[4:], t.ts)
	binary.BigEndian.PutUint32(p[8:], m.ssrc)
	copy(p[rtpHeader:], toneFrames[prm.codec][t.frame][:])
	t.seq++
	t.ts += frameSamples
	t.frame = (t.frame + 1) % toneFrameCount
	_, _ = m.conn.WriteToUDPAddrPort(p, dst)
}

// localIP is the address the stream's socket is bound to: the media
// bridge's plain legs bind the same one.
func (m *stream) localIP() netip.Addr {
	return m.conn.LocalAddr().(*net.UDPAddr).AddrPort().Addr()
}
