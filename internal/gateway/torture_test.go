package gateway

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/emiago/sipgo/sip"
	"github.com/gorilla/websocket"

	"github.com/switchboard-gw/switchboard/internal/config"
	"github.com/switchboard-gw/switchboard/internal/testkit/leakcheck"
	"github.com/switchboard-gw/switchboard/internal/testkit/siptest"
)

// tortureTransports are the transports every case is sent over.
var tortureTransports = []string{"UDP", "TCP", "TLS", "WS"}

// silence is how long a peer waits to be sure no (more) answer comes.
const silence = 300 * time.Millisecond

// TestTortureMessages sends every message of the torture corpus
// (testdata/torture, see torturecorpus_test.go) to a gateway in registrar
// mode with digest auth, over UDP, TCP, TLS and WebSocket, each on a
// connection of its own, and checks the answers the case expects: status
// codes in order, a reason phrase that repeats nothing of the message, the
// stream closed after a framing error. Meanwhile alice is registered on a
// WebSocket: she receives none of the messages (all come from untrusted
// peers without credentials), and afterwards carol, with credentials,
// still calls her, and the gateway holds no more goroutines than before.
func TestTortureMessages(t *testing.T) {
	leakcheck.Check(t)
	cases, err := loadTorture("testdata/torture")
	if err != nil {
		t.Fatal(err)
	}
	g, clientTLS := tortureGateway(t)
	alice := browser(t, g, "alice")
	alice.Password = "alice-pw"
	register(t, alice)
	before := runtime.NumGoroutine()

	// The cases run side by side (each on a socket of its own, with Call-IDs
	// and branches of its own), so that the silences they wait for overlap.
	results := make(map[string][]error)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for _, transport := range tortureTransports {
		errs := make([]error, len(cases))
		results[transport] = errs
		for i, c := range cases {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sem <- struct{}{}
				defer func() { <-sem }()
				errs[i] = runTorture(g, clientTLS, transport, c)
			}()
		}
	}
	wg.Wait()
	for _, transport := range tortureTransports {
		passed := 0
		for i, c := range cases {
			t.Run(transport+"/"+c.name, func(t *testing.T) {
				if err := results[transport][i]; err != nil {
					t.Errorf("%s %s (%s): %v\n  why: %s", c.rfc, c.name, c.title, err, c.why)
					return
				}
				passed++
			})
		}
		t.Logf("%s: %d of %d answered as the RFCs say", transport, passed, len(cases))
	}

	c, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	if req, err := alice.Transport.(*siptest.WSClient).RecvRequest(c); err == nil {
		t.Errorf("alice got %s from the corpus, want nothing", req.StartLine())
	}
	_, carol := phone(t, g, "carol")
	carol.Password = "carol-pw"
	callAlice(t, alice, carol)
	waitFor(t, func() bool { return runtime.NumGoroutine() <= before+tortureGoroutineSlack })
}

// tortureGoroutineSlack allows for the goroutines of transactions the corpus
// left to their timers (an INVITE's 407 over UDP waits for an ACK).
const tortureGoroutineSlack = 8

// tortureGateway runs a registrar with digest auth, users alice, bob and
// carol, on UDP, TCP, TLS and WebSocket.
func tortureGateway(t *testing.T) (*testGateway, *tls.Config) {
	certFile, keyFile, pool := selfSigned(t, t.TempDir())
	g := startGateway(t, func(c *config.Config) {
		c.Listen.TLS = loopback0
		c.TLS = config.TLS{CertFile: certFile, KeyFile: keyFile}
		c.Registrar.Auth = true
		c.Registrar.Users = []config.User{
			{Username: "alice", Password: "alice-pw"}, {Username: "bob", Password: "bob-pw"}, {Username: "carol", Password: "carol-pw"},
		}
	})
	return g, &tls.Config{RootCAs: pool}
}

// runTorture sends one case over one transport and checks the answer.
func runTorture(g *testGateway, clientTLS *tls.Config, transport string, c *tortureCase) error {
	peer, err := dialTorture(g, clientTLS, transport)
	if err != nil {
		return err
	}
	defer peer.Close()
	msg, err := c.render(tortureVars{Domain: g.domain(), Via: peer.LocalAddr(), T: transport, ID: c.name + "-" + strings.ToLower(transport)})
	if err != nil {
		return err
	}
	if err := peer.Send(msg); err != nil {
		return fmt.Errorf("send: %v", err)
	}
	want := c.expectFor(transport)
	var got []int
	for len(got) < len(want.codes) {
		res, err := peer.Recv(2 * time.Second)
		if err != nil {
			return fmt.Errorf("got %v then %v, want %s", got, err, want)
		}
		if res.StatusCode < 200 {
			continue
		}
		got = append(got, res.StatusCode)
		if err := checkReason(res, msg); err != nil {
			return err
		}
	}
	if !slicesEqual(got, want.codes) {
		return fmt.Errorf("got %v, want %s", got, want)
	}
	if want.close {
		return peer.WaitClosed(2 * time.Second)
	}
	for {
		res, err := peer.Recv(silence)
		switch {
		case errors.Is(err, errSilent):
			return nil
		case err != nil:
			return fmt.Errorf("after %v: %v, want the connection kept", got, err)
		case res.StatusCode >= 200:
			return fmt.Errorf("got %v then %d %s, want %s", got, res.StatusCode, res.Reason, want)
		}
	}
}

func slicesEqual(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// fixedWords are the header names a reason phrase may name.
var fixedWords = []string{"Content-Length", "Content-Type", "Max-Forwards", "Call-ID", "CSeq", "From", "To", "Via", "Proxy-Require", "Request-URI"}

// checkReason refuses a reason phrase that repeats the message it answers:
// no run of 8 bytes of it, header names aside, may be found in the message,
// and it must be printable ASCII.
func checkReason(res *sip.Response, msg []byte) error {
	r := res.Reason
	for _, c := range []byte(r) {
		if c < 0x20 || c > 0x7e {
			return fmt.Errorf("%d: reason %q holds a byte outside printable ASCII", res.StatusCode, r)
		}
	}
	stripped := r
	for _, w := range fixedWords {
		stripped = strings.ReplaceAll(stripped, w, "\x00")
	}
	for _, part := range strings.Split(stripped, "\x00") {
		for i := 0; i+8 <= len(part); i++ {
			if bytes.Contains(msg, []byte(part[i:i+8])) {
				return fmt.Errorf("%d: reason %q repeats %q of the message", res.StatusCode, r, part[i:i+8])
			}
		}
	}
	return nil
}

var errSilent = errors.New("no answer")

// torturePeer is one connection to the gateway that sends raw bytes and
// reads the responses.
type torturePeer interface {
	LocalAddr() string
	Send([]byte) error
	// Recv returns the next response, errSilent when none comes in wait,
	// io.EOF when the gateway closed the connection.
	Recv(wait time.Duration) (*sip.Response, error)
	// WaitClosed returns nil once the gateway has closed the connection
	// (a WebSocket with 1002).
	WaitClosed(wait time.Duration) error
	Close() error
}

func dialTorture(g *testGateway, clientTLS *tls.Config, transport string) (torturePeer, error) {
	switch transport {
	case "UDP":
		c, err := net.Dial("udp", g.Addrs().UDP.String())
		return &udpTorture{c}, err
	case "TCP":
		c, err := net.Dial("tcp", g.Addrs().TCP.String())
		if err != nil {
			return nil, err
		}
		return &streamTorture{c, bufio.NewReader(c)}, nil
	case "TLS":
		c, err := tls.Dial("tcp", g.Addrs().TLS.String(), clientTLS)
		if err != nil {
			return nil, err
		}
		return &streamTorture{c, bufio.NewReader(c)}, nil
	case "WS":
		d := websocket.Dialer{Subprotocols: []string{"sip"}, HandshakeTimeout: 2 * time.Second}
		c, _, err := d.Dial(g.wsURL(), http.Header{})
		if err != nil {
			return nil, err
		}
		return &wsTorture{c}, nil
	}
	return nil, fmt.Errorf("unknown transport %s", transport)
}

type udpTorture struct{ net.Conn }

func (p *udpTorture) LocalAddr() string   { return p.Conn.LocalAddr().String() }
func (p *udpTorture) Send(b []byte) error { _, err := p.Write(b); return err }

func (p *udpTorture) Recv(wait time.Duration) (*sip.Response, error) {
	_ = p.SetReadDeadline(time.Now().Add(wait))
	buf := make([]byte, 65536)
	n, err := p.Read(buf)
	if err != nil {
		return nil, timeoutIsSilence(err)
	}
	return parseResponse(buf[:n])
}

func (p *udpTorture) WaitClosed(time.Duration) error {
	return errors.New("UDP has no connection to close")
}

type streamTorture struct {
	net.Conn
	r *bufio.Reader
}

func (p *streamTorture) LocalAddr() string   { return p.Conn.LocalAddr().String() }
func (p *streamTorture) Send(b []byte) error { _, err := p.Write(b); return err }

// Recv reads one message off the stream: the head, then Content-Length bytes.
func (p *streamTorture) Recv(wait time.Duration) (*sip.Response, error) {
	_ = p.SetReadDeadline(time.Now().Add(wait))
	var head bytes.Buffer
	length := 0
	for {
		line, err := p.r.ReadString('\n')
		if err != nil {
			return nil, timeoutIsSilence(err)
		}
		if line == "\r\n" && head.Len() == 0 {
			continue // a keep-alive
		}
		head.WriteString(line)
		if line == "\r\n" {
			break
		}
		if name, value, ok := strings.Cut(line, ":"); ok && (strings.EqualFold(strings.TrimSpace(name), "Content-Length") || strings.TrimSpace(name) == "l") {
			length, _ = strconv.Atoi(strings.TrimSpace(value))
		}
	}
	body := make([]byte, length)
	if _, err := io.ReadFull(p.r, body); err != nil {
		return nil, timeoutIsSilence(err)
	}
	return parseResponse(append(head.Bytes(), body...))
}

func (p *streamTorture) WaitClosed(wait time.Duration) error {
	for {
		res, err := p.Recv(wait)
		switch {
		case errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || isReset(err):
			return nil
		case errors.Is(err, errSilent):
			return errors.New("the connection stayed open, want it closed")
		case err != nil:
			return err
		case res.StatusCode >= 200:
			return fmt.Errorf("got %d %s, want the connection closed", res.StatusCode, res.Reason)
		}
	}
}

type wsTorture struct{ *websocket.Conn }

func (p *wsTorture) LocalAddr() string { return p.Conn.LocalAddr().String() }

// Send writes one message per frame: a text frame, or a binary one for a
// message that is not UTF-8 (RFC 7118 §5.1; RFC 6455 §8.1 closes a text
// frame that is not with 1007).
func (p *wsTorture) Send(b []byte) error {
	if !utf8.Valid(b) {
		return p.WriteMessage(websocket.BinaryMessage, b)
	}
	return p.WriteMessage(websocket.TextMessage, b)
}

func (p *wsTorture) Recv(wait time.Duration) (*sip.Response, error) {
	_ = p.SetReadDeadline(time.Now().Add(wait))
	_, data, err := p.ReadMessage()
	if err != nil {
		return nil, timeoutIsSilence(err)
	}
	return parseResponse(data)
}

func (p *wsTorture) WaitClosed(wait time.Duration) error {
	for {
		res, err := p.Recv(wait)
		var ce *websocket.CloseError
		switch {
		case errors.As(err, &ce) && ce.Code == websocket.CloseProtocolError:
			return nil
		case errors.As(err, &ce):
			return fmt.Errorf("closed with %d, want 1002", ce.Code)
		case errors.Is(err, errSilent):
			return errors.New("the WebSocket stayed open, want it closed with 1002")
		case err != nil:
			return err
		case res.StatusCode >= 200:
			return fmt.Errorf("got %d %s, want the WebSocket closed", res.StatusCode, res.Reason)
		}
	}
}

func timeoutIsSilence(err error) error {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return errSilent
	}
	return err
}

func isReset(err error) bool {
	return err != nil && strings.Contains(err.Error(), "connection reset")
}

func parseResponse(data []byte) (*sip.Response, error) {
	msg, err := sip.ParseMessage(data)
	if err != nil {
		return nil, fmt.Errorf("unparsable answer %q: %v", data, err)
	}
	res, ok := msg.(*sip.Response)
	if !ok {
		return nil, fmt.Errorf("got a request, want a response: %q", data)
	}
	return res, nil
}
