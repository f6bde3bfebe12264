package siptransport

import "bytes"

// framer splits a SIP byte stream into whole messages by Content-Length,
// RFC 3261 §18.3, so that TCP and TLS messages reach Inbound.Message exactly
// as datagrams and WebSocket messages do. It applies the framing rule to
// each header block as soon as it is complete, so a message whose length is
// missing or ambiguous is refused before its body is waited for. It owns no
// goroutine.
type framer struct {
	buf []byte
	max int
	// want is the length of the message at the head of buf once its
	// header block has passed the framing rule; 0 until then.
	want int
}

// frame is what next found at the head of the stream.
type frame int

const (
	frameNeedMore frame = iota
	frameMessage
	framePing   // RFC 5626 §4.4.1: CRLFCRLF, to be answered with CRLF
	frameBroken // the framing rule is broken: nothing more can be read
)

// push appends data to what is buffered.
func (f *framer) push(data []byte) { f.buf = append(f.buf, data...) }

// next returns the next message or ping at the head of the buffer. The
// message slice is valid until the following call. For frameBroken it
// returns the fault and the header block to answer from (nil when the
// block never ended).
func (f *framer) next() (frame, []byte, *fault) {
	if f.want == 0 {
		if f.skipCRLF() {
			return framePing, nil, nil
		}
		end := bytes.Index(f.buf, crlfCRLF)
		if end < 0 {
			if len(f.buf) > f.max {
				return frameBroken, nil, faultTooLarge
			}
			return frameNeedMore, nil, nil
		}
		block := f.buf[:end+len(crlfCRLF)]
		h, fl := scanHead(f.buf[:end])
		switch {
		case fl != nil:
			return frameBroken, block, fl
		case h.length < 0:
			return frameBroken, block, faultLengthMissing
		case len(block)+h.length > f.max:
			return frameBroken, block, faultTooLarge
		}
		f.want = len(block) + h.length
	}
	if len(f.buf) < f.want {
		return frameNeedMore, nil, nil
	}
	msg := f.buf[:f.want]
	f.buf = f.buf[f.want:]
	f.want = 0
	return frameMessage, msg, nil
}

// skipCRLF drops the CRLFs before a start line (RFC 3261 §7.5) and reports
// whether they held a keepalive ping.
func (f *framer) skipCRLF() bool {
	n := 0
	for n+1 < len(f.buf) && f.buf[n] == '\r' && f.buf[n+1] == '\n' {
		n += 2
	}
	f.buf = f.buf[n:]
	if len(f.buf) == 0 && cap(f.buf) > 0 {
		f.buf = f.buf[:0:0] // release the buffer while the peer is idle
	}
	return n >= 4
}
