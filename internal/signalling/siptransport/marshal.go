package siptransport

import (
	"bytes"
	"sync"

	"github.com/emiago/sipgo/sip"
)

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// NewBuffer returns an empty buffer from the pool the connections render
// messages into, for a message rendered by hand and sent with a
// BufferSender.
func NewBuffer() *bytes.Buffer {
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	return buf
}

// ReleaseBuffer gives back a buffer from NewBuffer that was not sent.
func ReleaseBuffer(buf *bytes.Buffer) { bufPool.Put(buf) }

// Marshal renders msg into a new byte slice.
func Marshal(msg sip.Message) []byte {
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	msg.StringWrite(buf)
	out := bytes.Clone(buf.Bytes())
	bufPool.Put(buf)
	return out
}

// withBuffer renders msg into a pooled buffer, calls f with the bytes, and
// returns the buffer to the pool. f must not retain the slice.
func withBuffer(msg sip.Message, f func([]byte) error) error {
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	msg.StringWrite(buf)
	err := f(buf.Bytes())
	bufPool.Put(buf)
	return err
}
