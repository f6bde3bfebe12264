package siptx

import (
	"errors"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/internal/signalling/siptransport"
)

// ErrTimeout reports that no final response arrived in time (timer B or F).
var ErrTimeout = errors.New("siptx: transaction timed out")

// ClientHandler receives what happens to a client transaction. Calls for
// one transaction never overlap.
type ClientHandler interface {
	// OnResponse is called for each provisional response, the final one,
	// and (INVITE) every further 2xx.
	OnResponse(tx *ClientTx, res *sip.Response)
	// OnFailure is called once when the transaction times out or its
	// connection fails before a final response.
	OnFailure(tx *ClientTx, err error)
}

type clientState int

const (
	clientCalling clientState = iota // also Trying for non-INVITE
	clientProceeding
	clientAccepted // INVITE got 2xx, RFC 6026 §8.4
	clientCompleted
	clientTerminated
)

// ClientTx is a client transaction, RFC 3261 §17.1.
type ClientTx struct {
	l       *Layer
	key     string
	Request *sip.Request
	Conn    siptransport.Conn
	h       ClientHandler
	invite  bool

	// mu guards the fields below; it is held while calling h.
	mu       sync.Mutex
	state    clientState
	interval time.Duration
	retrans  timer // timers A and E
	timeout  timer // timers B, C, D, F, K, M
	ack      *sip.Request
}

// Request starts a client transaction for req over conn. req must carry
// this hop's Via on top, with a branch unique to this transaction.
func (l *Layer) Request(req *sip.Request, conn siptransport.Conn, h ClientHandler) (*ClientTx, error) {
	tx := &ClientTx{l: l, key: clientKeyOf(req), Request: req, Conn: conn, h: h, invite: req.Method == sip.INVITE}
	l.clients.put(tx.key, tx)
	l.metrics.started("client", req.Method)
	tx.mu.Lock()
	defer tx.mu.Unlock()
	if err := conn.Send(req); err != nil {
		tx.state = clientTerminated
		l.removeClient(tx)
		return nil, err
	}
	t := l.timers
	if !siptransport.Reliable(conn) {
		tx.interval = t.T1
		tx.retrans.reset(&tx.mu, t.T1, tx.resendLocked) // timer A or E
	}
	tx.timeout.reset(&tx.mu, 64*t.T1, tx.timedOutLocked) // timer B or F
	return tx, nil
}

// Terminate ends the transaction without telling the handler.
func (tx *ClientTx) Terminate() {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	tx.terminateLocked()
}

func (tx *ClientTx) resendLocked() {
	if tx.state != clientCalling && !(tx.state == clientProceeding && !tx.invite) {
		return
	}
	_ = tx.Conn.Send(tx.Request)
	tx.interval = 2 * tx.interval
	if !tx.invite {
		tx.interval = min(tx.interval, tx.l.timers.T2)
	}
	tx.retrans.reset(&tx.mu, tx.interval, tx.resendLocked)
}

func (tx *ClientTx) timedOutLocked() { tx.failLocked(ErrTimeout) }

// fail ends the transaction, telling the handler if no final response came.
func (tx *ClientTx) fail(err error) {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	tx.failLocked(err)
}

func (tx *ClientTx) failLocked(err error) {
	waiting := tx.state == clientCalling || tx.state == clientProceeding
	tx.terminateLocked()
	if waiting {
		tx.h.OnFailure(tx, err)
	}
}

// timerC is RFC 3261 §16.6 step 11: how long a proxied INVITE may ring.
const timerC = 3 * time.Minute

func (tx *ClientTx) receive(res *sip.Response) {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	t := tx.l.timers
	reliable := siptransport.Reliable(tx.Conn)
	switch {
	case tx.state == clientTerminated:
	case res.IsProvisional():
		if tx.state != clientCalling && tx.state != clientProceeding {
			return
		}
		if tx.state == clientCalling && tx.invite {
			tx.retrans.stop()
			tx.timeout.reset(&tx.mu, timerC, tx.timedOutLocked)
		} else if tx.invite && res.StatusCode > sip.StatusTrying {
			tx.timeout.reset(&tx.mu, timerC, tx.timedOutLocked) // RFC 3261 §16.7 step 2
		}
		if !tx.invite && !reliable {
			tx.interval = t.T2
		}
		tx.state = clientProceeding
		tx.h.OnResponse(tx, res)
	case tx.invite && res.IsSuccess() && tx.state != clientCompleted:
		if tx.state != clientAccepted {
			tx.state = clientAccepted
			tx.retrans.stop()
			tx.timeout.reset(&tx.mu, 64*t.T1, tx.terminateLocked) // timer M
		}
		tx.h.OnResponse(tx, res)
	case tx.state == clientCompleted:
		if tx.ack != nil && !res.IsSuccess() {
			_ = tx.Conn.Send(tx.ack) // RFC 3261 §17.1.1.2: ACK every retransmission
		}
	case tx.state == clientAccepted:
	default:
		tx.state = clientCompleted
		tx.retrans.stop()
		wait := unlessReliable(reliable, t.T4) // timer K
		if tx.invite {
			tx.ack = ackFor(tx.Request, res)
			_ = tx.Conn.Send(tx.ack)
			wait = unlessReliable(reliable, 32*time.Second) // timer D
		}
		tx.h.OnResponse(tx, res)
		tx.timeout.resetOrNow(&tx.mu, wait, tx.terminateLocked)
	}
}

func (tx *ClientTx) terminateLocked() {
	if tx.state == clientTerminated {
		return
	}
	tx.state = clientTerminated
	tx.retrans.stop()
	tx.timeout.stop()
	tx.l.removeClient(tx)
}

// ackFor builds the ACK for a non-2xx final response, RFC 3261 §17.1.1.3.
func ackFor(inv *sip.Request, res *sip.Response) *sip.Request {
	return hopRequest(inv, sip.ACK, res.To())
}

// CancelFor builds the CANCEL for an INVITE sent on a client transaction,
// RFC 3261 §9.1: same Request-URI, top Via (so same branch), Route, From,
// To, Call-ID and CSeq number.
func CancelFor(inv *sip.Request) *sip.Request {
	return hopRequest(inv, sip.CANCEL, inv.To())
}

// hopRequest builds a request that belongs to inv's transaction (ACK for a
// non-2xx, CANCEL) with to as its To header.
func hopRequest(inv *sip.Request, method sip.RequestMethod, to *sip.ToHeader) *sip.Request {
	req := sip.NewRequest(method, *inv.Recipient.Clone())
	req.SipVersion = inv.SipVersion
	req.AppendHeader(inv.Via().Clone())
	for _, h := range inv.GetHeaders("Route") {
		req.AppendHeader(sip.HeaderClone(h))
	}
	req.AppendHeader(sip.HeaderClone(inv.From()))
	req.AppendHeader(sip.HeaderClone(to))
	req.AppendHeader(sip.HeaderClone(inv.CallID()))
	req.AppendHeader(&sip.CSeqHeader{SeqNo: inv.CSeq().SeqNo, MethodName: method})
	mf := sip.MaxForwardsHeader(70)
	req.AppendHeader(&mf)
	req.SetBody(nil)
	return req
}

func unlessReliable(reliable bool, d time.Duration) time.Duration {
	if reliable {
		return 0
	}
	return d
}

// waiting reports whether no final response has arrived yet.
func (tx *ClientTx) waiting() bool {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	return tx.state == clientCalling || tx.state == clientProceeding
}
