package media

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"testing"
	"time"

	"github.com/pion/dtls/v3"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/switchboard-gw/switchboard/internal/testkit/leakcheck"
)

const pbxSSRC = 0x11223344

func payload(prefix string) []byte {
	p := make([]byte, 160)
	for i := range p {
		p[i] = byte(i)
	}
	copy(p, prefix)
	return p
}

var (
	browserPayload = payload("from-browser")
	pbxPayload     = payload("from-pbx")
)

func TestWebRTCCall(t *testing.T) {
	cm80 := []dtls.SRTPProtectionProfile{dtls.SRTP_AES128_CM_HMAC_SHA1_80}
	tests := []struct {
		name          string
		browserOffers bool
		profiles      []dtls.SRTPProtectionProfile
		wantRole      string
		wantProfile   string
	}{
		{name: "browser offers", browserOffers: true, wantRole: "server", wantProfile: "SRTP_AEAD_AES_128_GCM"},
		{name: "browser offers AES128_CM_HMAC_SHA1_80 only", browserOffers: true, profiles: cm80, wantRole: "server", wantProfile: "SRTP_AES128_CM_HMAC_SHA1_80"},
		// pion as DTLS server picks its own first choice, as Chrome does.
		{name: "switchboard offers", wantRole: "client", wantProfile: "SRTP_AEAD_AES_256_GCM"},
		{name: "switchboard offers, AES128_CM_HMAC_SHA1_80 only", profiles: cm80, wantRole: "client", wantProfile: "SRTP_AES128_CM_HMAC_SHA1_80"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			leakcheck.Check(t)
			e := newTestEngine(t, 2, nil)
			c := startCall(t, e, tt.browserOffers, tt.profiles)
			c.exchange(t)

			// Counters move just after the packets leave: poll.
			var st Stats
			waitFor(t, "every counter to move", func() bool {
				st = c.b.Stats()
				return min(st.Browser.RTPIn.Packets, st.Browser.RTPOut.Packets,
					st.Browser.RTCPIn.Packets, st.Browser.RTCPOut.Packets,
					st.Plain.RTPIn.Packets, st.Plain.RTPOut.Packets,
					st.Plain.RTCPIn.Packets, st.Plain.RTCPOut.Packets) > 0
			})
			if _, err := json.Marshal(st); err != nil {
				t.Fatalf("json.Marshal(Stats): %v", err)
			}
			if st.ICE.State != "connected" || !st.ICE.Remote.IsValid() || st.ICE.Local.Port() != e.WebRTCAddr().Port() {
				t.Errorf("ICE stats: got %+v, want connected on %v", st.ICE, e.WebRTCAddr())
			}
			if st.DTLS.FirstRecord.IsZero() || st.DTLS.Connected.Before(st.DTLS.FirstRecord) {
				t.Errorf("DTLS stamps: first record %v, connected %v, want both, in that order", st.DTLS.FirstRecord, st.DTLS.Connected)
			}
			st.DTLS.FirstRecord, st.DTLS.Connected = time.Time{}, time.Time{}
			if want := (DTLSStats{State: "connected", Role: tt.wantRole, SRTPProfile: tt.wantProfile}); st.DTLS != want {
				t.Errorf("DTLS stats: got %+v, want %+v", st.DTLS, want)
			}
			if st.Browser.SRTPAuthFailures != 0 {
				t.Errorf("SRTP auth failures: got %d, want 0", st.Browser.SRTPAuthFailures)
			}
			c.b.Close()
			select {
			case r := <-c.ended:
				t.Errorf("onEnd(%q) after Close", r)
			default:
			}
		})
	}
}

// exchange checks RTP and RTCP both ways between the peer and the PBX.
func (c *call) exchange(t *testing.T) {
	t.Helper()
	local := c.b.Local()
	stopBrowser := every(func(i int) {
		c.peer.track.WriteRTP(&rtp.Packet{
			Header:  rtp.Header{Version: 2, SequenceNumber: uint16(i), Timestamp: uint32(160 * i)},
			Payload: browserPayload,
		})
	})
	defer stopBrowser()
	stopPBX := every(func(i int) { c.pbxSendRTP(t, i, local.RTP) })
	defer stopPBX()

	// Browser → PBX: decrypted, payload intact, from our RTP port.
	d := c.pbxRTP.next(t, "the browser's RTP at the PBX", func(d datagram) bool {
		var p rtp.Packet
		return p.Unmarshal(d.data) == nil && bytes.Equal(p.Payload, browserPayload)
	})
	if d.from != local.RTP {
		t.Errorf("browser RTP came from %v, want %v", d.from, local.RTP)
	}
	var fromBrowser rtp.Packet
	fromBrowser.Unmarshal(d.data)
	if fromBrowser.PayloadType != 0 {
		t.Errorf("browser RTP payload type: got %d, want 0", fromBrowser.PayloadType)
	}

	// PBX → browser: our SSRC, payload intact.
	select {
	case p := <-c.peer.got:
		if p.SSRC != local.SSRC || !bytes.Equal(p.Payload, pbxPayload) || p.PayloadType != 0 {
			t.Errorf("peer got SSRC %#x PT %d payload %q…, want SSRC %#x PT 0 payload %q…",
				p.SSRC, p.PayloadType, p.Payload[:8], local.SSRC, pbxPayload[:8])
		}
	case <-time.After(10 * time.Second):
		t.Fatal("timed out waiting for the PBX's RTP at the peer")
	}

	// Browser → PBX RTCP: the peer's receiver report names the PBX's SSRC.
	c.pbxRTCP.next(t, "the peer's report on the PBX's stream", func(d datagram) bool {
		return reportsOn(d.data, pbxSSRC)
	})

	// PBX → browser RTCP: sender rewritten to our SSRC.
	stopRR := every(func(int) {
		rr := rtcp.ReceiverReport{SSRC: pbxSSRC, Reports: []rtcp.ReceptionReport{{SSRC: fromBrowser.SSRC, LastSequenceNumber: 42}}}
		raw, _ := rr.Marshal()
		c.pbxRTCP.conn.WriteToUDPAddrPort(raw, local.RTCP)
	})
	defer stopRR()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case pkt := <-c.peer.rtcp:
			if rr, ok := pkt.(*rtcp.ReceiverReport); ok && len(rr.Reports) == 1 && rr.Reports[0].LastSequenceNumber == 42 {
				if rr.SSRC != local.SSRC {
					t.Errorf("peer got a report from SSRC %#x, want %#x", rr.SSRC, local.SSRC)
				}
				return
			}
		case <-timeout:
			t.Fatal("timed out waiting for the PBX's RTCP at the peer")
		}
	}
}

// pbxSendRTP sends the PBX's i-th RTP packet to dst from its RTP socket.
func (c *call) pbxSendRTP(t *testing.T, i int, dst netip.AddrPort) {
	raw, err := (&rtp.Packet{
		Header:  rtp.Header{Version: 2, SequenceNumber: uint16(1000 + i), Timestamp: uint32(160 * i), SSRC: pbxSSRC},
		Payload: pbxPayload,
	}).Marshal()
	if err != nil {
		t.Error(err)
		return
	}
	c.pbxRTP.conn.WriteToUDPAddrPort(raw, dst)
}

// reportsOn reports whether a compound RTCP packet carries a report block
// on ssrc.
func reportsOn(raw []byte, ssrc uint32) bool {
	pkts, err := rtcp.Unmarshal(raw)
	if err != nil {
		return false
	}
	for _, p := range pkts {
		var reports []rtcp.ReceptionReport
		switch p := p.(type) {
		case *rtcp.ReceiverReport:
			reports = p.Reports
		case *rtcp.SenderReport:
			reports = p.Reports
		}
		for _, r := range reports {
			if r.SSRC == ssrc {
				return true
			}
		}
	}
	return false
}

func TestBridgeEndsWhenBrowserCloses(t *testing.T) {
	leakcheck.Check(t)
	e := newTestEngine(t, 2, nil)
	c := startCall(t, e, true, nil)
	c.exchange(t)
	c.peer.close()
	select {
	case r := <-c.ended:
		if r != "dtls_closed" {
			t.Errorf("onEnd: got %q, want dtls_closed", r)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no onEnd after the peer closed")
	}
}

func TestWrongFingerprintFailsDTLS(t *testing.T) {
	leakcheck.Check(t)
	e := newTestEngine(t, 2, nil)
	p := newPeer(t, nil)
	ended := make(chan string, 1)
	b, err := e.NewBridge("wrong-fp", func(r string) { ended <- r })
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	o := parseSDP(t, p.offer(t))
	wrong := e.Fingerprint() // ours, not the peer's
	if err := b.StartWebRTC(WebRTCRemote{Ufrag: o.ufrag, Pwd: o.pwd, Fingerprint: wrong}); err != nil {
		t.Fatal(err)
	}
	answer := switchboardSDP(b.Local(), o.mid, "passive")
	if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-ended:
		if r != "dtls_failed" {
			t.Errorf("onEnd: got %q, want dtls_failed", r)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("no onEnd after a fingerprint mismatch")
	}
	if st := b.Stats().DTLS; st.State != "failed" || st.Failures != 1 {
		t.Errorf("DTLS stats: got %+v, want failed with 1 failure", st)
	}
}
