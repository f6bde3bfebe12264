package siptx

import (
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/internal/signalling/siptransport"
)

// The tests run on RFC 3261's timers: T1 500ms, T2 4s, T4 5s.
const (
	t1 = 500 * time.Millisecond
	t4 = T4
)

// fakeConn is a siptransport.Conn that records what is sent on it and when,
// on the synctest bubble's clock, relative to the conn's creation.
type fakeConn struct {
	transport string
	flow      string
	start     time.Time

	// mu guards sent.
	mu   sync.Mutex
	sent []sentMsg
}

type sentMsg struct {
	at  time.Duration
	msg sip.Message
}

var _ siptransport.Conn = (*fakeConn)(nil)

func newConn(transport, flow string) *fakeConn {
	return &fakeConn{transport: transport, flow: flow, start: time.Now()}
}

func (c *fakeConn) Transport() string         { return c.transport }
func (c *fakeConn) LocalAddr() netip.AddrPort { return netip.MustParseAddrPort("192.0.2.10:5060") }
func (c *fakeConn) RemoteAddr() netip.AddrPort {
	return netip.MustParseAddrPort("192.0.2.1:5060")
}
func (c *fakeConn) FlowID() string { return c.flow }

func (c *fakeConn) Send(msg sip.Message) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sent = append(c.sent, sentMsg{at: time.Since(c.start), msg: msg})
	return nil
}

// messages returns what was sent that match accepts.
func (c *fakeConn) messages(match func(sip.Message) bool) []sip.Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []sip.Message
	for _, s := range c.sent {
		if match(s.msg) {
			out = append(out, s.msg)
		}
	}
	return out
}

// times returns when the messages match accepts were sent.
func (c *fakeConn) times(match func(sip.Message) bool) []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []time.Duration
	for _, s := range c.sent {
		if match(s.msg) {
			out = append(out, s.at)
		}
	}
	return out
}

func (c *fakeConn) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.sent)
}

func anyMsg(sip.Message) bool { return true }

func status(code int) func(sip.Message) bool {
	return func(m sip.Message) bool {
		res, ok := m.(*sip.Response)
		return ok && res.StatusCode == code
	}
}

func method(name sip.RequestMethod) func(sip.Message) bool {
	return func(m sip.Message) bool {
		req, ok := m.(*sip.Request)
		return ok && req.Method == name
	}
}

// fakeTU is the transaction user of the server side.
type fakeTU struct {
	// mu guards the fields below.
	mu     sync.Mutex
	txs    []*ServerTx
	acks   []*sip.Request
	strays []*sip.Response
	closed []siptransport.Conn
}

func (u *fakeTU) HandleRequest(tx *ServerTx) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.txs = append(u.txs, tx)
}

func (u *fakeTU) HandleAck(req *sip.Request, _ siptransport.Conn) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.acks = append(u.acks, req)
}

func (u *fakeTU) HandleStrayResponse(res *sip.Response, _ siptransport.Conn) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.strays = append(u.strays, res)
}

func (u *fakeTU) ConnClosed(c siptransport.Conn) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.closed = append(u.closed, c)
}

// only returns the one server transaction the TU was given.
func (u *fakeTU) only(t *testing.T) *ServerTx {
	t.Helper()
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.txs) != 1 {
		t.Fatalf("HandleRequest called %d times, want 1", len(u.txs))
	}
	return u.txs[0]
}

func (u *fakeTU) ackCount() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.acks)
}

// fakeClient is a ClientHandler that records what it hears.
type fakeClient struct {
	// mu guards the fields below.
	mu        sync.Mutex
	responses []int
	failures  []error
}

func (h *fakeClient) OnResponse(_ *ClientTx, res *sip.Response) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.responses = append(h.responses, res.StatusCode)
}

func (h *fakeClient) OnFailure(_ *ClientTx, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.failures = append(h.failures, err)
}

func (h *fakeClient) codes() []int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.responses)
}

func (h *fakeClient) errs() []error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.failures)
}

func newTestLayer() (*Layer, *fakeTU) {
	tu := &fakeTU{}
	return New(Config{T1: t1}, Deps{Handler: tu}), tu
}

// request parses a fresh request from the phone at 192.0.2.1:5060, as a
// (re)transmission would arrive from the network.
func request(t *testing.T, m sip.RequestMethod, branch string) *sip.Request {
	t.Helper()
	return requestFrom(t, m, "192.0.2.1:5060", branch)
}

func requestFrom(t *testing.T, m sip.RequestMethod, sentBy, branch string) *sip.Request {
	t.Helper()
	text := fmt.Sprintf("%[1]s sip:bob@example.com SIP/2.0\r\n"+
		"Via: SIP/2.0/UDP %[2]s;branch=%[3]s\r\n"+
		"Route: <sip:proxy.example.com;lr>\r\n"+
		"Max-Forwards: 70\r\n"+
		"From: <sip:alice@example.com>;tag=a1\r\n"+
		"To: <sip:bob@example.com>\r\n"+
		"Call-ID: call-1@192.0.2.1\r\n"+
		"CSeq: 1 %[1]s\r\n"+
		"Content-Length: 0\r\n\r\n", m, sentBy, branch)
	msg, err := sip.NewParser().ParseSIP([]byte(text))
	if err != nil {
		t.Fatalf("parse %s: %v", m, err)
	}
	return msg.(*sip.Request)
}

// response answers req with code; every response but 100 carries a To tag.
func response(req *sip.Request, code int) *sip.Response {
	res := sip.NewResponseFromRequest(req, code, fmt.Sprintf("Status %d", code), nil)
	if code > 100 {
		to := res.To()
		if to.Params == nil {
			to.Params = sip.NewParams()
		}
		to.Params.Add("tag", "b1")
	}
	return res
}

// advance moves the bubble's clock on by d and lets the timers that fired run.
func advance(d time.Duration) {
	time.Sleep(d)
	synctest.Wait()
}

// secs turns seconds into durations.
func secs(s ...float64) []time.Duration {
	out := make([]time.Duration, len(s))
	for i, v := range s {
		out[i] = time.Duration(v * float64(time.Second))
	}
	return out
}

func checkLen(t *testing.T, l *Layer, want int) {
	t.Helper()
	if got := l.Len(); got != want {
		t.Errorf("at %v: Len() = %d, want %d", time.Since(epoch), got, want)
	}
}

// epoch is where every synctest bubble's clock starts.
var epoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
