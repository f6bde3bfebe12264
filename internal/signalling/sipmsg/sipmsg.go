// Package sipmsg holds the small readings of a SIP message that the proxy,
// the built-in services and the test peers all need: whether it carries
// SDP, its tags, its route set and its remote target; and SDPMessage, the
// body the proxy hands its media seam. It is a leaf: it imports only sipgo.
package sipmsg

import (
	"strings"

	"github.com/emiago/sipgo/sip"
)

// HasSDP reports whether m carries a session description: a body whose
// Content-Type is application/sdp.
func HasSDP(m sip.Message) bool {
	if len(m.Body()) == 0 {
		return false
	}
	ct := m.GetHeaders("Content-Type")
	if len(ct) == 0 {
		return false
	}
	v := ct[0].Value()
	const sdp = "application/sdp"
	return len(v) >= len(sdp) && strings.EqualFold(v[:len(sdp)], sdp)
}

// FromTag returns m's From tag, "" without one.
func FromTag(m sip.Message) string {
	if h := m.From(); h != nil {
		v, _ := h.Params.Get("tag")
		return v
	}
	return ""
}

// ToTag returns m's To tag, "" without one.
func ToTag(m sip.Message) string {
	if h := m.To(); h != nil {
		v, _ := h.Params.Get("tag")
		return v
	}
	return ""
}

// HasToTag reports whether m's To header has a tag: for a request, that it
// is sent within a dialog (RFC 3261 §12.2).
func HasToTag(m sip.Message) bool {
	if h := m.To(); h != nil {
		return h.Params.Has("tag")
	}
	return false
}

// RecordRoute returns m's Record-Route entries in order, as copies: the
// route set of a UAS, RFC 3261 §12.1.1 (a UAC reverses it).
func RecordRoute(m sip.Message) []sip.Uri {
	var route []sip.Uri
	for _, h := range m.GetHeaders("Record-Route") {
		if rr, ok := h.(*sip.RecordRouteHeader); ok {
			route = append(route, *rr.Address.Clone())
		}
	}
	return route
}

// RemoteTarget returns a copy of the URI of m's first Contact (the remote
// target, RFC 3261 §12.1.1), or of fallback when m has none.
func RemoteTarget(m sip.Message, fallback sip.Uri) sip.Uri {
	for _, h := range m.GetHeaders("Contact") {
		if c, ok := h.(*sip.ContactHeader); ok {
			return *c.Address.Clone()
		}
	}
	return *fallback.Clone()
}

// SDPMessage is one SDP body on its way from one leg of a call to the
// other: what the proxy hands its media seam (sipproxy.Media) and what
// callmedia translates. It lives here, in the leaf, so that the media side
// need not import the proxy to read it.
type SDPMessage struct {
	CallID string
	// Method is the request's method, or the method a response answers.
	Method sip.RequestMethod
	// Status is 0 for a request, the status code for a response.
	Status int
	// InDialog is set for a request sent within a dialog (its To has a
	// tag, RFC 3261 §12.2): a re-INVITE, UPDATE or ACK, never a new call.
	InDialog bool
	// FromWebRTC and ToWebRTC say whether each leg runs over a WebSocket,
	// which makes it a WebRTC leg whatever its SDP says.
	FromWebRTC, ToWebRTC bool
	// Sender is the tag of the party that sent the body (RFC 3261 §19.3):
	// the From tag of a request, the To tag of a response. It tells apart
	// the legs of a call whose two legs are alike.
	Sender string
	// From and To are the message's From and To as user@host: who called
	// whom, for a message that starts a call (a response has its
	// request's From and To).
	From, To string
	Body     []byte
}

// Party returns the user@host of a From or To header, "" without one.
func Party(h *sip.FromHeader) string {
	if h == nil {
		return ""
	}
	return party(h.Address)
}

// PartyTo is Party for a To header.
func PartyTo(h *sip.ToHeader) string {
	if h == nil {
		return ""
	}
	return party(h.Address)
}

func party(u sip.Uri) string {
	if u.User == "" {
		return u.Host
	}
	return u.User + "@" + u.Host
}
