package sipproxy

import (
	"context"
	"errors"
	"net"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/internal/signalling/sipmsg"
	"github.com/switchboard-gw/switchboard/internal/signalling/siptransport"
	"github.com/switchboard-gw/switchboard/internal/signalling/siptx"
)

// forwardOpts say how to forward one request.
type forwardOpts struct {
	// recordRoute puts switchboard in the dialog's route set.
	recordRoute bool
	// rewrite edits each response before it is relayed.
	rewrite func(*sip.Response)
	// loop is the request's loop hash from validate, for its branches.
	loop string
	// lease counts the call against its user's limits until it fails or
	// the dialog it creates ends; nil when no limit applies.
	lease *lease
	// user is the user admit authenticated the request as, "" when none:
	// the identity switchboard asserts towards trusted peers.
	user string
}

// call is the response context of one proxied request, RFC 3261 §16.7: its
// branches, the best final response so far, and whether a final response
// was relayed.
type call struct {
	p      *Proxy
	tx     *siptx.ServerTx
	opts   forwardOpts
	branch string
	invite bool
	// initial is set for a dialog-creating request, whose failure ends the
	// call's media.
	initial bool

	// mu guards the fields below and orders the responses relayed on tx.
	mu        sync.Mutex
	branches  []*branch
	pending   int
	best      *sip.Response
	answered  bool
	cancelled bool
}

// branch is one client transaction of a call.
type branch struct {
	c   *call
	t   target
	req *sip.Request

	// These are guarded by c.mu.
	ringing      bool
	final        bool
	answers      map[string]*answer // the 2xx to an INVITE, by To tag
	cancelWanted bool
	cancelSent   bool
}

// forward starts one branch per target, RFC 3261 §16.6. out is a clone of
// the received request; it is cloned again for every branch after the first.
func (p *Proxy) forward(tx *siptx.ServerTx, out *sip.Request, targets []target, opts forwardOpts) error {
	c := &call{p: p, tx: tx, opts: opts, branch: p.branchFor(opts.loop), invite: tx.Request.Method == sip.INVITE,
		initial: !sipmsg.HasToTag(tx.Request)}
	if err := p.rewriteRequest(out, tx.Conn, targets[0].conn); err != nil {
		return err
	}
	for i, t := range targets {
		req := out
		if i < len(targets)-1 {
			req = out.Clone()
		}
		c.branches = append(c.branches, &branch{c: c, t: t, req: req})
	}
	c.pending = len(c.branches)
	tx.Attach(c)
	for i, b := range c.branches {
		b.start(i)
	}
	return nil
}

// start sends the branch's request, connecting first if need be.
func (b *branch) start(i int) {
	p := b.c.p
	if b.t.conn == nil {
		if addr, ok := addrOf(b.t.host, b.t.port); ok && b.t.transport == siptransport.UDP {
			b.t.conn, _ = p.net.Dial(p.ctx, siptransport.UDP, addr)
		}
	}
	if b.t.conn != nil {
		b.send(i)
		return
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		conn, err := p.connect(b.t)
		if err != nil {
			b.c.fail(b, err)
			return
		}
		b.t.conn = conn
		b.send(i)
	}()
}

// connect reaches a target named by host, resolving and dialing.
func (p *Proxy) connect(t target) (siptransport.Conn, error) {
	ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
	defer cancel()
	addr, ok := addrOf(t.host, t.port)
	if !ok {
		ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", t.host)
		if err != nil || len(ips) == 0 {
			return nil, errUnresolvable
		}
		addr, _ = addrOf(ips[0].Unmap().String(), t.port)
	}
	conn, err := p.net.Dial(ctx, t.transport, addr)
	if errors.Is(err, siptransport.ErrUnsupportedTransport) {
		return nil, errNoTransport
	}
	if err != nil {
		return nil, errUnreachable
	}
	return conn, nil
}

func (b *branch) send(i int) {
	c := b.c
	c.mu.Lock()
	cancelled := c.cancelled
	c.mu.Unlock()
	if cancelled && c.invite {
		c.onFinal(b, sip.NewResponseFromRequest(b.req, sip.StatusRequestTerminated, "Request Terminated", nil), false)
		return
	}
	branch := c.branch
	if i > 0 {
		branch = c.p.branchFor(c.opts.loop)
	}
	c.p.prepare(b.req, b.t, branch, c.opts.recordRoute, c.tx.Conn, c.opts.user)
	if _, err := c.p.layer.Request(b.req, b.t.conn, b); err != nil {
		c.fail(b, flowError(b.t.conn, err))
	}
}

// flowError is the response for a request that could not be written to conn.
func flowError(conn siptransport.Conn, err error) error {
	if siptransport.IsWebSocket(conn.Transport()) || errors.Is(err, siptransport.ErrClosed) {
		return errFlowFailed
	}
	return errUnreachable
}

// OnResponse is the branch's client transaction reporting a response.
func (b *branch) OnResponse(_ *siptx.ClientTx, res *sip.Response) {
	res.RemoveHeader("Via") // ours, RFC 3261 §16.7 step 3
	if res.StatusCode == sip.StatusTrying {
		return
	}
	if res.IsProvisional() {
		b.c.onProvisional(b, res)
		return
	}
	b.c.onFinal(b, res, true)
}

// OnFailure is the branch's client transaction timing out or losing its
// connection: the branch ends with the response RFC 3261 §16.7 step 6 and
// §16.8 call for.
func (b *branch) OnFailure(_ *siptx.ClientTx, err error) {
	if errors.Is(err, siptx.ErrConnClosed) {
		b.c.fail(b, flowError(b.t.conn, siptransport.ErrClosed))
		return
	}
	b.c.mu.Lock()
	if b.ringing && b.c.invite {
		b.sendCancelLocked() // timer C
	}
	b.c.mu.Unlock()
	b.c.fail(b, errRequestTimeout)
}

// fail ends branch b with a response of the proxy's own.
func (c *call) fail(b *branch, err error) {
	se := asStatus(err)
	c.onFinal(b, sip.NewResponseFromRequest(b.req, se.Code, se.Reason, nil), false)
}

func (c *call) onProvisional(b *branch, res *sip.Response) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b.ringing = true
	if b.cancelWanted {
		b.sendCancelLocked() // RFC 3261 §9.1: CANCEL only after a provisional
	}
	if !c.answered {
		c.relayLocked(b, res)
	}
}

// onFinal records a final response of branch b; received tells a response
// from the network from one the proxy made.
func (c *call) onFinal(b *branch, res *sip.Response, received bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if res.IsSuccess() {
		if !b.final {
			b.final = true
			c.pending--
		}
		switch {
		case c.invite: // RFC 6026: every 2xx to an INVITE goes up
			if !c.relayAnswerLocked(b, res) {
				return // refused: the other branches go on
			}
		case !c.answered:
			c.answered = true
			c.relayLocked(b, res)
		}
		c.cancelOthersLocked(b)
		return
	}
	if b.final {
		return
	}
	b.final = true
	c.pending--
	c.keepBestLocked(res)
	if res.StatusCode >= 600 {
		c.cancelOthersLocked(b) // RFC 3261 §16.7 step 5
	}
	c.settleLocked(b, received)
}

// settleLocked relays the best final response once every branch has
// ended without a 2xx; received tells whether b's was from the network.
func (c *call) settleLocked(b *branch, received bool) {
	if c.pending == 0 && !c.answered {
		c.answered = true
		best := c.best
		if best.StatusCode == sip.StatusServiceUnavailable && received {
			best.StatusCode, best.Reason = sip.StatusInternalServerError, "Server Internal Error (next hop unavailable)"
		}
		c.opts.lease.release() // before the caller hears, and may call again
		c.relayLocked(b, best)
		if c.invite && c.initial {
			c.p.endMedia(c.tx.Request.CallID().Value(), failureReason(best.StatusCode))
		}
	}
}

// keepBestLocked is RFC 3261 §16.7 step 6: a 6xx beats everything, then the
// lowest class wins; the first of equals is kept.
func (c *call) keepBestLocked(res *sip.Response) {
	rank := func(r *sip.Response) int {
		if r.StatusCode >= 600 {
			return 0
		}
		return r.StatusCode / 100
	}
	if c.best == nil || rank(res) < rank(c.best) {
		c.best = res
	}
}

// relayLocked sends a response of branch b up to the caller: a 2xx to an
// INVITE goes through relayAnswerLocked instead.
func (c *call) relayLocked(b *branch, res *sip.Response) {
	if c.opts.rewrite != nil {
		c.opts.rewrite(res)
	}
	if err := c.p.rewriteResponse(res, c.tx.Request.Method, b.t.conn, c.tx.Conn); err != nil {
		c.relayWithoutBodyLocked(res, err)
	}
	_ = c.tx.Respond(res)
}

// cancel is a CANCEL for this call's INVITE, RFC 3261 §16.10.
func (c *call) cancel() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cancelled = true
	c.cancelOthersLocked(nil)
}

func (c *call) cancelOthersLocked(except *branch) {
	if !c.invite {
		return
	}
	for _, b := range c.branches {
		if b != except && !b.final {
			b.cancelWanted = true
			if b.ringing {
				b.sendCancelLocked()
			}
		}
	}
}

// sendCancelLocked sends CANCEL for the branch's INVITE, RFC 3261 §9.1.
func (b *branch) sendCancelLocked() {
	if b.cancelSent || b.t.conn == nil || b.req.Via() == nil {
		return
	}
	b.cancelSent = true
	cancel := siptx.CancelFor(b.req)
	_, _ = b.c.p.layer.Request(cancel, b.t.conn, ignoreResponses{})
}

// ignoreResponses absorbs the responses to a CANCEL.
type ignoreResponses struct{}

func (ignoreResponses) OnResponse(*siptx.ClientTx, *sip.Response) {}
func (ignoreResponses) OnFailure(*siptx.ClientTx, error)          {}

// handleCancel matches a CANCEL to its INVITE, RFC 3261 §16.10.
func (p *Proxy) handleCancel(tx *siptx.ServerTx) {
	inv := p.layer.FindInvite(tx.Request)
	if inv == nil {
		p.reject(tx, errNoTransaction)
		return
	}
	_ = tx.Respond(p.response(tx.Request, sip.StatusOK, "OK"))
	p.endMedia(tx.Request.CallID().Value(), "cancelled")
	if c, ok := inv.Attached().(*call); ok {
		c.cancel()
		return
	}
	_ = inv.Respond(p.response(inv.Request, sip.StatusRequestTerminated, "Request Terminated"))
}

// failureReason is why a call's media ends when its INVITE fails with
// status: a 401 or 407 is a challenge the caller answers with a new INVITE,
// not a failed call.
func failureReason(status int) string {
	if status == sip.StatusUnauthorized || status == sip.StatusProxyAuthRequired {
		return "challenged"
	}
	return "call failed"
}
