package rtptest

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
)

// Payload is what Browser sends in every packet: 160 bytes, one 20 ms
// G.711 frame, recognisable when it comes back.
var Payload = bytes.Repeat([]byte("switchboard-rtp!"), 10)

// Browser is a WebRTC endpoint as Chrome would be: one PCMU audio track,
// BUNDLE, rtcp-mux, DTLS-SRTP, ICE over loopback.
type Browser struct {
	pc    *webrtc.PeerConnection
	track *webrtc.TrackLocalStaticSample

	received atomic.Int64
	matching atomic.Int64
	events   atomic.Int64
	ssrc     atomic.Uint32

	// connectedAt and firstRTPAt are unix ns of the peer connection's first
	// "connected" (ICE and DTLS done) and of the first RTP received.
	connectedAt atomic.Int64
	firstRTPAt  atomic.Int64

	// onPayload, when set, sees the payload of every audio packet received.
	onPayload atomic.Pointer[func([]byte)]

	// mu guards heard: the payloads of the last packets received.
	mu    sync.Mutex
	heard [][]byte

	stop chan struct{}
	wg   sync.WaitGroup
}

// NewBrowser returns a peer connection with an audio track.
func NewBrowser() (*Browser, error) {
	return newBrowser(webrtc.Configuration{BundlePolicy: webrtc.BundlePolicyMaxBundle}, webrtc.NetworkTypeUDP4)
}

// NewRelayBrowser returns a browser that gathers and uses only relay
// candidates from servers (iceTransportPolicy "relay"), as a browser behind
// a firewall that lets out nothing but TURN.
func NewRelayBrowser(servers []webrtc.ICEServer) (*Browser, error) {
	return newBrowser(webrtc.Configuration{
		BundlePolicy: webrtc.BundlePolicyMaxBundle, ICEServers: servers,
		ICETransportPolicy: webrtc.ICETransportPolicyRelay,
	}, webrtc.NetworkTypeUDP4, webrtc.NetworkTypeTCP4) // TCP4: TURN over TCP and TLS
}

func newBrowser(conf webrtc.Configuration, networks ...webrtc.NetworkType) (*Browser, error) {
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes(networks)
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	var me webrtc.MediaEngine
	if err := me.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000, Channels: 1},
		PayloadType:        0,
	}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, err
	}
	if err := me.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: "audio/telephone-event", ClockRate: 8000, SDPFmtpLine: "0-16"},
		PayloadType:        TelephoneEvent,
	}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, err
	}
	api := webrtc.NewAPI(webrtc.WithSettingEngine(se), webrtc.WithMediaEngine(&me))
	pc, err := api.NewPeerConnection(conf)
	if err != nil {
		return nil, err
	}
	track, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000}, "audio", "switchboard-test")
	if err != nil {
		pc.Close()
		return nil, err
	}
	if _, err := pc.AddTrack(track); err != nil {
		pc.Close()
		return nil, err
	}
	b := &Browser{pc: pc, track: track, stop: make(chan struct{})}
	pc.OnTrack(b.onTrack)
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateConnected {
			b.connectedAt.CompareAndSwap(0, time.Now().UnixNano())
		}
	})
	return b, nil
}

func (b *Browser) onTrack(t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
	b.ssrc.Store(uint32(t.SSRC()))
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		for {
			pkt, _, err := t.ReadRTP()
			if err != nil {
				return
			}
			if b.received.Add(1) == 1 {
				b.firstRTPAt.CompareAndSwap(0, time.Now().UnixNano())
			}
			if pkt.PayloadType == TelephoneEvent {
				b.events.Add(1)
				continue
			}
			if f := b.onPayload.Load(); f != nil {
				(*f)(pkt.Payload)
			}
			if bytes.Equal(pkt.Payload, Payload) {
				b.matching.Add(1)
			}
			b.keep(pkt.Payload)
		}
	}()
}

// Offer creates the local offer, waits for ICE gathering and returns it.
func (b *Browser) Offer() ([]byte, error) {
	offer, err := b.pc.CreateOffer(nil)
	if err != nil {
		return nil, err
	}
	return b.setLocal(offer)
}

// RestartOffer creates an offer that restarts ICE (new ufrag and pwd, RFC
// 8839 §4.4.1.1.1), as a browser does after a network change, waits for ICE
// gathering and returns it; the DTLS association is kept. Apply the answer
// with SetAnswer.
func (b *Browser) RestartOffer() ([]byte, error) {
	offer, err := b.pc.CreateOffer(&webrtc.OfferOptions{ICERestart: true})
	if err != nil {
		return nil, err
	}
	return b.setLocal(offer)
}

// LocalDescription returns the SDP last set as the local description, nil
// before Offer or Answer.
func (b *Browser) LocalDescription() []byte {
	if d := b.pc.LocalDescription(); d != nil {
		return []byte(d.SDP)
	}
	return nil
}

// Answer applies a remote offer and returns the local answer.
func (b *Browser) Answer(offer []byte) ([]byte, error) {
	if err := b.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: string(offer)}); err != nil {
		return nil, err
	}
	answer, err := b.pc.CreateAnswer(nil)
	if err != nil {
		return nil, err
	}
	return b.setLocal(answer)
}

func (b *Browser) setLocal(sd webrtc.SessionDescription) ([]byte, error) {
	gathered := webrtc.GatheringCompletePromise(b.pc)
	if err := b.pc.SetLocalDescription(sd); err != nil {
		return nil, err
	}
	<-gathered
	return []byte(b.pc.LocalDescription().SDP), nil
}

// SetAnswer applies the remote answer to Offer.
func (b *Browser) SetAnswer(answer []byte) error {
	return b.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(answer)})
}

// heardFrames bounds the received payloads kept for ToneScore: 4 s.
const heardFrames = 200

func (b *Browser) keep(payload []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.heard) == heardFrames {
		b.heard = b.heard[1:]
	}
	b.heard = append(b.heard, bytes.Clone(payload))
}

// ToneScore is how much of what arrived lately is a tone at freqHz, from
// 0 to 1 (see DetectTone); it reads the payloads as PCMU.
func (b *Browser) ToneScore(freqHz float64) float64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	d := NewToneDetector(freqHz)
	for _, p := range b.heard {
		d.Add(p)
	}
	return d.Score()
}

// Send sends Payload every 20 ms until Close.
func (b *Browser) Send() { b.sendFrames([][]byte{Payload}) }

// SendTone sends a continuous sine at freqHz as PCMU every 20 ms until Close.
func (b *Browser) SendTone(freqHz float64) { b.sendFrames(ToneFrames(freqHz, 50)) }

// sendFrames sends the frames in a loop, one every 20 ms.
func (b *Browser) sendFrames(frames [][]byte) {
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for i := 0; ; i++ {
			select {
			case <-b.stop:
				return
			case <-t.C:
				_ = b.track.WriteSample(media.Sample{Data: frames[i%len(frames)], Duration: 20 * time.Millisecond})
			}
		}
	}()
}

// SendPayload sends one packet of 20 ms carrying p now, beside Send's.
func (b *Browser) SendPayload(p []byte) error {
	return b.track.WriteSample(media.Sample{Data: p, Duration: 20 * time.Millisecond})
}

// OnPayload has f called, on the goroutine that reads the track, with the
// payload of every audio packet that arrives from now on; f must not keep
// it.
func (b *Browser) OnPayload(f func(payload []byte)) { b.onPayload.Store(&f) }

// WaitConnected waits for ICE and DTLS to complete.
func (b *Browser) WaitConnected(ctx context.Context) error {
	for b.pc.ConnectionState() != webrtc.PeerConnectionStateConnected {
		if b.pc.ConnectionState() == webrtc.PeerConnectionStateFailed {
			return errors.New("rtptest: peer connection failed")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil
}

// ConnectedAt is when ICE and DTLS first completed, zero before.
func (b *Browser) ConnectedAt() time.Time { return unixNano(b.connectedAt.Load()) }

// FirstRTPAt is when the first RTP packet arrived, zero before.
func (b *Browser) FirstRTPAt() time.Time { return unixNano(b.firstRTPAt.Load()) }

func unixNano(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns)
}

// Received counts the RTP packets that arrived, and those carrying Payload.
func (b *Browser) Received() (all, matching int64) { return b.received.Load(), b.matching.Load() }

// TelephoneEvent is the payload type the tests use for RFC 4733 events.
const TelephoneEvent = 101

// Events counts the RFC 4733 telephone-event packets that arrived.
func (b *Browser) Events() int64 { return b.events.Load() }

// SelectedPair returns the ICE candidate pair media flows on, nil before
// ICE has selected one.
func (b *Browser) SelectedPair() *webrtc.ICECandidatePair {
	for _, s := range b.pc.GetSenders() {
		if tr := s.Transport(); tr != nil {
			if p, err := tr.ICETransport().GetSelectedCandidatePair(); err == nil && p != nil {
				return p
			}
		}
	}
	return nil
}

// RemoteSSRC is the SSRC of the stream that arrived.
func (b *Browser) RemoteSSRC() uint32 { return b.ssrc.Load() }

// Close ends the peer connection and waits for its goroutines.
func (b *Browser) Close() error {
	close(b.stop)
	err := b.pc.Close()
	b.wg.Wait()
	return err
}
