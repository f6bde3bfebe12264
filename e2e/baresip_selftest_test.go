package e2e

import (
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/internal/testkit/rtptest"
)

// TestBaresipSelf proves the Baresip helper: bob, playing a 1000 Hz tone,
// calls alice, who answers automatically, through the gateway with its
// media bridge off (the SDP passes through and RTP flows phone to phone),
// and alice hears the tone.
func TestBaresipSelf(t *testing.T) {
	NeedBaresip(t)
	g := StartGateway(t, "registrar:\n  auth: false\nmedia:\n  webrtc_listen: \"\"\n")
	tone := filepath.Join(t.TempDir(), "tone-1000.wav")
	if err := rtptest.WriteToneWAV(tone, 1000, 10); err != nil { // longer than the call
		t.Fatal(err)
	}
	alice := StartBaresip(t, BaresipOptions{User: "alice", Registrar: g.UDP.String(), AutoAnswer: true})
	bob := StartBaresip(t, BaresipOptions{User: "bob", Registrar: g.UDP.String(), Tone: tone})

	if err := bob.Dial(alice.URI()); err != nil {
		t.Fatal(err)
	}
	for name, p := range map[string]*Baresip{"bob": bob, "alice": alice} {
		if err := p.WaitEstablished(5 * time.Second); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	if err := alice.WaitRTP(2 * time.Second); err != nil {
		t.Fatalf("alice: %v", err)
	}
	heard, err := waitAudio(alice, time.Second, 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := bob.Hangup(); err != nil {
		t.Fatal(err)
	}
	if reason, err := alice.WaitClosed(5 * time.Second); err != nil {
		t.Errorf("alice: %v", err)
	} else {
		t.Logf("alice's call closed: %s", reason)
	}

	if got := rtptest.DetectTonePCM(heard, 1000); got < 0.8 {
		t.Errorf("1000 Hz in what alice heard: score %.3f, want ≥ 0.8", got)
	}
	if got := rtptest.DetectTonePCM(heard, 1500); got > 0.05 {
		t.Errorf("1500 Hz in what alice heard: score %.3f, want ≤ 0.05", got)
	}
	if back, err := bob.ReceivedAudio(); err != nil || len(back) == 0 {
		t.Errorf("bob heard %d samples (%v), want alice's silence", len(back), err)
	}
	// The phones' only route is the gateway (their outbound proxy); check
	// that it did see the call.
	const invites = `switchboard_proxy_requests_total{method="INVITE"} 1`
	if m := gatewayMetrics(t, g); !strings.Contains(m, invites) {
		t.Errorf("gateway metrics lack %s:\n%s", invites, m)
	}
}

// gatewayMetrics returns the /metrics page of the gateway's admin listener.
func gatewayMetrics(t *testing.T, g *Gateway) string {
	t.Helper()
	resp, err := http.Get("http://" + g.Admin.String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(body)
}

// waitAudio polls p's received-audio dump until it holds at least d of
// audio, and returns it.
func waitAudio(p *Baresip, d, timeout time.Duration) ([]int16, error) {
	want := int(d.Seconds() * rtptest.SampleRate)
	deadline := time.Now().Add(timeout)
	for {
		samples, err := p.ReceivedAudio()
		if err == nil && len(samples) >= want {
			return samples, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("received %d samples within %v, want %d (%v)", len(samples), timeout, want, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
