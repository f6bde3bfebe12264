package siptest

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/gorilla/websocket"
)

// WSClient is a SIP over WebSocket client (RFC 7118) that behaves like a
// browser running JsSIP: it names itself by a random host.invalid in Via and
// Contact, sends each message as one text frame, and parses each frame it
// receives into a queue that Recv, RecvRequest, RecvResponse and Next read.
// Messages nobody takes stay queued (see Pending): a long benchmark should
// run UA.Serve or drain what it does not expect.
type WSClient struct {
	inbox
	conn *websocket.Conn
	host string // random "xxxx.invalid", as JsSIP's via_host
	via  string // Via transport: "WS" or "WSS", from the URL scheme as JsSIP does
	done chan struct{}

	// writeMu serialises data frames; gorilla allows one writer at a time.
	writeMu sync.Mutex

	closeOnce   sync.Once
	closeErr    error
	closeCode   atomic.Int32
	parseErrors atomic.Int64
}

// WSOption configures DialWS.
type WSOption func(*wsConfig)

type wsConfig struct {
	dialer     websocket.Dialer
	header     http.Header
	requireSIP bool
}

// WithOrigin sets the Origin header of the upgrade request, as a browser does.
func WithOrigin(origin string) WSOption {
	return func(c *wsConfig) { c.header.Set("Origin", origin) }
}

// WithoutSubprotocol leaves "sip" out of Sec-WebSocket-Protocol, for tests
// that the gateway refuses such clients.
func WithoutSubprotocol() WSOption {
	return func(c *wsConfig) {
		c.dialer.Subprotocols = nil
		c.requireSIP = false
	}
}

// WithTLSConfig sets the TLS configuration for wss:// URLs.
func WithTLSConfig(cfg *tls.Config) WSOption {
	return func(c *wsConfig) { c.dialer.TLSClientConfig = cfg }
}

// WithLocalAddr connects from ip, such as another loopback address, so that
// a test can play a peer with an address of its own.
func WithLocalAddr(ip netip.Addr) WSOption {
	return func(c *wsConfig) {
		d := net.Dialer{LocalAddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(ip, 0))}
		c.dialer.NetDialContext = d.DialContext
	}
}

// DialWS connects to url, asking for the "sip" subprotocol, and starts
// reading. It fails with ErrSubprotocol if the server does not select "sip",
// and with a *HandshakeError if it refuses the upgrade.
func DialWS(ctx context.Context, url string, opts ...WSOption) (*WSClient, error) {
	cfg := wsConfig{
		dialer:     websocket.Dialer{Subprotocols: []string{"sip"}, HandshakeTimeout: 10 * time.Second},
		header:     http.Header{},
		requireSIP: true,
	}
	for _, o := range opts {
		o(&cfg)
	}
	conn, resp, err := cfg.dialer.DialContext(ctx, url, cfg.header)
	if err != nil {
		return nil, handshakeError(resp, err)
	}
	if cfg.requireSIP && conn.Subprotocol() != "sip" {
		conn.Close()
		return nil, ErrSubprotocol
	}
	c := &WSClient{conn: conn, host: randToken(12) + ".invalid", via: viaTransport(url), done: make(chan struct{})}
	go c.readLoop()
	return c, nil
}

func handshakeError(resp *http.Response, err error) error {
	if resp == nil {
		return fmt.Errorf("siptest: dial websocket: %w", err)
	}
	return &HandshakeError{StatusCode: resp.StatusCode, Err: err}
}

func viaTransport(url string) string {
	if strings.HasPrefix(strings.ToLower(url), "wss:") {
		return "WSS"
	}
	return "WS"
}

func (c *WSClient) readLoop() {
	defer close(c.done)
	parser := sip.NewParser()
	for {
		_, data, err := c.conn.ReadMessage()
		if err != nil {
			c.end(err)
			return
		}
		msg, err := parser.ParseSIP(data)
		if err != nil {
			c.parseErrors.Add(1)
			continue
		}
		c.push(msg)
	}
}

func (c *WSClient) end(err error) {
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		c.closeCode.Store(int32(ce.Code))
	}
	c.shut(fmt.Errorf("%w: %v", ErrClosed, err))
}

// Send writes msg as one text frame.
func (c *WSClient) Send(msg sip.Message) error {
	return c.SendRaw([]byte(msg.String()), false)
}

// SendRaw writes data as one text frame, or binary frame if binary is set.
func (c *WSClient) SendRaw(data []byte, binary bool) error {
	kind := websocket.TextMessage
	if binary {
		kind = websocket.BinaryMessage
	}
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	return c.conn.WriteMessage(kind, data)
}

// Close sends a normal close frame, waits up to a second for the server's,
// then closes the connection and waits for the reader to stop.
func (c *WSClient) Close() error {
	c.closeOnce.Do(func() {
		msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
		_ = c.conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
		select {
		case <-c.done:
		case <-time.After(time.Second):
		}
		c.closeErr = c.conn.Close()
		<-c.done
	})
	return c.closeErr
}

// Done is closed when the connection has ended, whichever side ended it.
func (c *WSClient) Done() <-chan struct{} { return c.done }

// CloseCode returns the close code the server sent (1001, 1009, ...), 1006
// if the connection ended without a close frame, or 0 while it is open.
func (c *WSClient) CloseCode() int { return int(c.closeCode.Load()) }

// ParseErrors counts received frames that were not SIP messages.
func (c *WSClient) ParseErrors() int64 { return c.parseErrors.Load() }

// Host returns the random host.invalid the client uses in Via and Contact.
func (c *WSClient) Host() string { return c.host }

// Via returns a new Via header for this client, without a branch.
func (c *WSClient) Via() *sip.ViaHeader {
	return &sip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: c.via, Host: c.host, Params: sip.NewParams()}
}

// Contact returns <sip:user@host.invalid;transport=ws;ob>, the outbound
// (RFC 5626 §5.4) contact JsSIP uses.
func (c *WSClient) Contact(user string) sip.Uri {
	return sip.Uri{Scheme: "sip", User: user, Host: c.host, UriParams: params("transport", "ws", "ob", "")}
}
