package gateway

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/internal/config"
	"github.com/switchboard-gw/switchboard/internal/testkit/leakcheck"
	"github.com/switchboard-gw/switchboard/internal/testkit/siptest"
)

// TestBrowserICERestartKeepsTheCall: mid-call the browser re-INVITEs with an
// ICE restart offer, as after a network change. switchboard answers with new
// ICE credentials (RFC 8839 §4.4.2.1) and the same DTLS fingerprint, keeps
// the DTLS-SRTP session, and the echoed audio keeps coming back; with two
// media workers too, where the browser port is a group of sockets.
func TestBrowserICERestartKeepsTheCall(t *testing.T) {
	for _, workers := range []int{1, 2} {
		t.Run(fmt.Sprintf("workers=%d", workers), func(t *testing.T) { testBrowserICERestart(t, workers) })
	}
}

func testBrowserICERestart(t *testing.T, workers int) {
	leakcheck.Check(t)
	g := startGateway(t, func(c *config.Config) { c.Media.Workers = workers })
	c := startMediaCall(t, g)
	c.connectAndTalk(t, g)
	firstAnswer := c.browserSide.Response.Body()

	offer, err := c.br.RestartOffer()
	if err != nil {
		t.Fatal(err)
	}
	if got, was := sdpAttr(offer, "ice-ufrag"), sdpAttr(c.browserSide.Invite.Body(), "ice-ufrag"); got == was {
		t.Fatalf("the browser's restart offer kept ice-ufrag %q", got)
	}
	phone := c.phoneAnswersReinvite(t, "sendrecv", 2)
	res, err := c.browserSide.Request(ctx(t), sip.INVITE, offer)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("re-INVITE restarting ICE: got %v %v, want 200", res, err)
	}
	if r := <-phone; r.err != nil {
		t.Fatalf("phone: %v", r.err)
	}
	answer := res.Body()
	for _, a := range []string{"ice-ufrag", "ice-pwd"} {
		if got, was := sdpAttr(answer, a), sdpAttr(firstAnswer, a); got == "" || got == was {
			t.Errorf("%s in the answer to the restart: got %q, want a new one (was %q)", a, got, was)
		}
	}
	if got, want := sdpAttr(answer, "fingerprint"), sdpAttr(firstAnswer, "fingerprint"); got != want {
		t.Errorf("fingerprint in the answer to the restart: got %q, want %q", got, want)
	}
	if err := c.br.SetAnswer(answer); err != nil {
		t.Fatalf("browser refused the restart answer: %v\n%s", err, answer)
	}
	// Everything counted from here crossed the new ICE session: switchboard
	// forgot the old one before it sent the 200.
	c.waitEchoed(t, g, "after the ICE restart", 25)
	st := g.calls.Snapshot()
	if len(st) != 1 || len(st[0].Media) != 1 || st[0].Media[0].ICE.State != "connected" ||
		st[0].Media[0].DTLS.State != "connected" || st[0].Media[0].Browser.SRTPAuthFailures != 0 {
		t.Errorf("call state after the restart: got %+v, want one call, ICE and DTLS connected, no SRTP auth failures", st)
	} else if ice := st[0].Media[0].ICE; ice.RemoteType != "host" {
		// The restart's offer listed the browser's candidates afresh.
		t.Errorf("remote candidate %v after the restart: got type %q, want host", ice.Remote, ice.RemoteType)
	}
	c.hangUp(t, g)
}

// TestHoldAndResumeKeepTheCall: the browser puts the call on hold with a
// re-INVITE saying a=sendonly (RFC 3264 §8.4), the phone answers recvonly,
// then the browser resumes with a=sendrecv. Neither restarts ICE, and the
// audio flows again after the resume.
func TestHoldAndResumeKeepTheCall(t *testing.T) {
	leakcheck.Check(t)
	g := startGateway(t, nil)
	c := startMediaCall(t, g)
	c.connectAndTalk(t, g)
	firstAnswer := c.browserSide.Response.Body()
	resume := c.br.LocalDescription()
	hold := bytes.ReplaceAll(resume, []byte("a=sendrecv"), []byte("a=sendonly"))
	if bytes.Equal(hold, resume) {
		t.Fatalf("no a=sendrecv in the browser's SDP:\n%s", resume)
	}

	tests := []struct {
		name       string
		offer      []byte
		phone      string // what the phone answers
		wantOffer  string // the direction the phone is offered
		wantAnswer string // the direction the browser is answered
	}{
		{name: "hold", offer: hold, phone: "recvonly", wantOffer: "sendonly", wantAnswer: "recvonly"},
		{name: "resume", offer: resume, phone: "sendrecv", wantOffer: "sendrecv", wantAnswer: "sendrecv"},
	}
	for i, tt := range tests {
		phone := c.phoneAnswersReinvite(t, tt.phone, 2+i)
		res, err := c.browserSide.Request(ctx(t), sip.INVITE, tt.offer)
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("%s re-INVITE: got %v %v, want 200", tt.name, res, err)
		}
		r := <-phone
		if r.err != nil {
			t.Fatalf("phone, %s: %v", tt.name, r.err)
		}
		if got := direction(r.offer); got != tt.wantOffer {
			t.Errorf("%s: phone offered a=%s, want a=%s", tt.name, got, tt.wantOffer)
		}
		if got := direction(res.Body()); got != tt.wantAnswer {
			t.Errorf("%s: browser answered a=%s, want a=%s\n%s", tt.name, got, tt.wantAnswer, res.Body())
		}
		if got, want := sdpAttr(res.Body(), "ice-ufrag"), sdpAttr(firstAnswer, "ice-ufrag"); got != want {
			t.Errorf("%s: answer's ice-ufrag: got %q, want %q (no ICE restart)", tt.name, got, want)
		}
	}
	c.waitEchoed(t, g, "after the resume", 10)
	c.hangUp(t, g)
}

// connectAndTalk waits for ICE and DTLS, starts the browser's audio and
// waits for its echo.
func (c *mediaCall) connectAndTalk(t *testing.T, g *testGateway) {
	t.Helper()
	wait, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.br.WaitConnected(wait); err != nil {
		t.Fatalf("ICE/DTLS with switchboard: %v", err)
	}
	c.br.Send()
	c.waitEchoed(t, g, "before the re-INVITE", 10)
}

// waitEchoed waits for n more echoed packets carrying the browser's payload.
func (c *mediaCall) waitEchoed(t *testing.T, g *testGateway, when string, n int64) {
	t.Helper()
	_, before := c.br.Received()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, matching := c.br.Received()
		if matching >= before+n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("echoed audio %s: got %d packets, want %d; echo saw %d\n%+v",
				when, matching-before, n, c.echo.Received(), g.calls.Snapshot())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (c *mediaCall) hangUp(t *testing.T, g *testGateway) {
	t.Helper()
	go func() { _, _ = c.phoneSide.Await(ctx(t), sip.BYE) }()
	if res, err := c.browserSide.Bye(ctx(t)); err != nil || res.StatusCode != 200 {
		t.Fatalf("bye: %v %v", res, err)
	}
	waitFor(t, func() bool { return len(g.calls.Snapshot()) == 0 })
}

// reinvite is what the phone saw of a re-INVITE.
type reinvite struct {
	offer []byte
	err   error
}

// phoneAnswersReinvite answers the phone's next re-INVITE in the call 200 OK
// with its own SDP, version version, saying a=dir, and waits for the ACK.
func (c *mediaCall) phoneAnswersReinvite(t *testing.T, dir string, version int) <-chan reinvite {
	done := make(chan reinvite, 1)
	callID := c.phoneSide.CallID
	go func() {
		m, err := c.bob.Transport.Next(ctx(t), func(m sip.Message) bool {
			req, ok := m.(*sip.Request)
			return ok && req.Method == sip.INVITE && req.CallID().Value() == callID
		})
		if err != nil {
			done <- reinvite{err: err}
			return
		}
		req := m.(*sip.Request)
		body := siptest.AudioSDP("127.0.0.1", int(c.echo.Addr().Port()))
		body = bytes.Replace(body, []byte("o=siptest 1 1 "), fmt.Appendf(nil, "o=siptest 1 %d ", version), 1)
		body = bytes.Replace(body, []byte("a=sendrecv"), []byte("a="+dir), 1)
		if _, err := c.phone.Respond(req, 200, "OK", body); err != nil {
			done <- reinvite{err: err}
			return
		}
		seq := req.CSeq().SeqNo
		_, err = c.bob.Transport.Next(ctx(t), func(m sip.Message) bool {
			ack, ok := m.(*sip.Request)
			return ok && ack.Method == sip.ACK && ack.CallID().Value() == callID && ack.CSeq().SeqNo == seq
		})
		done <- reinvite{offer: req.Body(), err: err}
	}()
	return done
}

// sdpAttr returns the value of the first a=name line of an SDP.
func sdpAttr(sdp []byte, name string) string {
	for _, line := range strings.Split(string(sdp), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "a="+name+":"); ok {
			return v
		}
	}
	return ""
}

// direction returns the SDP's direction attribute, sendrecv when none is
// given (RFC 3264 §5.1).
func direction(sdp []byte) string {
	for _, line := range strings.Split(string(sdp), "\n") {
		switch d := strings.TrimPrefix(strings.TrimSpace(line), "a="); d {
		case "sendrecv", "sendonly", "recvonly", "inactive":
			return d
		}
	}
	return "sendrecv"
}
