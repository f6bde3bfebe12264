package siptest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

func TestInboxKeepsUnmatchedMessages(t *testing.T) {
	var b inbox
	res := mustParse(t, "SIP/2.0 200 OK\nCSeq: 1 OPTIONS\nContent-Length: 0\n\n")
	bye := mustParse(t, "BYE sip:a@b SIP/2.0\nCSeq: 2 BYE\nContent-Length: 0\n\n")
	b.push(res)
	b.push(bye)

	ctx := testCtx(t)
	req, err := b.RecvRequest(ctx, sip.INVITE, sip.BYE)
	if err != nil || req != bye {
		t.Fatalf("RecvRequest = %v, %v; want the BYE", req, err)
	}
	got, err := b.Recv(ctx)
	if err != nil || got != res {
		t.Fatalf("Recv = %v, %v; want the skipped response", got, err)
	}
}

func TestInboxWakesWaiters(t *testing.T) {
	var b inbox
	ctx := testCtx(t)
	got := make(chan error, 2)
	go func() { _, err := b.RecvRequest(ctx, sip.BYE); got <- err }()
	go func() { _, err := b.RecvResponse(ctx); got <- err }()
	time.Sleep(10 * time.Millisecond)
	b.push(mustParse(t, "SIP/2.0 200 OK\nCSeq: 1 OPTIONS\nContent-Length: 0\n\n"))
	if err := <-got; err != nil {
		t.Fatalf("RecvResponse: %v", err)
	}
	b.shut(ErrClosed)
	if err := <-got; !errors.Is(err, ErrClosed) {
		t.Fatalf("RecvRequest after shut = %v, want ErrClosed", err)
	}
}

func TestInboxHonoursContext(t *testing.T) {
	var b inbox
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Millisecond)
	defer cancel()
	if _, err := b.Recv(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want context.DeadlineExceeded", err)
	}
}
