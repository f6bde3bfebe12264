package sipws

import (
	"bytes"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/emiago/sipgo/sip"
	"github.com/gorilla/websocket"

	"github.com/switchboard-gw/switchboard/internal/signalling/siptransport"
)

// sendQueueLen bounds the messages waiting for one browser that does not read.
const sendQueueLen = 256

// closeGrace is how long a closing handshake may take.
const closeGrace = time.Second

// maxPingsPerSecond is the most pings a client may send in one second; one
// more fails the connection with 1008 (Policy Violation). Browsers send
// none; libraries that keep a connection alive send one every several
// seconds. A flood thus costs one pong per allowed ping, then nothing.
const maxPingsPerSecond = 10

// Conn is one SIP WebSocket: a flow (RFC 5626) that requests for the
// browser behind it must use, since its Contact host is a .invalid name.
type Conn struct {
	s         *Server
	ws        *websocket.Conn
	remote    netip.AddrPort
	source    string // remote as text
	local     netip.AddrPort
	flowID    string
	transport string
	queue     *siptransport.WriteQueue
	release   func()
	watch     *frameWatch
	// raw is the connection gorilla writes to, through which several
	// messages become one write; nil if it is not a watchedConn.
	raw *watchedConn

	// closing is set once the server started the closing handshake: the
	// read deadline then stays at closeGrace and nothing more is delivered.
	closing atomic.Bool

	// The fields below are used by the read goroutine only. touched is
	// when the read deadline was last pushed forward; pings and pingsFrom
	// count the pings of the current second; broken is set when a message
	// broke the SIP framing rule.
	touched   time.Time
	pings     int
	pingsFrom time.Time
	broken    bool

	// mu guards pinger and done.
	mu     sync.Mutex
	pinger *time.Timer
	done   bool
}

var _ siptransport.StreamConn = (*Conn)(nil)

func newConn(s *Server, ws *websocket.Conn, watch *frameWatch, remote netip.AddrPort, release func()) *Conn {
	transport, prefix := siptransport.WS, "ws-"
	if s.cfg.Secure {
		transport, prefix = siptransport.WSS, "wss-"
	}
	local, _ := netip.ParseAddrPort(ws.LocalAddr().String())
	c := &Conn{s: s, ws: ws, remote: remote, source: remote.String(), local: local, transport: transport,
		flowID: s.reg.NewFlowID(prefix), release: release, watch: watch}
	c.raw, _ = ws.NetConn().(*watchedConn)
	c.queue = siptransport.NewBatchWriteQueue(sendQueueLen, c.write, c.writeMany, func(error) { ws.Close() })
	return c
}

// Transport is WS or WSS.
func (c *Conn) Transport() string { return c.transport }

// LocalAddr is the server side of the TCP connection.
func (c *Conn) LocalAddr() netip.AddrPort { return c.local }

// RemoteAddr is the browser's side of the TCP connection.
func (c *Conn) RemoteAddr() netip.AddrPort { return c.remote }

// RemoteSource is RemoteAddr as text, rendered once for all the messages
// the connection delivers.
func (c *Conn) RemoteSource() string { return c.source }

// FlowID names this connection.
func (c *Conn) FlowID() string { return c.flowID }

// Send queues msg as one text message (RFC 7118 §5: one SIP message per
// WebSocket message).
func (c *Conn) Send(msg sip.Message) error { return c.queue.PushMessage(msg) }

// SendBuffer queues a message rendered by hand as one text message
// (siptransport.BufferSender).
func (c *Conn) SendBuffer(buf *bytes.Buffer) error { return c.queue.PushBuffer(buf) }

// BreakFraming makes the read loop fail the connection with 1002 once the
// answer to the message that broke the SIP framing rule is written.
func (c *Conn) BreakFraming() { c.broken = true }

func (c *Conn) write(b []byte) error {
	_ = c.ws.SetWriteDeadline(time.Now().Add(c.s.cfg.WriteTimeout))
	return c.ws.WriteMessage(websocket.TextMessage, b)
}

// writeMany writes msgs, one text message each, in one write to the socket.
func (c *Conn) writeMany(msgs [][]byte) error {
	if c.raw == nil {
		for _, m := range msgs {
			if err := c.write(m); err != nil {
				return err
			}
		}
		return nil
	}
	deadline := time.Now().Add(c.s.cfg.WriteTimeout)
	_ = c.ws.SetWriteDeadline(deadline)
	c.raw.startBatch()
	var err error
	for _, m := range msgs {
		if err = c.ws.WriteMessage(websocket.TextMessage, m); err != nil {
			break
		}
	}
	if werr := c.raw.endBatch(deadline); err == nil {
		err = werr
	}
	return err
}

var readBufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func (c *Conn) readLoop() {
	defer c.finish()
	c.ws.SetReadLimit(int64(c.s.cfg.MaxMessageSize))
	c.ws.SetPongHandler(func(string) error { c.touch(); return nil })
	c.ws.SetPingHandler(c.handlePing)
	c.ws.SetCloseHandler(c.handleClose)
	c.touch()
	c.schedulePing()
	for {
		kind, r, err := c.ws.NextReader()
		if err != nil {
			c.readFailed(err)
			return
		}
		buf := readBufPool.Get().(*bytes.Buffer)
		buf.Reset()
		_, err = buf.ReadFrom(r)
		if err == nil && !c.closing.Load() {
			c.touch()
			c.dispatch(kind, buf.Bytes())
		}
		readBufPool.Put(buf)
		if err != nil {
			c.readFailed(err)
			return
		}
	}
}

// dispatch hands one whole message to Inbound, unless it is a text message
// that is not UTF-8 (RFC 6455 §8.1: 1007).
func (c *Conn) dispatch(kind int, msg []byte) {
	if kind == websocket.TextMessage && !utf8.Valid(msg) {
		c.s.metrics.closedWith("invalid_utf8")
		c.closeWith(websocket.CloseInvalidFramePayloadData, "text message is not UTF-8")
		return
	}
	// Responses to this message are written here, after the dispatch,
	// rather than by a goroutine started for each.
	c.queue.Hold()
	c.s.in.Message(msg, c)
	c.queue.Flush()
	if c.broken {
		// The answer goes first, then the close: nothing after a message
		// whose framing broke is delivered.
		c.queue.Seal()
		c.queue.Wait()
		c.s.metrics.closedWith("framing")
		c.closeWith(websocket.CloseProtocolError, "SIP framing error")
	}
}

// handlePing answers a ping with a pong (RFC 6455 §5.5.2), up to
// maxPingsPerSecond; one more fails the connection with 1008.
func (c *Conn) handlePing(data string) error {
	if c.closing.Load() {
		return nil
	}
	now := time.Now()
	if now.Sub(c.pingsFrom) >= time.Second {
		c.pingsFrom, c.pings = now, 0
	}
	if c.pings++; c.pings > maxPingsPerSecond {
		c.s.metrics.closedWith("ping_flood")
		c.closeWith(websocket.ClosePolicyViolation, "too many pings")
		return nil
	}
	c.touch()
	err := c.ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(c.s.cfg.WriteTimeout))
	if err == websocket.ErrCloseSent {
		return nil
	}
	return err
}

// handleClose answers the client's close frame (RFC 6455 §5.5.1): with its
// code, or 1002 when its body was one byte, too short for a code.
func (c *Conn) handleClose(code int, _ string) error {
	reply := websocket.FormatCloseMessage(code, "")
	if code == websocket.CloseNoStatusReceived && c.watch.closeLen == 1 {
		c.s.metrics.closedWith("bad_close")
		reply = websocket.FormatCloseMessage(websocket.CloseProtocolError, "malformed close frame")
	}
	_ = c.ws.WriteControl(websocket.CloseMessage, reply, time.Now().Add(closeGrace))
	return nil
}

// readFailed closes the connection with the code the failure calls for.
func (c *Conn) readFailed(err error) {
	switch {
	case err == websocket.ErrReadLimit:
		c.s.metrics.closedWith("too_big") // gorilla already sent 1009 Message Too Big
	case isTimeout(err) && !c.closing.Load():
		c.s.metrics.closedWith("idle")
		c.closeWith(websocket.CloseNormalClosure, "idle timeout")
	}
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// touch pushes the idle deadline forward; it runs on the read goroutine.
// Moving a deadline costs a timer update, so touch moves it at most once
// per idleGrain, to idleGrain past IdleTimeout: a silent connection is
// closed after between IdleTimeout and IdleTimeout+idleGrain, never sooner.
func (c *Conn) touch() {
	idle := c.s.cfg.IdleTimeout
	if idle <= 0 || c.closing.Load() {
		return
	}
	grain := idleGrain(idle)
	now := time.Now()
	if !c.touched.IsZero() && now.Sub(c.touched) < grain {
		return
	}
	c.touched = now
	_ = c.ws.SetReadDeadline(now.Add(idle + grain))
}

// idleGrain is how far touch may let the idle deadline lag: 1/64 of the
// idle timeout, at most a second.
func idleGrain(idle time.Duration) time.Duration {
	return min(idle/64, time.Second)
}

func (c *Conn) schedulePing() {
	if c.s.cfg.PingInterval <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.done {
		c.pinger = time.AfterFunc(c.s.cfg.PingInterval, c.ping)
	}
}

func (c *Conn) ping() {
	if err := c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(c.s.cfg.WriteTimeout)); err != nil {
		return
	}
	c.schedulePing()
}

// closeWith starts the closing handshake (RFC 6455 §7.1.2): the read loop
// ends when the peer answers or closeGrace passes.
func (c *Conn) closeWith(code int, text string) {
	c.closing.Store(true)
	_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, text), time.Now().Add(closeGrace))
	_ = c.ws.SetReadDeadline(time.Now().Add(closeGrace))
}

// finish releases everything the connection holds, once, on the read goroutine.
func (c *Conn) finish() {
	c.mu.Lock()
	c.done = true
	if c.pinger != nil {
		c.pinger.Stop()
	}
	c.mu.Unlock()
	c.queue.Close()
	_ = c.ws.Close()
	c.queue.Wait()
	c.release()
	c.s.forget(c)
	c.s.in.Handler().ConnClosed(c)
}
