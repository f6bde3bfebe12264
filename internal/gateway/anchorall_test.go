package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"

	"github.com/switchboard-gw/switchboard/internal/config"
	"github.com/switchboard-gw/switchboard/internal/media/callmedia"
	"github.com/switchboard-gw/switchboard/internal/testkit/leakcheck"
	"github.com/switchboard-gw/switchboard/internal/testkit/rtptest"
	"github.com/switchboard-gw/switchboard/internal/testkit/siptest"
)

func anchorAll(c *config.Config) { c.Media.AnchorAll = true }

// TestAnchorAllBrowserToBrowser: with media.anchor_all, a call between two
// browsers gets a bridge each, back to back; each browser runs ICE and
// DTLS-SRTP with switchboard, and each hears the other.
func TestAnchorAllBrowserToBrowser(t *testing.T) {
	leakcheck.Check(t)
	g := startGateway(t, anchorAll)
	alice, bob := browser(t, g, "alice"), browser(t, g, "bob")
	register(t, alice)
	register(t, bob)
	brA, brB := newBrowser(t), newBrowser(t)

	answered := make(chan error, 1)
	var bobsOffer []byte
	go func() {
		in, err := bob.NextInvite(ctx(t))
		if err == nil {
			bobsOffer = in.Invite.Body()
			var answer []byte
			if answer, err = brB.Answer(bobsOffer); err == nil {
				_, err = in.Answer(ctx(t), answer)
			}
		}
		answered <- err
	}()
	offer, err := brA.Offer()
	if err != nil {
		t.Fatal(err)
	}
	d, err := alice.Invite(ctx(t), userURI(g, "bob"), offer)
	if err != nil {
		t.Fatalf("INVITE: %v", err)
	}
	if err := <-answered; err != nil {
		t.Fatalf("bob's browser answering switchboard's offer: %v", err)
	}
	if err := brA.SetAnswer(d.Response.Body()); err != nil {
		t.Fatalf("alice's browser refused switchboard's answer: %v\n%s", err, d.Response.Body())
	}
	for _, sd := range [][]byte{bobsOffer, d.Response.Body()} {
		if !bytes.Contains(sd, []byte("a=ice-lite")) {
			t.Fatalf("a browser got an SDP that is not switchboard's (no ICE-lite):\n%s", sd)
		}
	}
	wait, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, br := range []*rtptest.Browser{brA, brB} {
		if err := br.WaitConnected(wait); err != nil {
			t.Fatalf("ICE/DTLS with switchboard: %v", err)
		}
		br.Send()
	}
	waitAudio(t, wait, g, func() bool {
		_, a := brA.Received()
		_, b := brB.Received()
		return a >= 10 && b >= 10
	})
	calls := getCalls(t, g)
	if len(calls) != 1 || calls[0].Anchor != "webrtc-webrtc" || len(calls[0].Media) != 2 ||
		calls[0].Verdict != "audio flowed both ways" {
		t.Errorf("/calls: got %+v, want one webrtc-webrtc call with two bridges, audio both ways", calls)
	}
	serving, stop := context.WithCancel(context.Background())
	defer stop()
	go func() { _ = bob.Serve(serving) }() // answers the BYE
	if res, err := d.Bye(ctx(t)); err != nil || res.StatusCode != 200 {
		t.Fatalf("bye: %v %v", res, err)
	}
	waitFor(t, func() bool { return len(g.calls.Snapshot()) == 0 })
	wantMetric(t, g, `switchboard_media_calls_ended_total{reason="bye",verdict="both_ways"} 1`)
}

// TestAnchorAllPhoneToPhone: with media.anchor_all, a call between two
// plain phones goes through a relay: phone A's RTP, sent where the 200's
// SDP says, reaches phone B's echo and comes back.
func TestAnchorAllPhoneToPhone(t *testing.T) {
	leakcheck.Check(t)
	g := startGateway(t, anchorAll)
	echo := newEcho(t)
	_, bob := phone(t, g, "bob", siptest.WithAutoAnswer(siptest.AudioSDP("127.0.0.1", int(echo.Addr().Port()))))
	register(t, bob)
	a, _ := phone(t, g, "alice")
	media, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer media.Close()
	mine := media.LocalAddr().(*net.UDPAddr).AddrPort()
	d, err := a.Call(ctx(t), g.Addrs().UDP, userURI(g, "bob"), siptest.AudioSDP("127.0.0.1", int(mine.Port())))
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	relay := audioAddr(t, d.Response.Body())
	if relay == echo.Addr() {
		t.Fatalf("the 200's SDP names the echo at %v: not relayed", relay)
	}
	received := make(chan int, 1)
	go func() { received <- readEchoes(media, 10) }()
	for seq := range uint16(20) {
		p, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: 160 * uint32(seq), SSRC: 0xA11CE},
			Payload: rtptest.Payload}).Marshal()
		if _, err := media.WriteToUDPAddrPort(p, relay); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if n := <-received; n < 10 {
		t.Fatalf("echoed through the relay: got %d packets, want 10; echo saw %d\n%+v", n, echo.Received(), g.calls.Snapshot())
	}
	calls := getCalls(t, g)
	if len(calls) != 1 || calls[0].Anchor != "plain-plain" || calls[0].Relay == nil ||
		calls[0].Verdict != "audio flowed both ways" {
		t.Errorf("/calls: got %+v, want one plain-plain call, audio both ways", calls)
	}
	if res, err := d.Bye(ctx(t)); err != nil || res.StatusCode != 200 {
		t.Fatalf("bye: %v %v", res, err)
	}
	waitFor(t, func() bool { return len(g.calls.Snapshot()) == 0 })
	wantMetric(t, g, `switchboard_media_rtp_packets_total{direction="in",leg="plain"}`)
	wantMetric(t, g, `switchboard_media_poller_packets_total{poller="0"}`)
}

// TestAnchorAllOffPassesThrough: without media.anchor_all, a call between
// two plain phones keeps its SDP.
func TestAnchorAllOffPassesThrough(t *testing.T) {
	g := startGateway(t, nil)
	answer := siptest.AudioSDP("127.0.0.1", 4000)
	_, bob := phone(t, g, "bob", siptest.WithAutoAnswer(answer))
	register(t, bob)
	a, _ := phone(t, g, "alice")
	d, err := a.Call(ctx(t), g.Addrs().UDP, userURI(g, "bob"), siptest.AudioSDP("127.0.0.1", 4002))
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	if !bytes.Equal(d.Response.Body(), answer) {
		t.Errorf("the 200's SDP: got\n%s\nwant it untouched:\n%s", d.Response.Body(), answer)
	}
	if n := len(g.calls.Snapshot()); n != 0 {
		t.Errorf("anchored calls: got %d, want 0", n)
	}
	_, _ = d.Bye(ctx(t))
}

// waitAudio polls done until wait ends.
func waitAudio(t *testing.T, wait context.Context, g *testGateway, done func() bool) {
	t.Helper()
	for !done() {
		select {
		case <-wait.Done():
			t.Fatalf("audio did not flow: %+v", g.calls.Snapshot())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// readEchoes reads RTP carrying rtptest.Payload until it has want packets
// or nothing came for a second, and returns how many it got.
func readEchoes(c *net.UDPConn, want int) int {
	buf := make([]byte, 1500)
	n := 0
	for n < want {
		c.SetReadDeadline(time.Now().Add(time.Second))
		size, err := c.Read(buf)
		if err != nil {
			return n
		}
		var p rtp.Packet
		if p.Unmarshal(buf[:size]) == nil && bytes.Equal(p.Payload, rtptest.Payload) {
			n++
		}
	}
	return n
}

// audioAddr reads the address of an SDP's first audio m-line.
func audioAddr(t *testing.T, body []byte) netip.AddrPort {
	t.Helper()
	var d sdp.SessionDescription
	if err := d.Unmarshal(body); err != nil || len(d.MediaDescriptions) == 0 || d.ConnectionInformation == nil {
		t.Fatalf("SDP %q: %v", body, err)
	}
	ip, err := netip.ParseAddr(d.ConnectionInformation.Address.Address)
	if err != nil {
		t.Fatal(err)
	}
	return netip.AddrPortFrom(ip, uint16(d.MediaDescriptions[0].MediaName.Port.Value))
}

// getCalls reads /calls on the admin listener.
func getCalls(t *testing.T, g *testGateway) []callmedia.CallState {
	t.Helper()
	res, err := http.Get("http://" + g.Addrs().Admin.String() + "/calls")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out struct{ Calls []callmedia.CallState }
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out.Calls
}

// wantMetric checks the admin listener's /metrics has a line that starts with line.
func wantMetric(t *testing.T, g *testGateway, line string) {
	t.Helper()
	// The counters are updated as the call's media ends, just after it
	// leaves /calls: poll.
	deadline := time.Now().Add(3 * time.Second)
	for {
		if hasMetric(t, g, line) {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("/metrics has no line %q", line)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func hasMetric(t *testing.T, g *testGateway, line string) bool {
	for _, l := range strings.Split(metricsText(t, g), "\n") {
		if strings.HasPrefix(l, line) {
			return true
		}
	}
	return false
}

// metricsText is the gateway's /metrics page.
func metricsText(t *testing.T, g *testGateway) string {
	t.Helper()
	res, err := http.Get("http://" + g.Addrs().Admin.String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}
