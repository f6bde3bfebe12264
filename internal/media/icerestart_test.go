package media

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/switchboard-gw/switchboard/internal/testkit/leakcheck"
)

func TestRestartICEKeepsMedia(t *testing.T) {
	tests := []struct {
		name          string
		browserOffers bool   // who made the first offer
		setup         string // switchboard's a=setup in the restart answer: its DTLS role stays
		workers       int    // pollers: past one, the browser port is a group of sockets
	}{
		{name: "browser offered first", browserOffers: true, setup: "passive", workers: 1},
		{name: "switchboard offered first", setup: "active", workers: 1},
		{name: "browser offered first, two pollers", browserOffers: true, setup: "passive", workers: 2},
		{name: "switchboard offered first, two pollers", setup: "active", workers: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			leakcheck.Check(t)
			e := newTestEngine(t, 2, func(c *Config) { c.Workers = tt.workers })
			c := startCall(t, e, tt.browserOffers, nil)
			before := c.b.Local()
			stop := c.talk(t, before)
			defer stop()
			c.waitFlowing(t, "before the restart")

			o, err := c.peer.pc.CreateOffer(&webrtc.OfferOptions{ICERestart: true})
			if err != nil {
				t.Fatal(err)
			}
			p := parseSDP(t, c.peer.setLocal(t, o))
			l, err := c.b.RestartICE(WebRTCRemote{Ufrag: p.ufrag, Pwd: p.pwd, Fingerprint: p.fingerprint}, true)
			if err != nil {
				t.Fatalf("RestartICE: %v", err)
			}
			if l.Ufrag == before.Ufrag || l.Pwd == before.Pwd {
				t.Errorf("credentials after the restart: got %s/%s, want new ones (were %s/%s)", l.Ufrag, l.Pwd, before.Ufrag, before.Pwd)
			}
			e.admit.mu.RLock()
			admitNew, admitOld := e.admit.ufrags[l.Ufrag] == c.b, e.admit.ufrags[before.Ufrag] == c.b
			e.admit.mu.RUnlock()
			if !admitNew || !admitOld {
				t.Errorf("checks admitted after the restart: new ufrag %v, the one before %v; want both", admitNew, admitOld)
			}
			if got := c.b.Local(); got.Ufrag != l.Ufrag || got.Pwd != l.Pwd {
				t.Errorf("Local() after the restart: got %s/%s, want %s/%s", got.Ufrag, got.Pwd, l.Ufrag, l.Pwd)
			}
			if l.SSRC != before.SSRC || l.RTP != before.RTP || l.Fingerprint != before.Fingerprint {
				t.Errorf("Local() after the restart: got %+v, want only the ICE part changed from %+v", l, before)
			}
			answer := switchboardSDP(l, p.mid, tt.setup)
			if err := c.peer.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
				t.Fatalf("SetRemoteDescription(restart answer): %v\n%s", err, answer)
			}
			c.waitFlowing(t, "after the restart")

			if tt.workers > 1 {
				c.checkOwner(t)
			}
			// Media flows on the pair in use before the browser's check with
			// the new credentials nominates it again: ICE may still say
			// checking for a moment.
			st := c.b.Stats()
			for deadline := time.Now().Add(5 * time.Second); st.ICE.State != "connected" && time.Now().Before(deadline); {
				time.Sleep(10 * time.Millisecond)
				st = c.b.Stats()
			}
			if st.ICE.State != "connected" || st.DTLS.State != "connected" {
				t.Errorf("after the restart: ICE %s, DTLS %s, want both connected", st.ICE.State, st.DTLS.State)
			}
			if st.Browser.SRTPAuthFailures != 0 {
				t.Errorf("SRTP auth failures: got %d, want 0", st.Browser.SRTPAuthFailures)
			}
			select {
			case r := <-c.ended:
				t.Errorf("onEnd(%q) during the restart", r)
			default:
			}
		})
	}
}

func TestRestartICERefuses(t *testing.T) {
	e := newTestEngine(t, 3, nil)
	c := startCall(t, e, true, nil)
	fresh, err := e.NewBridge("fresh", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	closed, err := e.NewBridge("closed", nil)
	if err != nil {
		t.Fatal(err)
	}
	closed.Close()
	otherFP := "sha-256 " + hexColons(make([]byte, 32))
	tests := []struct {
		name string
		b    *Bridge
		r    WebRTCRemote
		want error
	}{
		{name: "not started", b: fresh, r: WebRTCRemote{Ufrag: "u", Pwd: "p"}, want: ErrNotStarted},
		{name: "closed", b: closed, r: WebRTCRemote{Ufrag: "u", Pwd: "p"}, want: ErrClosed},
		{name: "new fingerprint", b: c.b, r: WebRTCRemote{Ufrag: "u", Pwd: "p", Fingerprint: otherFP}, want: ErrFingerprint},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.b.RestartICE(tt.r, true); !errors.Is(err, tt.want) {
				t.Errorf("RestartICE: got %v, want %v", err, tt.want)
			}
		})
	}
}

// talk sends RTP both ways every 20 ms, sequence numbers running on across
// whatever happens to ICE, until the returned stop is called.
func (c *call) talk(t *testing.T, local Local) (stop func()) {
	stopBrowser := every(func(i int) {
		c.peer.track.WriteRTP(&rtp.Packet{
			Header:  rtp.Header{Version: 2, SequenceNumber: uint16(i), Timestamp: uint32(160 * i)},
			Payload: browserPayload,
		})
	})
	stopPBX := every(func(i int) { c.pbxSendRTP(t, i, local.RTP) })
	return func() { stopBrowser(); stopPBX() }
}

// waitFlowing forgets what was received so far and waits for new RTP at
// both ends.
func (c *call) waitFlowing(t *testing.T, when string) {
	t.Helper()
	c.pbxRTP.drain()
	for drained := false; !drained; {
		select {
		case <-c.peer.got:
		default:
			drained = true
		}
	}
	c.pbxRTP.next(t, "the browser's RTP at the PBX "+when, func(d datagram) bool {
		var p rtp.Packet
		return p.Unmarshal(d.data) == nil && bytes.Equal(p.Payload, browserPayload)
	})
	timeout := time.After(10 * time.Second)
	for {
		select {
		case p := <-c.peer.got:
			if bytes.Equal(p.Payload, pbxPayload) {
				return
			}
		case <-timeout:
			t.Fatalf("timed out waiting for the PBX's RTP at the peer %s", when)
		}
	}
}
