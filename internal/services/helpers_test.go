package services

import (
	"context"
	"encoding/binary"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/internal/testkit/siptest"
)

// testConfig fills in the fields of cfg that come from the config file and
// that cfg leaves zero, with the config file's defaults: RTP on 127.0.0.1,
// calls of at most 1h, T1 500ms.
func testConfig(cfg Config) Config {
	if !cfg.RTPAddr.IsValid() {
		cfg.RTPAddr = netip.MustParseAddr("127.0.0.1")
	}
	if cfg.MaxDuration == 0 {
		cfg.MaxDuration = time.Hour
	}
	if cfg.T1 == 0 {
		cfg.T1 = 500 * time.Millisecond
	}
	return cfg
}

// start runs a server with testConfig(cfg) and closes it when the test ends.
func start(t *testing.T, cfg Config) *Server {
	t.Helper()
	s, err := New(testConfig(cfg), Deps{})
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve() }()
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return s
}

// caller is a SIP phone on UDP talking straight to the server.
func caller(t *testing.T, s *Server) (*siptest.UDPPeer, *siptest.UA) {
	t.Helper()
	p, err := siptest.NewUDPPeer()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p, p.UA("alice", s.Addr())
}

func uri(s *Server, user string) sip.Uri {
	return sip.Uri{Scheme: "sip", User: user, Host: s.Addr().Addr().String(), Port: int(s.Addr().Port())}
}

// rtpSocket is the caller's media socket.
func rtpSocket(t *testing.T) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func addrOf(c *net.UDPConn) netip.AddrPort { return c.LocalAddr().(*net.UDPAddr).AddrPort() }

// offer is a plain audio offer at c's address with the given formats.
func offer(c *net.UDPConn, formats string, extra ...string) []byte {
	a := addrOf(c)
	s := "v=0\r\no=test 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
		"m=audio " + strconv.Itoa(int(a.Port())) + " RTP/AVP " + formats + "\r\n" +
		"a=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\n"
	for _, e := range extra {
		s += e + "\r\n"
	}
	return []byte(s)
}

// mediaOf reads the audio address and first payload type of an answer.
func mediaOf(t *testing.T, body []byte) (netip.AddrPort, string) {
	t.Helper()
	r, err := parseRemote(body)
	if err != nil {
		t.Fatalf("answer does not parse: %v\n%s", err, body)
	}
	return r.addr, strconv.Itoa(int(r.pt))
}

// rtp builds an RTP packet.
func rtp(pt uint8, seq uint16, ts, ssrc uint32, payload []byte) []byte {
	p := make([]byte, rtpHeader, rtpHeader+len(payload))
	p[0], p[1] = 0x80, pt
	binary.BigEndian.PutUint16(p[2:], seq)
	binary.BigEndian.PutUint32(p[4:], ts)
	binary.BigEndian.PutUint32(p[8:], ssrc)
	return append(p, payload...)
}

// readRTP reads one packet, failing after a second.
func readRTP(t *testing.T, c *net.UDPConn) []byte {
	t.Helper()
	buf := make([]byte, 1500)
	_ = c.SetReadDeadline(time.Now().Add(time.Second))
	n, err := c.Read(buf)
	if err != nil {
		t.Fatalf("no RTP: %v", err)
	}
	return buf[:n]
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return c
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func hasLine(body []byte, line string) bool {
	for _, l := range strings.Split(string(body), "\r\n") {
		if l == line {
			return true
		}
	}
	return false
}
