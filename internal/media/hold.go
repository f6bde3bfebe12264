package media

import (
	"encoding/binary"
	"time"
)

// The phone starts sending as soon as it has sent or seen the 200, tens of
// milliseconds before DTLS with the browser has keyed SRTP: the first
// words of a call. Rather than drop them, the bridge holds the phone's
// first RTP packets until the keys are in place and sends them first,
// in order; their RTP timestamps let the browser's jitter buffer place
// them. Only what the latch accepted is held, at most holdPackets, none
// older than holdFor when the keys come: past that it is no longer the
// call's first words but a backlog, and it is dropped as before.
const (
	holdPackets = 10 // 200 ms of 20 ms packets
	holdFor     = 300 * time.Millisecond
)

// heldPacket is an RTP packet from the phone that came before the keys.
type heldPacket struct {
	data []byte
	at   int64 // unix ns
}

// hold keeps a copy of p, an RTP packet from the phone that came at now
// with no SRTP session yet. Only the goroutine that reads the plain RTP
// socket calls hold and sendHeld, so b.held needs no lock.
func (b *Bridge) hold(p []byte, now int64) {
	if len(b.held) == holdPackets {
		b.plain.dropped.Add(1) // the oldest: keep the newest
		b.held = append(b.held[:0], b.held[1:]...)
	}
	b.held = append(b.held, heldPacket{data: append([]byte(nil), p...), at: now})
}

// sendHeld relays the held packets through s, oldest first, and forgets
// them; those held longer than holdFor are dropped.
func (b *Bridge) sendHeld(s *session, sc *scratch, now int64) {
	for _, h := range b.held {
		if now-h.at > int64(holdFor) {
			b.plain.dropped.Add(1)
			continue
		}
		binary.BigEndian.PutUint32(h.data[8:12], b.local.SSRC)
		out, err := s.encRTP.EncryptRTP(sc.browserBuf(), h.data, &sc.rtp)
		if err != nil {
			b.plain.dropped.Add(1)
			continue
		}
		b.toBrowser(s, out, (*rtpSent)(&b.browser), now, sc)
	}
	b.held = nil
}
