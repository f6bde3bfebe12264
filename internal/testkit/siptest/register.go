package siptest

import (
	"context"

	"github.com/emiago/sipgo/sip"
)

// Register sends REGISTER for the user's address of record with the given
// expiry in seconds (0 unregisters), answers one digest challenge, and
// returns the final response. Successive calls share a Call-ID and increase
// the CSeq, as RFC 3261 §10.2 asks.
func (ua *UA) Register(ctx context.Context, expires int) (*sip.Response, error) {
	req := ua.buildRequest(sip.REGISTER, sip.Uri{Scheme: "sip", Host: ua.Domain}, ua.AOR())
	callID, seq := ua.nextRegistration()
	*req.CallID() = sip.CallIDHeader(callID)
	req.CSeq().SeqNo = seq
	exp := sip.ExpiresHeader(expires)
	req.AppendHeader(&exp)
	res, err := ua.Do(ctx, req)
	if res != nil {
		ua.noteRegistrationCSeq(res.CSeq().SeqNo)
	}
	return res, err
}

func (ua *UA) nextRegistration() (callID string, seq uint32) {
	ua.mu.Lock()
	defer ua.mu.Unlock()
	if ua.regCallID == "" {
		ua.regCallID = randToken(22)
	}
	ua.regCSeq++
	return ua.regCallID, ua.regCSeq
}

func (ua *UA) noteRegistrationCSeq(seq uint32) {
	ua.mu.Lock()
	defer ua.mu.Unlock()
	ua.regCSeq = max(ua.regCSeq, seq)
}
