package media

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/netip"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"

	"github.com/switchboard-gw/switchboard/internal/media/sock"
)

// The relay is the hot path. Each reading goroutine owns a scratch: its
// receive buffer, its output buffer and the headers pion parses into, so a
// relayed packet allocates nothing.

// maxPacket bounds packets on both legs; pion/ice reads up to 8192 bytes.
const maxPacket = 8192

// srtpOverhead is the most SRTP/SRTCP adds: a 16-byte GCM tag or a 10-byte
// HMAC tag, plus SRTCP's 4-byte index.
const srtpOverhead = 16 + 4

type scratch struct {
	in   []byte
	out  []byte
	rtp  rtp.Header
	rtcp rtcp.Header

	// A poller's scratch is also its worker state, which only its
	// goroutine touches: its index, its socket of the browser port's
	// group, the outbox that batches what a round sends towards browsers
	// from that socket, its own copy of the direct-relay map, its
	// counters. Elsewhere idx is -1 and the rest zero.
	idx     int32
	browser *sock.UDP
	tx      *sock.Outbox
	direct  directCache
	stats   pollerCounters
}

func newScratch() *scratch {
	return &scratch{idx: -1, in: make([]byte, maxPacket), out: make([]byte, maxPacket+srtpOverhead)}
}

// browserBuf is where to encrypt a packet for the browser: the outbox's
// next slot when there is one, so that queueing it copies nothing.
func (sc *scratch) browserBuf() []byte {
	if sc.tx != nil {
		return sc.tx.Buf()
	}
	return sc.out
}

// readBrowser relays what the browser sends until the ICE agent closes.
func (b *Bridge) readBrowser(conn *ice.Conn) {
	defer b.wg.Done()
	sc := newScratch()
	for {
		n, err := conn.Read(sc.in)
		if err != nil {
			if isClosed(err) {
				return
			}
			continue
		}
		b.fromBrowser(sc.in[:n], sc)
	}
}

// fromBrowser demultiplexes a browser packet (RFC 7983) and relays it.
func (b *Bridge) fromBrowser(p []byte, sc *scratch) {
	switch classify(p) {
	case kindDTLS:
		b.dtlsFirst.once(time.Now().UnixNano())
		if _, err := b.dtlsIn.Write(p); err != nil {
			b.browser.dropped.Add(1)
		}
	case kindRTP:
		b.browserRTP(p, sc)
	case kindRTCP:
		b.browserRTCP(p, sc)
	default:
		b.browser.dropped.Add(1)
	}
}

func (b *Bridge) browserRTP(p []byte, sc *scratch) {
	out, ok := b.decrypt(p, sc, false)
	if !ok {
		return
	}
	now := time.Now().UnixNano()
	b.browser.heardRTP(len(p), now)
	b.lastRTP.Store(now)
	if b.toPlain(b.rtpConn, out, b.rtpLatch.destination(), &b.plain.rtpOut, now) {
		b.plain.firstRTPOut.once(now)
	}
}

func (b *Bridge) browserRTCP(p []byte, sc *scratch) {
	out, ok := b.decrypt(p, sc, true)
	if !ok {
		return
	}
	now := time.Now().UnixNano()
	b.browser.rtcpIn.add(len(p))
	b.browser.lastIn.Store(now)
	// The browser's reports name the SSRC it received from us; the plain
	// side knows its own.
	if ssrc, ok := b.rtpLatch.expected(); ok {
		mapRTCPSource(out, b.local.SSRC, ssrc)
	}
	dest, conn := b.rtcpLatch.destination(), b.rtcpConn
	if dest.IsValid() && dest == b.rtpLatch.destination() {
		conn = b.rtpConn // the plain side multiplexes RTCP (RFC 5761)
	}
	b.toPlain(conn, out, dest, &b.plain.rtcpOut, now)
}

// decrypt turns SRTP (or SRTCP) from the browser into RTP (RTCP) in
// sc.out; false means the packet was dropped, and counted. The lock is
// the call's own, uncontended but for the moment a leg moves from its
// ice.Conn reader to a poller's direct path, and for a packet steered to a
// poller that does not own the call (direct.go).
func (b *Bridge) decrypt(p []byte, sc *scratch, rtcp bool) ([]byte, bool) {
	s := b.sess.Load()
	if s == nil {
		b.browser.dropped.Add(1)
		return nil, false
	}
	var out []byte
	var err error
	s.decMu.Lock()
	if rtcp {
		out, err = s.dec.DecryptRTCP(sc.out, p, &sc.rtcp)
	} else {
		out, err = s.dec.DecryptRTP(sc.out, p, &sc.rtp)
	}
	s.decMu.Unlock()
	if err != nil {
		b.srtpFailed(err)
		return nil, false
	}
	return out, true
}

// toPlain sends a decrypted packet to the plain side and counts it in
// sent; it reports whether the packet left.
func (b *Bridge) toPlain(conn *sock.UDP, out []byte, dest netip.AddrPort, sent *counter, now int64) bool {
	if !dest.IsValid() {
		b.browser.dropped.Add(1)
		return false
	}
	if err := conn.SendTo(out, dest); err != nil {
		b.plain.dropped.Add(1)
		return false
	}
	sent.add(len(out))
	b.plain.lastOut.Store(now)
	return true
}

// srtpFailed counts a packet SRTP rejected. Authentication failures are
// counted apart: they mean a wrong key or an attack; replays and
// truncated packets are mere drops.
func (b *Bridge) srtpFailed(err error) {
	if errors.Is(err, srtp.ErrFailedToVerifyAuthTag) {
		b.srtpAuthFailures.Add(1)
		return
	}
	b.browser.dropped.Add(1)
}

// isClosed reports whether a read failed because its socket or agent was
// closed, as opposed to a transient error (an ICMP error, a short buffer).
func isClosed(err error) bool {
	return errors.Is(err, net.ErrClosed) || errors.Is(err, io.EOF) || errors.Is(err, ice.ErrClosed)
}

// fromPlain relays a packet the plain side sent to our RTP (rtcpPort false)
// or RTCP socket.
func (b *Bridge) fromPlain(p []byte, src netip.AddrPort, rtcpPort bool, sc *scratch) {
	switch kind := plainKind(p); {
	case kind == kindRTP && !rtcpPort:
		b.plainRTP(p, src, sc)
	case kind == kindRTCP:
		b.plainRTCP(p, src, rtcpPort, sc)
	default:
		b.plain.dropped.Add(1)
	}
}

// plainRTP relays RTP from the plain side as SRTP with our SSRC; sequence
// numbers and timestamps pass unchanged.
func (b *Bridge) plainRTP(p []byte, src netip.AddrPort, sc *scratch) {
	if !b.rtpLatch.accept(src, rtpSSRC(p)) {
		return
	}
	now := time.Now().UnixNano()
	b.plain.heardRTP(len(p), now)
	b.lastRTP.Store(now)
	s := b.sess.Load()
	if s == nil {
		b.hold(p, now)
		return
	}
	if b.held != nil {
		b.sendHeld(s, sc, now)
	}
	binary.BigEndian.PutUint32(p[8:12], b.local.SSRC)
	out, err := s.encRTP.EncryptRTP(sc.browserBuf(), p, &sc.rtp)
	if err != nil {
		b.plain.dropped.Add(1)
		return
	}
	b.toBrowser(s, out, (*rtpSent)(&b.browser), now, sc)
}

// plainRTCP relays RTCP from the plain side as SRTCP, its sender SSRC
// rewritten to ours. RTCP on the RTP port (RFC 5761) is taken only from
// the latched RTP source and never moves a latch.
func (b *Bridge) plainRTCP(p []byte, src netip.AddrPort, rtcpPort bool, sc *scratch) {
	if rtcpPort {
		if !b.rtcpLatch.accept(src, rtcpSSRC(p)) {
			return
		}
	} else if src != b.rtpLatch.destination() {
		b.plain.dropped.Add(1)
		return
	}
	now := time.Now().UnixNano()
	b.plain.rtcpIn.add(len(p))
	b.plain.lastIn.Store(now)
	s := b.sess.Load()
	if s == nil {
		b.plain.dropped.Add(1)
		return
	}
	setRTCPSender(p, b.local.SSRC)
	s.rtcpMu.Lock()
	defer s.rtcpMu.Unlock()
	out, err := s.encRTCP.EncryptRTCP(sc.browserBuf(), p, &sc.rtcp)
	if err != nil {
		b.plain.dropped.Add(1)
		return
	}
	b.toBrowser(s, out, (*rtcpSent)(&b.browser), now, sc)
}
