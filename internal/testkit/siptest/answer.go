package siptest

import (
	"context"
	"fmt"

	"github.com/emiago/sipgo/sip"
)

// Incoming is an INVITE a UA received and has not answered with a final
// response yet: an INVITE server transaction (RFC 3261 §17.2.1).
type Incoming struct {
	ua     *UA
	Invite *sip.Request
}

// NextInvite waits for an INVITE that starts a new dialog. Re-INVITEs stay
// queued for Dialog.Await.
func (ua *UA) NextInvite(ctx context.Context) (*Incoming, error) {
	m, err := ua.Transport.Next(ctx, isNewInvite)
	if err != nil {
		return nil, fmt.Errorf("siptest: waiting for INVITE: %w", err)
	}
	return &Incoming{ua: ua, Invite: m.(*sip.Request)}, nil
}

// AnswerNext waits for an INVITE that starts a dialog, answers 180 Ringing
// then 200 OK with sdp, waits for the ACK and returns the dialog.
func (ua *UA) AnswerNext(ctx context.Context, sdp []byte) (*Dialog, error) {
	in, err := ua.NextInvite(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := in.Respond(sip.StatusRinging, "", nil); err != nil {
		return nil, err
	}
	return in.Answer(ctx, sdp)
}

// Respond sends a response to the INVITE; an empty reason is filled in. All
// responses but 100 carry the same To tag, and 1xx/2xx carry a Contact.
func (in *Incoming) Respond(code int, reason string, body []byte) (*sip.Response, error) {
	contact := in.ua.Transport.Contact(in.ua.User)
	res := newResponse(in.Invite, code, reason, body, &contact)
	return res, in.ua.Transport.Send(res)
}

// Answer sends 200 OK with sdp, waits for the ACK and returns the dialog.
func (in *Incoming) Answer(ctx context.Context, sdp []byte) (*Dialog, error) {
	res, err := in.Respond(sip.StatusOK, "OK", sdp)
	if err != nil {
		return nil, err
	}
	if _, err := in.ua.Transport.Next(ctx, isInTransaction(in.Invite, sip.ACK)); err != nil {
		return nil, fmt.Errorf("siptest: waiting for ACK: %w", err)
	}
	return newUASDialog(in.ua, in.Invite, res), nil
}

// Reject sends a final non-2xx response, such as 486, and waits for its ACK.
func (in *Incoming) Reject(ctx context.Context, code int) error {
	if _, err := in.Respond(code, "", nil); err != nil {
		return err
	}
	if _, err := in.ua.Transport.Next(ctx, isInTransaction(in.Invite, sip.ACK)); err != nil {
		return fmt.Errorf("siptest: waiting for ACK: %w", err)
	}
	return nil
}

// AwaitCancel waits for a CANCEL of the INVITE, answers it 200 and the
// INVITE 487 (RFC 3261 §9.2), waits for the ACK and returns the CANCEL.
func (in *Incoming) AwaitCancel(ctx context.Context) (*sip.Request, error) {
	m, err := in.ua.Transport.Next(ctx, isInTransaction(in.Invite, sip.CANCEL))
	if err != nil {
		return nil, fmt.Errorf("siptest: waiting for CANCEL: %w", err)
	}
	cancel := m.(*sip.Request)
	if err := in.ua.Transport.Send(newResponse(cancel, sip.StatusOK, "OK", nil, nil)); err != nil {
		return nil, err
	}
	return cancel, in.Reject(ctx, sip.StatusRequestTerminated)
}
