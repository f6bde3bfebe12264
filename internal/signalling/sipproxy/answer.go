package sipproxy

import (
	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/internal/signalling/sipmsg"
)

// answer is what became of one 2xx to an INVITE, by its To tag: the body
// relayed, or the ACK that refused it. A retransmission of that 2xx gets the
// same (RFC 3261 §13.3.1.4: the UAS retransmits until it hears the ACK)
// without asking Media again, which would read it as a new offer.
type answer struct {
	body []byte       // the translated body relayed
	ack  *sip.Request // set when the 2xx was refused
}

// relayAnswerLocked relays a 2xx to an INVITE of branch b, its SDP
// translated, the first one confirming the dialog; it reports false when
// the SDP could not be, and the 2xx was refused (refuseAnswerLocked). A retransmitted 2xx is relayed with the
// body relayed the first time, or acknowledged again if it was refused.
func (c *call) relayAnswerLocked(b *branch, res *sip.Response) bool {
	tag := sipmsg.ToTag(res)
	if a := b.answers[tag]; a != nil {
		if a.ack != nil {
			_ = b.t.conn.Send(a.ack)
			return false
		}
		if c.opts.rewrite != nil {
			c.opts.rewrite(res)
		}
		if a.body != nil {
			res.SetBody(a.body)
		}
		_ = c.tx.Respond(res)
		return true
	}
	if c.opts.rewrite != nil {
		c.opts.rewrite(res)
	}
	if err := c.p.rewriteResponse(res, c.tx.Request.Method, b.t.conn, c.tx.Conn); err != nil {
		c.refuseAnswerLocked(b, res, err)
		return false
	}
	if b.answers == nil {
		b.answers = map[string]*answer{}
	}
	a := &answer{}
	if sipmsg.HasSDP(res) {
		a.body = res.Body()
	}
	b.answers[sipmsg.ToTag(res)] = a
	if !c.answered && c.initial {
		c.p.dialogConfirmed(c.tx.Request, c.tx.Conn, b.t.conn, res, c.opts.lease)
	}
	c.answered = true
	_ = c.tx.Respond(res)
	return true
}

// refuseAnswerLocked refuses a 2xx whose SDP Media could not translate:
// relayed as is it would hand the caller the callee's own SDP (its private
// address, or no DTLS at all towards a browser), and a proxy may not turn
// a 2xx into anything else (RFC 3261 §16.7 step 5). So it is not relayed;
// switchboard ends the callee's dialog as an offerer that cannot accept an
// answer does (RFC 3264 §6: ACK, then BYE), and the branch counts as
// failed with the status err calls for (RFC 3261 §16.7 step 6), which the
// caller gets unless another branch answers. A refused answer to a
// re-INVITE ends the whole dialog: its two ends no longer agree on the
// session.
func (c *call) refuseAnswerLocked(b *branch, res *sip.Response, err error) {
	p := c.p
	callID := res.CallID().Value()
	p.log.Warn("2xx refused: its SDP cannot be translated", "call_id", callID, "error", err)
	p.metrics.answerRefused(true)
	ack := p.ackFor2xx(b.req, res, b.t)
	if b.answers == nil {
		b.answers = map[string]*answer{}
	}
	b.answers[sipmsg.ToTag(res)] = &answer{ack: ack}
	_ = b.t.conn.Send(ack)
	if c.initial {
		d := &dialog{callID: callID,
			caller: dialogEnd{self: *b.req.From(), cseq: b.req.CSeq().SeqNo},
			callee: dialogEnd{conn: b.t.conn, target: ack.Recipient, self: res.To().AsFrom()}}
		p.sendBye(d, &d.callee, &d.caller, "SDP refused")
	} else {
		p.Hangup(callID, "SDP refused")
	}
	if c.answered {
		return
	}
	se := asStatus(err)
	c.keepBestLocked(p.response(c.tx.Request, se.Code, se.Reason))
	c.settleLocked(b, false)
}

// ackFor2xx builds the ACK for a 2xx to inv, sent by switchboard itself
// (RFC 3261 §13.2.2.4): to the callee's Contact, with the INVITE's CSeq
// number, on the branch's connection.
func (p *Proxy) ackFor2xx(inv *sip.Request, res *sip.Response, t target) *sip.Request {
	ruri := inv.Recipient
	if c := res.Contact(); c != nil {
		ruri = c.Address
	}
	ack := sip.NewRequest(sip.ACK, *ruri.Clone())
	ack.AppendHeader(sip.HeaderClone(inv.From()))
	ack.AppendHeader(sip.HeaderClone(res.To()))
	ack.AppendHeader(sip.HeaderClone(inv.CallID()))
	ack.AppendHeader(&sip.CSeqHeader{SeqNo: inv.CSeq().SeqNo, MethodName: sip.ACK})
	mf := sip.MaxForwardsHeader(70)
	ack.AppendHeader(&mf)
	ack.SetBody(nil)
	ack.PrependHeader(p.via(t.conn, p.newBranch(ack)))
	return ack
}

// relayWithoutBodyLocked relays a provisional (or non-2xx final) response
// whose SDP Media could not translate without its body: the caller hears
// that the call progresses, never the callee's own SDP.
func (c *call) relayWithoutBodyLocked(res *sip.Response, err error) {
	c.p.log.Warn("response relayed without its SDP, which cannot be translated",
		"call_id", res.CallID().Value(), "status", res.StatusCode, "error", err)
	c.p.metrics.answerRefused(false)
	res.RemoveHeader("Content-Type")
	res.SetBody(nil)
}
