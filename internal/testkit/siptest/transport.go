package siptest

import (
	"context"
	"slices"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/internal/signalling/sipmsg"
)

// Transport carries a UA's messages. *WSClient is one; UDPPeer.Link returns
// another.
type Transport interface {
	// Send writes one message.
	Send(msg sip.Message) error
	// Next removes and returns the oldest received message for which match
	// reports true, waiting until one arrives, ctx is done or the transport ends.
	Next(ctx context.Context, match func(sip.Message) bool) (sip.Message, error)
	// Via returns a new Via header naming this transport, without a branch.
	Via() *sip.ViaHeader
	// Contact returns the URI at which user is reachable over this transport.
	Contact(user string) sip.Uri
}

var (
	_ Transport = (*WSClient)(nil)
	_ Transport = (*udpLink)(nil)
)

// isRequest matches requests whose method is one of methods, or any request
// if methods is empty.
func isRequest(methods ...sip.RequestMethod) func(sip.Message) bool {
	return func(m sip.Message) bool {
		req, ok := m.(*sip.Request)
		return ok && (len(methods) == 0 || slices.Contains(methods, req.Method))
	}
}

func isResponse(m sip.Message) bool {
	_, ok := m.(*sip.Response)
	return ok
}

// isResponseTo matches the responses of req's client transaction: same
// branch in the top Via, same CSeq method (RFC 3261 §17.1.3).
func isResponseTo(req *sip.Request) func(sip.Message) bool {
	branch, method := branchOf(req), req.CSeq().MethodName
	return func(m sip.Message) bool {
		res, ok := m.(*sip.Response)
		return ok && res.CSeq() != nil && res.CSeq().MethodName == method && branchOf(res) == branch
	}
}

// isInTransaction matches a request with method that belongs with req: the
// same Call-ID and CSeq number, as an ACK or CANCEL for an INVITE does.
func isInTransaction(req *sip.Request, method sip.RequestMethod) func(sip.Message) bool {
	callID, seq := req.CallID().Value(), req.CSeq().SeqNo
	return func(m sip.Message) bool {
		r, ok := m.(*sip.Request)
		return ok && r.Method == method && r.CallID() != nil && r.CallID().Value() == callID &&
			r.CSeq() != nil && r.CSeq().SeqNo == seq
	}
}

// isInDialog matches requests with one of methods and the dialog's Call-ID.
func isInDialog(callID string, methods ...sip.RequestMethod) func(sip.Message) bool {
	isMethod := isRequest(methods...)
	return func(m sip.Message) bool {
		return isMethod(m) && m.CallID() != nil && m.CallID().Value() == callID
	}
}

// isNewInvite matches INVITEs that start a dialog: no To tag (RFC 3261 §12.1).
func isNewInvite(m sip.Message) bool {
	req, ok := m.(*sip.Request)
	return ok && req.Method == sip.INVITE && req.To() != nil && !sipmsg.HasToTag(req)
}

func branchOf(m sip.Message) string {
	if via := m.Via(); via != nil {
		return via.Params.GetOr("branch", "")
	}
	return ""
}
