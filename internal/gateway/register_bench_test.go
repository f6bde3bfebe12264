package gateway

import (
	"bytes"
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-gw/switchboard/internal/config"
	"github.com/switchboard-gw/switchboard/internal/signalling/registrar"
	"github.com/switchboard-gw/switchboard/internal/signalling/sipproxy"
	"github.com/switchboard-gw/switchboard/internal/signalling/siptransport"
	"github.com/switchboard-gw/switchboard/internal/signalling/siptx"
)

// BenchmarkRegisterPipeline runs REGISTERs as JsSIP sends them over a
// WebSocket (no auth, expires 300) through everything the gateway does with
// them after the WebSocket frame is read: Inbound, the transaction layer,
// the proxy, the registrar behind the adapter the gateway gives the proxy,
// and the 200 into the connection's write queue, which writes it nowhere.
// These REGISTERs take the fast way (registrar.RegisterRaw), as the
// gateway wires it. 32 users take turns, each refreshing its own binding, as in
// e2e's BenchmarkRegisterThroughBinary.
//
//	go test -run '^$' -bench RegisterPipeline -benchmem ./internal/gateway/
func BenchmarkRegisterPipeline(b *testing.B) {
	in, conn := newRegisterPipeline(b)
	const users = 32
	msgs := make([]*registerMsg, users)
	for i := range msgs {
		msgs[i] = newRegisterMsg(i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		conn.queue.Hold() // as sipws' read loop does
		in.Message(msgs[i%users].next(), conn)
		conn.queue.Flush()
	}
	b.StopTimer()
	if conn.sent != b.N || conn.status != 200 {
		b.Fatalf("sent %d responses for %d requests, the last %d", conn.sent, b.N, conn.status)
	}
}

// BenchmarkRegisterPipelineParallel is BenchmarkRegisterPipeline on every
// core: each of GOMAXPROCS goroutines is one WebSocket connection whose
// 32 users take turns, as a read loop per connection does in the gateway.
// Run at -cpu 1,2 for the speed-up from one core to two; with
// -mutexprofile it shows which locks the cores share per message.
//
//	go test -run '^$' -bench RegisterPipelineParallel -benchmem -cpu 1,2 ./internal/gateway/
func BenchmarkRegisterPipelineParallel(b *testing.B) {
	runPipelineParallel(b, func(in *siptransport.Inbound, registry *siptransport.Registry, n int) func() error {
		conn := newDiscardConn(fmt.Sprintf("ws-p%d", n), 40000+n)
		registry.Add(conn)
		const users = 32
		msgs := make([]*registerMsg, users)
		for i := range msgs {
			msgs[i] = newRegisterMsg(n*1000 + i)
		}
		i := 0
		return func() error {
			conn.queue.Hold()
			in.Message(msgs[i%users].next(), conn)
			conn.queue.Flush()
			i++
			if conn.status != 200 {
				return fmt.Errorf("connection %d: got %d, want 200", n, conn.status)
			}
			return nil
		}
	})
}

// runPipelineParallel runs b.N ops of one REGISTER pipeline over
// GOMAXPROCS goroutines. Each goroutine gets a number from 1 and makes its
// op with newOp, the connections it needs included.
func runPipelineParallel(b *testing.B, newOp func(in *siptransport.Inbound, registry *siptransport.Registry, n int) func() error) {
	in, first := newRegisterPipeline(b)
	var workers atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		op := newOp(in, first.registry, int(workers.Add(1)))
		for pb.Next() {
			if err := op(); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkRegisterPipelineAuth is BenchmarkRegisterPipeline with
// registrar.auth on, as by default: each REGISTER carries MD5 credentials
// as JsSIP writes them, for a nonce the registrar issued to the user
// before the timer started, the nonce count one higher each time, and the
// registrar has the default lockout. Making each response (an MD5 of the
// client's) is part of every op.
//
//	go test -run '^$' -bench RegisterPipelineAuth -benchmem ./internal/gateway/
func BenchmarkRegisterPipelineAuth(b *testing.B) {
	d := config.Default()
	cfg := registrar.Config{Realm: "switchboard", Auth: true, Users: map[string]string{}, NonceTTL: time.Hour,
		MinExpires: time.Minute, MaxExpires: time.Hour, DefaultExpires: 10 * time.Minute, DigestAlgorithms: []string{"MD5"}}
	const users = 32
	for i := range users {
		cfg.Users["c"+strconv.Itoa(i)] = "pw" + strconv.Itoa(i)
	}
	in, conn, reg := newRegisterPipelineWith(b, cfg, registrar.NewLockout(lockoutConfig(d.Registrar.Lockout), registrar.LockoutDeps{}))
	msgs := make([]*registerMsg, users)
	for i := range msgs {
		msgs[i] = newRegisterMsg(i)
		msgs[i].authorize(b, reg, "pw"+strconv.Itoa(i), conn.remote.Addr())
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		conn.queue.Hold()
		in.Message(msgs[i%users].next(), conn)
		conn.queue.Flush()
	}
	b.StopTimer()
	if conn.sent != b.N || conn.status != 200 {
		b.Fatalf("sent %d responses for %d requests, the last %d", conn.sent, b.N, conn.status)
	}
	b.ReportMetric(float64(conn.buffers)/float64(b.N), "fast/op")
}

func newRegisterPipeline(b *testing.B) (*siptransport.Inbound, *discardConn) {
	in, conn, _ := newRegisterPipelineWith(b,
		registrar.Config{Realm: "switchboard", MinExpires: time.Minute, MaxExpires: time.Hour, DefaultExpires: 10 * time.Minute}, nil)
	return in, conn
}

// newRegisterPipelineWith is newRegisterPipeline for a registrar of cfg,
// with attempts, that it returns too.
func newRegisterPipelineWith(b *testing.B, cfg registrar.Config, attempts registrar.Attempts) (*siptransport.Inbound, *discardConn, *registrar.Registrar) {
	metrics := prometheus.NewRegistry()
	layer := siptx.New(siptx.Config{T1: 500 * time.Millisecond}, siptx.Deps{Metrics: siptx.NewMetrics(metrics)})
	network := &siptransport.Network{
		Registry: siptransport.NewRegistry(siptransport.RegistryConfig{}),
		Endpoints: map[string]siptransport.Endpoint{
			siptransport.UDP: {Host: "127.0.0.1", Port: 5060},
			siptransport.WS:  {Host: "127.0.0.1", Port: 8080},
		},
	}
	deps := registrar.Deps{Metrics: registrar.NewMetrics(metrics)}
	if attempts != nil {
		deps.Attempts = attempts
	}
	reg := registrar.New(cfg, deps)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	pdeps := sipproxy.Deps{
		Layer: layer, Network: network, Registrations: proxyRegistrar{reg}, Locator: proxyRegistrar{reg},
		Logger: log, Metrics: sipproxy.NewMetrics(metrics)}
	if cfg.Auth {
		pdeps.Authenticator = proxyAuth{reg.Auth()}
	}
	p, err := sipproxy.New(sipproxy.Config{UserAgent: "switchboard", Auth: cfg.Auth}, pdeps)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(p.Close)
	in := siptransport.NewInbound(siptransport.InboundConfig{MaxMessageSize: 65536, MaxHeaders: 128, MaxVia: 16}, siptransport.InboundDeps{Handler: layer, Raw: layer})
	conn := newDiscardConn("ws-1", 40000)
	conn.registry = network.Registry
	network.Registry.Add(conn)
	return in, conn, reg
}

func newDiscardConn(flowID string, port int) *discardConn {
	remote := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port))
	conn := &discardConn{flowID: flowID, remote: remote, source: remote.String()}
	conn.queue = siptransport.NewWriteQueue(256, func([]byte) error { return nil }, func(error) {})
	return conn
}

// registerMsg is one user's REGISTER, rewritten in place for each send
// with a new branch and the next CSeq, as a UA refreshing its binding.
type registerMsg struct {
	buf      []byte
	branchAt int
	cseqAt   int
	seq      uint64
	// With credentials (authorize): where the nonce count and the
	// response are, and the parts of the response that do not change.
	ncAt, responseAt int
	ha1, nonce, ha2  string
}

const counterWidth = 10

func newRegisterMsg(user int) *registerMsg {
	pad := fmt.Sprintf("%0*d", counterWidth, 0)
	host := fmt.Sprintf("u%06d.invalid", user)
	msg := "REGISTER sip:127.0.0.1 SIP/2.0\r\n" +
		"Via: SIP/2.0/WS " + host + ";branch=z9hG4bK" + pad + "\r\n" +
		"Max-Forwards: 70\r\n" +
		"To: <sip:c" + strconv.Itoa(user) + "@127.0.0.1>\r\n" +
		"From: <sip:c" + strconv.Itoa(user) + "@127.0.0.1>;tag=" + fmt.Sprintf("t%09d", user) + "\r\n" +
		"Call-ID: " + fmt.Sprintf("callid%016d", user) + "\r\n" +
		"CSeq: " + pad + " REGISTER\r\n" +
		"Contact: <sip:c" + strconv.Itoa(user) + "@" + host + ";transport=ws;ob>\r\n" +
		"Supported: path, gruu, outbound\r\n" +
		"Allow: INVITE,ACK,CANCEL,BYE,UPDATE,MESSAGE,OPTIONS,REFER,INFO,NOTIFY\r\n" +
		"Expires: 300\r\n" +
		"Content-Length: 0\r\n\r\n"
	m := &registerMsg{buf: []byte(msg)}
	m.branchAt = indexAfter(msg, "branch=z9hG4bK")
	m.cseqAt = indexAfter(msg, "CSeq: ")
	return m
}

func indexAfter(s, prefix string) int {
	i := strings.Index(s, prefix)
	if i < 0 {
		panic("no " + prefix)
	}
	return i + len(prefix)
}

// next returns the message with a fresh branch and the next CSeq, and
// with credentials the next nonce count and its response.
func (m *registerMsg) next() []byte {
	m.seq++
	putCounter(m.buf[m.cseqAt:m.cseqAt+counterWidth], m.seq)
	putCounter(m.buf[m.branchAt:m.branchAt+counterWidth], m.seq)
	if m.ncAt > 0 {
		nc := m.buf[m.ncAt : m.ncAt+8]
		var count [4]byte
		binary.BigEndian.PutUint32(count[:], uint32(m.seq))
		hex.Encode(nc, count[:])
		var in [32 + 1 + 43 + 1 + 8 + 1 + 12 + 1 + 4 + 1 + 32]byte
		text := append(append(append(append(append(in[:0], m.ha1...), ':'), m.nonce...), ':'), nc...)
		text = append(append(text, ":8q4o0ri1aq0b:auth:"...), m.ha2...)
		sum := md5.Sum(text)
		hex.Encode(m.buf[m.responseAt:m.responseAt+32], sum[:])
	}
	return m.buf
}

// authorize adds an Authorization header as JsSIP writes it to the
// message, for a nonce reg issues to src, to be filled in by next.
func (m *registerMsg) authorize(b *testing.B, reg *registrar.Registrar, password string, src netip.Addr) {
	parsed, err := sip.NewParser().ParseSIP(m.buf)
	if err != nil {
		b.Fatal(err)
	}
	req := parsed.(*sip.Request)
	challenge := reg.Auth().Challenge(req, src, false, false).GetHeader("WWW-Authenticate").Value()
	_, rest, _ := strings.Cut(challenge, `nonce="`)
	m.nonce, _, _ = strings.Cut(rest, `"`)
	user := req.To().Address.User
	h := func(s string) string { return fmt.Sprintf("%x", md5.Sum([]byte(s))) }
	m.ha1, m.ha2 = h(user+":switchboard:"+password), h("REGISTER:"+req.Recipient.String())
	line := fmt.Sprintf(`Authorization: Digest algorithm=MD5, username="%s", realm="switchboard", nonce="%s", uri="%s", response="%032d", qop=auth, cnonce="8q4o0ri1aq0b", nc=00000000`+"\r\n",
		user, m.nonce, req.Recipient.String(), 0)
	msg := strings.Replace(string(m.buf), "Content-Length", line+"Content-Length", 1)
	m.buf = []byte(msg)
	m.branchAt = indexAfter(msg, "branch=z9hG4bK")
	m.cseqAt = indexAfter(msg, "CSeq: ")
	m.ncAt = indexAfter(msg, "nc=")
	m.responseAt = indexAfter(msg, `response="`)
}

func putCounter(dst []byte, n uint64) {
	for i := len(dst) - 1; i >= 0; i-- {
		dst[i] = byte('0' + n%10)
		n /= 10
	}
}

// discardConn is a WebSocket flow that queues what is sent to it as the
// real one does, and writes it nowhere; it keeps the last message.
type discardConn struct {
	flowID string
	remote netip.AddrPort
	source string
	queue  *siptransport.WriteQueue
	sent   int
	// status is the status code of the last response sent, 0 for a request.
	status int
	// buffers counts the responses rendered by hand (SendBuffer).
	buffers int
	// registry is the registry the first connection was added to, for
	// more connections.
	registry *siptransport.Registry
}

func (c *discardConn) Transport() string          { return siptransport.WS }
func (c *discardConn) LocalAddr() netip.AddrPort  { return netip.MustParseAddrPort("127.0.0.1:8080") }
func (c *discardConn) RemoteAddr() netip.AddrPort { return c.remote }
func (c *discardConn) FlowID() string             { return c.flowID }
func (c *discardConn) RemoteSource() string       { return c.source }

func (c *discardConn) Send(msg sip.Message) error {
	c.sent++
	c.status = 0
	if res, ok := msg.(*sip.Response); ok {
		c.status = res.StatusCode
	}
	return c.queue.PushMessage(msg)
}

// SendBuffer is Send for a response rendered by hand, as the REGISTERs
// the registrar reads from their bytes are answered.
func (c *discardConn) SendBuffer(buf *bytes.Buffer) error {
	c.sent++
	c.buffers++
	c.status = 0
	if code, ok := bytes.CutPrefix(buf.Bytes(), []byte("SIP/2.0 ")); ok && len(code) >= 3 {
		c.status, _ = strconv.Atoi(string(code[:3]))
	}
	return c.queue.PushBuffer(buf)
}
