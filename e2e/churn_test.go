package e2e

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gorilla/websocket"

	"github.com/switchboard-gw/switchboard/internal/testkit/siptest"
)

// The clients of the soak (soak_test.go): each function is one client's
// whole life, from connect to disconnect, and returns what went wrong.

// tally counts the jobs of one kind of churn and keeps its first errors.
type tally struct {
	name     string
	done     atomic.Int64
	failed   atomic.Int64
	mu       sync.Mutex
	firstErr []string
}

func (t *tally) record(i int, err error) {
	t.done.Add(1)
	if err == nil {
		return
	}
	t.failed.Add(1)
	t.mu.Lock()
	if len(t.firstErr) < 5 {
		t.firstErr = append(t.firstErr, fmt.Sprintf("#%d: %v", i, err))
	}
	t.mu.Unlock()
}

func (t *tally) String() string {
	s := fmt.Sprintf("%s: %d done, %d failed", t.name, t.done.Load(), t.failed.Load())
	if len(t.firstErr) > 0 {
		s += " (" + strings.Join(t.firstErr, "; ") + ")"
	}
	return s
}

// churn runs job(i) for i in [0, n) on workers goroutines, each job within
// jobTimeout, and starts no job once ctx is done: bounded in count and in
// time. It returns when every started job has.
func churn(ctx context.Context, t *tally, n, workers int, job func(ctx context.Context, i int) error) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < n && ctx.Err() == nil; i = int(next.Add(1)) - 1 {
				jctx, cancel := context.WithTimeout(ctx, jobTimeout)
				t.record(i, job(jctx, i))
				cancel()
			}
		})
	}
	wg.Wait()
}

// jobTimeout bounds one client's life.
const jobTimeout = 10 * time.Second

// hostileIP is where hostile clients connect from, so that the lockouts
// they earn (registrar.lockout.ip_failures) fall on an address of their own.
var hostileIP = netip.MustParseAddr("127.0.0.3")

// browserLife connects browser i as one of the soak's users, registers with digest, calls
// echo if call is set (a WebRTC offer; BYE at once), unregisters and
// closes the WebSocket.
func browserLife(ctx context.Context, g *Gateway, i int, call bool) error {
	ws, err := siptest.DialWS(ctx, g.WSURL())
	if err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	defer ws.Close()
	ua := &siptest.UA{Transport: ws, User: soakUser(i % soakUsers), Password: soakPassword, Domain: g.Domain(),
		InstanceID: fmt.Sprintf("<urn:uuid:00000000-0000-4000-8000-%012d>", i), RegID: 1}
	if err := register(ctx, ua, 300); err != nil {
		return err
	}
	if call {
		d, err := ua.Invite(ctx, uri("echo", g.Domain()), siptest.WebRTCOffer("127.0.0.1", 40000+2*(i%1000)))
		if err != nil {
			return fmt.Errorf("INVITE echo: %w", err)
		}
		if res, err := d.Bye(ctx); err != nil || res.StatusCode != 200 {
			return fmt.Errorf("BYE: got %v, %v; want 200", res, err)
		}
	}
	return register(ctx, ua, 0)
}

func register(ctx context.Context, ua *siptest.UA, expires int) error {
	res, err := ua.Register(ctx, expires)
	if err != nil || res.StatusCode != 200 {
		return fmt.Errorf("REGISTER expires=%d: got %v, %v; want 200", expires, res, err)
	}
	return nil
}

// The ways a TCP SIP client ends, taken in turn.
var tcpEndings = []string{"polite", "reset", "silent", "garbage", "half"}

// phoneLife is one TCP client: by tcpEndings[i%5], one that registers
// (digest), sends OPTIONS, unregisters and closes; one that registers,
// sends OPTIONS and resets the connection; one that never sends (closed by
// limits.first_message_timeout); one that sends garbage (closed for
// framing); one that sends half a request and goes quiet (closed by
// limits.first_message_timeout).
func phoneLife(ctx context.Context, g *Gateway, i int) error {
	p, err := dialTCPPhone(ctx, g.TCP)
	if err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	defer p.conn.Close()
	// A phone's instance is its user's, so that a phone reset before it
	// unregistered leaves one binding per user, replaced by the next.
	k := i % soakUsers
	user := soakUser(k)
	ua := &siptest.UA{Transport: p, User: user, Password: soakPassword, Domain: g.Domain(),
		InstanceID: fmt.Sprintf("<urn:uuid:00000000-0000-4000-9000-%012d>", k), RegID: 1}
	switch ending := tcpEndings[i%len(tcpEndings)]; ending {
	case "polite", "reset":
		if err := register(ctx, ua, 300); err != nil {
			return err
		}
		res, err := ua.Do(ctx, ua.NewRequest("OPTIONS", uri("", g.Domain())))
		if err != nil {
			return fmt.Errorf("OPTIONS: %w", err)
		}
		if res.StatusCode >= 300 {
			return fmt.Errorf("OPTIONS: got %d, want 2xx", res.StatusCode)
		}
		if ending == "reset" {
			return p.reset()
		}
		return register(ctx, ua, 0)
	case "silent":
		return awaitClose(p.conn, 5*time.Second)
	case "garbage":
		if _, err := p.conn.Write([]byte("\x16\x03\x01 hello? GET / HTTP/1.0\r\n\r\n")); err != nil {
			return err
		}
		return awaitClose(p.conn, 5*time.Second)
	default: // half
		if _, err := fmt.Fprintf(p.conn, "REGISTER sip:%s SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:%d;branch=z9hG4bK-half%d\r\nFrom: <sip:%s@%s>;tag=h\r\n",
			g.Domain(), p.local.Port(), i, user, g.Domain()); err != nil {
			return err
		}
		return awaitClose(p.conn, 5*time.Second)
	}
}

// The hostile WebSocket clients, taken in turn.
var hostileKinds = []string{"not_websocket", "version", "no_subprotocol", "half_handshake",
	"ping_flood", "invalid_utf8", "too_big", "wrong_password"}

// hostileLife is one hostile WebSocket client from hostileIP, of kind
// hostileKinds[i%8]; it returns an error when the gateway did not refuse
// or close it as it should.
func hostileLife(ctx context.Context, g *Gateway, i int) error {
	switch kind := hostileKinds[i%len(hostileKinds)]; kind {
	case "not_websocket":
		return badHandshake(ctx, g, "", 426)
	case "version":
		return badHandshake(ctx, g, "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 12\r\nSec-WebSocket-Protocol: sip\r\n", 426)
	case "no_subprotocol":
		return badHandshake(ctx, g, "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n", 400)
	case "half_handshake":
		c, err := dialFrom(ctx, hostileIP, g.HTTP)
		if err != nil {
			return err
		}
		defer c.Close()
		if _, err := fmt.Fprintf(c, "GET /ws HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n", g.HTTP); err != nil {
			return err
		}
		return awaitClose(c, 5*time.Second)
	case "ping_flood":
		return abuse(ctx, g, websocket.ClosePolicyViolation, func(c *websocket.Conn) error {
			for range 20 {
				if err := c.WriteControl(websocket.PingMessage, nil, time.Now().Add(time.Second)); err != nil {
					return nil // closed while flooding: the read below tells why
				}
			}
			return nil
		})
	case "invalid_utf8":
		return abuse(ctx, g, websocket.CloseInvalidFramePayloadData, func(c *websocket.Conn) error {
			return c.WriteMessage(websocket.TextMessage, []byte("OPTIONS sip:x SIP/2.0\r\n\xff\xfe\r\n\r\n"))
		})
	case "too_big":
		return abuse(ctx, g, websocket.CloseMessageTooBig, func(c *websocket.Conn) error {
			return c.WriteMessage(websocket.TextMessage, []byte(strings.Repeat("A", 70000)))
		})
	default: // wrong_password
		ws, err := siptest.DialWS(ctx, g.WSURL(), siptest.WithLocalAddr(hostileIP))
		if err != nil {
			return err
		}
		defer ws.Close()
		ua := &siptest.UA{Transport: ws, User: "mallory", Password: fmt.Sprintf("guess-%d", i), Domain: g.Domain()}
		res, err := ua.Register(ctx, 300)
		if err != nil || res.StatusCode != 403 {
			return fmt.Errorf("REGISTER with a wrong password: got %v, %v; want 403", res, err)
		}
		return nil
	}
}

func dialFrom(ctx context.Context, ip netip.Addr, to netip.AddrPort) (net.Conn, error) {
	d := net.Dialer{LocalAddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(ip, 0))}
	return d.DialContext(ctx, "tcp", to.String())
}

// badHandshake sends GET /ws with headers and wants status.
func badHandshake(ctx context.Context, g *Gateway, headers string, status int) error {
	c, err := dialFrom(ctx, hostileIP, g.HTTP)
	if err != nil {
		return err
	}
	defer c.Close()
	if deadline, ok := ctx.Deadline(); ok {
		c.SetDeadline(deadline)
	}
	if _, err := fmt.Fprintf(c, "GET /ws HTTP/1.1\r\nHost: %s\r\n%s\r\n", g.HTTP, headers); err != nil {
		return err
	}
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return err
	}
	res.Body.Close()
	if res.StatusCode != status {
		return fmt.Errorf("handshake got %d, want %d", res.StatusCode, status)
	}
	return nil
}

// abuse opens a WebSocket from hostileIP, misbehaves with do and wants the
// gateway to close it with code.
func abuse(ctx context.Context, g *Gateway, code int, do func(*websocket.Conn) error) error {
	d := websocket.Dialer{Subprotocols: []string{"sip"}, HandshakeTimeout: 5 * time.Second,
		NetDialContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
			return dialFrom(ctx, hostileIP, netip.MustParseAddrPort(addr))
		}}
	c, _, err := d.DialContext(ctx, g.WSURL(), nil)
	if err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	defer c.Close()
	if err := do(c); err != nil && !isReset(err) {
		return err
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		_, _, err := c.ReadMessage()
		var ce *websocket.CloseError
		switch {
		case errors.As(err, &ce) && ce.Code != code:
			return fmt.Errorf("closed with %d, want %d", ce.Code, code)
		case ce != nil:
			return nil
		case isReset(err):
			// The gateway closed with unread data of ours in its buffer,
			// so the kernel reset the connection, and its close frame
			// may be lost: checkCounters checks the reason it counted.
			return nil
		case err != nil:
			return fmt.Errorf("no close frame %d: %w", code, err)
		}
	}
}

// isReset reports whether err is a connection reset (or a write after
// one), which closes a connection as well.
func isReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}
