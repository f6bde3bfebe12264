package siptx

import (
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/internal/signalling/siptransport"
)

// ConnClosed fails, once, the client transactions still waiting on the
// closed connection, and no others.
func TestConnClosed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, tu := newTestLayer()
		closing := newConn(siptransport.WS, "ws-1")
		other := newConn(siptransport.WS, "ws-2")
		waiting, answered, elsewhere := &fakeClient{}, &fakeClient{}, &fakeClient{}
		if _, err := l.Request(request(t, sip.INVITE, "z9hG4bKc1"), closing, waiting); err != nil {
			t.Fatal(err)
		}
		inv := request(t, sip.INVITE, "z9hG4bKc2")
		if _, err := l.Request(inv, closing, answered); err != nil {
			t.Fatal(err)
		}
		l.HandleMessage(response(inv, 200), closing)
		if _, err := l.Request(request(t, sip.INVITE, "z9hG4bKc3"), other, elsewhere); err != nil {
			t.Fatal(err)
		}

		l.ConnClosed(closing)
		l.ConnClosed(closing)
		if errs := waiting.errs(); len(errs) != 1 || !errors.Is(errs[0], ErrConnClosed) {
			t.Errorf("waiting transaction: OnFailure got %v, want ErrConnClosed once", errs)
		}
		if errs := answered.errs(); len(errs) != 0 {
			t.Errorf("answered transaction: OnFailure got %v, want nothing", errs)
		}
		if errs := elsewhere.errs(); len(errs) != 0 {
			t.Errorf("transaction on another conn: OnFailure got %v, want nothing", errs)
		}
		if len(tu.closed) != 2 || tu.closed[0] != closing {
			t.Errorf("TU ConnClosed got %v, want the closed conn twice", tu.closed)
		}

		advance(5 * time.Minute) // timer B must not fail it a second time
		if errs := waiting.errs(); len(errs) != 1 {
			t.Errorf("waiting transaction: OnFailure called %d times, want 1", len(errs))
		}
		checkLen(t, l, 0)
	})
}

// RFC 3261 §9.2: a CANCEL matches the INVITE server transaction with the
// same top Via branch and sent-by.
func TestFindInvite(t *testing.T) {
	tests := []struct {
		name   string
		sentBy string
		branch string
		found  bool
	}{
		{name: "same branch", sentBy: "192.0.2.1:5060", branch: "z9hG4bKs1", found: true},
		{name: "other branch", sentBy: "192.0.2.1:5060", branch: "z9hG4bKs2"},
		{name: "other sent-by", sentBy: "192.0.2.99:5060", branch: "z9hG4bKs1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				l, tu := newTestLayer()
				conn := newConn(siptransport.UDP, "udp-1")
				l.HandleMessage(request(t, sip.INVITE, "z9hG4bKs1"), conn)
				l.HandleMessage(request(t, sip.OPTIONS, "z9hG4bKs2"), conn)
				inv := tu.txs[0]
				got := l.FindInvite(requestFrom(t, sip.CANCEL, tt.sentBy, tt.branch))
				switch {
				case tt.found && got != inv:
					t.Errorf("got %v, want the INVITE transaction", got)
				case !tt.found && got != nil:
					t.Errorf("got a %s transaction, want none", got.Request.Method)
				}
			})
		})
	}
}

// Pending counts the transactions that still wait for a final response.
func TestPending(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, tu := newTestLayer()
		conn := newConn(siptransport.UDP, "udp-1")
		h := &fakeClient{}

		l.HandleMessage(request(t, sip.INVITE, "z9hG4bKs1"), conn)  // ringing: pending
		l.HandleMessage(request(t, sip.INVITE, "z9hG4bKs2"), conn)  // rejected
		l.HandleMessage(request(t, sip.INVITE, "z9hG4bKs3"), conn)  // accepted
		l.HandleMessage(request(t, sip.OPTIONS, "z9hG4bKs4"), conn) // answered
		_ = tu.txs[0].Respond(response(tu.txs[0].Request, 180))
		_ = tu.txs[1].Respond(response(tu.txs[1].Request, 486))
		_ = tu.txs[2].Respond(response(tu.txs[2].Request, 200))
		_ = tu.txs[3].Respond(response(tu.txs[3].Request, 200))

		ringing := request(t, sip.INVITE, "z9hG4bKc1")  // pending
		calling := request(t, sip.OPTIONS, "z9hG4bKc2") // pending
		accepted := request(t, sip.INVITE, "z9hG4bKc3")
		rejected := request(t, sip.INVITE, "z9hG4bKc4")
		for _, req := range []*sip.Request{ringing, calling, accepted, rejected} {
			if _, err := l.Request(req, conn, h); err != nil {
				t.Fatal(err)
			}
		}
		l.HandleMessage(response(ringing, 180), conn)
		l.HandleMessage(response(accepted, 200), conn)
		l.HandleMessage(response(rejected, 603), conn)

		if got := l.Pending(); got != 3 {
			t.Errorf("Pending() = %d, want 3", got)
		}
		checkLen(t, l, 8)
	})
}
