package loadgen

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/pion/ice/v4"
)

// Calls places calls without media: cfg.Calls WebSocket clients, client w
// as user cfg.user(w), start calls at cfg.Rate per second in all until
// cfg.Count or cfg.Duration, each to one of cfg.Echoes registered UDP
// phones that answer at once. A call is INVITE, 200, ACK, cfg.Hold, BYE;
// a client has one call at a time, so at most cfg.Calls are up at once.
//
// The offer is a WebRTC one, as buildOffer writes for the media mode
// (UDP/TLS/RTP/SAVPF, ICE, DTLS fingerprint), with fresh ICE credentials
// per call and one host candidate on a socket that reads nothing: a
// gateway that anchors media, as switchboard does, allocates and
// translates for it as for a browser, and may reject a plain RTP/AVP offer
// from a WebSocket client. No ICE check or DTLS follows, so keep cfg.Hold
// under the gateway's ICE or media timeout.
//
// Every client's WebSocket is opened before the first call (dialAll), so
// that neither the rate nor the gateway's CPU per call includes WebSocket
// handshakes.
func Calls(ctx context.Context, cfg Config) (*SignalReport, error) {
	cfg, err := cfg.signalDefaults()
	if err != nil {
		return nil, err
	}
	id, far, err := gatewayEnds(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer far.close()
	sink, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(localIPFor(cfg.SIPAddr), 0)))
	if err != nil {
		return nil, fmt.Errorf("loadgen: %w", err)
	}
	defer sink.Close()
	o := &offerer{id: id, sink: sink.LocalAddr().(*net.UDPAddr).AddrPort()}
	clients := dialAll(ctx, cfg)
	t := newTally()
	return t.run(ctx, cfg, "calls", func(w int, jobs <-chan int) {
		c := clients[w]
		defer c.close(false)
		for i := range jobs {
			c.call(ctx, t, o, i)
		}
	})
}

// dialAll makes cfg.Calls clients and opens their WebSockets, 64 at a
// time. A client whose dial failed dials again at its first call, which
// then counts a "websocket" failure if it fails again.
func dialAll(ctx context.Context, cfg Config) []*client {
	clients := make([]*client, cfg.Calls)
	sem := make(chan struct{}, 64)
	var wg sync.WaitGroup
	for w := range clients {
		clients[w] = &client{cfg: cfg, user: cfg.user(w)}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			_, _ = clients[w].connect(ctx)
		})
	}
	wg.Wait()
	return clients
}

// offerer writes signalling-only WebRTC offers.
type offerer struct {
	id   *identity
	sink netip.AddrPort
}

func (o *offerer) offer() ([]byte, error) {
	cand, err := ice.NewCandidateHost(&ice.CandidateHostConfig{
		Network: "udp", Address: o.sink.Addr().String(), Port: int(o.sink.Port()), Component: 1,
	})
	if err != nil {
		return nil, err
	}
	return buildOffer(offerParams{Ufrag: randomHex(4), Pwd: randomHex(12), Fingerprint: o.id.fingerprint,
		Candidates: []ice.Candidate{cand}, SSRC: randomUint32()})
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// call places call i, holds it and hangs up.
func (c *client) call(ctx context.Context, t *tally, o *offerer, i int) {
	t.attempt()
	ua, err := c.connect(ctx)
	if err != nil {
		t.failure("websocket")
		return
	}
	offer, err := o.offer()
	if err != nil {
		t.failure("sdp")
		return
	}
	target := sip.Uri{Scheme: "sip", User: echoUser(i % c.cfg.Echoes), Host: c.cfg.Domain}
	ictx, cancel := context.WithTimeout(ctx, c.cfg.SetupTimeout)
	defer cancel()
	start := time.Now()
	d, err := ua.Invite(ictx, target, offer)
	if err != nil {
		t.failure(c.sipCause(ictx, err))
		return
	}
	t.success(time.Since(start))
	t.active.Add(1)
	defer t.active.Add(-1)
	hold := time.NewTimer(c.cfg.Hold)
	select {
	case <-hold.C:
	case <-ctx.Done():
		hold.Stop()
	}
	bctx, cancel := context.WithTimeout(context.Background(), c.cfg.SetupTimeout)
	defer cancel()
	res, err := d.Bye(bctx)
	switch {
	case err != nil:
		t.failure("bye_" + c.sipCause(bctx, err))
	case res.StatusCode != 200:
		t.failure(fmt.Sprintf("bye_%d", res.StatusCode))
	default:
		t.complete()
	}
}
