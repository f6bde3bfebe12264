package sipws

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/switchboard-gw/switchboard/internal/signalling/siptransport"
	"github.com/switchboard-gw/switchboard/internal/testkit/leakcheck"
)

// recorder is the SIP side behind the endpoint: it keeps what arrives and
// answers every request 200 over the connection it came on: once, or, when
// answers is set, that many times, the n-th with the reason "OK n".
type recorder struct {
	mu      sync.Mutex
	got     []sip.Message
	closed  []string
	conns   chan siptransport.Conn
	answers int
}

func (r *recorder) HandleMessage(msg sip.Message, from siptransport.Conn) {
	r.mu.Lock()
	r.got = append(r.got, msg)
	r.mu.Unlock()
	if req, ok := msg.(*sip.Request); ok {
		if r.answers == 0 {
			_ = from.Send(sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil))
		}
		for n := range r.answers {
			_ = from.Send(sip.NewResponseFromRequest(req, sip.StatusOK, "OK "+strconv.Itoa(n+1), nil))
		}
	}
	select {
	case r.conns <- from:
	default:
	}
}

func (r *recorder) ConnClosed(c siptransport.Conn) {
	r.mu.Lock()
	r.closed = append(r.closed, c.FlowID())
	r.mu.Unlock()
}

func (r *recorder) closedFlows() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.closed...)
}

// endpoint is one Server behind an httptest server.
type endpoint struct {
	srv     *Server
	http    *httptest.Server
	rec     *recorder
	reg     *siptransport.Registry
	metrics *prometheus.Registry
	url     string
}

func newEndpoint(t *testing.T, cfg Config, maxPerIP int) *endpoint {
	t.Helper()
	leakcheck.Check(t)
	if cfg.MaxMessageSize == 0 {
		cfg.MaxMessageSize = 4096
	}
	if cfg.WriteTimeout == 0 {
		cfg.WriteTimeout = time.Second
	}
	rec := &recorder{conns: make(chan siptransport.Conn, 16)}
	in := siptransport.NewInbound(siptransport.InboundConfig{MaxMessageSize: cfg.MaxMessageSize}, siptransport.InboundDeps{Handler: rec})
	reg := siptransport.NewRegistry(siptransport.RegistryConfig{MaxConnections: 100, MaxConnectionsPerIP: maxPerIP})
	metrics := prometheus.NewRegistry()
	srv := New(cfg, Deps{Inbound: in, Registry: reg, Metrics: NewMetrics(metrics)})
	hs := httptest.NewServer(srv)
	e := &endpoint{srv: srv, http: hs, rec: rec, reg: reg, metrics: metrics, url: "ws" + strings.TrimPrefix(hs.URL, "http")}
	t.Cleanup(func() {
		srv.Close()
		hs.Close()
	})
	return e
}

func (e *endpoint) dial(t *testing.T, header http.Header) *websocket.Conn {
	t.Helper()
	d := websocket.Dialer{Subprotocols: []string{Subprotocol}, HandshakeTimeout: 2 * time.Second}
	c, res, err := d.Dial(e.url, header)
	if err != nil {
		t.Fatalf("dial: %v (%v)", err, res)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func (e *endpoint) refused(reason string) float64 {
	return counterValue(e.srv.metrics.refusals.WithLabelValues(reason))
}

const options = "OPTIONS sip:switchboard.invalid SIP/2.0\r\n" +
	"Via: SIP/2.0/WSS df7jal23ls0d.invalid;branch=z9hG4bKws1\r\n" +
	"From: <sip:alice@example.com>;tag=a1\r\n" +
	"To: <sip:switchboard.invalid>\r\n" +
	"Call-ID: ws-call-1\r\n" +
	"CSeq: 1 OPTIONS\r\n" +
	"Max-Forwards: 70\r\n" +
	"Content-Length: 0\r\n\r\n"

func TestHandshakeRefusals(t *testing.T) {
	tests := []struct {
		name         string
		origins      []string
		header       http.Header
		upgrade      bool
		wantStatus   int
		wantReason   string
		wantRetry    bool
		drainFirst   bool
		takeOnlySlot bool
	}{
		{name: "plain GET", wantStatus: http.StatusUpgradeRequired, wantReason: "not_websocket"},
		{name: "no sip subprotocol", upgrade: true, header: http.Header{"Sec-WebSocket-Protocol": {"chat"}},
			wantStatus: http.StatusBadRequest, wantReason: "no_subprotocol"},
		{name: "origin not listed", upgrade: true, origins: []string{"https://phone.example"},
			header:     http.Header{"Sec-WebSocket-Protocol": {"sip"}, "Origin": {"https://evil.example"}},
			wantStatus: http.StatusForbidden, wantReason: "origin"},
		{name: "draining", upgrade: true, drainFirst: true, header: http.Header{"Sec-WebSocket-Protocol": {"sip"}},
			wantStatus: http.StatusServiceUnavailable, wantReason: "draining", wantRetry: true},
		{name: "per-IP limit", upgrade: true, takeOnlySlot: true, header: http.Header{"Sec-WebSocket-Protocol": {"sip"}},
			wantStatus: http.StatusServiceUnavailable, wantReason: "limit", wantRetry: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEndpoint(t, Config{AllowedOrigins: tt.origins}, 1)
			if tt.drainFirst {
				e.srv.Drain()
			}
			if tt.takeOnlySlot {
				e.dial(t, nil)
			}
			req, _ := http.NewRequest(http.MethodGet, e.http.URL, nil)
			if tt.upgrade {
				req.Header.Set("Connection", "Upgrade")
				req.Header.Set("Upgrade", "websocket")
				req.Header.Set("Sec-WebSocket-Version", "13")
				req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
			}
			for k, v := range tt.header {
				req.Header[k] = v
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != tt.wantStatus {
				t.Errorf("status: got %d, want %d", res.StatusCode, tt.wantStatus)
			}
			if got := res.Header.Get("Retry-After") != ""; got != tt.wantRetry {
				t.Errorf("Retry-After present: got %v, want %v", got, tt.wantRetry)
			}
			if got := e.refused(tt.wantReason); got != 1 {
				t.Errorf("refusals{reason=%q}: got %v, want 1", tt.wantReason, got)
			}
		})
	}
}

func TestMessagesBothWays(t *testing.T) {
	e := newEndpoint(t, Config{AllowedOrigins: []string{"https://phone.example"}}, 10)
	c := e.dial(t, http.Header{"Origin": {"https://phone.example"}})
	if got := c.Subprotocol(); got != Subprotocol {
		t.Fatalf("subprotocol: got %q, want %q", got, Subprotocol)
	}
	// A text message, then the same request as a binary message split
	// into fragments: each is delivered whole, and each is answered.
	if err := c.WriteMessage(websocket.TextMessage, []byte(options)); err != nil {
		t.Fatal(err)
	}
	w, err := c.NextWriter(websocket.BinaryMessage)
	if err != nil {
		t.Fatal(err)
	}
	second := strings.Replace(options, "CSeq: 1", "CSeq: 2", 1)
	for i := 0; i < len(second); i += 50 {
		if _, err := w.Write([]byte(second[i:min(i+50, len(second))])); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	for want := 1; want <= 2; want++ {
		_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
		_, data, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("response %d: %v", want, err)
		}
		if !strings.HasPrefix(string(data), "SIP/2.0 200 OK") {
			t.Errorf("response %d: got %q, want a 200", want, firstLine(data))
		}
	}
	conn := <-e.rec.conns
	if conn.Transport() != siptransport.WS {
		t.Errorf("transport: got %q, want %q", conn.Transport(), siptransport.WS)
	}
	if got, ok := e.reg.Lookup(conn.FlowID()); !ok || got != conn {
		t.Errorf("registry lookup of %s: got %v, %v, want the connection", conn.FlowID(), got, ok)
	}
	if n := e.srv.Len(); n != 1 {
		t.Errorf("Len: got %d, want 1", n)
	}
}

func TestTooBigClosesWith1009(t *testing.T) {
	e := newEndpoint(t, Config{MaxMessageSize: 1024}, 10)
	c := e.dial(t, nil)
	big := strings.Replace(options, "Content-Length: 0", "X-Pad: "+strings.Repeat("a", 2000)+"\r\nContent-Length: 0", 1)
	if err := c.WriteMessage(websocket.TextMessage, []byte(big)); err != nil {
		t.Fatal(err)
	}
	wantClose(t, c, websocket.CloseMessageTooBig)
	waitFor(t, "the flow to be closed", func() bool { return len(e.rec.closedFlows()) == 1 && e.srv.Len() == 0 })
	if got := counterValue(e.srv.metrics.closes.WithLabelValues("too_big")); got != 1 {
		t.Errorf("closes{too_big}: got %v, want 1", got)
	}
}

func TestIdleClosesAfterPings(t *testing.T) {
	e := newEndpoint(t, Config{PingInterval: 50 * time.Millisecond, IdleTimeout: 300 * time.Millisecond}, 10)
	c := e.dial(t, nil)
	pings := make(chan struct{}, 16)
	// The client reads (so control frames are handled) but never answers
	// a ping: the server hears nothing and closes it as idle.
	c.SetPingHandler(func(string) error {
		select {
		case pings <- struct{}{}:
		default:
		}
		return nil
	})
	wantClose(t, c, websocket.CloseNormalClosure)
	if len(pings) == 0 {
		t.Error("no ping arrived before the idle close")
	}
	waitFor(t, "the idle close to be counted", func() bool {
		return counterValue(e.srv.metrics.closes.WithLabelValues("idle")) == 1
	})
}

func TestPongsKeepAlive(t *testing.T) {
	e := newEndpoint(t, Config{PingInterval: 40 * time.Millisecond, IdleTimeout: 200 * time.Millisecond}, 10)
	c := e.dial(t, nil) // gorilla's default ping handler answers with a pong
	done := make(chan error, 1)
	go func() {
		_, _, err := c.ReadMessage()
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("a client that answers pings was closed: %v", err)
	case <-time.After(600 * time.Millisecond): // three idle timeouts
	}
	if n := e.srv.Len(); n != 1 {
		t.Errorf("Len: got %d, want 1", n)
	}
}

func TestCloseSendsGoingAway(t *testing.T) {
	e := newEndpoint(t, Config{}, 10)
	c := e.dial(t, nil)
	waitFor(t, "the connection to be served", func() bool { return e.srv.Len() == 1 })
	go e.srv.Close()
	wantClose(t, c, websocket.CloseGoingAway)
	waitFor(t, "the flow to be closed", func() bool { return len(e.rec.closedFlows()) == 1 })
	if n := e.reg.Len(); n != 0 {
		t.Errorf("registry: got %d connections, want 0", n)
	}
}

// wantClose reads c until the server's close frame and checks its code.
func wantClose(t *testing.T, c *websocket.Conn, code int) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
	for {
		_, _, err := c.ReadMessage()
		if err == nil {
			continue
		}
		ce, ok := err.(*websocket.CloseError)
		if !ok {
			t.Fatalf("got %v, want a close frame with code %d", err, code)
		}
		if ce.Code != code {
			t.Errorf("close code: got %d, want %d", ce.Code, code)
		}
		return
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func firstLine(b []byte) string {
	s, _, _ := strings.Cut(string(b), "\r\n")
	return s
}

func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		return -1
	}
	return m.GetCounter().GetValue()
}

// TestSeveralAnswersArriveApart: responses queued together on one
// connection, written in one write (WriteQueue, watchedConn's batch),
// still arrive as one WebSocket message each, in order.
func TestSeveralAnswersArriveApart(t *testing.T) {
	e := newEndpoint(t, Config{}, 10)
	e.rec.answers = 20 // more than one batch's worth (siptransport's maxCoalesce)
	c := e.dial(t, nil)
	for range 2 {
		if err := c.WriteMessage(websocket.TextMessage, []byte(options)); err != nil {
			t.Fatal(err)
		}
		for n := 1; n <= e.rec.answers; n++ {
			_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
			kind, data, err := c.ReadMessage()
			if err != nil {
				t.Fatalf("response %d: %v", n, err)
			}
			if want := "SIP/2.0 200 OK " + strconv.Itoa(n); kind != websocket.TextMessage || firstLine(data) != want {
				t.Fatalf("response %d: got %q (type %d), want %q as a text message", n, firstLine(data), kind, want)
			}
			if !strings.HasSuffix(string(data), "\r\n\r\n") {
				t.Fatalf("response %d is not whole: %q", n, data)
			}
		}
	}
}
