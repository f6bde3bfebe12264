package media

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/dtls/v3"
	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// peer is a pion/webrtc PeerConnection standing in for the browser: one
// PCMU track each way, BUNDLE, rtcp-mux, RTCP reports on.
type peer struct {
	pc     *webrtc.PeerConnection
	track  *webrtc.TrackLocalStaticRTP
	sender *webrtc.RTPSender
	got    chan *rtp.Packet // RTP received on the remote track
	rtcp   chan rtcp.Packet // RTCP received by the sender
	wg     sync.WaitGroup
}

// newPeer makes the peer; profiles restricts its SRTP profiles (nil: pion's
// defaults); as an answerer it is the DTLS server (a=setup:passive).
func newPeer(t *testing.T, profiles []dtls.SRTPProtectionProfile) *peer {
	t.Helper()
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	if err := se.SetAnsweringDTLSRole(webrtc.DTLSRoleServer); err != nil {
		t.Fatal(err)
	}
	if profiles != nil {
		se.SetSRTPProtectionProfiles(profiles...)
	}
	var me webrtc.MediaEngine
	if err := me.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000},
		PayloadType:        0,
	}, webrtc.RTPCodecTypeAudio); err != nil {
		t.Fatal(err)
	}
	var ir interceptor.Registry
	if err := webrtc.ConfigureRTCPReports(&ir); err != nil {
		t.Fatal(err)
	}
	api := webrtc.NewAPI(webrtc.WithSettingEngine(se), webrtc.WithMediaEngine(&me), webrtc.WithInterceptorRegistry(&ir))
	pc, err := api.NewPeerConnection(webrtc.Configuration{
		BundlePolicy:  webrtc.BundlePolicyMaxBundle,
		RTCPMuxPolicy: webrtc.RTCPMuxPolicyRequire,
	})
	if err != nil {
		t.Fatal(err)
	}
	p := &peer{pc: pc, got: make(chan *rtp.Packet, 256), rtcp: make(chan rtcp.Packet, 256)}
	t.Cleanup(p.close)
	p.track, err = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000}, "audio", "peer")
	if err != nil {
		t.Fatal(err)
	}
	if p.sender, err = pc.AddTrack(p.track); err != nil {
		t.Fatal(err)
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			pkts, _, err := p.sender.ReadRTCP()
			if err != nil {
				return
			}
			for _, pkt := range pkts {
				select {
				case p.rtcp <- pkt:
				default:
				}
			}
		}
	}()
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		for {
			pkt, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			select {
			case p.got <- pkt:
			default:
			}
		}
	})
	return p
}

func (p *peer) close() {
	p.pc.GracefulClose()
	p.wg.Wait()
}

// offer makes the peer's offer, gathers and returns its SDP.
func (p *peer) offer(t *testing.T) string {
	t.Helper()
	o, err := p.pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	return p.setLocal(t, o)
}

// answer answers offer, gathers and returns the answer's SDP.
func (p *peer) answer(t *testing.T, offer string) string {
	t.Helper()
	if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		t.Fatalf("SetRemoteDescription(offer): %v\n%s", err, offer)
	}
	a, err := p.pc.CreateAnswer(nil)
	if err != nil {
		t.Fatal(err)
	}
	return p.setLocal(t, a)
}

func (p *peer) setLocal(t *testing.T, d webrtc.SessionDescription) string {
	t.Helper()
	gathered := webrtc.GatheringCompletePromise(p.pc)
	if err := p.pc.SetLocalDescription(d); err != nil {
		t.Fatal(err)
	}
	<-gathered
	return p.pc.LocalDescription().SDP
}

// sdpParams is what the test reads from the peer's SDP, as the SDP
// translator would.
type sdpParams struct {
	ufrag, pwd, fingerprint, setup, mid string
}

func parseSDP(t *testing.T, raw string) sdpParams {
	t.Helper()
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(raw); err != nil {
		t.Fatal(err)
	}
	if len(sd.MediaDescriptions) != 1 {
		t.Fatalf("got %d m= sections, want 1", len(sd.MediaDescriptions))
	}
	md := sd.MediaDescriptions[0]
	get := func(key string) string {
		if v, ok := md.Attribute(key); ok {
			return v
		}
		v, _ := sd.Attribute(key)
		return v
	}
	return sdpParams{
		ufrag: get("ice-ufrag"), pwd: get("ice-pwd"), fingerprint: get("fingerprint"),
		setup: get("setup"), mid: get("mid"),
	}
}

// switchboardSDP writes the SDP the translator would for the browser leg:
// ICE-lite, one PCMU m= section in a BUNDLE group, rtcp-mux.
func switchboardSDP(l Local, mid, setup string) string {
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\r\n", args...) }
	c := l.Candidates[0]
	line("v=0")
	line("o=- 1 1 IN IP4 %s", c.Addr())
	line("s=-")
	line("t=0 0")
	line("a=group:BUNDLE %s", mid)
	line("a=ice-lite")
	line("a=msid-semantic: WMS switchboard")
	line("m=audio %d UDP/TLS/RTP/SAVPF 0", c.Port())
	line("c=IN IP4 %s", c.Addr())
	line("a=mid:%s", mid)
	line("a=ice-ufrag:%s", l.Ufrag)
	line("a=ice-pwd:%s", l.Pwd)
	line("a=fingerprint:%s", l.Fingerprint)
	line("a=setup:%s", setup)
	line("a=rtcp-mux")
	line("a=rtpmap:0 PCMU/8000")
	line("a=sendrecv")
	line("a=msid:switchboard audio")
	line("a=ssrc:%d cname:switchboard", l.SSRC)
	for i, c := range l.Candidates {
		line("a=candidate:%d 1 udp %d %s %d typ host", i+1, 2130706431-i, c.Addr(), c.Port())
	}
	line("a=end-of-candidates")
	return b.String()
}

// call is a bridge between a peer and a test socket playing the PBX.
type call struct {
	e       *Engine
	b       *Bridge
	peer    *peer
	pbxRTP  *pbxSocket
	pbxRTCP *pbxSocket
	ended   chan string
}

// startCall connects a peer to a new bridge, the peer offering or
// answering, and points the plain leg at two test sockets.
func startCall(t *testing.T, e *Engine, browserOffers bool, profiles []dtls.SRTPProtectionProfile) *call {
	t.Helper()
	c := &call{e: e, peer: newPeer(t, profiles), ended: make(chan string, 1)}
	b, err := e.NewBridge(t.Name(), func(reason string) { c.ended <- reason })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	c.b = b
	if browserOffers {
		o := parseSDP(t, c.peer.offer(t))
		if o.setup != "actpass" {
			t.Fatalf("peer offered a=setup:%s, want actpass", o.setup)
		}
		if err := b.StartWebRTC(WebRTCRemote{Ufrag: o.ufrag, Pwd: o.pwd, Fingerprint: o.fingerprint}); err != nil {
			t.Fatal(err)
		}
		answer := switchboardSDP(b.Local(), o.mid, "passive")
		if err := c.peer.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
			t.Fatalf("SetRemoteDescription(answer): %v\n%s", err, answer)
		}
	} else {
		a := parseSDP(t, c.peer.answer(t, switchboardSDP(b.Local(), "0", "actpass")))
		if a.setup != "passive" {
			t.Fatalf("peer answered a=setup:%s, want passive", a.setup)
		}
		if err := b.StartWebRTC(WebRTCRemote{Ufrag: a.ufrag, Pwd: a.pwd, Fingerprint: a.fingerprint, DTLSClient: true}); err != nil {
			t.Fatal(err)
		}
	}
	c.pbxRTP, c.pbxRTCP = newPBXSocket(t), newPBXSocket(t)
	b.SetPlainRemote(c.pbxRTP.addr(), c.pbxRTCP.addr())
	return c
}

// pbxSocket is a UDP socket whose packets a goroutine queues.
type pbxSocket struct {
	conn *net.UDPConn
	in   chan datagram
}

type datagram struct {
	from netip.AddrPort
	data []byte
}

func newPBXSocket(t *testing.T) *pbxSocket {
	s := &pbxSocket{conn: listenUDP(t), in: make(chan datagram, 1024)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 1500)
		for {
			n, from, err := s.conn.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			select {
			case s.in <- datagram{from, append([]byte(nil), buf[:n]...)}:
			default:
			}
		}
	}()
	t.Cleanup(func() { s.conn.Close(); <-done })
	return s
}

func (s *pbxSocket) addr() netip.AddrPort { return addrOf(s.conn) }

// next waits for a datagram accepted by match.
func (s *pbxSocket) next(t *testing.T, what string, match func(datagram) bool) datagram {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case d := <-s.in:
			if match(d) {
				return d
			}
		case <-timeout:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func (s *pbxSocket) drain() {
	for {
		select {
		case <-s.in:
		default:
			return
		}
	}
}

// every runs f every 20 ms (a G.711 packet time) until the returned stop
// is called; stop waits for it.
func every(f func(i int)) (stop func()) {
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			f(i)
			select {
			case <-quit:
				return
			case <-tick.C:
			}
		}
	}()
	var once sync.Once
	return func() { once.Do(func() { close(quit); <-done }) }
}
