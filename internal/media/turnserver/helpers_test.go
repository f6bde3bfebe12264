package turnserver

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/pion/stun/v4"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/switchboard-gw/switchboard/internal/testkit/certtest"
)

const testSecret = "a-test-secret-of-some-length"

var loopbackPort0 = netip.MustParseAddrPort("127.0.0.1:0")

// testServer is a TURN server on loopback with every listener, closed
// when the test ends.
type testServer struct {
	*Server
	reg   *prometheus.Registry
	creds *Credentials
	clock *fakeClock
	cert  *x509.Certificate
}

// fakeClock is the credentials' clock; it starts at the real time.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func startServer(t testing.TB, mutate func(*Config)) *testServer {
	t.Helper()
	cert, leaf := selfSigned(t)
	cfg := Config{
		Realm: "switchboard", UDP: loopbackPort0, TCP: loopbackPort0, TLS: loopbackPort0,
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		RelayIP:   netip.MustParseAddr("127.0.0.1"), RelayPorts: [2]uint16{40000, 49999},
		Secret: []byte(testSecret), AllocationLifetime: 10 * time.Minute,
		MaxAllocations: 100, MaxAllocationsPerUser: 10,
	}
	if mutate != nil {
		mutate(&cfg)
	}
	reg := prometheus.NewRegistry()
	clock := &fakeClock{now: time.Now()}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	s, err := New(cfg, Deps{Logger: log, Metrics: NewMetrics(reg), Now: clock.Now})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return &testServer{Server: s, reg: reg, creds: NewCredentials([]byte(testSecret), "switchboard"), clock: clock, cert: leaf}
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }

// mint returns credentials for user valid for ttl on the server's clock.
func (s *testServer) mint(user string, ttl time.Duration) (string, string) {
	return s.creds.Mint(user, s.clock.Now().Add(ttl))
}

// metric returns the value of a counter or gauge with the given label
// value ("" for none).
func (s *testServer) metric(t testing.TB, name, label string) float64 {
	t.Helper()
	mfs, err := s.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if label == "" || hasLabel(m, label) {
				if m.GetCounter() != nil {
					return m.GetCounter().GetValue()
				}
				return m.GetGauge().GetValue()
			}
		}
	}
	t.Fatalf("no metric %s{%s}", name, label)
	return 0
}

func hasLabel(m *dto.Metric, v string) bool {
	for _, l := range m.GetLabel() {
		if l.GetValue() == v {
			return true
		}
	}
	return false
}

func selfSigned(t testing.TB) (tls.Certificate, *x509.Certificate) {
	t.Helper()
	c := certtest.New(t, "turn.test", "127.0.0.1")
	return c.TLS, c.TLS.Leaf
}

// stunClient speaks raw STUN to the server over one UDP, TCP or TLS
// connection, so that a test can send what pion's client never would.
type stunClient struct {
	t      testing.TB
	conn   net.Conn
	stream bool
	user   string
	pass   string
	nonce  string
}

func dialSTUN(t testing.TB, s *testServer, network string) *stunClient {
	t.Helper()
	a := s.Addrs()
	var conn net.Conn
	var err error
	switch network {
	case "udp":
		conn, err = net.Dial("udp", a.UDP.String())
	case "tcp":
		conn, err = net.Dial("tcp", a.TCP.String())
	case "tls":
		pool := x509.NewCertPool()
		pool.AddCert(s.cert)
		conn, err = tls.Dial("tcp", a.TLS.String(), &tls.Config{RootCAs: pool, ServerName: "turn.test"})
	}
	if err != nil {
		t.Fatalf("dial %s: %v", network, err)
	}
	t.Cleanup(func() { conn.Close() })
	return &stunClient{t: t, conn: conn, stream: network != "udp"}
}

// do sends a request for method with attrs, signed when the client has
// credentials (after fetching a nonce), and returns the response.
func (c *stunClient) do(method stun.Method, attrs ...stun.Setter) *stun.Message {
	c.t.Helper()
	if c.user != "" && c.nonce == "" {
		res := c.roundTrip(c.build(method, false, attrs))
		var nonce stun.Nonce
		if err := nonce.GetFrom(res); err != nil {
			c.t.Fatalf("%s without credentials: got %s, want a 401 with a nonce", method, describe(res))
		}
		c.nonce = nonce.String()
	}
	return c.roundTrip(c.build(method, c.user != "", attrs))
}

func (c *stunClient) build(method stun.Method, signed bool, attrs []stun.Setter) *stun.Message {
	setters := []stun.Setter{stun.TransactionID, stun.NewType(method, stun.ClassRequest)}
	setters = append(setters, attrs...)
	if signed {
		setters = append(setters, stun.NewUsername(c.user), stun.NewRealm("switchboard"), stun.NewNonce(c.nonce),
			stun.NewLongTermIntegrity(c.user, "switchboard", c.pass))
	}
	setters = append(setters, stun.Fingerprint)
	return stun.MustBuild(setters...)
}

func (c *stunClient) roundTrip(req *stun.Message) *stun.Message {
	c.t.Helper()
	_ = c.conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.conn.Write(req.Raw); err != nil {
		c.t.Fatalf("write: %v", err)
	}
	for {
		res := c.read()
		if res.TransactionID == req.TransactionID {
			return res
		}
	}
}

func (c *stunClient) read() *stun.Message {
	c.t.Helper()
	buf := make([]byte, 2048)
	var n int
	var err error
	if c.stream {
		if _, err = io.ReadFull(c.conn, buf[:20]); err == nil {
			l := int(binary.BigEndian.Uint16(buf[2:4]))
			_, err = io.ReadFull(c.conn, buf[20:20+l])
			n = 20 + l
		}
	} else {
		n, err = c.conn.Read(buf)
	}
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	m := &stun.Message{Raw: buf[:n]}
	if err := m.Decode(); err != nil {
		c.t.Fatalf("decode: %v", err)
	}
	return m
}

// code is a response's error code, 0 for a success.
func code(m *stun.Message) int {
	var ec stun.ErrorCodeAttribute
	if m.Type.Class == stun.ClassSuccessResponse || ec.GetFrom(m) != nil {
		return 0
	}
	return int(ec.Code)
}

func describe(m *stun.Message) string {
	if c := code(m); c != 0 {
		return m.Type.String() + " " + big.NewInt(int64(c)).String()
	}
	return m.Type.String()
}

// udpTransport is REQUESTED-TRANSPORT: UDP.
var udpTransport = stun.RawAttribute{Type: stun.AttrRequestedTransport, Value: []byte{17, 0, 0, 0}}

// peer is an XOR-PEER-ADDRESS written as given: an IPv6 spelling of an
// IPv4 address stays IPv6 on the wire (pion's encoder would make it IPv4).
type peer netip.AddrPort

func (p peer) AddTo(m *stun.Message) error {
	ap := netip.AddrPort(p)
	ip := ap.Addr().WithZone("")
	family, raw := byte(1), ip.AsSlice()
	if ip.Is6() {
		family = 2
	}
	v := make([]byte, 4+len(raw))
	v[1] = family
	binary.BigEndian.PutUint16(v[2:4], ap.Port()^uint16(magicCookie>>16))
	var pad [16]byte
	binary.BigEndian.PutUint32(pad[0:4], magicCookie)
	copy(pad[4:], m.TransactionID[:])
	for i := range raw {
		v[4+i] = raw[i] ^ pad[i]
	}
	m.Add(stun.AttrXORPeerAddress, v)
	return nil
}

// channel is CHANNEL-NUMBER.
type channel uint16

func (c channel) AddTo(m *stun.Message) error {
	m.Add(stun.AttrChannelNumber, []byte{byte(c >> 8), byte(c), 0, 0})
	return nil
}

// magicCookie is STUN's fixed cookie (RFC 8489 §5).
const magicCookie = 0x2112A442
