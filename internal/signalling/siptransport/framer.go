package siptransport

import (
	"bytes"
	"errors"
	"strconv"
)

// Framing errors: the stream has no message boundary left to find.
var (
	errNoContentLength = errors.New("siptransport: stream message without Content-Length")
	errFrameTooLarge   = errors.New("siptransport: stream message too large")
)

// framer splits a SIP byte stream into whole messages by Content-Length,
// RFC 3261 §18.3, so that TCP and TLS messages reach Inbound.Message exactly
// as datagrams and WebSocket messages do. It owns no goroutine.
type framer struct {
	buf []byte
	max int
}

// frame is what push found at the head of the stream.
type frame int

const (
	frameNeedMore frame = iota
	frameMessage
	framePing // RFC 5626 §4.4.1: CRLFCRLF, to be answered with CRLF
)

// push appends data to what is buffered.
func (f *framer) push(data []byte) { f.buf = append(f.buf, data...) }

// next returns the next message or ping at the head of the buffer. The
// message slice is valid until the following call.
func (f *framer) next() (frame, []byte, error) {
	if f.skipCRLF() {
		return framePing, nil, nil
	}
	end := bytes.Index(f.buf, []byte("\r\n\r\n"))
	if end < 0 {
		if len(f.buf) > f.max {
			return frameNeedMore, nil, errFrameTooLarge
		}
		return frameNeedMore, nil, nil
	}
	length, ok := contentLength(f.buf[:end])
	if !ok {
		return frameNeedMore, nil, errNoContentLength
	}
	total := end + 4 + length
	if total > f.max {
		return frameNeedMore, nil, errFrameTooLarge
	}
	if len(f.buf) < total {
		return frameNeedMore, nil, nil
	}
	msg := f.buf[:total]
	f.buf = f.buf[total:]
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

// contentLength finds the Content-Length (or l) header in a header block.
func contentLength(head []byte) (int, bool) {
	for _, line := range bytes.Split(head, []byte("\r\n"))[1:] {
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		name = bytes.TrimSpace(name)
		if bytes.EqualFold(name, []byte("content-length")) || bytes.EqualFold(name, []byte("l")) {
			n, err := strconv.Atoi(string(bytes.TrimSpace(value)))
			return n, err == nil && n >= 0
		}
	}
	return 0, false
}
