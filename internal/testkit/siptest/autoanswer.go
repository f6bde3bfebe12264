package siptest

import (
	"net/netip"
	"sync/atomic"

	"github.com/emiago/sipgo/sip"
)

// UDPStats counts what a UDPPeer in auto-answer mode did.
type UDPStats struct {
	// Answered counts INVITEs that started a call and were answered 200.
	Answered int64
	// Ended counts BYEs answered 200.
	Ended int64
	// Acks counts ACKs absorbed.
	Acks int64
	// Other counts other requests answered 200 (REGISTER, OPTIONS, CANCEL, ...).
	Other int64
	// ParseErrors counts datagrams that were not SIP messages.
	ParseErrors int64
}

type udpCounters struct {
	answered, ended, acks, other, parseErrors atomic.Int64
}

// Stats returns the peer's counters.
func (p *UDPPeer) Stats() UDPStats {
	c := &p.stats
	return UDPStats{
		Answered: c.answered.Load(), Ended: c.ended.Load(), Acks: c.acks.Load(),
		Other: c.other.Load(), ParseErrors: c.parseErrors.Load(),
	}
}

// autoAnswer handles a received request as a benchmark PBX would and
// reports whether it did; responses are left for the queue.
func (p *UDPPeer) autoAnswer(msg sip.Message, from netip.AddrPort) bool {
	req, ok := msg.(*sip.Request)
	if !ok {
		return false
	}
	switch req.Method {
	case sip.ACK:
		p.stats.acks.Add(1)
	case sip.INVITE:
		p.answerInvite(req, from)
	case sip.BYE:
		p.reply(req, from, sip.StatusOK, nil)
		p.stats.ended.Add(1)
	default:
		p.reply(req, from, sip.StatusOK, nil)
		p.stats.other.Add(1)
	}
	return true
}

// answerInvite sends 180 then 200 with the same To tag; both copy the
// INVITE's Record-Route (RFC 3261 §12.1.1). A re-INVITE just gets the 200.
func (p *UDPPeer) answerInvite(req *sip.Request, from netip.AddrPort) {
	initial := isNewInvite(req)
	if initial {
		p.reply(req, from, sip.StatusRinging, nil)
	}
	p.reply(req, from, sip.StatusOK, p.autoSDP)
	if initial {
		p.stats.answered.Add(1)
	}
}

// reply sends a response to from. A failed write means the socket is
// closing, which the read loop is about to see, so it is not reported.
func (p *UDPPeer) reply(req *sip.Request, from netip.AddrPort, code int, body []byte) {
	contact := p.contact("peer")
	_ = p.Send(newResponse(req, code, "", body, &contact), from)
}
