package sipws

import (
	"bufio"
	"bytes"
	"net"
	"net/http"
	"sync"
	"time"
)

// frameWatch follows the frame headers of what a client sends (RFC 6455
// §5.2) as the bytes pass to gorilla/websocket, to learn what gorilla does
// not tell: the payload length of the first close frame. gorilla reports a
// close frame with no body and one with a 1-byte body alike, as 1005 (No
// Status Received); the second is malformed (§5.5.1: a body starts with a
// 2-byte code) and is answered with 1002. Only the read goroutine uses it.
type frameWatch struct {
	hdr  [14]byte // the frame header being read: at most 2+8+4 bytes
	n    int      // bytes of hdr read
	skip uint64   // payload bytes of the current frame still to pass
	// closeLen is the payload length of the first close frame; -1 until
	// one is seen. Nothing after it is followed.
	closeLen int
}

const opClose = 0x8

func newFrameWatch() *frameWatch { return &frameWatch{closeLen: -1} }

// observe follows the frames in p, the next bytes of the stream.
func (w *frameWatch) observe(p []byte) {
	for len(p) > 0 && w.closeLen < 0 {
		if w.skip > 0 {
			k := min(uint64(len(p)), w.skip)
			p, w.skip = p[k:], w.skip-k
			continue
		}
		w.hdr[w.n] = p[0]
		w.n++
		p = p[1:]
		if w.n < 2 || w.n < headerLen(w.hdr[1]) {
			continue
		}
		length := payloadLen(w.hdr[:w.n])
		if w.hdr[0]&0x0f == opClose {
			w.closeLen = int(min(length, 1<<20))
		}
		w.skip, w.n = length, 0
	}
}

// headerLen is the length of a frame header whose second byte is b1.
func headerLen(b1 byte) int {
	n := 2
	switch b1 & 0x7f {
	case 126:
		n += 2
	case 127:
		n += 8
	}
	if b1&0x80 != 0 {
		n += 4 // masking key
	}
	return n
}

// payloadLen reads the payload length from a whole frame header.
func payloadLen(h []byte) uint64 {
	switch l := h[1] & 0x7f; l {
	case 126:
		return uint64(h[2])<<8 | uint64(h[3])
	case 127:
		var n uint64
		for _, b := range h[2:10] {
			n = n<<8 | uint64(b)
		}
		return n
	default:
		return uint64(l)
	}
}

// watchedConn is the hijacked connection, read through a frameWatch, and
// written to through a batch while one is open.
type watchedConn struct {
	net.Conn
	watch *frameWatch

	// wmu guards batch: while it is set, what gorilla writes (frames of
	// messages, and control frames from any goroutine) is added to it, to
	// be written in one write when the batch ends.
	wmu   sync.Mutex
	batch *bytes.Buffer
}

var batchPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func (c *watchedConn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.batch != nil {
		return c.batch.Write(p)
	}
	return c.Conn.Write(p)
}

// startBatch holds what is written from now on until endBatch.
func (c *watchedConn) startBatch() {
	buf := batchPool.Get().(*bytes.Buffer)
	buf.Reset()
	c.wmu.Lock()
	c.batch = buf
	c.wmu.Unlock()
}

// endBatch writes what the batch holds, in one write that must end by
// deadline, and writes directly again.
func (c *watchedConn) endBatch(deadline time.Time) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	buf := c.batch
	c.batch = nil
	var err error
	if buf.Len() > 0 {
		_ = c.Conn.SetWriteDeadline(deadline)
		_, err = c.Conn.Write(buf.Bytes())
	}
	batchPool.Put(buf)
	return err
}

func (c *watchedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.watch.observe(p[:n])
	return n, err
}

// watchingWriter hands gorilla's Upgrade the hijacked connection wrapped in
// a watchedConn.
type watchingWriter struct {
	http.ResponseWriter
	watch *frameWatch
}

func (w watchingWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	nc, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	return &watchedConn{Conn: nc, watch: w.watch}, brw, nil
}
