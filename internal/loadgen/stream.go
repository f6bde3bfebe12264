package loadgen

import (
	"encoding/binary"
	"errors"
	"math"
	"net"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
)

// The packets: RTP (RFC 3550) PCMU, one 20 ms G.711 frame each.
const (
	frameInterval = 20 * time.Millisecond
	payloadSize   = 160 // 20 ms of 8 kHz G.711
	// tick is one RTP timestamp unit of 8 kHz G.711.
	tick          = time.Second / 8000
	rtpHeaderSize = 12
	// PacketSize is the size of every RTP packet sent, before SRTP.
	PacketSize = rtpHeaderSize + payloadSize
	// stampSize is the part of the payload the receiver reads: send time
	// (8 bytes), call (4), packet number (4), phase (1).
	stampSize = 17
	// maxPacket bounds received packets.
	maxPacket = 1500
)

// Phases a packet is sent in: while calls are being set up, and in the
// steady window, the only one measured.
const (
	phaseRamp = iota
	phaseSteady
	phases
)

// clock gives monotonic nanoseconds since a run began.
type clock struct{ epoch time.Time }

func (c clock) now() int64 { return int64(time.Since(c.epoch)) }

// counters are a run's totals, for progress lines and the drain.
type counters struct {
	sent, recv [phases]atomic.Int64
}

// stream is one call's media endpoint: it sends from its pacer's goroutine
// and receives on its socket's reader goroutine.
type stream struct {
	id    uint32
	clock clock
	total *counters
	conn  *net.UDPConn
	dest  netip.AddrPort
	// enc belongs to the sender, dec to the receiver; an srtp.Context is not
	// safe for concurrent use.
	enc, dec *srtp.Context

	// Owned by the pacer; read once it has stopped.
	seq     uint32
	hdr     rtp.Header
	pkt     [PacketSize]byte
	out     []byte
	sent    [phases]int64
	sendErr int64

	// Owned by the receiver; read once it has stopped.
	rxBuf []byte
	rxHdr rtp.Header
	recv  [phases]int64
	rtts  []int64 // steady phase, ns
	bad   int64   // failed to decrypt or not ours
	// inviteAt is when the call's INVITE was sent, answeredAt when its 200
	// OK came (0 in a baseline), keyedAt when DTLS gave the SRTP keys, and
	// firstRx when its first packet came back (0: none), in clock ns.
	inviteAt, answeredAt, keyedAt, firstRx int64
	// jitter is the RFC 3550 §6.4.1 interarrival jitter of the steady
	// phase's echoed packets, in ns; transit the last packet's transit time.
	jitter, transit float64
	jitterN         int64
}

func newStream(id uint32, c clock, total *counters, conn *net.UDPConn) *stream {
	s := &stream{
		id: id, clock: c, total: total, conn: conn,
		hdr:   rtp.Header{Version: 2, PayloadType: 0, SSRC: randomUint32()},
		out:   make([]byte, maxPacket),
		rxBuf: make([]byte, maxPacket),
	}
	for i := rtpHeaderSize + stampSize; i < PacketSize; i++ {
		s.pkt[i] = 0xff // PCMU silence
	}
	return s
}

// send sends the next packet, stamped now.
func (s *stream) send(phase int) {
	s.seq++
	s.hdr.SequenceNumber = uint16(s.seq)
	s.hdr.Timestamp = s.seq * payloadSize
	s.hdr.Marker = s.seq == 1
	if _, err := s.hdr.MarshalTo(s.pkt[:]); err != nil {
		s.sendErr++
		return
	}
	pl := s.pkt[rtpHeaderSize:]
	binary.BigEndian.PutUint32(pl[8:], s.id)
	binary.BigEndian.PutUint32(pl[12:], s.seq)
	pl[16] = byte(phase)
	binary.BigEndian.PutUint64(pl[0:], uint64(s.clock.now()))
	out := s.pkt[:]
	if s.enc != nil {
		var err error
		if out, err = s.enc.EncryptRTP(s.out, out, &s.hdr); err != nil {
			s.sendErr++
			return
		}
	}
	if _, err := s.conn.WriteToUDPAddrPort(out, s.dest); err != nil {
		s.sendErr++
		return
	}
	s.sent[phase]++
	s.total.sent[phase].Add(1)
}

// receive takes one RTP or RTCP packet that came back.
func (s *stream) receive(p []byte) {
	now := s.clock.now()
	if len(p) < 2 || p[1] >= 192 && p[1] <= 223 {
		return // RTCP (RFC 5761 §4): not ours to measure
	}
	var err error
	if s.dec != nil {
		p, err = s.dec.DecryptRTP(s.rxBuf, p, &s.rxHdr)
	} else {
		_, err = s.rxHdr.Unmarshal(p)
	}
	if err != nil {
		s.bad++
		return
	}
	pl := p[min(s.rxHdr.MarshalSize(), len(p)):]
	if len(pl) < stampSize || binary.BigEndian.Uint32(pl[8:]) != s.id || pl[16] >= phases {
		s.bad++
		return
	}
	phase := int(pl[16])
	s.recv[phase]++
	s.total.recv[phase].Add(1)
	if s.firstRx == 0 {
		s.firstRx = now
	}
	if phase == phaseSteady {
		s.rtts = append(s.rtts, now-int64(binary.BigEndian.Uint64(pl[0:])))
		s.updateJitter(now, s.rxHdr.Timestamp)
	}
}

// updateJitter folds a packet that arrived at now with RTP timestamp ts
// into the interarrival jitter: J += (|D| − J) / 16, where D is the
// difference of two consecutive packets' transit times (RFC 3550 §6.4.1,
// A.8), here in ns rather than timestamp units.
func (s *stream) updateJitter(now int64, ts uint32) {
	transit := float64(now) - float64(ts)*float64(tick)
	if s.jitterN > 0 {
		s.jitter += (math.Abs(transit-s.transit) - s.jitter) / 16
	}
	s.transit = transit
	s.jitterN++
}

// readLoop receives on the stream's socket until it is closed; for
// streams without ICE.
func (s *stream) readLoop(done chan<- struct{}) {
	defer close(done)
	buf := make([]byte, maxPacket)
	for {
		n, _, err := s.conn.ReadFromUDPAddrPort(buf)
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err == nil {
			s.receive(buf[:n])
		}
	}
}
