package siptest

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/emiago/sipgo/sip"
)

// OutgoingCall is an INVITE the UA has sent and that has no final response
// yet: an INVITE client transaction (RFC 3261 §17.1.1). Wait and Cancel must
// not run at the same time.
type OutgoingCall struct {
	ua *UA

	mu sync.Mutex
	// invite is the INVITE as last sent: replaced when a challenge is answered.
	invite      *sip.Request
	provisional []*sip.Response
	// final is a final response read while waiting for a provisional one.
	final  *sip.Response
	authed bool
	dialog *Dialog
}

// Invite calls target with an SDP offer and returns the dialog once the call
// is answered and ACKed. It answers one 401 or 407 with credentials. A
// non-2xx final response is ACKed and returned as a *StatusError.
func (ua *UA) Invite(ctx context.Context, target sip.Uri, sdp []byte) (*Dialog, error) {
	call, err := ua.InviteAsync(target, sdp)
	if err != nil {
		return nil, err
	}
	return call.Wait(ctx)
}

// InviteAsync sends an INVITE to target with an SDP offer and returns at once.
func (ua *UA) InviteAsync(target sip.Uri, sdp []byte) (*OutgoingCall, error) {
	req := ua.NewRequest(sip.INVITE, target)
	setBody(req, "application/sdp", sdp)
	return ua.SendInvite(req)
}

// SendInvite sends an INVITE built by the caller, typically with NewRequest
// and extra headers, and returns at once.
func (ua *UA) SendInvite(req *sip.Request) (*OutgoingCall, error) {
	if err := ua.Transport.Send(req); err != nil {
		return nil, fmt.Errorf("siptest: send INVITE: %w", err)
	}
	return &OutgoingCall{ua: ua, invite: req}, nil
}

// Request returns the INVITE as last sent.
func (c *OutgoingCall) Request() *sip.Request {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.invite
}

// Dialog returns the dialog the call's 2xx created, or nil.
func (c *OutgoingCall) Dialog() *Dialog {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dialog
}

// Provisional returns the provisional responses received so far.
func (c *OutgoingCall) Provisional() []*sip.Response {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.provisional)
}

// WaitProvisional waits for the next provisional response, such as 180.
// It fails with a *StatusError if a final response comes first; that
// response is kept for Wait or Cancel.
func (c *OutgoingCall) WaitProvisional(ctx context.Context) (*sip.Response, error) {
	c.mu.Lock()
	final := c.final
	c.mu.Unlock()
	if final != nil {
		return nil, &StatusError{Response: final}
	}
	res, err := c.next(ctx)
	if err != nil {
		return nil, err
	}
	if !res.IsProvisional() {
		c.mu.Lock()
		c.final = res
		c.mu.Unlock()
		return nil, &StatusError{Response: res}
	}
	return res, nil
}

// next returns the next response to the INVITE, recording provisional ones.
func (c *OutgoingCall) next(ctx context.Context) (*sip.Response, error) {
	m, err := c.ua.Transport.Next(ctx, isResponseTo(c.Request()))
	if err != nil {
		return nil, fmt.Errorf("siptest: waiting for response to INVITE: %w", err)
	}
	res := m.(*sip.Response)
	if res.IsProvisional() {
		c.mu.Lock()
		c.provisional = append(c.provisional, res)
		c.mu.Unlock()
	}
	return res, nil
}

// pendingFinal takes the final response WaitProvisional kept, if any.
func (c *OutgoingCall) pendingFinal() *sip.Response {
	c.mu.Lock()
	defer c.mu.Unlock()
	res := c.final
	c.final = nil
	return res
}

// finalResponse waits for the INVITE's final response.
func (c *OutgoingCall) finalResponse(ctx context.Context) (*sip.Response, error) {
	if res := c.pendingFinal(); res != nil {
		return res, nil
	}
	for {
		res, err := c.next(ctx)
		if err != nil || !res.IsProvisional() {
			return res, err
		}
	}
}
