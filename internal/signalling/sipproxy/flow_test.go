package sipproxy_test

import (
	"fmt"
	"net/netip"
	"slices"
	"testing"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/internal/signalling/sipproxy"
	"github.com/switchboard-gw/switchboard/internal/signalling/siptransport"
)

// A request for a browser whose WebSocket is gone fails at once: 430 Flow
// Failed when it registered with outbound (RFC 5626 §5.3), 480 otherwise.
func TestDeadWebSocketFlow(t *testing.T) {
	tests := []struct {
		outbound bool
		code     int
		reason   string
	}{
		{outbound: true, code: 430, reason: "Flow Failed"},
		{outbound: false, code: 480, reason: "Temporarily Unavailable (connection closed)"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("outbound %v", tt.outbound), func(t *testing.T) {
			run(t, sipproxy.Config{}, func(h *harness) {
				alice, bob := h.browser("alice"), h.phone("bob", "192.0.2.20:5060")
				alice.register(tt.outbound)
				bobSide, _ := h.call(bob, alice, sbURI("alice"))
				h.close(alice.conn)

				bob.send(bobSide.request(sip.INFO, ""))
				res := bob.final(sip.INFO)
				if res.StatusCode != tt.code || res.Reason != tt.reason {
					t.Errorf("in-dialog: got %d %q, want %d %q", res.StatusCode, res.Reason, tt.code, tt.reason)
				}
				bob.send(bob.request(sip.INVITE, sbURI("alice"), ""))
				if res := bob.final(sip.INVITE); res.StatusCode != 480 {
					t.Errorf("new call: got %d %q, want 480 (the binding went with the flow)", res.StatusCode, res.Reason)
				}
			})
		})
	}
}

// When a connection closes, its bindings go; when it is a WebSocket, the
// calls on it are ended too: a BYE to the other end and their media
// released.
func TestConnClosed(t *testing.T) {
	tests := []struct {
		transport string
		bye       bool
	}{
		{transport: siptransport.WS, bye: true},
		{transport: siptransport.TCP, bye: false},
	}
	for _, tt := range tests {
		t.Run(tt.transport, func(t *testing.T) {
			run(t, sipproxy.Config{}, func(h *harness) {
				alice := &peer{h: h, user: "alice", host: "203.0.113.5:40000",
					conn: h.net.conn(tt.transport, "flow-alice", netip.MustParseAddrPort("203.0.113.5:40000"))}
				alice.contact = mustURI(h, "sip:alice@203.0.113.5:40000;transport="+tt.transport)
				bob := h.phone("bob", "192.0.2.20:5060")
				alice.register(true)
				bobSide, aliceSide := h.call(bob, alice, sbURI("alice"))
				h.close(alice.conn)

				if got := h.reg.droppedFlows(); !slices.Equal(got, []string{"flow-alice"}) {
					t.Errorf("flows dropped: got %v, want [flow-alice]", got)
				}
				byes := bob.conn.requests(sip.BYE)
				if !tt.bye {
					if len(byes) != 0 || len(h.media.ends()) != 0 {
						t.Errorf("got %d BYEs and media ends %v, want none", len(byes), h.media.ends())
					}
					return
				}
				if len(byes) != 1 {
					t.Fatalf("BYEs at bob: got %d, want 1", len(byes))
				}
				bye := byes[0]
				if got, want := bye.Recipient.String(), bob.contact.String(); got != want {
					t.Errorf("BYE Request-URI: got %s, want %s", got, want)
				}
				if got, want := bye.From().Value(), aliceSide.from; got != want {
					t.Errorf("BYE From: got %s, want alice's side %s", got, want)
				}
				if got, want := bye.To().Value(), bobSide.from; got != want {
					t.Errorf("BYE To: got %s, want bob's side %s", got, want)
				}
				if r := bye.GetHeader("Reason"); r == nil || r.Value() != `SIP;cause=200;text="WebSocket lost"` {
					t.Errorf("Reason: got %v, want WebSocket lost", r)
				}
				callID := bobSide.callID
				if got, want := h.media.ends(), []string{callID + ": WebSocket lost"}; !slices.Equal(got, want) {
					t.Errorf("media ended: got %v, want %v", got, want)
				}
				if h.proxy.Hangup(callID, "again") {
					t.Error("Hangup after the call ended: got true, want false (no such call)")
				}
			})
		})
	}
}
