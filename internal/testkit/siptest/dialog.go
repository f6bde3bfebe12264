package siptest

import (
	"context"
	"slices"
	"sync"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/internal/signalling/sipmsg"
)

// Dialog is one side of a dialog an INVITE established (RFC 3261 §12). Only
// loose routing is supported: requests go to the remote target with the
// route set as Route headers.
type Dialog struct {
	ua *UA

	CallID    string
	LocalTag  string
	RemoteTag string
	// LocalURI and RemoteURI are the From and To addresses of requests this
	// side sends.
	LocalURI  sip.Uri
	RemoteURI sip.Uri
	// RouteSet is the Route headers of requests this side sends (RFC 3261
	// §12.1.1, §12.1.2).
	RouteSet []sip.Uri
	// Invite is the INVITE that created the dialog, as sent or received.
	Invite *sip.Request
	// Response is the 2xx that created the dialog, as received or sent.
	Response *sip.Response
	// Provisional holds the provisional responses a caller received first.
	Provisional []*sip.Response

	mu sync.Mutex
	// remoteTarget is the Request-URI of requests this side sends; target
	// refresh requests update it (RFC 3261 §12.2.1.2).
	remoteTarget sip.Uri
	localSeq     uint32
	localSDP     []byte
}

// newUACDialog builds the caller's dialog from its INVITE and the 2xx: the
// route set is the 2xx's Record-Route in reverse order (RFC 3261 §12.1.2).
func newUACDialog(ua *UA, invite *sip.Request, res *sip.Response) *Dialog {
	route := sipmsg.RecordRoute(res)
	slices.Reverse(route)
	return &Dialog{
		ua: ua, CallID: invite.CallID().Value(),
		LocalTag: sipmsg.FromTag(invite), RemoteTag: sipmsg.ToTag(res),
		LocalURI: *invite.From().Address.Clone(), RemoteURI: *invite.To().Address.Clone(),
		RouteSet: route, Invite: invite, Response: res,
		remoteTarget: sipmsg.RemoteTarget(res, invite.Recipient), localSeq: invite.CSeq().SeqNo, localSDP: invite.Body(),
	}
}

// newUASDialog builds the callee's dialog from the INVITE and its 2xx: the
// route set is the INVITE's Record-Route in order (RFC 3261 §12.1.1).
func newUASDialog(ua *UA, invite *sip.Request, res *sip.Response) *Dialog {
	return &Dialog{
		ua: ua, CallID: invite.CallID().Value(),
		LocalTag: sipmsg.ToTag(res), RemoteTag: sipmsg.FromTag(invite),
		LocalURI: *invite.To().Address.Clone(), RemoteURI: *invite.From().Address.Clone(),
		RouteSet: sipmsg.RecordRoute(invite), Invite: invite, Response: res,
		remoteTarget: sipmsg.RemoteTarget(invite, invite.From().Address), localSDP: res.Body(),
	}
}

// RemoteTarget returns the Request-URI of the next request this side sends.
func (d *Dialog) RemoteTarget() sip.Uri {
	d.mu.Lock()
	defer d.mu.Unlock()
	return *d.remoteTarget.Clone()
}

// NewRequest builds an in-dialog request with the next local CSeq (RFC 3261
// §12.2.1.1), for tests that add headers before calling Do.
func (d *Dialog) NewRequest(method sip.RequestMethod) *sip.Request {
	d.mu.Lock()
	d.localSeq++
	target, seq := *d.remoteTarget.Clone(), d.localSeq
	d.mu.Unlock()
	return d.build(method, target, seq)
}

func (d *Dialog) build(method sip.RequestMethod, target sip.Uri, seq uint32) *sip.Request {
	req := sip.NewRequest(method, target)
	req.AppendHeader(d.ua.newVia())
	maxForwards := sip.MaxForwardsHeader(70)
	req.AppendHeader(&maxForwards)
	for _, r := range d.RouteSet {
		req.AppendHeader(&sip.RouteHeader{Address: *r.Clone()})
	}
	req.AppendHeader(&sip.FromHeader{Address: *d.LocalURI.Clone(), Params: params("tag", d.LocalTag)})
	req.AppendHeader(&sip.ToHeader{Address: *d.RemoteURI.Clone(), Params: params("tag", d.RemoteTag)})
	callID := sip.CallIDHeader(d.CallID)
	req.AppendHeader(&callID)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: seq, MethodName: method})
	if refreshesTarget(method) {
		req.AppendHeader(d.ua.contactHeader(method))
	}
	req.SetBody(nil)
	return req
}

// sendAck ACKs the 2xx to the INVITE with CSeq number seq; the ACK is a
// request of its own, with a new branch (RFC 3261 §13.2.2.4).
func (d *Dialog) sendAck(seq uint32) error {
	return d.ua.Transport.Send(d.build(sip.ACK, d.RemoteTarget(), seq))
}

// Bye ends the dialog and returns the final response to the BYE.
func (d *Dialog) Bye(ctx context.Context) (*sip.Response, error) {
	return d.Request(ctx, sip.BYE, nil)
}

// Request sends an in-dialog request (re-INVITE, UPDATE, INFO, MESSAGE, ...)
// with body and returns its final response. Bodies of INVITE and UPDATE are
// sent as application/sdp, others as text/plain.
func (d *Dialog) Request(ctx context.Context, method sip.RequestMethod, body []byte) (*sip.Response, error) {
	req := d.NewRequest(method)
	contentType := "text/plain"
	if refreshesTarget(method) {
		contentType = "application/sdp"
	}
	setBody(req, contentType, body)
	return d.Do(ctx, req)
}

// Do sends an in-dialog request built with NewRequest and returns its final
// response. The final response to a re-INVITE is ACKed; a 2xx to INVITE or
// UPDATE refreshes the remote target.
func (d *Dialog) Do(ctx context.Context, req *sip.Request) (*sip.Response, error) {
	res, err := d.ua.roundTrip(ctx, req)
	if err != nil {
		return nil, err
	}
	if res.IsSuccess() && refreshesTarget(req.Method) {
		d.refreshTarget(res)
	}
	if req.Method != sip.INVITE {
		return res, nil
	}
	if !res.IsSuccess() {
		return res, d.ua.Transport.Send(ackNon2xx(req, res))
	}
	return res, d.sendAck(req.CSeq().SeqNo)
}

func (d *Dialog) refreshTarget(m sip.Message) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.remoteTarget = sipmsg.RemoteTarget(m, d.remoteTarget)
}
