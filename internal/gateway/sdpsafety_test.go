package gateway

import (
	"bytes"
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/internal/testkit/leakcheck"
	"github.com/switchboard-gw/switchboard/internal/testkit/siptest"
)

// A browser's offer that breaks a rule of WebRTC is answered 488 with the
// fault in the reason phrase, and the phone it calls never hears of it.
func TestBadBrowserOfferNeverReachesPhone(t *testing.T) {
	leakcheck.Check(t)
	g := startGateway(t, nil)
	_, bob := phone(t, g, "bob")
	register(t, bob)
	offer := siptest.WebRTCOffer("127.0.0.1", 4000)
	set := func(key, v string) []byte {
		return regexp.MustCompile(`(?m)^a=`+key+`:[^\r\n]*`).ReplaceAll(offer, []byte("a="+key+":"+v))
	}
	tests := []struct {
		name   string
		sdp    []byte
		reason string
	}{
		{"no fingerprint", regexp.MustCompile(`(?m)^a=fingerprint:[^\r\n]*\r\n`).ReplaceAll(offer, nil), "no DTLS fingerprint"},
		{"sha-1 fingerprint", set("fingerprint", "sha-1 "+strings.Repeat("AB:", 19)+"AB"), "unsupported fingerprint algorithm"},
		{"malformed fingerprint", set("fingerprint", "sha-256 AB:CD"), "malformed fingerprint"},
		{"short ufrag", set("ice-ufrag", "abc"), "ICE ufrag too short"},
		{"short password", set("ice-pwd", "short"), "ICE password too short"},
		{"holdconn", set("setup", "holdconn"), "invalid a=setup"},
		{"100 m-lines", append(bytes.Clone(offer), strings.Repeat("m=video 0 UDP/TLS/RTP/SAVPF 96\r\n", 100)...), "too many m-lines"},
		{"1,000 candidates", append(bytes.Clone(offer), strings.Repeat("a=candidate:1 1 udp 1 127.0.0.1 4000 typ host\r\n", 1000)...), "too many candidates"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			alice := browser(t, g, "alice")
			_, err := alice.Invite(ctx(t), userURI(g, "bob"), tt.sdp)
			var se *siptest.StatusError
			if !errors.As(err, &se) {
				t.Fatalf("got %v, want a final response", err)
			}
			want := "Not Acceptable Here (" + tt.reason + ")"
			if se.Response.StatusCode != 488 || se.Response.Reason != want {
				t.Errorf("got %d %q, want 488 %q", se.Response.StatusCode, se.Response.Reason, want)
			}
			wantNoInvite(t, bob)
		})
	}
	if n := len(g.calls.Snapshot()); n != 0 {
		t.Errorf("anchored calls: got %d, want none", n)
	}
}

// wantNoInvite fails if ua receives an INVITE within a short while.
func wantNoInvite(t *testing.T, ua *siptest.UA) {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if in, err := ua.NextInvite(c); err == nil {
		t.Errorf("the phone got an INVITE:\n%s", in.Invite)
	}
}

// A phone's answer that switchboard cannot translate for the browser never
// reaches it: the browser gets 488, the phone ACK and BYE.
func TestUntranslatableAnswerNeverReachesBrowser(t *testing.T) {
	leakcheck.Check(t)
	g := startGateway(t, nil)
	_, bob := phone(t, g, "bob")
	register(t, bob)
	alice := browser(t, g, "alice")
	// Only G.729, which the browser did not offer: no codec in common.
	answer := []byte("v=0\r\no=pbx 1 1 IN IP4 10.20.30.40\r\ns=-\r\nc=IN IP4 10.20.30.40\r\nt=0 0\r\n" +
		"m=audio 4000 RTP/AVP 18\r\na=rtpmap:18 G729/8000\r\n")
	bobDone := make(chan error, 1)
	go func() {
		in, err := bob.NextInvite(ctx(t))
		if err != nil {
			bobDone <- err
			return
		}
		d, err := in.Answer(ctx(t), answer) // returns on switchboard's ACK
		if err != nil {
			bobDone <- err
			return
		}
		_, err = d.Await(ctx(t), sip.BYE)
		bobDone <- err
	}()
	_, err := alice.Invite(ctx(t), userURI(g, "bob"), siptest.WebRTCOffer("127.0.0.1", 4000))
	var se *siptest.StatusError
	if !errors.As(err, &se) {
		t.Fatalf("got %v, want a final response", err)
	}
	if res := se.Response; res.StatusCode != 488 || res.Reason != "Not Acceptable Here (no codec in common)" || len(res.Body()) != 0 {
		t.Errorf("got %d %q with body %q, want 488 Not Acceptable Here (no codec in common), no body", res.StatusCode, res.Reason, res.Body())
	}
	if err := <-bobDone; err != nil {
		t.Errorf("the phone: %v (want switchboard's ACK, then its BYE)", err)
	}
	if n := len(g.calls.Snapshot()); n != 0 {
		t.Errorf("anchored calls: got %d, want none", n)
	}
}
