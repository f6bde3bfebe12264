package e2e

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/internal/testkit/rtptest"
)

// The browser's microphone plays browserToneHz; the far ends answer with
// farToneHz (switchboard's tone service and the baresip phone alike).
const (
	browserToneHz = 1000
	farToneHz     = 440
	// minBrowserScore is the least share of the received power, measured
	// in the page with WebAudio, that must lie at the expected tone.
	minBrowserScore = 0.5
	// maxOtherScore is the most power a tone that should not be there may
	// have: the page must hear the far end, not itself (or the echo, not
	// the tone service).
	maxOtherScore = 0.1
)

// openRegistrar is a gateway config with an open registrar and the media
// bridge on (StartGateway adds its listen addresses).
const openRegistrar = "registrar:\n  auth: false\n"

// TestSIPjsEcho: a SIP.js page in each browser registers with the real
// binary, calls the built-in echo user through the media bridge (ICE-lite,
// DTLS-SRTP), and hears its own 1000 Hz tone back, measured with WebAudio.
func TestSIPjsEcho(t *testing.T) { eachBrowser(t, testSIPjsEcho) }

func testSIPjsEcho(t *testing.T, kind browserKind) {
	NeedBrowser(t, kind)
	g := StartGateway(t, openRegistrar)
	page := StartBrowser(t, kind, g, "alice", browserToneHz)
	start := time.Now()
	page.MustEval(t, "harness.register()", 10*time.Second, nil)
	page.MustEval(t, "harness.call('echo')", 10*time.Second, nil)
	t.Logf("registered and answered in %v", time.Since(start))
	score, err := page.WaitTone(browserToneHz, minBrowserScore, 5*time.Second)
	if err != nil {
		t.Fatalf("the echo: %v", err)
	}
	t.Logf("echoed %d Hz: score %.3f, %v after dialling", browserToneHz, score, time.Since(start))
	if other := page.ToneScore(t, farToneHz); other > maxOtherScore {
		t.Errorf("%d Hz in the echo: score %.3f, want ≤ %.2f", farToneHz, other, maxOtherScore)
	}
	page.MustEval(t, "harness.hangup()", 5*time.Second, nil)
}

// TestSIPjsCallsBaresip: the page calls a plain SIP/RTP phone (baresip,
// PCMU) through the bridge; each hears the other's tone.
func TestSIPjsCallsBaresip(t *testing.T) { eachBrowser(t, testSIPjsCallsBaresip) }

func testSIPjsCallsBaresip(t *testing.T, kind browserKind) {
	NeedBrowser(t, kind)
	g := StartGateway(t, openRegistrar)
	bob := StartBaresip(t, BaresipOptions{User: "bob", Registrar: g.UDP.String(), Tone: farTone(t), AutoAnswer: true})
	page := StartBrowser(t, kind, g, "alice", browserToneHz)
	page.MustEval(t, "harness.register()", 10*time.Second, nil)
	page.MustEval(t, "harness.call('bob')", 10*time.Second, nil)
	checkTwoWayAudio(t, page, bob)
	page.MustEval(t, "harness.hangup()", 5*time.Second, nil)
	if _, err := bob.WaitClosed(5 * time.Second); err != nil {
		t.Errorf("bob: %v", err)
	}
}

// TestSIPjsAnswersBaresip: baresip calls the page, which answers; each
// hears the other's tone.
func TestSIPjsAnswersBaresip(t *testing.T) { eachBrowser(t, testSIPjsAnswersBaresip) }

func testSIPjsAnswersBaresip(t *testing.T, kind browserKind) {
	NeedBrowser(t, kind)
	g := StartGateway(t, openRegistrar)
	bob := StartBaresip(t, BaresipOptions{User: "bob", Registrar: g.UDP.String(), Tone: farTone(t)})
	page := StartBrowser(t, kind, g, "alice", browserToneHz)
	page.MustEval(t, "harness.register()", 10*time.Second, nil)
	if err := bob.Dial("sip:alice@" + g.Domain()); err != nil {
		t.Fatal(err)
	}
	page.MustEval(t, "harness.answer()", 15*time.Second, nil)
	if err := bob.WaitEstablished(5 * time.Second); err != nil {
		t.Fatalf("bob: %v", err)
	}
	checkTwoWayAudio(t, page, bob)
	if err := bob.Hangup(); err != nil {
		t.Fatal(err)
	}
}

// farTone writes the 440 Hz WAV baresip plays, longer than any call.
func farTone(t *testing.T) string {
	t.Helper()
	wav := filepath.Join(t.TempDir(), "bob-440.wav")
	if err := rtptest.WriteToneWAV(wav, farToneHz, 20); err != nil {
		t.Fatal(err)
	}
	return wav
}

// checkTwoWayAudio checks that the page hears bob's 440 Hz and that bob
// hears the page's 1000 Hz, over at least a second of the call.
func checkTwoWayAudio(t *testing.T, page *Browser, bob *Baresip) {
	t.Helper()
	score, err := page.WaitTone(farToneHz, minBrowserScore, 5*time.Second)
	if err != nil {
		t.Errorf("the page: %v", err)
	} else {
		t.Logf("the page hears %d Hz: score %.3f", farToneHz, score)
	}
	if own := page.ToneScore(t, browserToneHz); own > maxOtherScore {
		t.Errorf("the page hears its own %d Hz: score %.3f, want ≤ %.2f", browserToneHz, own, maxOtherScore)
	}
	bobHearsBrowser(t, bob)
}

// bobHearsBrowser checks that bob hears the browser's 1000 Hz over at least
// a second of the call.
func bobHearsBrowser(t *testing.T, bob *Baresip) {
	t.Helper()
	heard, err := waitAudio(bob, 2*time.Second, 5*time.Second)
	if err != nil {
		t.Fatalf("bob: %v", err)
	}
	// Skip the first half second: the browser's microphone and jitter
	// buffer start with silence.
	heard = heard[rtptest.SampleRate/2:]
	if got := rtptest.DetectTonePCM(heard, browserToneHz); got < minBrowserScore {
		t.Errorf("%d Hz in what bob heard: score %.3f, want ≥ %.2f", browserToneHz, got, minBrowserScore)
	} else {
		t.Logf("bob hears %d Hz: score %.3f", browserToneHz, got)
	}
}
