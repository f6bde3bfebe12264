package e2e

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/internal/testkit/rtptest"
	"github.com/switchboard-gw/switchboard/internal/testkit/siptest"
)

// Tones: baresip plays phoneTone, the browser plays browserTone; each side
// must hear the other's.
const (
	phoneTone   = 1000
	browserTone = 440
)

// mediaSetup is a gateway with its media bridge, a baresip phone "bob"
// that answers by itself and plays phoneTone, and a WebRTC browser "alice".
func mediaSetup(t *testing.T) (*Gateway, *Baresip, *siptest.UA, *rtptest.Browser) {
	t.Helper()
	NeedBaresip(t)
	g := StartGateway(t, "registrar:\n  auth: false\n")
	tone := filepath.Join(t.TempDir(), "tone.wav")
	if err := rtptest.WriteToneWAV(tone, phoneTone, 15); err != nil {
		t.Fatal(err)
	}
	bob := StartBaresip(t, BaresipOptions{User: "bob", Registrar: g.UDP.String(), Tone: tone, AutoAnswer: true})
	ws, err := siptest.DialWS(testCtx(t), g.WSURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	alice := &siptest.UA{Transport: ws, User: "alice", Domain: g.Domain(), InstanceID: "<urn:uuid:00000000-0000-4000-8000-0000000a11ce>", RegID: 1}
	if res, err := alice.Register(testCtx(t), 300); err != nil || res.StatusCode != 200 {
		t.Fatalf("register: %v %v", res, err)
	}
	br, err := rtptest.NewBrowser()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { br.Close() })
	return g, bob, alice, br
}

// checkBothWays waits for each side to hear the other's tone.
func checkBothWays(t *testing.T, g *Gateway, bob *Baresip, br *rtptest.Browser) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := br.WaitConnected(ctx); err != nil {
		t.Fatalf("browser ⇄ switchboard ICE/DTLS: %v\n%s", err, tail(g.Log(), 20))
	}
	br.SendTone(browserTone)
	for br.ToneScore(phoneTone) < 0.8 {
		select {
		case <-ctx.Done():
			t.Fatalf("the browser never heard baresip's %d Hz: score %.3f", phoneTone, br.ToneScore(phoneTone))
		case <-time.After(50 * time.Millisecond):
		}
	}
	heard, err := waitAudio(bob, time.Second, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	// Skip the first half second: it holds the silence before the browser's
	// audio started.
	if len(heard) > 4000 {
		heard = heard[4000:]
	}
	if got := rtptest.DetectTonePCM(heard, browserTone); got < 0.5 {
		t.Errorf("baresip heard the browser's %d Hz with score %.3f, want ≥ 0.5", browserTone, got)
	}
}

func TestBrowserCallsBaresipWithAudio(t *testing.T) {
	g, bob, alice, br := mediaSetup(t)
	offer, err := br.Offer()
	if err != nil {
		t.Fatal(err)
	}
	d, err := alice.Invite(testCtx(t), uri("bob", g.Domain()), offer)
	if err != nil {
		t.Fatalf("INVITE browser → baresip: %v\n%s", err, bob.LogTail(20))
	}
	if err := br.SetAnswer(d.Response.Body()); err != nil {
		t.Fatalf("the browser refused switchboard's answer: %v\n%s", err, d.Response.Body())
	}
	checkBothWays(t, g, bob, br)
	if res, err := d.Bye(testCtx(t)); err != nil || res.StatusCode != 200 {
		t.Fatalf("BYE: %v %v", res, err)
	}
}

func TestBaresipCallsBrowserWithAudio(t *testing.T) {
	g, bob, alice, br := mediaSetup(t)
	answered := make(chan error, 1)
	go func() {
		in, err := alice.NextInvite(testCtx(t))
		if err == nil {
			var answer []byte
			if answer, err = br.Answer(in.Invite.Body()); err == nil {
				_, err = in.Answer(testCtx(t), answer)
			}
		}
		answered <- err
	}()
	if err := bob.Dial("sip:alice@" + g.Domain()); err != nil {
		t.Fatal(err)
	}
	if err := <-answered; err != nil {
		t.Fatalf("the browser answering baresip's call: %v\n%s", err, bob.LogTail(20))
	}
	checkBothWays(t, g, bob, br)
	if err := bob.Hangup(); err != nil {
		t.Fatal(err)
	}
}
