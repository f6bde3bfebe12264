package media

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/dtls/v3"
	"github.com/pion/ice/v4"
	"github.com/pion/transport/v4/packetio"

	"github.com/switchboard-gw/switchboard/internal/media/sock"
)

// gatherTimeout bounds the host-candidate gathering NewBridge waits for; with
// a UDPMux it takes microseconds.
const gatherTimeout = 5 * time.Second

// dtlsQueueBytes bounds DTLS records queued between the browser reader and
// the DTLS handshake; beyond it records are dropped, as on a congested link.
const dtlsQueueBytes = 64 << 10

// Local is what the SDP for the browser and plain legs needs from a Bridge.
type Local struct {
	Ufrag, Pwd  string           // ICE credentials (RFC 8839 §5.4)
	Candidates  []netip.AddrPort // host candidates, UDP, component 1
	Fingerprint string           // "sha-256 AB:CD:..."
	SSRC        uint32           // the SSRC switchboard sends towards the browser
	RTP, RTCP   netip.AddrPort   // the plain leg's sockets
}

// WebRTCRemote is the browser's side of the browser leg, from its SDP.
type WebRTCRemote struct {
	Ufrag, Pwd  string
	Fingerprint string // "sha-256 AB:CD:..." (RFC 8122 §5)
	// DTLSClient is true when switchboard is the DTLS client: the browser's
	// SDP says a=setup:passive (RFC 5763 §5).
	DTLSClient bool
}

// Bridge is one call's media: a browser leg and a plain RTP leg.
type Bridge struct {
	id       string
	e        *Engine
	local    Local // the ICE part aside, set by NewBridge and read-only after
	agent    *ice.Agent
	rtpConn  *sock.UDP
	rtcpConn *sock.UDP
	dtlsIn   *packetio.Buffer // DTLS records from the browser reader to the DTLS conn

	rtpLatch, rtcpLatch latch

	// held is the phone's RTP that came before the keys (hold.go); only
	// the goroutine reading the plain RTP socket touches it.
	held []heldPacket

	// sess holds the SRTP contexts; nil until the DTLS handshake is done.
	sess atomic.Pointer[session]

	browser, plain   legCounters
	srtpAuthFailures atomic.Uint64
	lastRTP          atomic.Int64 // unix ns of the last RTP from either leg
	startedAt        atomic.Int64 // unix ns of StartWebRTC
	iceState         atomic.Int32 // ice.ConnectionState
	dtlsState        atomic.Int32
	dtlsFailures     atomic.Uint64
	dtlsFirst        stamp // the browser's first DTLS record
	dtlsDone         stamp // SRTP keyed

	// directUpdMu orders updateDirect calls; directAddr and directOff are
	// guarded by the engine's directMu. directTo is directAddr for the
	// relay towards the browser, nil when there is none.
	directUpdMu sync.Mutex
	directAddr  netip.AddrPort
	directOff   bool
	directTo    atomic.Pointer[netip.AddrPort]

	// owner is the index of the poller that reads the plain sockets, or
	// will once the hand-off a claim asked for is done; claimedAt is the
	// unix ns of the last claim, made under claimMu (direct.go).
	owner     atomic.Int32
	claimMu   sync.Mutex
	claimedAt atomic.Int64

	// checkedAddrs are the browser addresses that passed an ICE check,
	// newest last, at most maxChecked; guarded by the engine's directMu.
	// checked is closed at the first check. lastChecked is the newest of
	// them and dtlsFrom the one the browser's latest DTLS record came
	// from: until ICE selects a pair, DTLS and media go there (early.go).
	checkedAddrs []netip.AddrPort
	// ufrags are the local ICE ufrags the engine admits checks for, at most
	// keptUfrags, and admitOff is set once it admits none (admit.go); both
	// guarded by the engine's admission.mu.
	ufrags   []string
	admitOff bool

	checked     chan struct{}
	checkedOnce sync.Once
	lastChecked atomic.Pointer[netip.AddrPort]
	dtlsFrom    atomic.Pointer[netip.AddrPort]
	restarted   atomic.Bool // ICE restarted: no early address any more

	// restartMu orders ICE restarts; taken before mu.
	restartMu sync.Mutex

	mu       sync.Mutex
	ice      iceLocal           // current ICE credentials and candidates; guarded by mu
	remoteFP remoteFingerprint  // the browser's, from StartWebRTC; guarded by mu
	started  bool               // guarded by mu
	cancel   context.CancelFunc // stops the DTLS session; guarded by mu
	dtlsConn *dtls.Conn         // guarded by mu
	role     string             // "client" or "server"; guarded by mu
	profile  string             // negotiated SRTP profile; guarded by mu

	lifecycle
	wg        sync.WaitGroup // the browser reader and the DTLS session
	closeOnce sync.Once
}

// NewBridge allocates a plain port pair and an ICE agent for one call. onEnd
// (may be nil) is called at most once, from a goroutine of the bridge, when
// the media ends by itself: "ice_failed", "dtls_failed", "dtls_closed" or
// "media_timeout". It may call Close. It is never called once Close began.
func (e *Engine) NewBridge(id string, onEnd func(reason string)) (*Bridge, error) {
	e.mu.Lock()
	closed := e.closed
	e.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	rtpConn, rtcpConn, err := e.ports.bind()
	if err != nil {
		return nil, err
	}
	b := &Bridge{
		id: id, e: e,
		rtpConn:  rtpConn,
		rtcpConn: rtcpConn,
		dtlsIn:   packetio.NewBuffer(),
		checked:  make(chan struct{}),
	}
	b.lifecycle.init(e.log.With("call_id", id), onEnd)
	b.dtlsIn.SetLimitSize(dtlsQueueBytes)
	b.iceState.Store(int32(ice.ConnectionStateNew))
	b.local = Local{
		Fingerprint: e.fingerprint,
		SSRC:        randomSSRC(),
		RTP:         rtpConn.LocalAddr(),
		RTCP:        rtcpConn.LocalAddr(),
	}
	if err := b.newAgent(); err != nil {
		b.closeSockets()
		return nil, err
	}
	if !e.track(b) {
		b.agent.GracefulClose()
		b.closeSockets()
		return nil, ErrClosed
	}
	owner := e.nextPollerIndex()
	b.owner.Store(int32(owner))
	if err := e.pollSockets(owner, rtpConn, rtcpConn,
		func(p []byte, src netip.AddrPort, sc *scratch) { b.fromPlain(p, src, false, sc) },
		func(p []byte, src netip.AddrPort, sc *scratch) { b.fromPlain(p, src, true, sc) },
	); err != nil {
		e.untrack(b)
		b.agent.GracefulClose()
		b.closeSockets()
		return nil, err
	}
	// From here on, checks naming the ufrag may wait for pion's mux; the
	// browser learns it only from what NewBridge returns.
	e.admit.addUfrag(b, b.ice.ufrag)
	e.monitors.Add(1)
	go b.monitor()
	return b, nil
}

func randomSSRC() uint32 {
	var b [4]byte
	for {
		rand.Read(b[:])
		if v := binary.BigEndian.Uint32(b[:]); v != 0 {
			return v
		}
	}
}

// iceLocal is the part of Local an ICE restart changes.
type iceLocal struct {
	ufrag, pwd string
	candidates []netip.AddrPort
}

// newAgent makes the bridge's ICE agent: lite, hence controlled (RFC 8445
// §6.1.1), host candidates only, on the engine's UDPMux.
//
// Consent freshness (RFC 7675) with a lite pion agent: the agent sends no
// checks and no keepalives of its own (liteSelector.PingCandidate is a no-op);
// it answers the browser's binding requests, which browsers keep sending
// every few seconds as consent checks, and it counts any packet received on
// the selected pair as liveness. After 10 s without one (pion's lite
// DisconnectedTimeout, RFC 7675's consent expiry) the agent goes
// disconnected, after 25 s more failed, and the bridge ends "ice_failed".
func (b *Bridge) newAgent() error {
	opts := []ice.AgentOption{
		ice.WithICELite(true),
		ice.WithCandidateTypes([]ice.CandidateType{ice.CandidateTypeHost}),
		ice.WithNetworkTypes([]ice.NetworkType{ice.NetworkTypeUDP4, ice.NetworkTypeUDP6}),
		ice.WithUDPMux(b.e.mux),
		ice.WithNet(b.e.net),
		ice.WithIncludeLoopback(),
		ice.WithMulticastDNSMode(ice.MulticastDNSModeDisabled),
		ice.WithLoggerFactory(b.e.pion),
		ice.WithBindingRequestHandler(b.onCheck),
	}
	if rule, ok := b.e.rewriteRule(); ok {
		opts = append(opts, ice.WithAddressRewriteRules(rule))
	}
	agent, err := ice.NewAgentWithOptions(opts...)
	if err != nil {
		return fmt.Errorf("media: ICE agent: %w", err)
	}
	b.agent = agent
	if err = agent.OnConnectionStateChange(b.onICEState); err == nil {
		err = agent.OnSelectedCandidatePairChange(func(ice.Candidate, ice.Candidate) { b.updateDirect() })
	}
	if err != nil {
		err = fmt.Errorf("media: ICE agent: %w", err)
	} else {
		b.ice, err = b.gather()
	}
	if err != nil {
		agent.GracefulClose()
		return err
	}
	return nil
}

// gather gathers the agent's host candidates and returns them with the
// agent's credentials; NewBridge and RestartICE call it on a fresh agent.
func (b *Bridge) gather() (iceLocal, error) {
	done := make(chan struct{})
	var once sync.Once
	err := b.agent.OnCandidate(func(c ice.Candidate) {
		if c == nil {
			once.Do(func() { close(done) })
		}
	})
	if err == nil {
		err = b.agent.GatherCandidates()
	}
	if err != nil {
		return iceLocal{}, fmt.Errorf("media: ICE gathering: %w", err)
	}
	select {
	case <-done:
	case <-time.After(gatherTimeout):
		return iceLocal{}, fmt.Errorf("media: ICE gathering did not finish in %v", gatherTimeout)
	}
	var l iceLocal
	l.ufrag, l.pwd, err = b.agent.GetLocalUserCredentials()
	if err != nil {
		return iceLocal{}, fmt.Errorf("media: ICE credentials: %w", err)
	}
	cands, err := b.agent.GetLocalCandidates()
	if err != nil {
		return iceLocal{}, fmt.Errorf("media: ICE candidates: %w", err)
	}
	for _, c := range cands {
		ip, err := netip.ParseAddr(c.Address())
		if err != nil {
			continue
		}
		l.candidates = append(l.candidates, netip.AddrPortFrom(ip.Unmap(), uint16(c.Port())))
	}
	if len(l.candidates) == 0 {
		return iceLocal{}, fmt.Errorf("media: no ICE host candidate on %v", b.e.addr)
	}
	return l, nil
}

// rewriteRule makes host candidates carry PublicAddrs instead of the bound
// IP (1:1 NAT), when they differ.
func (e *Engine) rewriteRule() (ice.AddressRewriteRule, bool) {
	bound := e.addr.Addr()
	if len(e.cfg.PublicAddrs) == 1 && e.cfg.PublicAddrs[0] == bound {
		return ice.AddressRewriteRule{}, false
	}
	ext := make([]string, len(e.cfg.PublicAddrs))
	for i, a := range e.cfg.PublicAddrs {
		ext[i] = a.String()
	}
	rule := ice.AddressRewriteRule{
		External:        ext,
		AsCandidateType: ice.CandidateTypeHost,
		Mode:            ice.AddressRewriteReplace,
	}
	if !bound.IsUnspecified() {
		rule.Local = bound.String()
	}
	return rule, true
}

func (b *Bridge) onICEState(s ice.ConnectionState) {
	b.iceState.Store(int32(s))
	if s == ice.ConnectionStateFailed {
		b.end("ice_failed")
	}
}

// Local is what the SDP needs to describe this bridge's two legs; its ICE
// credentials are the current ones, new after RestartICE.
func (b *Bridge) Local() Local {
	b.mu.Lock()
	defer b.mu.Unlock()
	l := b.local
	l.Ufrag, l.Pwd = b.ice.ufrag, b.ice.pwd
	l.Candidates = append([]netip.AddrPort(nil), b.ice.candidates...)
	return l
}

// SetPlainRemote sets where the plain leg sends, from the plain side's SDP;
// an invalid rtcp means rtp's port + 1 (RFC 3550 §11), rtcp equal to rtp
// means RTCP multiplexed on the RTP port (RFC 5761). The latch may move
// either address later, see latch.
func (b *Bridge) SetPlainRemote(rtp, rtcp netip.AddrPort) {
	rtp = netip.AddrPortFrom(rtp.Addr().Unmap(), rtp.Port())
	rtcp = netip.AddrPortFrom(rtcp.Addr().Unmap(), rtcp.Port())
	if !rtcp.IsValid() && rtp.IsValid() {
		rtcp = netip.AddrPortFrom(rtp.Addr(), rtp.Port()+1)
	}
	b.rtpLatch.set(rtp)
	b.rtcpLatch.set(rtcp)
}

// monitor watches for the media timeout and calls onEnd. Engine.monitors
// counts it.
func (b *Bridge) monitor() {
	defer b.e.monitors.Done()
	b.lifecycle.monitor(b.e.cfg.MediaTimeout, b.mediaTimedOut)
}

// mediaTimedOut reports whether neither leg sent RTP for MediaTimeout since
// StartWebRTC.
func (b *Bridge) mediaTimedOut(now time.Time) bool {
	since := max(b.startedAt.Load(), b.lastRTP.Load())
	return since != 0 && now.UnixNano()-since > int64(b.e.cfg.MediaTimeout)
}

// Close ends the call's media: it closes the DTLS session (sending
// close_notify), the ICE agent and the plain sockets, frees the ports and
// returns once the bridge's goroutines are gone (except a running onEnd,
// which Engine.Close waits for). Close is idempotent.
func (b *Bridge) Close() error {
	b.closeOnce.Do(b.close)
	return nil
}

func (b *Bridge) close() {
	b.beginClose()
	b.mu.Lock()
	cancel, dc := b.cancel, b.dtlsConn
	b.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	if dc != nil {
		dc.Close()
	}
	b.dtlsIn.Close()
	b.e.clearDirect(b)
	b.e.admit.removeBridge(b)
	b.agent.GracefulClose()
	b.closeSockets()
	b.wg.Wait()
	b.waitMonitor()
	if b.dtlsState.Load() == dtlsConnected {
		b.dtlsState.Store(dtlsClosed)
	}
	b.e.untrack(b)
}

// closeSockets closes the plain sockets and returns their ports to the pool.
func (b *Bridge) closeSockets() {
	b.rtpConn.Close()
	b.rtcpConn.Close()
	b.e.ports.release(int(b.local.RTP.Port()))
}

// Stats is a snapshot of the bridge's state and counters.
func (b *Bridge) Stats() Stats {
	b.mu.Lock()
	role, profile := b.role, b.profile
	b.mu.Unlock()
	s := Stats{
		ID: b.id,
		ICE: ICEStats{
			State: strings.ToLower(ice.ConnectionState(b.iceState.Load()).String()),
		},
		DTLS: DTLSStats{
			State:       dtlsStateNames[b.dtlsState.Load()],
			Role:        role,
			SRTPProfile: profile,
			Failures:    b.dtlsFailures.Load(),
			FirstRecord: b.dtlsFirst.time(),
			Connected:   b.dtlsDone.time(),
		},
		Browser: BrowserStats{
			LegStats:         b.browser.snapshot(),
			SRTPAuthFailures: b.srtpAuthFailures.Load(),
			Dropped:          b.browser.dropped.Load(),
		},
		Plain: PlainStats{
			LegStats:   b.plain.snapshot(),
			Local:      b.local.RTP,
			RemoteRTP:  b.rtpLatch.destination(),
			RemoteRTCP: b.rtcpLatch.destination(),
			Latches:    b.rtpLatch.switches.Load() + b.rtcpLatch.switches.Load(),
			Stray:      b.rtpLatch.stray.Load() + b.rtcpLatch.stray.Load(),
			Dropped:    b.plain.dropped.Load(),
		},
	}
	if pair, err := b.agent.GetSelectedCandidatePair(); err == nil && pair != nil {
		s.ICE.Local = candidateAddr(pair.Local)
		s.ICE.Remote = candidateAddr(pair.Remote)
	} else {
		s.ICE.Remote = b.earlyAddr()
	}
	return s
}

func candidateAddr(c ice.Candidate) netip.AddrPort {
	ip, err := netip.ParseAddr(c.Address())
	if err != nil {
		return netip.AddrPort{}
	}
	return netip.AddrPortFrom(ip.Unmap(), uint16(c.Port()))
}
