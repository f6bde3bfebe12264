package sipproxy

import (
	"sync"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/internal/signalling/siptransport"
)

// dialogs remembers the calls switchboard record-routed, so that it can end
// them itself: on a media timeout, or when one leg's WebSocket is lost.
type dialogs struct {
	// mu guards byCallID.
	mu       sync.Mutex
	byCallID map[string]*dialog
}

// dialog is what switchboard needs to send BYE to both ends of a call.
type dialog struct {
	callID         string
	caller, callee dialogEnd
	life           dialogLife // guarded by dialogs.mu
}

// dialogEnd is one end of a dialog as seen from switchboard.
type dialogEnd struct {
	conn   siptransport.Conn
	target sip.Uri        // its Contact: the Request-URI of requests to it
	self   sip.FromHeader // its own identity (URI and tag)
	cseq   uint32         // the highest CSeq it has sent
}

func newDialogs() *dialogs { return &dialogs{byCallID: map[string]*dialog{}} }

// newDialog is the dialog a 2xx to an initial INVITE created, or nil when
// switchboard lacks what it needs to end it.
func newDialog(inv *sip.Request, callerConn, calleeConn siptransport.Conn, res *sip.Response) *dialog {
	callerContact, calleeContact := inv.Contact(), res.Contact()
	if callerContact == nil || calleeContact == nil || calleeConn == nil {
		return nil
	}
	to := res.To().AsFrom()
	d := &dialog{
		callID: inv.CallID().Value(),
		caller: dialogEnd{conn: callerConn, target: *callerContact.Address.Clone(), self: *inv.From(), cseq: inv.CSeq().SeqNo},
		callee: dialogEnd{conn: calleeConn, target: *calleeContact.Address.Clone(), self: to},
	}
	return d
}

// sawRequest keeps each end's CSeq current as in-dialog requests pass.
func (ds *dialogs) sawRequest(req *sip.Request) {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	d := ds.byCallID[req.CallID().Value()]
	if d == nil {
		return
	}
	tag, _ := req.From().Params.Get("tag")
	for _, end := range []*dialogEnd{&d.caller, &d.callee} {
		if t, _ := end.self.Params.Get("tag"); t == tag && req.CSeq().SeqNo > end.cseq {
			end.cseq = req.CSeq().SeqNo
		}
	}
}

// take removes and returns a dialog.
func (ds *dialogs) take(callID string) *dialog {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	d := ds.byCallID[callID]
	delete(ds.byCallID, callID)
	if d != nil {
		d.stopLocked()
	}
	return d
}

// onFlow returns the Call-IDs of the dialogs with an end on flowID.
func (ds *dialogs) onFlow(flowID string) []string {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	var ids []string
	for id, d := range ds.byCallID {
		if d.caller.conn.FlowID() == flowID || d.callee.conn.FlowID() == flowID {
			ids = append(ids, id)
		}
	}
	return ids
}

// Hangup ends a call switchboard record-routed: a BYE to each end whose
// connection is still there (RFC 3261 §15), and its media released. It
// reports whether the call was known.
func (p *Proxy) Hangup(callID, reason string) bool {
	d := p.dialogs.take(callID)
	p.endMedia(callID, reason)
	if d == nil {
		return false
	}
	p.sendBye(d, &d.caller, &d.callee, reason)
	p.sendBye(d, &d.callee, &d.caller, reason)
	return true
}

// sendBye sends to end `to` the BYE that end `from` would have sent.
func (p *Proxy) sendBye(d *dialog, to, from *dialogEnd, reason string) {
	if _, live := p.net.Lookup(to.conn.FlowID()); !live && siptransport.Reliable(to.conn) {
		return
	}
	bye := sip.NewRequest(sip.BYE, *to.target.Clone())
	fromHdr := sip.FromHeader(from.self)
	fromHdr.Params = from.self.Params.Clone()
	toHdr := to.self.AsTo()
	toHdr.Params = to.self.Params.Clone()
	callID := sip.CallIDHeader(d.callID)
	from.cseq++
	bye.AppendHeader(&fromHdr)
	bye.AppendHeader(&toHdr)
	bye.AppendHeader(&callID)
	bye.AppendHeader(&sip.CSeqHeader{SeqNo: from.cseq, MethodName: sip.BYE})
	mf := sip.MaxForwardsHeader(70)
	bye.AppendHeader(&mf)
	bye.AppendHeader(sip.NewHeader("Reason", `SIP;cause=200;text="`+reason+`"`))
	bye.SetBody(nil)
	bye.PrependHeader(p.via(to.conn, p.newBranch(bye)))
	_, _ = p.layer.Request(bye, to.conn, ignoreResponses{})
}
