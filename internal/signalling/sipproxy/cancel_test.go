package sipproxy_test

import (
	"slices"
	"testing"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/internal/signalling/sipproxy"
	"github.com/switchboard-gw/switchboard/internal/signalling/siptx"
)

// A CANCEL is answered 200 at once and matched to its INVITE (RFC 3261
// §16.10); the branch gets a CANCEL once it has sent a provisional
// response (§9.1), and its 487 reaches the caller.
func TestCancel(t *testing.T) {
	tests := []struct {
		name       string
		ringsFirst bool // the callee sends 180 before the CANCEL
	}{
		{name: "after a provisional", ringsFirst: true},
		{name: "before any provisional", ringsFirst: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run(t, sipproxy.Config{}, func(h *harness) {
				alice, bob := h.browser("alice"), h.phone("bob", "192.0.2.20:5060")
				bob.register(false)
				inv := alice.request(sip.INVITE, sbURI("bob"), "")
				alice.send(inv)
				fwd := bob.last(sip.INVITE)
				if tt.ringsFirst {
					bob.respond(fwd, 180, "")
				}
				alice.send(siptx.CancelFor(inv))
				if got := alice.conn.codes(sip.CANCEL); !slices.Equal(got, []int{200}) {
					t.Errorf("responses to the CANCEL: got %v, want [200]", got)
				}
				if got, want := h.media.ends(), []string{inv.CallID().Value() + ": cancelled"}; !slices.Equal(got, want) {
					t.Errorf("media ended: got %v, want %v", got, want)
				}
				wantCancels := 0
				if tt.ringsFirst {
					wantCancels = 1
				}
				if n := len(bob.conn.requests(sip.CANCEL)); n != wantCancels {
					t.Fatalf("CANCELs at bob before a provisional: got %d, want %d", n, wantCancels)
				}
				if !tt.ringsFirst {
					bob.respond(fwd, 180, "")
				}
				cancel := bob.last(sip.CANCEL)
				if got, want := branchOf(cancel), branchOf(fwd); got != want {
					t.Errorf("CANCEL branch: got %s, want the INVITE's %s", got, want)
				}
				bob.respond(cancel, 200, "")
				bob.respond(fwd, 487, "")
				if got := alice.conn.codes(sip.INVITE); !slices.Equal(got, []int{180, 487}) {
					t.Errorf("alice got %v, want [180 487]", got)
				}
			})
		})
	}
}

// A CANCEL that matches no INVITE is answered 481, RFC 3261 §9.2.
func TestCancelWithoutTransaction(t *testing.T) {
	run(t, sipproxy.Config{}, func(h *harness) {
		alice := h.browser("alice")
		alice.send(siptx.CancelFor(alice.request(sip.INVITE, sbURI("bob"), "")))
		if got := alice.conn.codes(sip.CANCEL); !slices.Equal(got, []int{481}) {
			t.Errorf("got %v, want [481]", got)
		}
	})
}
