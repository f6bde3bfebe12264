package callmedia

import (
	"time"

	"github.com/switchboard-gw/switchboard/internal/media/sdprewrite"
)

// leg is switchboard's end of an anchored call towards one party. An SDP
// goes through its sender's leg, in, which makes it a plain SDP addressed
// to switchboard's media, then through the other leg, out, which makes it
// the SDP that leg's party receives and points switchboard's media at the
// address the plain SDP gives. answer says whether the SDP is an offer or
// the answer to the other party's; errors carry a SIP status.
type leg interface {
	in(body []byte, answer bool) (plain []byte, err error)
	out(plain []byte, answer bool) ([]byte, sdprewrite.PlainRemote, error)
}

// translateLocked turns an SDP from leg from into the SDP for the other
// leg, deciding from the call's state whether it is an offer or an answer
// (RFC 3264 §4): an SDP from the leg that did not make the outstanding
// offer answers it, anything else is a new offer. settles is false for an
// answer in a provisional response, which a later one may repeat. A
// refused offer leaves the state as it was.
func (c *call) translateLocked(from int, body []byte, settles bool) ([]byte, error) {
	answer := c.offerFrom != noLeg && c.offerFrom != from
	plain, err := c.legs[from].in(body, answer)
	if err != nil {
		return nil, err
	}
	out, remote, err := c.legs[1-from].out(plain, answer)
	if err != nil {
		return nil, err
	}
	if len(remote.Codecs) > 0 {
		c.codec = remote.Codecs[0].Name
	}
	switch {
	case !answer:
		c.offerFrom = from
	case settles:
		c.offerFrom = noLeg
	}
	c.answered = c.answered || answer
	if answer && settles && c.settled.IsZero() {
		c.settled = time.Now()
	}
	return out, nil
}
