package siptx

import (
	"errors"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/internal/signalling/siptransport"
)

// RFC 3261 §17.1.1.2 and §17.1.2.2: timer A (INVITE) doubles from T1
// without a cap, timer E (non-INVITE) is capped at T2, neither runs over a
// reliable transport; timers B and F fail the transaction at 64*T1, once.
func TestClientTimeout(t *testing.T) {
	tests := []struct {
		name      string
		method    sip.RequestMethod
		transport string
		want      []time.Duration // request sent at
	}{
		{name: "INVITE UDP", method: sip.INVITE, transport: siptransport.UDP,
			want: secs(0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5)},
		{name: "INVITE WS", method: sip.INVITE, transport: siptransport.WS, want: secs(0)},
		{name: "non-INVITE UDP", method: sip.OPTIONS, transport: siptransport.UDP,
			want: secs(0, 0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5)},
		{name: "non-INVITE WS", method: sip.OPTIONS, transport: siptransport.WS, want: secs(0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				l, _ := newTestLayer()
				conn := newConn(tt.transport, "flow-1")
				h := &fakeClient{}
				if _, err := l.Request(request(t, tt.method, "z9hG4bKc1"), conn, h); err != nil {
					t.Fatal(err)
				}
				advance(64*t1 - time.Nanosecond)
				if errs := h.errs(); len(errs) != 0 {
					t.Fatalf("failed early with %v", errs)
				}
				advance(time.Nanosecond)
				checkLen(t, l, 0)
				advance(5 * time.Minute)
				if errs := h.errs(); len(errs) != 1 || !errors.Is(errs[0], ErrTimeout) {
					t.Errorf("OnFailure got %v, want ErrTimeout once", errs)
				}
				if got := conn.times(method(tt.method)); !slices.Equal(got, tt.want) {
					t.Errorf("request sent at %v, want %v", got, tt.want)
				}
			})
		})
	}
}

// RFC 3261 §17.1.2.2: a provisional response moves a non-INVITE transaction
// to Proceeding, where timer E keeps firing every T2.
func TestClientNonInviteProceeding(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, _ := newTestLayer()
		conn := newConn(siptransport.UDP, "udp-1")
		h := &fakeClient{}
		req := request(t, sip.OPTIONS, "z9hG4bKc1")
		if _, err := l.Request(req, conn, h); err != nil {
			t.Fatal(err)
		}
		advance(time.Second)
		l.HandleMessage(response(req, 100), conn)
		advance(64*t1 - time.Second)
		want := secs(0, 0.5, 1.5, 5.5, 9.5, 13.5, 17.5, 21.5, 25.5, 29.5)
		if got := conn.times(anyMsg); !slices.Equal(got, want) {
			t.Errorf("request sent at %v, want %v", got, want)
		}
		if errs := h.errs(); len(errs) != 1 || !errors.Is(errs[0], ErrTimeout) {
			t.Errorf("OnFailure got %v, want ErrTimeout once (timer F)", errs)
		}
	})
}

// RFC 3261 §17.1.1.2: a provisional response stops timer A and timer B; the
// proxy's timer C (RFC 3261 §16.6 step 11) takes over, reset by every
// provisional response but 100 (§16.7 step 2).
func TestClientInviteTimerC(t *testing.T) {
	tests := []struct {
		name   string
		at     []time.Duration // 1xx received at
		codes  []int
		failAt time.Duration
	}{
		{name: "100", at: secs(1), codes: []int{100}, failAt: time.Second + timerC},
		{name: "100 then 180", at: secs(1, 60), codes: []int{100, 180}, failAt: time.Minute + timerC},
		{name: "180 then 100", at: secs(1, 60), codes: []int{180, 100}, failAt: time.Second + timerC},
		{name: "180 then 183", at: secs(1, 150), codes: []int{180, 183}, failAt: 150*time.Second + timerC},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				l, _ := newTestLayer()
				conn := newConn(siptransport.UDP, "udp-1")
				h := &fakeClient{}
				req := request(t, sip.INVITE, "z9hG4bKc1")
				if _, err := l.Request(req, conn, h); err != nil {
					t.Fatal(err)
				}
				start := time.Now()
				for i, at := range tt.at {
					advance(at - time.Since(start))
					l.HandleMessage(response(req, tt.codes[i]), conn)
				}
				advance(tt.failAt - time.Since(start) - time.Nanosecond)
				if errs := h.errs(); len(errs) != 0 {
					t.Fatalf("at %v: failed early with %v", time.Since(start), errs)
				}
				advance(time.Nanosecond)
				if errs := h.errs(); len(errs) != 1 || !errors.Is(errs[0], ErrTimeout) {
					t.Errorf("OnFailure got %v, want ErrTimeout once", errs)
				}
				if got, want := conn.times(anyMsg), secs(0, 0.5); !slices.Equal(got, want) {
					t.Errorf("request sent at %v, want %v", got, want)
				}
				if got := h.codes(); !slices.Equal(got, tt.codes) {
					t.Errorf("OnResponse got %v, want %v", got, tt.codes)
				}
			})
		})
	}
}

// RFC 3261 §17.1.1.2 and RFC 6026 §8.4: which responses reach the TU, and
// which make the transaction send an ACK.
func TestClientResponses(t *testing.T) {
	tests := []struct {
		name     string
		method   sip.RequestMethod
		received []int
		passed   []int
		acks     int
	}{
		{name: "INVITE rejected", method: sip.INVITE, received: []int{180, 486}, passed: []int{180, 486}, acks: 1},
		{name: "INVITE final retransmitted", method: sip.INVITE, received: []int{486, 486, 486}, passed: []int{486}, acks: 3},
		{name: "INVITE 1xx after final", method: sip.INVITE, received: []int{486, 180}, passed: []int{486}, acks: 1},
		{name: "INVITE 2xx retransmitted", method: sip.INVITE, received: []int{180, 200, 200}, passed: []int{180, 200, 200}},
		{name: "INVITE non-2xx after 2xx", method: sip.INVITE, received: []int{200, 486}, passed: []int{200}},
		{name: "INVITE 1xx after 2xx", method: sip.INVITE, received: []int{200, 180}, passed: []int{200}},
		{name: "non-INVITE", method: sip.OPTIONS, received: []int{100, 200}, passed: []int{100, 200}},
		{name: "non-INVITE final retransmitted", method: sip.OPTIONS, received: []int{200, 200}, passed: []int{200}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				l, tu := newTestLayer()
				conn := newConn(siptransport.UDP, "udp-1")
				h := &fakeClient{}
				req := request(t, tt.method, "z9hG4bKc1")
				if _, err := l.Request(req, conn, h); err != nil {
					t.Fatal(err)
				}
				for _, code := range tt.received {
					advance(100 * time.Millisecond)
					l.HandleMessage(response(req, code), conn)
				}
				if got := h.codes(); !slices.Equal(got, tt.passed) {
					t.Errorf("OnResponse got %v, want %v", got, tt.passed)
				}
				if got := len(conn.messages(method(sip.ACK))); got != tt.acks {
					t.Errorf("sent %d ACKs, want %d", got, tt.acks)
				}
				if len(tu.strays) != 0 {
					t.Errorf("%d responses went to HandleStrayResponse, want 0", len(tu.strays))
				}
				advance(5 * time.Minute)
				checkLen(t, l, 0)
				if errs := h.errs(); len(errs) != 0 {
					t.Errorf("OnFailure got %v after a final response", errs)
				}
			})
		})
	}
}

// RFC 3261 §17.1.1.3: the ACK for a non-2xx final response.
func TestClientInviteAck(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, _ := newTestLayer()
		conn := newConn(siptransport.UDP, "udp-1")
		inv := request(t, sip.INVITE, "z9hG4bKc1")
		if _, err := l.Request(inv, conn, &fakeClient{}); err != nil {
			t.Fatal(err)
		}
		l.HandleMessage(response(inv, 486), conn)
		acks := conn.messages(method(sip.ACK))
		if len(acks) != 1 {
			t.Fatalf("sent %d ACKs, want 1", len(acks))
		}
		ack := acks[0].(*sip.Request)
		if got, want := ack.Recipient.String(), inv.Recipient.String(); got != want {
			t.Errorf("Request-URI: got %s, want %s", got, want)
		}
		if got := len(ack.GetHeaders("Via")); got != 1 {
			t.Errorf("got %d Via, want 1", got)
		}
		if got, want := ack.Via().Value(), inv.Via().Value(); got != want {
			t.Errorf("Via: got %q, want %q", got, want)
		}
		if got, _ := ack.To().Params.Get("tag"); got != "b1" {
			t.Errorf("To tag: got %q, want the response's b1", got)
		}
		if got, want := ack.From().Value(), inv.From().Value(); got != want {
			t.Errorf("From: got %q, want %q", got, want)
		}
		if got, want := ack.CallID().Value(), inv.CallID().Value(); got != want {
			t.Errorf("Call-ID: got %q, want %q", got, want)
		}
		if got := ack.CSeq(); got.SeqNo != 1 || got.MethodName != sip.ACK {
			t.Errorf("CSeq: got %s, want 1 ACK", got.Value())
		}
		if got := ack.GetHeaders("Route"); len(got) != 1 || got[0].Value() != "<sip:proxy.example.com;lr>" {
			t.Errorf("Route: got %v, want the INVITE's", got)
		}
		advance(32*time.Second - time.Nanosecond) // timer D
		checkLen(t, l, 1)
		advance(time.Nanosecond)
		checkLen(t, l, 0)
	})
}

// RFC 3261 §17.1.1.2, §17.1.2.2: over a reliable transport timers D and K
// are zero, so a final response ends the transaction at once, after the
// TU has it (and, for an INVITE, after the ACK went out).
func TestClientReliableEndsAtFinal(t *testing.T) {
	for _, m := range []sip.RequestMethod{sip.INVITE, sip.BYE} {
		t.Run(string(m), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				l, _ := newTestLayer()
				conn := newConn(siptransport.WS, "ws-1")
				h := &fakeClient{}
				req := request(t, m, "z9hG4bKc1")
				if _, err := l.Request(req, conn, h); err != nil {
					t.Fatal(err)
				}
				checkLen(t, l, 1)
				l.HandleMessage(response(req, 486), conn)
				checkLen(t, l, 0)
				if got := h.codes(); !slices.Equal(got, []int{486}) {
					t.Errorf("OnResponse got %v, want [486]", got)
				}
				wantAcks := 0
				if m == sip.INVITE {
					wantAcks = 1
				}
				if got := len(conn.messages(method(sip.ACK))); got != wantAcks {
					t.Errorf("sent %d ACKs, want %d", got, wantAcks)
				}
			})
		})
	}
}

// RFC 6026 §8.4: timer M keeps the Accepted transaction for 64*T1, so that
// retransmitted 2xx reach the TU; afterwards they are strays.
func TestClientInviteAccepted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, tu := newTestLayer()
		conn := newConn(siptransport.WS, "ws-1")
		h := &fakeClient{}
		inv := request(t, sip.INVITE, "z9hG4bKc1")
		if _, err := l.Request(inv, conn, h); err != nil {
			t.Fatal(err)
		}
		l.HandleMessage(response(inv, 200), conn)
		advance(64*t1 - time.Nanosecond)
		l.HandleMessage(response(inv, 200), conn)
		advance(time.Nanosecond)
		checkLen(t, l, 0)
		l.HandleMessage(response(inv, 200), conn)
		if got, want := h.codes(), []int{200, 200}; !slices.Equal(got, want) {
			t.Errorf("OnResponse got %v, want %v", got, want)
		}
		if len(tu.strays) != 1 {
			t.Errorf("HandleStrayResponse called %d times, want 1", len(tu.strays))
		}
	})
}
