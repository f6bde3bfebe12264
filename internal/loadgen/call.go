package loadgen

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/pion/srtp/v3"
	"github.com/switchboard-gw/switchboard/internal/testkit/siptest"
)

// setupError is a call that did not come up; cause names the step that
// failed, as the report counts them.
type setupError struct {
	cause string
	err   error
}

func (e *setupError) Error() string { return e.cause + ": " + e.err.Error() }
func (e *setupError) Unwrap() error { return e.err }

// causeOf names a failed setup: "websocket", "sip_486", "sip_timeout",
// "sdp", "ice", "dtls", "srtp", ...
func causeOf(err error) string {
	var se *setupError
	if errors.As(err, &se) {
		return se.cause
	}
	return "other"
}

// session is one call under load.
type session interface {
	media() *stream
	// profile is the SRTP profile in use.
	profile() string
	// hangup ends the call and returns once its goroutines are gone.
	hangup(ctx context.Context) error
}

// gatewayCall is a call through the gateway: a WebSocket of its own, the
// dialog and the WebRTC leg.
type gatewayCall struct {
	ws     *siptest.WSClient
	dialog *siptest.Dialog
	leg    *leg
	st     *stream
}

// placeGateway sets up call i: WebSocket, ICE gathering, INVITE with the
// offer to echo i mod Echoes, ICE, DTLS, SRTP. It returns the setup time,
// from the INVITE to the SRTP keys.
func (r *runner) placeGateway(ctx context.Context, i int) (session, time.Duration, error) {
	ws, err := r.cfg.dialWS(ctx)
	if err != nil {
		return nil, 0, &setupError{cause: "websocket", err: err}
	}
	c := &gatewayCall{ws: ws}
	if c.leg, err = newLeg(r.localIP); err != nil {
		ws.Close()
		return nil, 0, &setupError{cause: "ice", err: err}
	}
	c.st = newStream(uint32(i), r.clock, &r.total, c.leg.tap.conn)
	start := time.Now()
	c.st.inviteAt = r.clock.now()
	err = c.setup(ctx, r, i)
	if err != nil {
		c.hangup(ctx)
		return nil, 0, err
	}
	c.st.keyedAt = r.clock.now()
	return c, time.Since(start), nil
}

func (c *gatewayCall) setup(ctx context.Context, r *runner, i int) error {
	offer, err := c.leg.offer(r.id, c.st)
	if err != nil {
		return &setupError{cause: "sdp", err: err}
	}
	ua := &siptest.UA{Transport: c.ws, User: r.cfg.user(i), Password: r.cfg.Password, Domain: r.cfg.Domain}
	target := sip.Uri{Scheme: "sip", User: echoUser(i % r.cfg.Echoes), Host: r.cfg.Domain}
	if c.dialog, err = ua.Invite(ctx, target, offer); err != nil {
		return &setupError{cause: sipCause(ctx, err), err: err}
	}
	c.st.answeredAt = r.clock.now()
	a, err := parseAnswer(c.dialog.Response.Body())
	if err != nil {
		return &setupError{cause: "sdp", err: err}
	}
	return c.leg.connect(ctx, r.id, a, c.st)
}

func sipCause(ctx context.Context, err error) string {
	var se *siptest.StatusError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("sip_%d", se.Response.StatusCode)
	case ctx.Err() != nil:
		return "sip_timeout"
	case errors.Is(err, siptest.ErrClosed):
		return "websocket_closed"
	}
	return "sip"
}

func (c *gatewayCall) media() *stream  { return c.st }
func (c *gatewayCall) profile() string { return c.leg.srtpProfile() }

// hangup sends BYE before closing DTLS: a close_notify first would make
// the gateway end the call itself.
func (c *gatewayCall) hangup(ctx context.Context) error {
	var err error
	if c.dialog != nil {
		var res *sip.Response
		res, err = c.dialog.Bye(ctx)
		if err == nil && res.StatusCode != 200 {
			err = fmt.Errorf("loadgen: BYE answered %d", res.StatusCode)
		}
	}
	c.leg.close()
	c.ws.Close()
	return err
}

// directCall is a baseline call: the stream's socket sends straight to an
// echo, with SRTP keyed so that it decrypts what it encrypted.
type directCall struct {
	st   *stream
	done chan struct{}
}

// baselineProfile is the profile baseline calls use: the one switchboard
// picks from the callers' offer.
const baselineProfile = srtp.ProtectionProfileAeadAes128Gcm

func (r *runner) placeDirect(_ context.Context, i int) (session, time.Duration, error) {
	conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(r.localIP, 0)))
	if err != nil {
		return nil, 0, &setupError{cause: "socket", err: err}
	}
	c := &directCall{st: newStream(uint32(i), r.clock, &r.total, conn), done: make(chan struct{})}
	c.st.dest = r.far.echoes[i%len(r.far.echoes)].Addr()
	c.st.inviteAt = r.clock.now()
	if err := c.st.key(selfKeys(baselineProfile), baselineProfile); err != nil {
		conn.Close()
		return nil, 0, &setupError{cause: "srtp", err: err}
	}
	go c.st.readLoop(c.done)
	return c, 0, nil
}

// selfKeys are random session keys whose remote half is the local half.
func selfKeys(p srtp.ProtectionProfile) srtp.SessionKeys {
	keyLen, _ := p.KeyLen()
	saltLen, _ := p.SaltLen()
	k := srtp.SessionKeys{LocalMasterKey: make([]byte, keyLen), LocalMasterSalt: make([]byte, saltLen)}
	rand.Read(k.LocalMasterKey)
	rand.Read(k.LocalMasterSalt)
	k.RemoteMasterKey, k.RemoteMasterSalt = k.LocalMasterKey, k.LocalMasterSalt
	return k
}

func (c *directCall) media() *stream  { return c.st }
func (c *directCall) profile() string { return "SRTP_AEAD_AES_128_GCM (self-keyed)" }

func (c *directCall) hangup(context.Context) error {
	c.st.conn.Close()
	<-c.done
	return nil
}
