package siptransport

import (
	"bufio"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// collector is a Handler safe for the TCP reader goroutine.
type collector struct {
	mu     sync.Mutex
	got    []sip.Message
	closed int
}

func (c *collector) HandleMessage(m sip.Message, _ Conn) {
	c.mu.Lock()
	c.got = append(c.got, m)
	c.mu.Unlock()
}

func (c *collector) ConnClosed(Conn) {
	c.mu.Lock()
	c.closed++
	c.mu.Unlock()
}

func (c *collector) count() (int, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.got), c.closed
}

func response(code int, reason string) string {
	return "SIP/2.0 " + itoa(code) + " " + reason + "\r\nVia: SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bK1, SIP/2.0/WS x.invalid;branch=z9hG4bK2\r\n" +
		"From: <sip:a@x>;tag=1\r\nTo: <sip:b@x>;tag=2\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"
}

func TestStreamFramesSeveralMessagesPerRead(t *testing.T) {
	h, c := dialTCP(t)
	all := response(100, "Trying") + response(180, "Ringing") + response(200, "OK")
	// One write with all three, then the same split at awkward places.
	if _, err := c.Write([]byte(all)); err != nil {
		t.Fatal(err)
	}
	for _, part := range []string{all[:7], all[7:300], all[300:]} {
		_, _ = c.Write([]byte(part))
		time.Sleep(5 * time.Millisecond)
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		n, closed := h.count()
		if n == 6 {
			break
		}
		if closed > 0 || time.Now().After(deadline) {
			t.Fatalf("got %d messages (closed %d), want 6", n, closed)
		}
		time.Sleep(5 * time.Millisecond)
	}
	c.Close()

}

func TestStreamMalformedGets400AndKeepsConnection(t *testing.T) {
	h, c := dialTCP(t)
	defer c.Close()
	bad := strings.Replace(validOptions, "CSeq: 1", "CSeq: one", 1)
	if _, err := c.Write([]byte(bad + validOptions)); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "SIP/2.0 400 Bad Request (") {
		t.Fatalf("got %q, %v; want a 400 naming the fault", line, err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for n, closed := h.count(); n != 1; n, closed = h.count() {
		if closed > 0 || time.Now().After(deadline) {
			t.Fatalf("the valid message after the bad one: delivered %d (closed %d), want 1", n, closed)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// dialTCP starts a TCP listener delivering to a collector and connects to it.
func dialTCP(t *testing.T) (*collector, net.Conn) {
	t.Helper()
	h := &collector{}
	l, err := ListenTCP(netip.MustParseAddrPort("127.0.0.1:0"), StreamConfig{}, NewInbound(InboundConfig{MaxMessageSize: 65535}, InboundDeps{Handler: h}), NewRegistry(RegistryConfig{}))
	if err != nil {
		t.Fatal(err)
	}
	go l.Serve()
	t.Cleanup(func() { l.Close() })
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return h, c
}

// answerer answers every request with a 200 on the connection it came from.
type answerer struct{}

func (answerer) HandleMessage(m sip.Message, from Conn) {
	if req, ok := m.(*sip.Request); ok {
		_ = from.Send(sip.NewResponseFromRequest(req, 200, "OK", nil))
	}
}

func (answerer) ConnClosed(Conn) {}

// TestStreamAnswersPipelinedRequestsInOrder: requests a peer sends in one
// write are answered in their order, each response whole, though the
// responses share writes (NewStreamWriteQueue).
func TestStreamAnswersPipelinedRequestsInOrder(t *testing.T) {
	l, err := ListenTCP(netip.MustParseAddrPort("127.0.0.1:0"), StreamConfig{}, NewInbound(InboundConfig{MaxMessageSize: 65535}, InboundDeps{Handler: answerer{}}), NewRegistry(RegistryConfig{}))
	if err != nil {
		t.Fatal(err)
	}
	go l.Serve()
	defer l.Close()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const n = 20 // more than one write's worth of messages (maxCoalesce)
	var all strings.Builder
	for i := 1; i <= n; i++ {
		all.WriteString(strings.Replace(strings.Replace(validOptions, "CSeq: 1 ", "CSeq: "+itoa(i)+" ", 1), "Call-ID: c1", "Call-ID: c"+itoa(i), 1))
	}
	if _, err := c.Write([]byte(all.String())); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	p := sip.NewParser()
	r := bufio.NewReader(c)
	for i := 1; i <= n; i++ {
		var head strings.Builder
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("response %d: %v", i, err)
			}
			head.WriteString(line)
			if line == "\r\n" {
				break
			}
		}
		msg, err := p.ParseSIP([]byte(head.String()))
		if err != nil {
			t.Fatalf("response %d: %v in %q", i, err, head.String())
		}
		res, ok := msg.(*sip.Response)
		if !ok || res.StatusCode != 200 || res.CSeq().SeqNo != uint32(i) {
			t.Fatalf("response %d: got %q", i, head.String())
		}
	}
}
