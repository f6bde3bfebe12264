package siptx

import (
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/internal/signalling/siptransport"
)

// RFC 3261 §17.2.1 and §17.2.2: a retransmitted request gets the last
// response again and never reaches the TU; RFC 6026 §7.1: in Accepted it is
// absorbed.
func TestServerRetransmittedRequest(t *testing.T) {
	tests := []struct {
		name      string
		method    sip.RequestMethod
		responses []int
		want      int // status sent again; 0 for nothing
	}{
		{name: "INVITE unanswered", method: sip.INVITE},
		{name: "INVITE proceeding", method: sip.INVITE, responses: []int{100, 180}, want: 180},
		{name: "INVITE completed", method: sip.INVITE, responses: []int{180, 486}, want: 486},
		{name: "INVITE accepted", method: sip.INVITE, responses: []int{180, 200}},
		{name: "non-INVITE trying", method: sip.OPTIONS},
		{name: "non-INVITE proceeding", method: sip.OPTIONS, responses: []int{100}, want: 100},
		{name: "non-INVITE completed", method: sip.OPTIONS, responses: []int{100, 200}, want: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				l, tu := newTestLayer()
				conn := newConn(siptransport.UDP, "udp-1")
				l.HandleMessage(request(t, tt.method, "z9hG4bKs1"), conn)
				tx := tu.only(t)
				for _, code := range tt.responses {
					if err := tx.Respond(response(tx.Request, code)); err != nil {
						t.Fatal(err)
					}
				}
				before := conn.count()
				l.HandleMessage(request(t, tt.method, "z9hG4bKs1"), conn)
				tu.only(t)
				again := conn.messages(anyMsg)[before:]
				switch {
				case tt.want == 0 && len(again) != 0:
					t.Errorf("sent %d messages, want none", len(again))
				case tt.want != 0 && (len(again) != 1 || !status(tt.want)(again[0])):
					t.Errorf("sent %v, want one %d", again, tt.want)
				}
			})
		})
	}
}

// RFC 3261 §17.2.1: timer G retransmits a non-2xx final response over UDP at
// T1, 2T1, 4T1… capped at T2; timer H gives up waiting for the ACK at 64*T1.
func TestServerInviteTimersGH(t *testing.T) {
	tests := []struct {
		transport string
		want      []time.Duration
	}{
		{transport: siptransport.UDP, want: secs(0, 0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5)},
		{transport: siptransport.WS, want: secs(0)},
	}
	for _, tt := range tests {
		t.Run(tt.transport, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				l, tu := newTestLayer()
				conn := newConn(tt.transport, "flow-1")
				l.HandleMessage(request(t, sip.INVITE, "z9hG4bKs1"), conn)
				tx := tu.only(t)
				_ = tx.Respond(response(tx.Request, 486))
				advance(64*t1 - time.Nanosecond)
				checkLen(t, l, 1)
				advance(time.Nanosecond)
				checkLen(t, l, 0)
				advance(time.Minute)
				if got := conn.times(status(486)); !slices.Equal(got, tt.want) {
					t.Errorf("486 sent at %v, want %v", got, tt.want)
				}
				if n := tu.ackCount(); n != 0 {
					t.Errorf("HandleAck called %d times, want 0", n)
				}
			})
		})
	}
}

// RFC 3261 §17.2.1: the ACK for a non-2xx final stops timer G, is absorbed,
// and the transaction lingers for timer I (T4 over UDP, 0 over reliable).
func TestServerInviteAck(t *testing.T) {
	tests := []struct {
		transport string
		want      []time.Duration // 486 sent at
		linger    time.Duration   // timer I
	}{
		{transport: siptransport.UDP, want: secs(0, 0.5, 1.5), linger: t4},
		{transport: siptransport.WS, want: secs(0), linger: 0},
	}
	for _, tt := range tests {
		t.Run(tt.transport, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				l, tu := newTestLayer()
				conn := newConn(tt.transport, "flow-1")
				l.HandleMessage(request(t, sip.INVITE, "z9hG4bKs1"), conn)
				tx := tu.only(t)
				_ = tx.Respond(response(tx.Request, 486))
				advance(2 * time.Second)
				l.HandleMessage(request(t, sip.ACK, "z9hG4bKs1"), conn)
				synctest.Wait()
				if tt.linger > 0 {
					l.HandleMessage(request(t, sip.ACK, "z9hG4bKs1"), conn) // retransmitted
					advance(tt.linger - time.Nanosecond)
					checkLen(t, l, 1)
					advance(time.Nanosecond)
				}
				checkLen(t, l, 0)
				advance(time.Minute)
				if got := conn.times(status(486)); !slices.Equal(got, tt.want) {
					t.Errorf("486 sent at %v, want %v", got, tt.want)
				}
				if n := tu.ackCount(); n != 0 {
					t.Errorf("HandleAck called %d times, want 0: the ACK belongs to the transaction", n)
				}
			})
		})
	}
}

// RFC 6026 §7.1: after a 2xx the transaction is Accepted for timer L
// (64*T1): it absorbs retransmitted INVITEs, passes the ACK up (it is end to
// end), sends further 2xx from the TU but nothing else, and retransmits
// nothing itself.
func TestServerInviteAccepted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, tu := newTestLayer()
		conn := newConn(siptransport.UDP, "udp-1")
		l.HandleMessage(request(t, sip.INVITE, "z9hG4bKs1"), conn)
		tx := tu.only(t)
		_ = tx.Respond(response(tx.Request, 200))
		advance(time.Second)
		l.HandleMessage(request(t, sip.INVITE, "z9hG4bKs1"), conn)
		l.HandleMessage(request(t, sip.ACK, "z9hG4bKs1"), conn)
		advance(time.Second)
		_ = tx.Respond(response(tx.Request, 200)) // from another fork
		_ = tx.Respond(response(tx.Request, 486))
		advance(64*t1 - 2*time.Second - time.Nanosecond)
		checkLen(t, l, 1)
		advance(time.Nanosecond)
		checkLen(t, l, 0) // timer L runs from the first 2xx
		if got, want := conn.times(anyMsg), secs(0, 2); !slices.Equal(got, want) {
			t.Errorf("sent at %v, want two 200s at %v", got, want)
		}
		if got := len(conn.messages(status(486))); got != 0 {
			t.Errorf("sent %d 486s after the 200, want 0", got)
		}
		if got := tu.ackCount(); got != 1 {
			t.Errorf("HandleAck called %d times, want 1", got)
		}
		if !tx.Answered() {
			t.Error("Answered() = false after a 200")
		}
	})
}

// RFC 3261 §17.2.2: a non-INVITE final response is sent once, again for each
// retransmitted request, and the transaction lingers for timer J (64*T1 over
// UDP, 0 over reliable transports).
func TestServerNonInviteTimerJ(t *testing.T) {
	tests := []struct {
		transport string
		linger    time.Duration
	}{
		{transport: siptransport.UDP, linger: 64 * t1},
		{transport: siptransport.WS, linger: 0},
	}
	for _, tt := range tests {
		t.Run(tt.transport, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				l, tu := newTestLayer()
				conn := newConn(tt.transport, "flow-1")
				l.HandleMessage(request(t, sip.OPTIONS, "z9hG4bKs1"), conn)
				tx := tu.only(t)
				_ = tx.Respond(response(tx.Request, 200))
				synctest.Wait()
				want := secs(0)
				if tt.linger > 0 {
					advance(time.Second)
					l.HandleMessage(request(t, sip.OPTIONS, "z9hG4bKs1"), conn)
					want = secs(0, 1)
					advance(tt.linger - time.Second - time.Nanosecond)
					checkLen(t, l, 1)
					advance(time.Nanosecond)
				}
				checkLen(t, l, 0)
				advance(time.Minute)
				if got := conn.times(status(200)); !slices.Equal(got, want) {
					t.Errorf("200 sent at %v, want %v", got, want)
				}
			})
		})
	}
}
