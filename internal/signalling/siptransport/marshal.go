package siptransport

import (
	"bytes"
	"sync"

	"github.com/emiago/sipgo/sip"
)

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

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
