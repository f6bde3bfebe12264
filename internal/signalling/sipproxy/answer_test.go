package sipproxy_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/internal/signalling/sipmsg"
	"github.com/switchboard-gw/switchboard/internal/signalling/sipproxy"
)

// failStatus makes Media refuse the SDP of responses with status code.
func failStatus(code int) func(sipmsg.SDPMessage) error {
	return func(m sipmsg.SDPMessage) error {
		if m.Status == code {
			return sdpRefused{}
		}
		return nil
	}
}

// A 2xx whose SDP Media refuses never reaches the caller: the caller gets
// the refusal's status, the callee ACK and BYE, a retransmission of the
// 2xx another ACK and nothing else, and the call's media is released.
func TestAnswerRefused(t *testing.T) {
	run(t, sipproxy.Config{}, func(h *harness) {
		h.media.fail = failStatus(200)
		alice, bob := h.browser("alice"), h.phone("bob", "192.0.2.20:5060")
		bob.register(false)
		inv := alice.request(sip.INVITE, sbURI("bob"), sdp)
		alice.send(inv)
		fwd := bob.last(sip.INVITE)
		ok := bob.respond(fwd, 200, sdp)

		res := alice.final(sip.INVITE)
		if res.StatusCode != 488 || res.Reason != "Not Acceptable Here (no common codec)" {
			t.Errorf("alice got %d %q, want 488 Not Acceptable Here (no common codec)", res.StatusCode, res.Reason)
		}
		if got := alice.conn.codes(sip.INVITE); slices.Contains(got, 200) {
			t.Errorf("alice got %v, want no 200", got)
		}
		acks, byes := bob.conn.requests(sip.ACK), bob.conn.requests(sip.BYE)
		if len(acks) != 1 || len(byes) != 1 {
			t.Fatalf("bob got %d ACKs and %d BYEs, want 1 and 1", len(acks), len(byes))
		}
		ack, bye := acks[0], byes[0]
		if ack.CSeq().SeqNo != fwd.CSeq().SeqNo || tagOf(ack.To().Value()) != bob.tag() || ack.Recipient.String() != bob.contact.String() {
			t.Errorf("ACK: got CSeq %d, To %q, to %v; want CSeq %d, bob's tag, bob's Contact", ack.CSeq().SeqNo, ack.To().Value(), ack.Recipient.String(), fwd.CSeq().SeqNo)
		}
		if bye.CSeq().SeqNo <= fwd.CSeq().SeqNo || tagOf(bye.To().Value()) != bob.tag() || tagOf(bye.From().Value()) != tagOf(inv.From().Value()) {
			t.Errorf("BYE: got CSeq %d, From %q, To %q; want the dialog's", bye.CSeq().SeqNo, bye.From().Value(), bye.To().Value())
		}

		h.deliver(bob.conn, ok) // bob did not hear the ACK
		if got := len(bob.conn.requests(sip.ACK)); got != 2 {
			t.Errorf("after the 200 again, bob got %d ACKs, want 2", got)
		}
		if got := len(bob.conn.requests(sip.BYE)); got != 1 {
			t.Errorf("after the 200 again, bob got %d BYEs, want 1", got)
		}
		if got := alice.conn.codes(sip.INVITE); !slices.Equal(got, []int{488}) {
			t.Errorf("alice got %v, want [488]", got)
		}
		if got := len(h.media.rewrites()); got != 2 {
			t.Errorf("Rewrite calls: got %d, want 2 (the INVITE, the first 200)", got)
		}
		if got, want := h.media.ends(), []string{inv.CallID().Value() + ": call failed"}; !slices.Equal(got, want) {
			t.Errorf("media ended: got %v, want %v", got, want)
		}
	})
}

// A provisional response whose SDP Media refuses is relayed without it.
func TestProvisionalBodyDropped(t *testing.T) {
	run(t, sipproxy.Config{}, func(h *harness) {
		h.media.fail = failStatus(183)
		alice, bob := h.browser("alice"), h.phone("bob", "192.0.2.20:5060")
		bob.register(false)
		alice.send(alice.request(sip.INVITE, sbURI("bob"), sdp))
		bob.respond(bob.last(sip.INVITE), 183, sdp)
		rs := alice.conn.responses(sip.INVITE)
		last := rs[len(rs)-1]
		if last.StatusCode != 183 {
			t.Fatalf("alice got %d, want 183", last.StatusCode)
		}
		if len(last.Body()) != 0 || last.GetHeader("Content-Type") != nil {
			t.Errorf("alice's 183: got body %q, Content-Type %v; want neither", last.Body(), last.GetHeader("Content-Type"))
		}
		bob.respond(bob.last(sip.INVITE), 200, sdp)
		if got := alice.final(sip.INVITE); got.StatusCode != 200 || string(got.Body()) != string(rewritten([]byte(sdp))) {
			t.Errorf("alice's 200: got %d %q, want 200 with the rewritten body", got.StatusCode, got.Body())
		}
	})
}

// A forked call whose first 2xx is refused is answered by another branch.
func TestAnswerRefusedOtherBranchAnswers(t *testing.T) {
	run(t, sipproxy.Config{}, func(h *harness) {
		h.media.fail = func(m sipmsg.SDPMessage) error {
			if strings.Contains(string(m.Body), "10.0.0.9") {
				return sdpRefused{}
			}
			return nil
		}
		alice := h.browser("alice")
		desk, mobile := h.phone("bob", "192.0.2.20:5060"), h.phone("bob", "192.0.2.21:5060")
		desk.register(false)
		mobile.register(false)
		alice.send(alice.request(sip.INVITE, sbURI("bob"), sdp))
		desk.respond(desk.last(sip.INVITE), 200, strings.ReplaceAll(sdp, "192.0.2.20", "10.0.0.9"))
		if got := alice.conn.codes(sip.INVITE); len(got) != 0 {
			t.Fatalf("after the refused 200 alice got %v, want nothing yet", got)
		}
		mobile.respond(mobile.last(sip.INVITE), 200, sdp)
		if got := alice.conn.codes(sip.INVITE); !slices.Equal(got, []int{200}) {
			t.Errorf("alice got %v, want [200]", got)
		}
		if len(desk.conn.requests(sip.BYE)) != 1 || len(mobile.conn.requests(sip.BYE)) != 0 {
			t.Errorf("BYEs: desk %d, mobile %d; want 1 and 0", len(desk.conn.requests(sip.BYE)), len(mobile.conn.requests(sip.BYE)))
		}
	})
}

// A retransmitted 2xx is relayed with the body relayed the first time:
// Media, which would read it as a new offer, is not asked again.
func TestAnswerRetransmitted(t *testing.T) {
	run(t, sipproxy.Config{}, func(h *harness) {
		alice, bob := h.browser("alice"), h.phone("bob", "192.0.2.20:5060")
		bob.register(false)
		alice.send(alice.request(sip.INVITE, sbURI("bob"), sdp))
		ok := bob.respond(bob.last(sip.INVITE), 200, sdp)
		h.deliver(bob.conn, ok)
		rs := alice.conn.responses(sip.INVITE)
		var bodies []string
		for _, r := range rs {
			if r.StatusCode == 200 {
				bodies = append(bodies, string(r.Body()))
			}
		}
		want := string(rewritten([]byte(sdp)))
		if len(bodies) != 2 || bodies[0] != want || bodies[1] != want {
			t.Errorf("alice's 200s: got %q, want two with the rewritten body", bodies)
		}
		if got := len(h.media.rewrites()); got != 2 {
			t.Errorf("Rewrite calls: got %d, want 2 (the INVITE, the first 200)", got)
		}
	})
}

// An ACK whose SDP, the answer to a 2xx late offer, Media refuses reaches
// the callee without it, never with the caller's own SDP; the session
// cannot be set up, so both ends get BYE and the media is released.
func TestLateOfferAnswerRefused(t *testing.T) {
	run(t, sipproxy.Config{}, func(h *harness) {
		h.media.fail = func(m sipmsg.SDPMessage) error {
			if m.Method == sip.ACK {
				return sdpRefused{}
			}
			return nil
		}
		alice, bob := h.browser("alice"), h.phone("bob", "192.0.2.20:5060")
		bob.register(false)
		alice.send(alice.request(sip.INVITE, sbURI("bob"), "")) // a late offer: no SDP
		bob.respond(bob.last(sip.INVITE), 200, sdp)
		aliceSide := alice.uacDialog(alice.final(sip.INVITE))
		const browserSDP = "v=0\r\no=- 7 7 IN IP4 203.0.113.5\r\ns=browser\r\nc=IN IP4 203.0.113.5\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
		alice.send(aliceSide.request(sip.ACK, browserSDP))

		acks := bob.conn.requests(sip.ACK)
		if len(acks) != 1 {
			t.Fatalf("ACKs at bob: got %d, want 1", len(acks))
		}
		if body, ct := acks[0].Body(), acks[0].GetHeader("Content-Type"); len(body) != 0 || ct != nil {
			t.Errorf("bob's ACK: got body %q, Content-Type %v; want neither", body, ct)
		}
		for _, p := range []*peer{alice, bob} {
			if n := len(p.conn.requests(sip.BYE)); n != 1 {
				t.Errorf("BYEs at %s: got %d, want 1", p.user, n)
			}
		}
		if got := h.counter("switchboard_proxy_acks_sdp_refused_total"); got != 1 {
			t.Errorf("switchboard_proxy_acks_sdp_refused_total: got %v, want 1", got)
		}
		if got, want := h.media.ends(), []string{aliceSide.callID + ": SDP refused"}; !slices.Equal(got, want) {
			t.Errorf("media ended: got %v, want %v", got, want)
		}
	})
}
