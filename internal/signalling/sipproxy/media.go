package sipproxy

import (
	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/internal/signalling/sipmsg"
	"github.com/switchboard-gw/switchboard/internal/signalling/siptransport"
)

// rewriteRequest translates the SDP of a request going from one conn to
// another; it is a no-op without a Media or without SDP.
func (p *Proxy) rewriteRequest(req *sip.Request, from, to siptransport.Conn) error {
	if p.media == nil || !sipmsg.HasSDP(req) {
		return nil
	}
	body, err := p.media.Rewrite(sipmsg.SDPMessage{
		CallID: req.CallID().Value(), Method: req.Method, InDialog: sipmsg.HasToTag(req), Sender: sipmsg.FromTag(req),
		FromWebRTC: isWS(from), ToWebRTC: isWS(to), Body: req.Body(),
		From: sipmsg.Party(req.From()), To: sipmsg.PartyTo(req.To()),
	})
	if err != nil {
		return err
	}
	req.SetBody(body)
	return nil
}

// rewriteResponse translates the SDP of a response relayed to the caller.
func (p *Proxy) rewriteResponse(res *sip.Response, method sip.RequestMethod, from, to siptransport.Conn) error {
	if p.media == nil || !sipmsg.HasSDP(res) {
		return nil
	}
	body, err := p.media.Rewrite(sipmsg.SDPMessage{
		CallID: res.CallID().Value(), Method: method, Status: res.StatusCode, Sender: sipmsg.ToTag(res),
		FromWebRTC: isWS(from), ToWebRTC: isWS(to), Body: res.Body(),
		From: sipmsg.Party(res.From()), To: sipmsg.PartyTo(res.To()),
	})
	if err != nil {
		return err
	}
	res.SetBody(body)
	return nil
}

// endMedia releases a call's media.
func (p *Proxy) endMedia(callID, reason string) {
	if p.media != nil {
		p.media.End(callID, reason)
	}
}

func isWS(c siptransport.Conn) bool { return c != nil && siptransport.IsWebSocket(c.Transport()) }
