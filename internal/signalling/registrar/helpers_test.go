package registrar

import (
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// fakeClock is a Config.Now that moves only when told to.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock {
	return &fakeClock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

var (
	flowA = Flow{ID: "ws-1", Transport: "wss", Remote: netip.MustParseAddrPort("192.0.2.10:50001")}
	flowB = Flow{ID: "ws-2", Transport: "wss", Remote: netip.MustParseAddrPort("192.0.2.10:50002")}
	// flowOtherIP is another client.
	flowOtherIP = Flow{ID: "ws-3", Transport: "wss", Remote: netip.MustParseAddrPort("198.51.100.7:40000")}
	srcA        = flowA.Remote.Addr()
)

// parseRequest parses a SIP request given as header lines, CRLF added.
func parseRequest(t testing.TB, lines ...string) *sip.Request {
	t.Helper()
	msg, err := sip.ParseMessage([]byte(strings.Join(lines, "\r\n") + "\r\n\r\n"))
	if err != nil {
		t.Fatalf("parse request: %v", err)
	}
	req, ok := msg.(*sip.Request)
	if !ok {
		t.Fatalf("parsed %T, want *sip.Request", msg)
	}
	return req
}

// register builds a REGISTER for sip:alice@example.com as a WebSocket UA
// sends it. extra holds further header lines; one starting "To:" replaces
// the default To.
func register(t testing.TB, callID string, cseq int, extra ...string) *sip.Request {
	t.Helper()
	lines := []string{
		"REGISTER sip:example.com SIP/2.0",
		"Via: SIP/2.0/WSS df7jal23ls0d.invalid;branch=z9hG4bK" + callID + strconv.Itoa(cseq),
		"Max-Forwards: 70",
		"From: <sip:alice@example.com>;tag=a73kszlfl",
		"Call-ID: " + callID,
		"CSeq: " + strconv.Itoa(cseq) + " REGISTER",
	}
	hasTo := false
	for _, l := range extra {
		hasTo = hasTo || strings.HasPrefix(l, "To:")
	}
	if !hasTo {
		lines = append(lines, "To: <sip:alice@example.com>")
	}
	lines = append(lines, extra...)
	return parseRequest(t, append(lines, "Content-Length: 0")...)
}

// headerValues returns the values of every header called name in msg.
func headerValues(msg sip.Message, name string) []string {
	var out []string
	for _, h := range msg.GetHeaders(name) {
		out = append(out, h.Value())
	}
	return out
}

// contactURIs returns the Contact URIs of bindings, in order.
func contactURIs(bindings []Binding) []string {
	var out []string
	for _, b := range bindings {
		out = append(out, b.Contact.String())
	}
	return out
}
