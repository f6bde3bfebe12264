package siptest

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/internal/signalling/sipmsg"
)

var bobAOR = sip.Uri{Scheme: "sip", User: "bob", Host: "127.0.0.1"}

func TestUDPPeerAutoAnswer(t *testing.T) {
	checkNoLeaks(t)
	pbx := newTestUDPPeer(t, WithAutoAnswer(nil))
	phone := newTestUDPPeer(t)
	ua := phone.UA("alice", pbx.Addr())
	ctx := testCtx(t)

	d, err := ua.Invite(ctx, bobAOR, AudioSDP("127.0.0.1", 5004))
	if err != nil {
		t.Fatal(err)
	}
	checkAutoAnswered(t, d)
	if res, err := d.Bye(ctx); err != nil || res.StatusCode != sip.StatusOK {
		t.Fatalf("Bye = %v, %v; want 200", res, err)
	}
	for _, method := range []sip.RequestMethod{sip.REGISTER, sip.OPTIONS} {
		if res, err := ua.Do(ctx, ua.NewRequest(method, bobAOR)); err != nil || res.StatusCode != sip.StatusOK {
			t.Fatalf("%s = %v, %v; want 200", method, res, err)
		}
	}
	want := UDPStats{Answered: 1, Ended: 1, Acks: 1, Other: 2}
	waitFor(t, func() bool { return pbx.Stats() == want }, "Stats() = %+v, want %+v", pbx.Stats, want)
}

func checkAutoAnswered(t *testing.T, d *Dialog) {
	t.Helper()
	if len(d.Provisional) != 1 || d.Provisional[0].StatusCode != sip.StatusRinging {
		t.Fatalf("provisional responses = %v, want one 180", d.Provisional)
	}
	if ringTag := sipmsg.ToTag(d.Provisional[0]); ringTag != d.RemoteTag || ringTag == "" {
		t.Errorf("180 To tag %q, 200 To tag %q; want the same", ringTag, d.RemoteTag)
	}
	if d.Response.ContentType() == nil || len(d.Response.Body()) == 0 || d.Response.Contact() == nil {
		t.Errorf("200 OK has no SDP or no Contact:\n%s", d.Response)
	}
}

// waitFor polls cond until it holds or a second passes.
func waitFor[T any](t *testing.T, cond func() bool, format string, got func() T, want T) {
	t.Helper()
	for deadline := time.Now().Add(time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf(format, got(), want)
		}
	}
}

func TestUDPPeerAutoAnswerCopiesRecordRoute(t *testing.T) {
	checkNoLeaks(t)
	pbx := newTestUDPPeer(t, WithAutoAnswer(nil))
	ua := newTestUDPPeer(t).UA("alice", pbx.Addr())
	invite := ua.NewRequest(sip.INVITE, bobAOR)
	rr := []string{"<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>"}
	for _, v := range rr {
		var u sip.Uri
		if err := sip.ParseUri(strings.Trim(v, "<>"), &u); err != nil {
			t.Fatal(err)
		}
		invite.AppendHeader(&sip.RecordRouteHeader{Address: u})
	}
	call, err := ua.SendInvite(invite)
	if err != nil {
		t.Fatal(err)
	}
	d, err := call.Wait(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	if got := headerValues(d.Response, "Record-Route"); !slices.Equal(got, rr) {
		t.Errorf("200 Record-Route = %v, want %v", got, rr)
	}
	if got := routeStrings(d.RouteSet); !slices.Equal(got, []string{"sip:p2.example.com;lr", "sip:p1.example.com;lr"}) {
		t.Errorf("route set = %v, want reversed Record-Route", got)
	}
}

func routeStrings(uris []sip.Uri) []string {
	var out []string
	for _, u := range uris {
		out = append(out, u.String())
	}
	return out
}

func TestUDPPeerRespondAndClose(t *testing.T) {
	checkNoLeaks(t)
	server, client := newTestUDPPeer(t), newTestUDPPeer(t)
	ua := client.UA("alice", server.Addr())
	ctx := testCtx(t)
	msg := ua.NewRequest(sip.MESSAGE, bobAOR)
	if err := client.SendRequest(msg, server.Addr()); err != nil {
		t.Fatal(err)
	}
	req, err := server.RecvRequest(ctx, sip.MESSAGE)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := server.Respond(req, sip.StatusAccepted, "", nil); err != nil {
		t.Fatal(err)
	}
	res, err := client.RecvResponse(ctx)
	if err != nil || res.StatusCode != sip.StatusAccepted || res.Reason != "Accepted" {
		t.Fatalf("RecvResponse = %v, %v; want 202 Accepted", res, err)
	}
	if err := server.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := server.Recv(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("Recv after Close = %v, want ErrClosed", err)
	}
}

func BenchmarkUDPPeerAutoAnswer(b *testing.B) {
	pbx, _ := NewUDPPeer(WithAutoAnswer(nil))
	defer pbx.Close()
	phone, _ := NewUDPPeer()
	defer phone.Close()
	ua := phone.UA("alice", pbx.Addr())
	sdp := AudioSDP("127.0.0.1", 5004)
	for b.Loop() {
		d, err := ua.Invite(b.Context(), bobAOR, sdp)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := d.Bye(b.Context()); err != nil {
			b.Fatal(err)
		}
	}
}
