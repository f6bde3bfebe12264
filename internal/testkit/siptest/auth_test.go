package siptest

import (
	"sync"
	"testing"

	"github.com/emiago/sipgo/sip"
)

func TestInviteAnswersProxyChallenge(t *testing.T) {
	checkNoLeaks(t)
	alice, bob := uaPair(t)
	alice.Password = "secret"
	proxyChallenge := digestChallenge{realm: "switchboard", nonce: "n2", qop: []string{"auth"}}
	var wg sync.WaitGroup
	var second *sip.Request
	wg.Go(func() {
		second = challengeThenAnswer(t, bob, `Digest realm="switchboard", nonce="n2", qop="auth"`)
	})
	if _, err := alice.Invite(testCtx(t), bob.AOR(), offer); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if second == nil {
		t.FailNow()
	}
	cred := second.GetHeader("Proxy-Authorization")
	if cred == nil || checkDigest(cred.Value(), "INVITE", "secret", proxyChallenge) != nil {
		t.Fatalf("second INVITE lacks valid Proxy-Authorization:\n%s", second)
	}
	if second.CSeq().SeqNo != 2 {
		t.Errorf("second INVITE CSeq = %d, want 2", second.CSeq().SeqNo)
	}
}

// challengeThenAnswer answers the first INVITE 407 and the second 200, and
// returns the second.
func challengeThenAnswer(t *testing.T, bob *UA, challenge string) *sip.Request {
	ctx := testCtx(t)
	in, err := bob.NextInvite(ctx)
	if err != nil {
		t.Errorf("first INVITE: %v", err)
		return nil
	}
	res := newResponse(in.Invite, sip.StatusProxyAuthRequired, "", nil, nil)
	res.AppendHeader(sip.NewHeader("Proxy-Authenticate", challenge))
	bob.Transport.Send(res)
	if _, err := bob.Transport.Next(ctx, isInTransaction(in.Invite, sip.ACK)); err != nil {
		t.Errorf("ACK for 407: %v", err)
	}
	in, err = bob.NextInvite(ctx)
	if err == nil {
		_, err = in.Answer(ctx, answer)
	}
	if err != nil {
		t.Errorf("second INVITE: %v", err)
		return nil
	}
	return in.Invite
}
