package siptest

import (
	"context"

	"github.com/emiago/sipgo/sip"
)

// Wait waits for the final response. On a 2xx it ACKs and returns the dialog;
// on the first 401 or 407 it ACKs, answers the challenge and waits again;
// any other final response is ACKed and returned as a *StatusError.
func (c *OutgoingCall) Wait(ctx context.Context) (*Dialog, error) {
	for {
		res, err := c.finalResponse(ctx)
		if err != nil {
			return nil, err
		}
		if res.IsSuccess() {
			return c.establish(res)
		}
		if err := c.ua.Transport.Send(ackNon2xx(c.Request(), res)); err != nil {
			return nil, err
		}
		if !isChallenge(res) || c.authed || c.ua.Password == "" {
			return nil, &StatusError{Response: res}
		}
		if err := c.resendWithCredentials(res); err != nil {
			return nil, err
		}
	}
}

func (c *OutgoingCall) resendWithCredentials(challenge *sip.Response) error {
	retry, err := c.ua.withCredentials(c.Request(), challenge)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.invite, c.authed, c.provisional = retry, true, nil
	c.mu.Unlock()
	return c.ua.Transport.Send(retry)
}

// establish builds the dialog a 2xx creates and ACKs it.
func (c *OutgoingCall) establish(res *sip.Response) (*Dialog, error) {
	d := newUACDialog(c.ua, c.Request(), res)
	d.Provisional = c.Provisional()
	c.mu.Lock()
	c.dialog = d
	c.mu.Unlock()
	if err := d.sendAck(c.Request().CSeq().SeqNo); err != nil {
		return nil, err
	}
	return d, nil
}

// ackNon2xx builds the ACK for a non-2xx final response to invite, part of
// the INVITE transaction: same Via and branch, To from the response (RFC 3261
// §17.1.1.3).
func ackNon2xx(invite *sip.Request, res *sip.Response) *sip.Request {
	return sameHop(invite, sip.ACK, res.To())
}
