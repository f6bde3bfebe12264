package sipproxy_test

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-gw/switchboard/internal/signalling/sipmsg"
	"github.com/switchboard-gw/switchboard/internal/signalling/sipproxy"
	"github.com/switchboard-gw/switchboard/internal/signalling/siptransport"
	"github.com/switchboard-gw/switchboard/internal/signalling/siptx"
)

// The harness drives a real sipproxy.Proxy through a real siptx.Layer, as
// the transports do, over fakes of everything else: an in-memory Network
// whose conns record what the proxy sends, and a Locator, Registrations,
// Authenticator and Media that record what the proxy asks of them. Every
// test runs in a synctest bubble, so the transaction timers cost no time
// and synctest.Wait tells when the proxy is done with a message.

// switchboard's own address, on every transport.
const (
	sbHost = "192.0.2.10"
	sbPort = 5060
	wsPort = 8080
)

// testTimers are short: nothing in these tests waits for a timer on purpose.
var testTimers = siptx.Config{T1: 50 * time.Millisecond}

// harness is one proxy and the fakes around it.
type harness struct {
	t     *testing.T
	proxy *sipproxy.Proxy
	layer *siptx.Layer
	net   *fakeNetwork
	reg   *fakeRegistrar
	auth  *fakeAuth
	media *fakeMedia
	prom  *prometheus.Registry // the proxy's metrics
	seq   int                  // for Call-IDs, tags and branches
}

// run runs f in a synctest bubble with a proxy built from cfg. In
// registrar mode the proxy gets the fake registrar; the fake authenticator
// and media are always there.
func run(t *testing.T, cfg sipproxy.Config, f func(h *harness)) {
	t.Helper()
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, cfg)
		f(h)
		synctest.Wait()
	})
}

func newHarness(t *testing.T, cfg sipproxy.Config) *harness {
	t.Helper()
	layer := siptx.New(testTimers, siptx.Deps{})
	h := &harness{t: t, layer: layer, net: newFakeNetwork(), reg: newFakeRegistrar(),
		auth: &fakeAuth{result: sipproxy.AuthMissing}, media: &fakeMedia{}}
	h.prom = prometheus.NewRegistry()
	deps := sipproxy.Deps{Layer: layer, Network: h.net, Authenticator: h.auth, Media: h.media, Metrics: sipproxy.NewMetrics(h.prom)}
	if cfg.Mode == sipproxy.ModeRegistrar {
		deps.Registrations, deps.Locator = h.reg, h.reg
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "switchboard-test"
	}
	p, err := sipproxy.New(cfg, deps)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(p.Close)
	h.proxy = p
	return h
}

func (h *harness) next() int { h.seq++; return h.seq }

// counter reads a counter of the proxy's metrics: labels are either
// "name=value" pairs in label order or, for a counter with one label, its
// bare value; 0 when it was never counted.
func (h *harness) counter(name string, labels ...string) float64 {
	h.t.Helper()
	families, err := h.prom.Gather()
	if err != nil {
		h.t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			var pairs, values []string
			for _, l := range m.GetLabel() {
				pairs = append(pairs, l.GetName()+"="+l.GetValue())
				values = append(values, l.GetValue())
			}
			if slices.Equal(pairs, labels) || slices.Equal(values, labels) {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

// deliver hands msg to the layer as having arrived on c, as its rendering
// would arrive from the network, and waits until the proxy is done with it.
func (h *harness) deliver(c *fakeConn, msg sip.Message) {
	h.t.Helper()
	h.layer.HandleMessage(reparse(h.t, msg), c)
	synctest.Wait()
}

// close closes c as its transport would: the flow is gone, then the layer
// hears of it.
func (h *harness) close(c *fakeConn) {
	h.net.remove(c)
	h.layer.ConnClosed(c)
	synctest.Wait()
}

// reparse renders msg and parses it back: a copy as the peer would get it.
func reparse(t testing.TB, msg sip.Message) sip.Message {
	t.Helper()
	m, err := sip.ParseMessage([]byte(msg.String()))
	if err != nil {
		t.Fatalf("parse %q: %v", msg.String(), err)
	}
	return m
}

// fakeNetwork is an in-memory sipproxy.Network. Connection flows exist
// while open; a "udp:" flow always exists, as a path through the socket.
type fakeNetwork struct {
	// mu guards the fields below.
	mu     sync.Mutex
	flows  map[string]*fakeConn
	dialed []string // "TCP 192.0.2.30:5060", in order
}

func newFakeNetwork() *fakeNetwork { return &fakeNetwork{flows: map[string]*fakeConn{}} }

var endpoints = map[string]siptransport.Endpoint{
	siptransport.UDP: {Host: sbHost, Port: sbPort},
	siptransport.TCP: {Host: sbHost, Port: sbPort},
	siptransport.WS:  {Host: sbHost, Port: wsPort},
}

// conn opens a flow from remote over transport.
func (n *fakeNetwork) conn(transport, flowID string, remote netip.AddrPort) *fakeConn {
	c := &fakeConn{transport: transport, flowID: flowID, remote: remote}
	n.mu.Lock()
	n.flows[flowID] = c
	n.mu.Unlock()
	return c
}

// udp is the path to remote through the UDP socket.
func (n *fakeNetwork) udp(remote netip.AddrPort) *fakeConn {
	id := "udp:" + remote.String()
	n.mu.Lock()
	defer n.mu.Unlock()
	if c := n.flows[id]; c != nil {
		return c
	}
	c := &fakeConn{transport: siptransport.UDP, flowID: id, remote: remote}
	n.flows[id] = c
	return c
}

// sentExcept counts what the proxy sent on every flow but except, and the
// dials it made.
func (n *fakeNetwork) sentExcept(except *fakeConn) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	total := len(n.dialed)
	for _, c := range n.flows {
		if c != except {
			total += c.count()
		}
	}
	return total
}

func (n *fakeNetwork) remove(c *fakeConn) {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	n.mu.Lock()
	delete(n.flows, c.flowID)
	n.mu.Unlock()
}

func (n *fakeNetwork) Lookup(flowID string) (siptransport.Conn, bool) {
	if rest, ok := strings.CutPrefix(flowID, "udp:"); ok {
		addr, err := netip.ParseAddrPort(rest)
		if err != nil {
			return nil, false
		}
		return n.udp(addr), true
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	c, ok := n.flows[flowID]
	return c, ok
}

func (n *fakeNetwork) Dial(_ context.Context, transport string, addr netip.AddrPort) (siptransport.Conn, error) {
	if _, ok := endpoints[transport]; !ok || siptransport.IsWebSocket(transport) {
		return nil, siptransport.ErrUnsupportedTransport
	}
	n.mu.Lock()
	n.dialed = append(n.dialed, transport+" "+addr.String())
	n.mu.Unlock()
	if transport == siptransport.UDP {
		return n.udp(addr), nil
	}
	return n.conn(transport, strings.ToLower(transport)+"-to-"+addr.String(), addr), nil
}

func (n *fakeNetwork) Endpoint(transport string) (siptransport.Endpoint, bool) {
	e, ok := endpoints[transport]
	return e, ok
}

func (n *fakeNetwork) IsLocal(host string, port int) bool {
	for _, e := range endpoints {
		if strings.EqualFold(e.Host, host) && (port == 0 || port == e.Port) {
			return true
		}
	}
	return false
}

// fakeConn is one flow; it keeps a parsed copy of everything sent on it.
type fakeConn struct {
	transport string
	flowID    string
	remote    netip.AddrPort

	// mu guards the fields below.
	mu     sync.Mutex
	sent   []sip.Message
	closed bool
}

func (c *fakeConn) Transport() string          { return c.transport }
func (c *fakeConn) LocalAddr() netip.AddrPort  { return netip.MustParseAddrPort(sbHost + ":5060") }
func (c *fakeConn) RemoteAddr() netip.AddrPort { return c.remote }
func (c *fakeConn) FlowID() string             { return c.flowID }

func (c *fakeConn) Send(msg sip.Message) error {
	copied, err := sip.ParseMessage([]byte(msg.String()))
	if err != nil {
		return fmt.Errorf("the proxy sent what does not parse: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return siptransport.ErrClosed
	}
	c.sent = append(c.sent, copied)
	return nil
}

// requests returns the requests of method sent on c, in order.
func (c *fakeConn) requests(method sip.RequestMethod) []*sip.Request {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*sip.Request
	for _, m := range c.sent {
		if r, ok := m.(*sip.Request); ok && r.Method == method {
			out = append(out, r)
		}
	}
	return out
}

// responses returns the responses sent on c to requests of method, in order.
func (c *fakeConn) responses(method sip.RequestMethod) []*sip.Response {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*sip.Response
	for _, m := range c.sent {
		if r, ok := m.(*sip.Response); ok && r.CSeq().MethodName == method {
			out = append(out, r)
		}
	}
	return out
}

// codes returns the status codes of responses(method), 100 Trying left out.
func (c *fakeConn) codes(method sip.RequestMethod) []int {
	var out []int
	for _, r := range c.responses(method) {
		if r.StatusCode != 100 {
			out = append(out, r.StatusCode)
		}
	}
	return out
}

func (c *fakeConn) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.sent)
}

// fakeRegistrar is the Locator and the Registrations of registrar mode.
type fakeRegistrar struct {
	// mu guards the fields below.
	mu        sync.Mutex
	contacts  map[string][]sipproxy.Contact
	dropped   []string        // flow IDs, in order
	flows     []sipproxy.Flow // what Register was told, in order
	regCode   int             // Register's answer; 200 unless set
	regUser   string          // the user Register names with a 2xx
	regHeader string          // a header value the 200 carries, to recognise it
}

func newFakeRegistrar() *fakeRegistrar {
	return &fakeRegistrar{contacts: map[string][]sipproxy.Contact{}, regCode: 200, regHeader: "fake registrar"}
}

func (r *fakeRegistrar) add(user string, c sipproxy.Contact) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.contacts[user] = append(r.contacts[user], c)
}

func (r *fakeRegistrar) Contacts(user string) []sipproxy.Contact {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.contacts[user])
}

func (r *fakeRegistrar) DropFlow(flowID string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.dropped = append(r.dropped, flowID)
	for user, cs := range r.contacts {
		r.contacts[user] = slices.DeleteFunc(cs, func(c sipproxy.Contact) bool { return c.FlowID == flowID })
	}
}

func (r *fakeRegistrar) Register(req *sip.Request, flow sipproxy.Flow) (*sip.Response, string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.flows = append(r.flows, flow)
	res := sip.NewResponseFromRequest(req, r.regCode, "Fake", nil)
	res.AppendHeader(sip.NewHeader("X-Registrar", r.regHeader))
	if r.regCode/100 != 2 {
		return res, ""
	}
	return res, r.regUser
}

func (r *fakeRegistrar) registered() []sipproxy.Flow {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.flows)
}

func (r *fakeRegistrar) droppedFlows() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.dropped)
}

// fakeAuth answers every Verify with result and makes recognisable
// challenges.
type fakeAuth struct {
	// mu guards the fields below.
	mu       sync.Mutex
	result   sipproxy.AuthResult
	user     string // the user of an AuthOK; "" is the request's From user
	verified int
}

func (a *fakeAuth) Verify(req *sip.Request) (string, sipproxy.AuthResult) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.verified++
	if a.result != sipproxy.AuthOK {
		return "", a.result
	}
	if a.user != "" {
		return a.user, a.result
	}
	return req.From().Address.User, a.result
}

func (a *fakeAuth) Challenge(req *sip.Request, stale bool) *sip.Response {
	res := sip.NewResponseFromRequest(req, 407, "Proxy Authentication Required", nil)
	res.AppendHeader(sip.NewHeader("Proxy-Authenticate", fmt.Sprintf(`Digest realm="fake", stale=%v`, stale)))
	return res
}

func (a *fakeAuth) Realm() string { return "fake" }

func (a *fakeAuth) set(r sipproxy.AuthResult) {
	a.mu.Lock()
	a.result = r
	a.mu.Unlock()
}

func (a *fakeAuth) calls() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.verified
}

// fakeMedia records the SDP it is handed and returns it marked, or fails
// with err.
type fakeMedia struct {
	// mu guards the fields below.
	mu    sync.Mutex
	got   []sipmsg.SDPMessage
	ended []string // "call-id: reason"
	err   error
	// fail, when set, refuses the messages it returns an error for.
	fail func(sipmsg.SDPMessage) error
}

func (m *fakeMedia) Rewrite(msg sipmsg.SDPMessage) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	msg.Body = slices.Clone(msg.Body)
	m.got = append(m.got, msg)
	if m.err != nil {
		return nil, m.err
	}
	if m.fail != nil {
		if err := m.fail(msg); err != nil {
			return nil, err
		}
	}
	return rewritten(msg.Body), nil
}

func (m *fakeMedia) End(callID, reason string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.ended = append(m.ended, callID+": "+reason)
}

func (m *fakeMedia) rewrites() []sipmsg.SDPMessage {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.got)
}

func (m *fakeMedia) ends() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.ended)
}

// rewritten is what fakeMedia makes of body.
func rewritten(body []byte) []byte {
	return []byte(strings.Replace(string(body), "s=-", "s=rewritten", 1))
}
