package services

import (
	"math/rand/v2"
	"net/netip"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/internal/signalling/sipmsg"
)

// callState is where a call is in its life (RFC 3261 §12, §13.3).
type callState int

const (
	ringing   callState = iota // INVITE received, no final response yet
	answered                   // 2xx sent, no ACK yet
	confirmed                  // ACK received
	ended                      // over; lingering to answer retransmissions
)

// Why calls end: metric labels and Reason texts.
const (
	endBye       = "bye"
	endCancelled = "cancelled"
	endNoACK     = "no_ack"
	endIdle      = "no_rtp"
	endMax       = "max_duration"
	endBadAnswer = "bad_answer"
)

// call is one call to a service: a dialog in which the services are the
// UAS (RFC 3261 §12.1.1), and its media.
type call struct {
	s       *Server
	id      string
	service string
	peer    netip.AddrPort // where the INVITE came from: the proxy
	invite  *sip.Request   // the initial INVITE
	tag     string         // the services' tag
	routes  []sip.Uri      // the route set: the INVITE's Record-Route, in order
	target  sip.Uri        // the remote target: the INVITE's Contact
	media   *stream
	sessID  uint64
	// kick wakes the call's clock when signalling changed its timers.
	kick chan struct{}

	// mu guards the fields below.
	mu        sync.Mutex
	state     callState
	offer     *remote // the initial offer, until answered; nil: the 2xx offers
	answerAt  time.Time
	started   time.Time // when the 2xx was sent
	endedAt   time.Time
	remoteSeq uint32 // the caller's highest CSeq (RFC 3261 §12.2.2)
	localSeq  uint32
	invTx     tx      // the last INVITE answered
	lastTx    tx      // the last other request answered
	retx      *resend // a message sent again until it is answered
	peerSends bool    // the caller's direction includes sending
	// wantAnswer is set when a 2xx carried the services' offer: the ACK
	// carries the answer (RFC 3261 §13.2.1).
	wantAnswer bool
	sdpVersion uint64
	lastMedia  string // the media part of the last SDP sent
}

// tx is a request answered and the last response to it, so that its
// retransmissions get that response again (RFC 3261 §17.2).
type tx struct {
	method sip.RequestMethod
	seq    uint32
	res    []byte
}

// resend is a message sent again, at intervals doubling from T1 to T2,
// until it is answered or 64·T1 passed (RFC 3261 §13.3.1.4, §17.1.2.2,
// §17.2.1): a final response to INVITE until its ACK, or the services'
// BYE until its response.
type resend struct {
	data     []byte
	method   sip.RequestMethod // INVITE: a final response; BYE: the BYE
	seq      uint32
	success  bool // a 2xx: when no ACK ever comes, the call ends
	interval time.Duration
	next     time.Time
	giveUp   time.Time
}

func newCall(s *Server, req *sip.Request, from netip.AddrPort, offer *remote, media *stream) *call {
	return &call{
		s: s, id: req.CallID().Value(), service: req.Recipient.User, peer: from, invite: req,
		tag: newTag(), routes: sipmsg.RecordRoute(req), target: sipmsg.RemoteTarget(req, req.From().Address), media: media,
		sessID: rand.Uint64() >> 1, kick: make(chan struct{}, 1),
		offer: offer, remoteSeq: req.CSeq().SeqNo,
	}
}

// start answers the INVITE (or rings first) and starts the call's two
// goroutines, which the server has counted.
func (c *call) start() {
	c.mu.Lock()
	c.provisionalLocked(sip.StatusTrying, "Trying")
	if d := c.s.cfg.AnswerDelay; d > 0 {
		c.provisionalLocked(sip.StatusRinging, "Ringing")
		c.answerAt = time.Now().Add(d)
	} else {
		c.answerLocked(time.Now())
	}
	c.mu.Unlock()
	go func() {
		defer c.s.wg.Done()
		c.run()
	}()
	go func() {
		defer c.s.wg.Done()
		c.media.read()
	}()
}

// wake tells the call's clock to look at its timers again.
func (c *call) wake() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// handle is a request in this call: a retransmission, ACK, CANCEL, or an
// in-dialog request (RFC 3261 §12.2.2).
func (c *call) handle(req *sip.Request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	defer c.wake()
	switch seq := req.CSeq().SeqNo; {
	case req.Method == sip.ACK:
		c.ackLocked(req)
	case req.Method == sip.CANCEL:
		c.cancelLocked(req)
	case c.resendAnswerLocked(req):
	case sipmsg.ToTag(req) != c.tag:
		// A new request sharing the Call-ID: merged (RFC 3261 §8.2.2.2).
		c.s.replyStateless(req, sip.StatusLoopDetected, "Loop Detected")
	case c.state == ended:
		c.s.replyStateless(req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
	case seq <= c.remoteSeq:
		c.s.replyStateless(req, sip.StatusInternalServerError, "Server Internal Error (CSeq out of order)")
	default:
		c.remoteSeq = seq
		c.requestLocked(req)
	}
}

// resendAnswerLocked answers a retransmitted request with the response
// its first copy got.
func (c *call) resendAnswerLocked(req *sip.Request) bool {
	for _, t := range []*tx{&c.invTx, &c.lastTx} {
		if t.res != nil && t.method == req.Method && t.seq == req.CSeq().SeqNo {
			c.s.write(t.res, source(req))
			return true
		}
	}
	return false
}

// requestLocked answers a new in-dialog request.
func (c *call) requestLocked(req *sip.Request) {
	switch req.Method {
	case sip.BYE:
		c.lastTx = tx{sip.BYE, req.CSeq().SeqNo, c.respondLocked(req, sip.StatusOK, "OK", nil)}
		if c.state == ringing {
			c.finalLocked(c.invite, sip.StatusRequestTerminated, "Request Terminated", nil) // RFC 3261 §15.2
		} else {
			c.retx = nil // the caller is gone: no more 2xx
		}
		c.endLocked(endBye)
	case sip.INVITE:
		c.reinviteLocked(req)
	case sip.OPTIONS:
		c.lastTx = tx{sip.OPTIONS, req.CSeq().SeqNo, c.s.reply(req, c.s.options(req, c.tag))}
	default:
		res := c.s.response(req, sip.StatusMethodNotAllowed, "Method Not Allowed", c.tag)
		res.AppendHeader(sip.NewHeader("Allow", allow))
		c.lastTx = tx{req.Method, req.CSeq().SeqNo, c.s.reply(req, res)}
	}
}

// reinviteLocked answers a re-INVITE with the same SDP, the direction
// mirrored from the new offer; without an offer the 2xx carries one.
func (c *call) reinviteLocked(req *sip.Request) {
	if c.state == ringing {
		c.finalLocked(req, sip.StatusRequestPending, "Request Pending", nil) // RFC 3261 §14.2
		return
	}
	var offer *remote
	if sipmsg.HasSDP(req) {
		var err error
		if offer, err = parseRemote(req.Body()); err != nil {
			c.finalLocked(req, sip.StatusNotAcceptableHere, "Not Acceptable Here", nil)
			return
		}
	}
	c.finalLocked(req, sip.StatusOK, "OK", c.describeLocked(offer, time.Now()))
}

// ackLocked is the ACK of a final response to an INVITE: it stops its
// retransmissions, confirms the dialog, and may carry the answer to the
// services' offer.
func (c *call) ackLocked(req *sip.Request) {
	seq := req.CSeq().SeqNo
	if seq != c.invTx.seq {
		return
	}
	if r := c.retx; r != nil && r.method == sip.INVITE && r.seq == seq {
		c.retx = nil
	}
	if c.state == answered {
		c.state = confirmed
	}
	if !c.wantAnswer || c.state == ended {
		return
	}
	c.wantAnswer = false
	answer, err := parseRemote(req.Body())
	if err != nil {
		c.hangupLocked(time.Now(), endBadAnswer)
		return
	}
	c.applyLocked(answer, time.Now())
}

// cancelLocked answers CANCEL, RFC 3261 §9.2: 200, and 487 for the INVITE
// when it has no final response yet.
func (c *call) cancelLocked(req *sip.Request) {
	if req.CSeq().SeqNo != c.invite.CSeq().SeqNo {
		c.s.replyStateless(req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
		return
	}
	c.s.reply(req, c.s.response(req, sip.StatusOK, "OK", c.tag))
	if c.state == ringing {
		c.finalLocked(c.invite, sip.StatusRequestTerminated, "Request Terminated", nil)
		c.endLocked(endCancelled)
	}
}

// response is the response to the services' BYE.
func (c *call) response(res *sip.Response) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.retx
	if r != nil && r.method == sip.BYE && res.CSeq().MethodName == sip.BYE && res.CSeq().SeqNo == r.seq && !res.IsProvisional() {
		c.retx = nil
		c.wake()
	}
}

// answerLocked sends the 2xx to the initial INVITE.
func (c *call) answerLocked(now time.Time) {
	c.finalLocked(c.invite, sip.StatusOK, "OK", c.describeLocked(c.offer, now))
	c.offer = nil
	c.state, c.started = answered, now
}

// describeLocked applies offer to the media and returns the SDP answering
// it, or, without an offer, the services' own offer. The version in o=
// changes only when the media part does (RFC 3264 §8).
func (c *call) describeLocked(offer *remote, now time.Time) []byte {
	l := c.media.local
	media := l.offer()
	c.wantAnswer = offer == nil
	if offer != nil {
		c.applyLocked(offer, now)
		media = l.answer(offer)
	}
	if media != c.lastMedia {
		c.sdpVersion++
		c.lastMedia = media
	}
	return l.session(c.sessID, c.sdpVersion, media)
}

// applyLocked makes the media follow the caller's SDP.
func (c *call) applyLocked(r *remote, now time.Time) {
	c.media.set(&params{pt: r.pt, codec: r.codec, remote: r.addr, send: sends(mirror(r.dir))})
	peerSends := sends(r.dir)
	if peerSends && !c.peerSends {
		c.media.lastRTP.Store(now.UnixNano()) // the idle clock starts now
	}
	c.peerSends = peerSends
}

// provisionalLocked sends a provisional response to the initial INVITE.
func (c *call) provisionalLocked(code int, reason string) {
	c.invTx = tx{sip.INVITE, c.invite.CSeq().SeqNo, c.respondLocked(c.invite, code, reason, nil)}
}

// finalLocked sends a final response to an INVITE and retransmits it
// until the ACK.
func (c *call) finalLocked(req *sip.Request, code int, reason string, body []byte) {
	if code >= 300 {
		c.s.metrics.rejected(code)
	}
	b := c.respondLocked(req, code, reason, body)
	c.invTx = tx{sip.INVITE, req.CSeq().SeqNo, b}
	c.retx = c.newResend(b, sip.INVITE, req.CSeq().SeqNo, code < 300)
}

// respondLocked answers req in this dialog and returns the bytes sent.
// Provisional and 2xx responses to INVITE carry the Contact (RFC 3261
// §12.1.1).
func (c *call) respondLocked(req *sip.Request, code int, reason string, body []byte) []byte {
	res := c.s.response(req, code, reason, c.tag)
	if req.Method == sip.INVITE && code > 100 && code < 300 {
		res.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: c.service,
			Host: c.s.addr.Addr().String(), Port: int(c.s.addr.Port())}})
		res.AppendHeader(sip.NewHeader("Allow", allow))
	}
	if body != nil {
		setSDP(res, body)
	}
	return c.s.reply(req, res)
}

// hangupLocked ends the call from the services' side with a BYE (RFC 3261
// §15.1.1), retransmitted until answered.
func (c *call) hangupLocked(now time.Time, reason string) {
	c.localSeq++
	b := c.s.send(c.newBye(c.localSeq, reason), c.peer)
	c.retx = c.newResend(b, sip.BYE, c.localSeq, false)
	c.endLocked(reason)
}

// endLocked ends the call's media; the call lingers for retransmissions.
func (c *call) endLocked(reason string) {
	if c.state == ended {
		return
	}
	var lasted time.Duration
	if !c.started.IsZero() {
		lasted = time.Since(c.started)
	}
	c.state, c.endedAt = ended, time.Now()
	c.media.close()
	c.s.ended(c, reason, lasted)
}

func (c *call) newResend(b []byte, method sip.RequestMethod, seq uint32, success bool) *resend {
	now, t1 := time.Now(), c.s.cfg.T1
	return &resend{data: b, method: method, seq: seq, success: success,
		interval: t1, next: now.Add(t1), giveUp: now.Add(64 * t1)}
}

// source is where a request came from.
func source(req *sip.Request) netip.AddrPort {
	a, _ := netip.ParseAddrPort(req.Source())
	return a
}
