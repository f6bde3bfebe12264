package sipws

import (
	"bytes"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/gorilla/websocket"

	"github.com/switchboard-gw/switchboard/internal/signalling/siptransport"
)

// sendQueueLen bounds the messages waiting for one browser that does not read.
const sendQueueLen = 256

// closeGrace is how long a closing handshake may take.
const closeGrace = time.Second

// Conn is one SIP WebSocket: a flow (RFC 5626) that requests for the
// browser behind it must use, since its Contact host is a .invalid name.
type Conn struct {
	s         *Server
	ws        *websocket.Conn
	remote    netip.AddrPort
	local     netip.AddrPort
	flowID    string
	transport string
	queue     *siptransport.WriteQueue
	release   func()

	// touched is when the read deadline was last pushed forward; only
	// the read goroutine uses it.
	touched time.Time

	// mu guards pinger and done.
	mu     sync.Mutex
	pinger *time.Timer
	done   bool
}

var _ siptransport.Conn = (*Conn)(nil)

func newConn(s *Server, ws *websocket.Conn, remote netip.AddrPort, release func()) *Conn {
	transport, prefix := siptransport.WS, "ws-"
	if s.cfg.Secure {
		transport, prefix = siptransport.WSS, "wss-"
	}
	local, _ := netip.ParseAddrPort(ws.LocalAddr().String())
	c := &Conn{s: s, ws: ws, remote: remote, local: local, transport: transport,
		flowID: s.reg.NewFlowID(prefix), release: release}
	c.queue = siptransport.NewWriteQueue(sendQueueLen, c.write, func(error) { ws.Close() })
	return c
}

// Transport is WS or WSS.
func (c *Conn) Transport() string { return c.transport }

// LocalAddr is the server side of the TCP connection.
func (c *Conn) LocalAddr() netip.AddrPort { return c.local }

// RemoteAddr is the browser's side of the TCP connection.
func (c *Conn) RemoteAddr() netip.AddrPort { return c.remote }

// FlowID names this connection.
func (c *Conn) FlowID() string { return c.flowID }

// Send queues msg as one text message (RFC 7118 §5: one SIP message per
// WebSocket message).
func (c *Conn) Send(msg sip.Message) error { return c.queue.PushMessage(msg) }

func (c *Conn) write(b []byte) error {
	_ = c.ws.SetWriteDeadline(time.Now().Add(c.s.cfg.WriteTimeout))
	return c.ws.WriteMessage(websocket.TextMessage, b)
}

var readBufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func (c *Conn) readLoop() {
	defer c.finish()
	c.ws.SetReadLimit(int64(c.s.cfg.MaxMessageSize))
	c.ws.SetPongHandler(func(string) error { c.touch(); return nil })
	c.ws.SetPingHandler(func(data string) error {
		c.touch()
		err := c.ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(c.s.cfg.WriteTimeout))
		if err == websocket.ErrCloseSent {
			return nil
		}
		return err
	})
	c.touch()
	c.schedulePing()
	for {
		_, r, err := c.ws.NextReader()
		if err != nil {
			c.readFailed(err)
			return
		}
		buf := readBufPool.Get().(*bytes.Buffer)
		buf.Reset()
		_, err = buf.ReadFrom(r)
		if err == nil {
			c.touch()
			// Responses to this message are written here, after the
			// dispatch, rather than by a goroutine started for each.
			c.queue.Hold()
			c.s.in.Message(buf.Bytes(), c)
			c.queue.Flush()
		}
		readBufPool.Put(buf)
		if err != nil {
			c.readFailed(err)
			return
		}
	}
}

// readFailed closes the connection with the code the failure calls for.
func (c *Conn) readFailed(err error) {
	switch {
	case err == websocket.ErrReadLimit:
		c.s.metrics.closedWith("too_big") // gorilla already sent 1009 Message Too Big
	case isTimeout(err):
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
	if idle <= 0 {
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
