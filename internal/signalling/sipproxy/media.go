package sipproxy

import (
	"bytes"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/internal/signalling/siptransport"
)

// Media rewrites the session descriptions of calls whose media switchboard
// anchors. The proxy hands it every SDP body it forwards, in order, and
// tells it when a dialog ends. Without one, bodies pass through untouched.
type Media interface {
	// Rewrite returns the body to forward for m; an error is answered with
	// the SIP status it maps to (488 for SDP switchboard cannot translate,
	// 503 when no media ports are free).
	Rewrite(m MediaMessage) ([]byte, error)
	// End releases the media of a call.
	End(callID, reason string)
}

// MediaMessage is one SDP body on its way from one leg to the other.
type MediaMessage struct {
	CallID string
	// Method is the request's method, or the method a response answers.
	Method sip.RequestMethod
	// Status is 0 for a request, the status code for a response.
	Status int
	// FromWebRTC and ToWebRTC say whether each leg runs over a WebSocket,
	// which makes it a WebRTC leg whatever its SDP says.
	FromWebRTC, ToWebRTC bool
	// Sender is the tag of the party that sent the body (RFC 3261 §19.3):
	// the From tag of a request, the To tag of a response. It tells apart
	// the legs of a call whose two legs are alike.
	Sender string
	Body   []byte
}

// hasSDP reports whether a message carries a session description.
func hasSDP(m sip.Message) bool {
	if len(m.Body()) == 0 {
		return false
	}
	ct := m.GetHeaders("Content-Type")
	return len(ct) > 0 && bytes.HasPrefix(bytes.ToLower([]byte(ct[0].Value())), []byte("application/sdp"))
}

// rewriteRequest translates the SDP of a request going from one conn to
// another; it is a no-op without a Media or without SDP.
func (p *Proxy) rewriteRequest(req *sip.Request, from, to siptransport.Conn) error {
	if p.media == nil || !hasSDP(req) {
		return nil
	}
	body, err := p.media.Rewrite(MediaMessage{
		CallID: req.CallID().Value(), Method: req.Method, Sender: fromTag(req),
		FromWebRTC: isWS(from), ToWebRTC: isWS(to), Body: req.Body(),
	})
	if err != nil {
		return err
	}
	req.SetBody(body)
	return nil
}

// rewriteResponse translates the SDP of a response relayed to the caller.
func (p *Proxy) rewriteResponse(res *sip.Response, method sip.RequestMethod, from, to siptransport.Conn) error {
	if p.media == nil || !hasSDP(res) {
		return nil
	}
	body, err := p.media.Rewrite(MediaMessage{
		CallID: res.CallID().Value(), Method: method, Status: res.StatusCode, Sender: toTag(res),
		FromWebRTC: isWS(from), ToWebRTC: isWS(to), Body: res.Body(),
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

// fromTag and toTag return a message's From or To tag, "" without one.
func fromTag(m sip.Message) string {
	if h := m.From(); h != nil {
		v, _ := h.Params.Get("tag")
		return v
	}
	return ""
}

func toTag(m sip.Message) string {
	if h := m.To(); h != nil {
		v, _ := h.Params.Get("tag")
		return v
	}
	return ""
}

func isWS(c siptransport.Conn) bool { return c != nil && siptransport.IsWebSocket(c.Transport()) }
