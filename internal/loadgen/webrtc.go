package loadgen

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/pion/dtls/v3"
	"github.com/pion/ice/v4"
	"github.com/pion/logging"
	"github.com/pion/srtp/v3"

	"github.com/switchboard-gw/switchboard/internal/media/dtlssrtp"
)

// replayWindow is the SRTP replay window (RFC 3711 §3.3.2), as a browser's.
const replayWindow = 128

// checkInterval paces connectivity checks as browsers do: Ta = 50 ms
// (RFC 8445 §14.2); pion's default, 200 ms, would dominate setup time.
const checkInterval = 50 * time.Millisecond

// quiet silences pion's loggers.
var quiet = &logging.DefaultLoggerFactory{DefaultLogLevel: logging.LogLevelDisabled, ScopeLevels: map[string]logging.LogLevel{}}

// leg is a caller's WebRTC transport: its socket, ICE agent and DTLS session.
type leg struct {
	tap   *tapConn
	mux   *ice.UDPMuxDefault
	agent *ice.Agent
	cands []ice.Candidate
	ufrag string
	pwd   string

	mu      sync.Mutex
	dc      *dtls.Conn    // guarded by mu
	drained chan struct{} // closed when the DTLS reader stops; guarded by mu
	profile string        // guarded by mu
}

// newLeg binds a socket on ip and gathers its host candidate.
func newLeg(ip netip.Addr) (*leg, error) {
	conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, 0)))
	if err != nil {
		return nil, err
	}
	l := &leg{tap: newTapConn(conn)}
	l.mux = ice.NewUDPMuxDefault(ice.UDPMuxParams{UDPConn: l.tap, Logger: quiet.NewLogger("udpmux")})
	l.agent, err = ice.NewAgentWithOptions(
		ice.WithUDPMux(l.mux),
		ice.WithCandidateTypes([]ice.CandidateType{ice.CandidateTypeHost}),
		ice.WithNetworkTypes([]ice.NetworkType{ice.NetworkTypeUDP4, ice.NetworkTypeUDP6}),
		ice.WithIncludeLoopback(),
		ice.WithMulticastDNSMode(ice.MulticastDNSModeDisabled),
		ice.WithCheckInterval(checkInterval),
		ice.WithLoggerFactory(quiet),
	)
	if err == nil {
		err = l.gather()
	}
	if err != nil {
		l.close()
		return nil, fmt.Errorf("loadgen: ICE: %w", err)
	}
	return l, nil
}

func (l *leg) gather() error {
	done := make(chan struct{})
	var once sync.Once
	if err := l.agent.OnCandidate(func(c ice.Candidate) {
		if c == nil {
			once.Do(func() { close(done) })
		}
	}); err != nil {
		return err
	}
	if err := l.agent.GatherCandidates(); err != nil {
		return err
	}
	<-done
	var err error
	if l.ufrag, l.pwd, err = l.agent.GetLocalUserCredentials(); err != nil {
		return err
	}
	if l.cands, err = l.agent.GetLocalCandidates(); err == nil && len(l.cands) == 0 {
		err = errors.New("no host candidate")
	}
	return err
}

// offer is the leg's SDP offer for stream s.
func (l *leg) offer(id *identity, s *stream) ([]byte, error) {
	return buildOffer(offerParams{Ufrag: l.ufrag, Pwd: l.pwd, Fingerprint: id.fingerprint, Candidates: l.cands, SSRC: s.hdr.SSRC})
}

// connect runs ICE as the controlling agent, then DTLS in the role the
// answer gives, and keys s's SRTP contexts; from then on s sends to and
// receives from the selected pair.
func (l *leg) connect(ctx context.Context, id *identity, a answerParams, s *stream) error {
	for _, c := range a.Candidates {
		if err := l.agent.AddRemoteCandidate(c); err != nil {
			return &setupError{cause: "ice", err: err}
		}
	}
	conn, err := l.agent.Dial(ctx, a.Ufrag, a.Pwd)
	if err != nil {
		return &setupError{cause: "ice", err: err}
	}
	dest, err := selectedRemote(l.agent)
	if err != nil {
		return &setupError{cause: "ice", err: err}
	}
	dc, err := l.handshake(ctx, id, conn, a)
	if err != nil {
		return &setupError{cause: "dtls", err: err}
	}
	if err := l.keyStream(dc, a.DTLSClient, s); err != nil {
		return &setupError{cause: "srtp", err: err}
	}
	s.dest = dest
	l.tap.media.Store(s)
	return nil
}

func selectedRemote(a *ice.Agent) (netip.AddrPort, error) {
	pair, err := a.GetSelectedCandidatePair()
	if err != nil || pair == nil {
		return netip.AddrPort{}, errors.New("no selected pair")
	}
	ip, err := netip.ParseAddr(pair.Remote.Address())
	if err != nil {
		return netip.AddrPort{}, err
	}
	return netip.AddrPortFrom(ip.Unmap(), uint16(pair.Remote.Port())), nil
}

// handshake runs DTLS over the ice.Conn, which carries only STUN-free,
// non-media packets (the tap took RTP), then keeps reading it so alerts
// are processed.
func (l *leg) handshake(ctx context.Context, id *identity, conn *ice.Conn, a answerParams) (*dtls.Conn, error) {
	pc := &icePacketConn{Conn: conn}
	dc, err := dtlssrtp.NewConn(pc, conn.RemoteAddr(), a.DTLSClient,
		dtls.WithCertificates(id.cert),
		dtls.WithExtendedMasterSecret(dtls.RequireExtendedMasterSecret),
		dtls.WithInsecureSkipVerify(true),
		dtls.WithVerifyPeerCertificate(verifyFingerprint(a.Fingerprint)),
		dtls.WithLoggerFactory(quiet),
	)
	if err != nil {
		return nil, err
	}
	drained := make(chan struct{})
	l.mu.Lock()
	l.dc, l.drained = dc, drained
	l.mu.Unlock()
	go drain(dc, drained)
	return dc, dc.HandshakeContext(ctx)
}

// drain reads the DTLS conn until it closes; no application data is expected.
func drain(dc *dtls.Conn, done chan<- struct{}) {
	defer close(done)
	buf := make([]byte, maxPacket)
	for {
		if _, err := dc.Read(buf); err != nil && !isTemporary(err) {
			return
		}
	}
}

func isTemporary(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// keyStream derives the SRTP keys (RFC 5764 §4.2) and gives s its contexts.
func (l *leg) keyStream(dc *dtls.Conn, client bool, s *stream) error {
	k, err := dtlssrtp.FromConn(dc, client)
	if err != nil {
		return err
	}
	if err := s.key(k.Keys, k.Profile); err != nil {
		return err
	}
	l.mu.Lock()
	l.profile = k.Name
	l.mu.Unlock()
	return nil
}

// key gives s its SRTP contexts: one to encrypt what it sends, one, with
// replay protection, to decrypt what comes back.
func (s *stream) key(k srtp.SessionKeys, profile srtp.ProtectionProfile) error {
	enc, err := srtp.CreateContext(k.LocalMasterKey, k.LocalMasterSalt, profile)
	if err != nil {
		return err
	}
	dec, err := srtp.CreateContext(k.RemoteMasterKey, k.RemoteMasterSalt, profile, srtp.SRTPReplayProtection(replayWindow))
	if err != nil {
		return err
	}
	s.enc, s.dec = enc, dec
	return nil
}

// SRTPProfile is the negotiated SRTP profile, or "".
func (l *leg) srtpProfile() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.profile
}

// close sends close_notify if DTLS is up, closes the agent, the mux and
// the socket, and waits for the goroutines reading them.
func (l *leg) close() {
	l.mu.Lock()
	dc, drained := l.dc, l.drained
	l.mu.Unlock()
	if dc != nil {
		dc.Close()
		<-drained
	}
	if l.agent != nil {
		l.agent.Close()
	}
	l.mux.Close()
	l.tap.waitReader()
}

// icePacketConn is the net.PacketConn DTLS runs over.
type icePacketConn struct{ *ice.Conn }

func (c *icePacketConn) ReadFrom(p []byte) (int, net.Addr, error) {
	n, err := c.Read(p)
	return n, c.RemoteAddr(), err
}

func (c *icePacketConn) WriteTo(p []byte, _ net.Addr) (int, error) { return c.Write(p) }

// identity is the DTLS certificate every caller of a run shares.
type identity struct {
	cert        tls.Certificate
	fingerprint string // "sha-256 AB:CD:..."
}
