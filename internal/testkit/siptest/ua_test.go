package siptest

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/emiago/sipgo/sip"
)

// uaPair returns two UAs over UDP that send to each other.
func uaPair(t *testing.T) (alice, bob *UA) {
	a, b := newTestUDPPeer(t), newTestUDPPeer(t)
	return a.UA("alice", b.Addr()), b.UA("bob", a.Addr())
}

var (
	offer  = AudioSDP("127.0.0.1", 5004)
	answer = AudioSDP("127.0.0.1", 6004)
)

// answered runs answer on bob in the background; Wait returns its result.
type answered struct {
	wg  sync.WaitGroup
	d   *Dialog
	err error
}

func answerInBackground(t *testing.T, bob *UA) *answered {
	a := &answered{}
	a.wg.Go(func() { a.d, a.err = bob.AnswerNext(testCtx(t), answer) })
	return a
}

func (a *answered) Wait(t *testing.T) *Dialog {
	t.Helper()
	a.wg.Wait()
	if a.err != nil {
		t.Fatalf("AnswerNext: %v", a.err)
	}
	return a.d
}

func TestCallBetweenUAs(t *testing.T) {
	checkNoLeaks(t)
	alice, bob := uaPair(t)
	ctx := testCtx(t)
	pending := answerInBackground(t, bob)
	caller, err := alice.Invite(ctx, bob.AOR(), offer)
	if err != nil {
		t.Fatal(err)
	}
	callee := pending.Wait(t)
	checkDialogsMatch(t, caller, callee)
	if string(caller.Response.Body()) != string(answer) || string(callee.Invite.Body()) != string(offer) {
		t.Error("SDP offer or answer did not arrive intact")
	}
	reinvite(t, caller, callee)
	serveAndHangUp(t, caller, bob)
}

func checkDialogsMatch(t *testing.T, caller, callee *Dialog) {
	t.Helper()
	if caller.CallID != callee.CallID || caller.LocalTag != callee.RemoteTag || caller.RemoteTag != callee.LocalTag {
		t.Errorf("caller %s %s %s, callee %s %s %s: want mirrored dialog IDs",
			caller.CallID, caller.LocalTag, caller.RemoteTag, callee.CallID, callee.RemoteTag, callee.LocalTag)
	}
	if got, want := caller.RemoteTarget(), callee.ua.Transport.Contact("bob"); got.String() != want.String() {
		t.Errorf("caller remote target = %s, want %s", &got, &want)
	}
}

// reinvite has the caller re-INVITE and the callee answer it.
func reinvite(t *testing.T, caller, callee *Dialog) {
	t.Helper()
	var wg sync.WaitGroup
	var awaitErr error
	wg.Go(func() { _, awaitErr = callee.Await(testCtx(t), sip.INVITE) })
	res, err := caller.Request(testCtx(t), sip.INVITE, offer)
	wg.Wait()
	if err != nil || awaitErr != nil || res.StatusCode != sip.StatusOK {
		t.Fatalf("re-INVITE = %v, %v; Await: %v; want 200", res, err, awaitErr)
	}
	if string(res.Body()) != string(answer) {
		t.Error("re-INVITE 200 does not carry the callee's SDP")
	}
}

// serveAndHangUp has bob Serve while the caller sends INFO and BYE.
func serveAndHangUp(t *testing.T, caller *Dialog, bob *UA) {
	t.Helper()
	ctx := testCtx(t)
	served := make(chan error, 1)
	serveCtx, stop := context.WithCancel(ctx)
	go func() { served <- bob.Serve(serveCtx) }()
	for _, method := range []sip.RequestMethod{sip.INFO, sip.BYE} {
		if res, err := caller.Request(ctx, method, nil); err != nil || res.StatusCode != sip.StatusOK {
			t.Fatalf("%s = %v, %v; want 200", method, res, err)
		}
	}
	stop()
	if err := <-served; err != nil {
		t.Errorf("Serve = %v, want nil", err)
	}
	if bob.Served(sip.INFO) != 1 || bob.Served(sip.BYE) != 1 {
		t.Errorf("served INFO %d, BYE %d; want 1 each", bob.Served(sip.INFO), bob.Served(sip.BYE))
	}
}

func TestCalleeHangsUp(t *testing.T) {
	checkNoLeaks(t)
	alice, bob := uaPair(t)
	pending := answerInBackground(t, bob)
	caller, err := alice.Invite(testCtx(t), bob.AOR(), offer)
	if err != nil {
		t.Fatal(err)
	}
	callee := pending.Wait(t)
	var wg sync.WaitGroup
	wg.Go(func() {
		if _, err := caller.Await(testCtx(t), sip.BYE); err != nil {
			t.Errorf("Await BYE: %v", err)
		}
	})
	if res, err := callee.Bye(testCtx(t)); err != nil || res.StatusCode != sip.StatusOK {
		t.Fatalf("Bye = %v, %v; want 200", res, err)
	}
	wg.Wait()
}

func TestCancel(t *testing.T) {
	checkNoLeaks(t)
	alice, bob := uaPair(t)
	var wg sync.WaitGroup
	var cancel *sip.Request
	var inviteBranch string
	wg.Go(func() {
		in, err := bob.NextInvite(testCtx(t))
		if err == nil {
			inviteBranch = branchOf(in.Invite)
			_, err = in.Respond(sip.StatusRinging, "", nil)
		}
		if err == nil {
			cancel, err = in.AwaitCancel(testCtx(t))
		}
		if err != nil {
			t.Errorf("callee: %v", err)
		}
	})
	call, err := alice.InviteAsync(bob.AOR(), offer)
	if err != nil {
		t.Fatal(err)
	}
	res, err := call.Cancel(testCtx(t))
	wg.Wait()
	if err != nil || res.StatusCode != sip.StatusRequestTerminated {
		t.Fatalf("Cancel = %v, %v; want 487", res, err)
	}
	if cancel == nil || branchOf(cancel) != inviteBranch {
		t.Errorf("CANCEL branch differs from the INVITE's %q", inviteBranch)
	}
}

func TestInviteRejected(t *testing.T) {
	checkNoLeaks(t)
	alice, bob := uaPair(t)
	var wg sync.WaitGroup
	wg.Go(func() {
		in, err := bob.NextInvite(testCtx(t))
		if err == nil {
			err = in.Reject(testCtx(t), sip.StatusBusyHere)
		}
		if err != nil {
			t.Errorf("callee: %v", err)
		}
	})
	_, err := alice.Invite(testCtx(t), bob.AOR(), offer)
	wg.Wait()
	var se *StatusError
	if !errors.As(err, &se) || se.Response.StatusCode != sip.StatusBusyHere {
		t.Fatalf("Invite = %v, want a StatusError with 486", err)
	}
}
