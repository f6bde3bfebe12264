package sipproxy_test

import (
	"errors"
	"reflect"
	"slices"
	"strconv"
	"testing"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/internal/signalling/sipmsg"
	"github.com/switchboard-gw/switchboard/internal/signalling/sipproxy"
)

// Every SDP body goes through Media on its way, with who sent it, which
// legs are WebSockets and whether it is sent within a dialog (the ACK, so
// that Media never refuses it as a new call), and what Media returns is
// what is forwarded: the INVITE's offer, the 200's answer, and the late
// offer's answer in an ACK.
func TestMediaRewrite(t *testing.T) {
	run(t, sipproxy.Config{}, func(h *harness) {
		alice, bob := h.browser("alice"), h.phone("bob", "192.0.2.20:5060")
		bob.register(false)
		aliceSide, bobSide := h.call(alice, bob, sbURI("bob"))
		alice.send(aliceSide.request(sip.ACK, sdp)) // a second ACK, as for a late offer
		bob.send(bobSide.request(sip.BYE, ""))

		callID := aliceSide.callID
		aliceTag, bobTag := tagOf(aliceSide.from), bob.tag()
		caller, callee := "alice@example.com", "bob@"+sbHost // From and To as user@host
		want := []sipmsg.SDPMessage{
			{CallID: callID, Method: sip.INVITE, Sender: aliceTag, FromWebRTC: true, From: caller, To: callee},
			{CallID: callID, Method: sip.INVITE, Status: 200, Sender: bobTag, ToWebRTC: true, From: caller, To: callee},
			{CallID: callID, Method: sip.ACK, InDialog: true, Sender: aliceTag, FromWebRTC: true, From: caller, To: callee},
		}
		got := h.media.rewrites()
		if len(got) != len(want) {
			t.Fatalf("Rewrite calls: got %d, want %d: %+v", len(got), len(want), got)
		}
		for i := range want {
			if string(got[i].Body) != sdp {
				t.Errorf("Rewrite %d body: got %q, want the body as sent", i, got[i].Body)
			}
			got[i].Body = nil
			if !reflect.DeepEqual(got[i], want[i]) {
				t.Errorf("Rewrite %d: got %+v, want %+v", i, got[i], want[i])
			}
		}
		for _, b := range [][]byte{bob.last(sip.INVITE).Body(), alice.final(sip.INVITE).Body(), bob.conn.requests(sip.ACK)[1].Body()} {
			if string(b) != string(rewritten([]byte(sdp))) {
				t.Errorf("forwarded body: got %q, want what Media returned", b)
			}
		}
		if got, want := h.media.ends(), []string{callID + ": bye"}; !slices.Equal(got, want) {
			t.Errorf("media ended: got %v, want %v", got, want)
		}
	})
}

func tagOf(header string) string {
	var from sip.FromHeader
	if _, err := sip.ParseAddressValue(header, &from.Address, &from.Params); err != nil {
		return ""
	}
	tag, _ := from.Params.Get("tag")
	return tag
}

// sdpRefused is an error of callmedia's kind, which knows its SIP status.
type sdpRefused struct{}

func (sdpRefused) Error() string            { return "refused" }
func (sdpRefused) SIPStatus() (int, string) { return 488, "Not Acceptable Here (no common codec)" }

// A body Media refuses is answered with the status its error carries, or
// 500; nothing is forwarded. A call that fails releases its media.
func TestMediaRefusal(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		code   int
		reason string
	}{
		{name: "status error", err: sdpRefused{}, code: 488, reason: "Not Acceptable Here (no common codec)"},
		{name: "plain error", err: errors.New("boom"), code: 500, reason: "Server Internal Error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run(t, sipproxy.Config{}, func(h *harness) {
				h.media.err = tt.err
				alice, bob := h.browser("alice"), h.phone("bob", "192.0.2.20:5060")
				bob.register(false)
				alice.send(alice.request(sip.INVITE, sbURI("bob"), sdp))
				res := alice.final(sip.INVITE)
				if res.StatusCode != tt.code || res.Reason != tt.reason {
					t.Errorf("got %d %q, want %d %q", res.StatusCode, res.Reason, tt.code, tt.reason)
				}
				if n := bob.conn.count(); n != 0 {
					t.Errorf("bob got %d messages, want none", n)
				}
			})
		})
	}
	t.Run("call fails", func(t *testing.T) {
		run(t, sipproxy.Config{}, func(h *harness) {
			alice, bob := h.browser("alice"), h.phone("bob", "192.0.2.20:5060")
			bob.register(false)
			inv := alice.request(sip.INVITE, sbURI("bob"), sdp)
			alice.send(inv)
			bob.respond(bob.last(sip.INVITE), 486, "")
			if got, want := h.media.ends(), []string{inv.CallID().Value() + ": call failed"}; !slices.Equal(got, want) {
				t.Errorf("media ended: got %v, want %v", got, want)
			}
		})
	})
}

// A call's media ends with its failure; a 401 or 407 is a challenge, whose
// retry with credentials is the call, so Media hears "challenged", not a
// failed call.
func TestMediaEndsWithFailure(t *testing.T) {
	for _, tt := range []struct {
		status int
		want   string
	}{
		{407, "challenged"},
		{401, "challenged"},
		{486, "call failed"},
		{503, "call failed"},
	} {
		t.Run(strconv.Itoa(tt.status), func(t *testing.T) {
			run(t, sipproxy.Config{}, func(h *harness) {
				alice, bob := h.browser("alice"), h.phone("bob", "192.0.2.20:5060")
				bob.register(false)
				inv := alice.request(sip.INVITE, sbURI("bob"), sdp)
				alice.send(inv)
				bob.respond(bob.last(sip.INVITE), tt.status, "")
				if got := alice.final(sip.INVITE).StatusCode; got != tt.status && !(tt.status == 503 && got == 500) {
					t.Errorf("alice got %d, want %d", got, tt.status)
				}
				want := []string{inv.CallID().Value() + ": " + tt.want}
				if got := h.media.ends(); !slices.Equal(got, want) {
					t.Errorf("media ended: got %v, want %v", got, want)
				}
			})
		})
	}
}
