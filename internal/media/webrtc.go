package media

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/pion/dtls/v3"
	"github.com/pion/ice/v4"
	"github.com/pion/srtp/v3"
	"github.com/pion/transport/v4/packetio"

	"github.com/switchboard-gw/switchboard/internal/media/dtlssrtp"
)

// dtlsHandshakeTimeout bounds the DTLS handshake from StartWebRTC.
const dtlsHandshakeTimeout = 30 * time.Second

// replayWindow is the SRTP and SRTCP replay window (RFC 3711 §3.3.2).
const replayWindow = 128

// StartWebRTC starts the browser leg with the browser's parameters and
// returns at once; ICE and DTLS run in the background. DTLS only ever
// talks to an address that passed an ICE check signed with our password:
// before ICE selects a pair, the one the browser's DTLS came from (early.go);
// then the selected pair, over the ice.Conn.
func (b *Bridge) StartWebRTC(r WebRTCRemote) error {
	fp, err := parseFingerprint(r.Fingerprint)
	if err != nil {
		return err
	}
	if r.Ufrag == "" || r.Pwd == "" {
		return errors.New("media: remote ICE ufrag and pwd are required")
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.isClosed():
		return ErrClosed
	case b.started:
		return ErrStarted
	}
	conn, err := b.agent.StartAccept(r.Ufrag, r.Pwd)
	if err != nil {
		return fmt.Errorf("media: ICE: %w", err)
	}
	b.started = true
	b.remoteFP = fp
	b.role = "server"
	if r.DTLSClient {
		b.role = "client"
	}
	ctx, cancel := context.WithCancel(context.Background())
	b.cancel = cancel
	b.startedAt.Store(time.Now().UnixNano())
	b.wg.Add(2)
	go b.readBrowser(conn)
	go b.runDTLS(ctx, conn, fp, r.DTLSClient)
	return nil
}

// runDTLS runs the DTLS handshake, derives the SRTP contexts, then keeps
// reading the DTLS conn so that alerts are processed and close_notify
// noticed. As server it starts at once: it answers only what reaches
// dtlsIn, which is DTLS from checked addresses. As client it first waits
// for the browser's first valid check, which gives it an address to send
// its ClientHello to.
func (b *Bridge) runDTLS(ctx context.Context, conn *ice.Conn, fp remoteFingerprint, client bool) {
	defer b.wg.Done()
	if client {
		select {
		case <-b.checked:
		case <-ctx.Done():
			return // closed; an ICE failure is reported by onICEState
		}
	}
	dc, err := b.newDTLSConn(conn, fp, client)
	if err != nil {
		b.dtlsFailed(err)
		return
	}
	b.mu.Lock()
	closed := b.isClosed()
	if !closed {
		b.dtlsConn = dc
	}
	b.mu.Unlock()
	if closed {
		dc.Close()
		return
	}
	hctx, cancel := context.WithTimeout(ctx, dtlsHandshakeTimeout)
	err = dc.HandshakeContext(hctx)
	cancel()
	if ctx.Err() != nil {
		return
	}
	if err == nil {
		err = b.startSRTP(dc, conn, client)
	}
	if err != nil {
		b.dtlsFailed(err)
		return
	}
	b.drainDTLS(ctx, dc)
}

func (b *Bridge) dtlsFailed(err error) {
	b.dtlsFailures.Add(1)
	b.dtlsState.Store(dtlsFailed)
	b.log.Warn("DTLS handshake failed", "err", err)
	b.end("dtls_failed")
}

// newDTLSConn makes the DTLS conn in switchboard's role. The peer's
// self-signed certificate is checked against its SDP fingerprint only
// (RFC 8827 §6.5); as server we require one (RFC 5763 §5).
func (b *Bridge) newDTLSConn(conn *ice.Conn, fp remoteFingerprint, client bool) (*dtls.Conn, error) {
	pc := &dtlsPacketConn{b: b, in: b.dtlsIn, out: conn, local: conn.LocalAddr(), remote: conn.RemoteAddr()}
	return dtlssrtp.NewConn(pc, pc.remote, client,
		dtls.WithCertificates(b.e.cert),
		dtls.WithExtendedMasterSecret(dtls.RequestExtendedMasterSecret),
		dtls.WithInsecureSkipVerify(true),
		dtls.WithVerifyPeerCertificate(fp.verify),
		dtls.WithLoggerFactory(b.e.pion),
	)
}

// startSRTP derives the SRTP keys from the handshake (RFC 5764 §4.2) and
// publishes the session, which turns the relay on.
func (b *Bridge) startSRTP(dc *dtls.Conn, conn *ice.Conn, client bool) error {
	k, err := dtlssrtp.FromConn(dc, client)
	if err != nil {
		return err
	}
	s, err := newSession(k.Keys, k.Profile, conn)
	if err != nil {
		return err
	}
	b.mu.Lock()
	b.profile = k.Name
	b.mu.Unlock()
	b.sess.Store(s)
	b.updateDirect()
	b.dtlsDone.once(time.Now().UnixNano())
	b.dtlsState.Store(dtlsConnected)
	b.log.Info("DTLS-SRTP up", "role", b.role, "srtp_profile", k.Name)
	return nil
}

// drainDTLS reads the DTLS conn until it closes. No application data is
// expected (there is no data channel); reading lets the conn process
// alerts. A close_notify from the browser ends the media.
func (b *Bridge) drainDTLS(ctx context.Context, dc *dtls.Conn) {
	buf := make([]byte, 1500)
	for {
		_, err := dc.Read(buf)
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, io.EOF) || errors.Is(err, dtls.ErrConnClosed) || errors.Is(err, net.ErrClosed) {
			b.dtlsState.Store(dtlsClosed)
			b.end("dtls_closed")
			return
		}
	}
}

// session is the SRTP state of an established browser leg.
//
// An srtp.Context works one way and is not safe for concurrent use, so:
// dec (SRTP and SRTCP from the browser) is used by the browser reader and
// the pollers' direct relay under decMu (uncontended but for the packets
// already queued in the ice.Conn when the direct relay starts, and for
// those steered to a poller that does not own the call); encRTP belongs
// to the poller that reads the plain RTP socket, one at a time
// (sock.Poller.Move hands it over between rounds); encRTCP is shared by
// both plain sockets (RTCP may arrive multiplexed on the RTP port) under
// rtcpMu. The
// two encrypting contexts share the master key but never the same
// direction and kind, so no keystream is used twice (RFC 3711 §9.1).
type session struct {
	decMu  sync.Mutex
	dec    *srtp.Context // guarded by decMu
	encRTP *srtp.Context

	rtcpMu  sync.Mutex
	encRTCP *srtp.Context // guarded by rtcpMu

	out io.Writer // the ice.Conn, towards the browser
}

// newSession makes the SRTP contexts of an established browser leg from
// its session keys.
func newSession(k srtp.SessionKeys, profile srtp.ProtectionProfile, out io.Writer) (*session, error) {
	dec, err := srtp.CreateContext(k.RemoteMasterKey, k.RemoteMasterSalt, profile,
		srtp.SRTPReplayProtection(replayWindow), srtp.SRTCPReplayProtection(replayWindow))
	if err != nil {
		return nil, fmt.Errorf("media: SRTP context: %w", err)
	}
	encRTP, err := srtp.CreateContext(k.LocalMasterKey, k.LocalMasterSalt, profile)
	if err != nil {
		return nil, fmt.Errorf("media: SRTP context: %w", err)
	}
	encRTCP, err := srtp.CreateContext(k.LocalMasterKey, k.LocalMasterSalt, profile)
	if err != nil {
		return nil, fmt.Errorf("media: SRTP context: %w", err)
	}
	return &session{dec: dec, encRTP: encRTP, encRTCP: encRTCP, out: out}, nil
}

// dtlsPacketConn is the net.PacketConn the DTLS conn runs over: it reads
// the DTLS records the browser port's pollers and the browser reader
// demultiplexed (RFC 7983) and writes on the ice.Conn, or before ICE
// selects a pair to the browser's early address (early.go).
type dtlsPacketConn struct {
	b             *Bridge
	in            *packetio.Buffer
	out           io.Writer
	local, remote net.Addr
}

func (c *dtlsPacketConn) ReadFrom(p []byte) (int, net.Addr, error) {
	n, err := c.in.Read(p)
	return n, c.remote, err
}

func (c *dtlsPacketConn) WriteTo(p []byte, _ net.Addr) (int, error) {
	if to, ok := c.b.earlyDest(); ok {
		return c.b.e.sock.WriteToAddrPort(p, to)
	}
	return c.out.Write(p)
}

// earlyDest is where DTLS goes while ICE has selected no pair (never after
// an ICE restart); false once a pair is selected, or when no address passed
// a check.
func (b *Bridge) earlyDest() (netip.AddrPort, bool) {
	if b.restarted.Load() {
		return netip.AddrPort{}, false
	}
	if pair, err := b.agent.GetSelectedCandidatePair(); err == nil && pair != nil {
		return netip.AddrPort{}, false
	}
	a := b.earlyAddr()
	return a, a.IsValid()
}

func (c *dtlsPacketConn) Close() error                      { return c.in.Close() }
func (c *dtlsPacketConn) LocalAddr() net.Addr               { return c.local }
func (c *dtlsPacketConn) SetDeadline(t time.Time) error     { return c.in.SetReadDeadline(t) }
func (c *dtlsPacketConn) SetReadDeadline(t time.Time) error { return c.in.SetReadDeadline(t) }
func (c *dtlsPacketConn) SetWriteDeadline(time.Time) error  { return nil }
