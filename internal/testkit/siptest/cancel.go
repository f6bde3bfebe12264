package siptest

import (
	"context"

	"github.com/emiago/sipgo/sip"
)

// Cancel cancels the call and returns the INVITE's final response, normally
// 487, which it ACKs. Per RFC 3261 §9.1 it first waits for a provisional
// response, and sends CANCEL with the INVITE's Via, so the same branch. If
// the call is answered before the CANCEL takes effect, the 2xx is ACKed and
// returned, and Dialog returns the dialog it created.
func (c *OutgoingCall) Cancel(ctx context.Context) (*sip.Response, error) {
	if len(c.Provisional()) == 0 {
		_, err := c.WaitProvisional(ctx)
		if _, final := err.(*StatusError); final {
			return c.finish(ctx)
		}
		if err != nil {
			return nil, err
		}
	}
	if _, err := c.ua.roundTrip(ctx, newCancel(c.Request())); err != nil {
		return nil, err
	}
	return c.finish(ctx)
}

// finish waits for the final response and ACKs it.
func (c *OutgoingCall) finish(ctx context.Context) (*sip.Response, error) {
	res, err := c.finalResponse(ctx)
	if err != nil {
		return nil, err
	}
	if res.IsSuccess() {
		_, err = c.establish(res)
		return res, err
	}
	return res, c.ua.Transport.Send(ackNon2xx(c.Request(), res))
}

// newCancel builds a CANCEL for invite (RFC 3261 §9.1): same Request-URI,
// Call-ID, From, To, CSeq number, Route and top Via.
func newCancel(invite *sip.Request) *sip.Request {
	return sameHop(invite, sip.CANCEL, invite.To())
}

// sameHop builds a request that goes where invite went, as part of its
// transaction: same Request-URI, top Via (and branch), Route, From, Call-ID
// and CSeq number, with method and to.
func sameHop(invite *sip.Request, method sip.RequestMethod, to *sip.ToHeader) *sip.Request {
	req := sip.NewRequest(method, *invite.Recipient.Clone())
	req.AppendHeader(invite.Via().Clone())
	sip.CopyHeaders("Route", invite, req)
	maxForwards := sip.MaxForwardsHeader(70)
	req.AppendHeader(&maxForwards)
	req.AppendHeader(sip.HeaderClone(invite.From()))
	req.AppendHeader(sip.HeaderClone(to))
	req.AppendHeader(sip.HeaderClone(invite.CallID()))
	req.AppendHeader(&sip.CSeqHeader{SeqNo: invite.CSeq().SeqNo, MethodName: method})
	req.SetBody(nil)
	return req
}
