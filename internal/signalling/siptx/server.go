package siptx

import (
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/internal/signalling/siptransport"
)

type serverState int

const (
	serverProceeding serverState = iota
	serverAccepted               // INVITE answered 2xx, RFC 6026 §7.1
	serverCompleted              // final response sent
	serverConfirmed              // INVITE: ACK received
	serverTerminated
)

// ServerTx is a server transaction, RFC 3261 §17.2. Request is the request
// as received: it is shared, so the transaction user must clone it before
// changing anything (it is also what responses are built from).
type ServerTx struct {
	l       *Layer
	key     string
	Request *sip.Request
	Conn    siptransport.Conn
	invite  bool

	// mu guards the fields below.
	mu       sync.Mutex
	attached any
	state    serverState
	last     *sip.Response
	interval time.Duration // timer G interval
	retrans  timer         // timer G
	timeout  timer         // timers H, I, J, L
	final    bool
}

func newServerTx(l *Layer, key string, req *sip.Request, conn siptransport.Conn) *ServerTx {
	return &ServerTx{l: l, key: key, Request: req, Conn: conn, invite: req.Method == sip.INVITE}
}

// Respond sends res and moves the state machine. Responses after a final
// one are dropped, except further 2xx to an INVITE (RFC 6026 §7.1).
func (tx *ServerTx) Respond(res *sip.Response) error {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	switch tx.state {
	case serverProceeding:
	case serverAccepted:
		if !res.IsSuccess() {
			return nil
		}
	default:
		return nil
	}
	tx.last = res
	err := tx.Conn.Send(res)
	if res.IsProvisional() {
		return err
	}
	tx.final = true
	tx.l.metrics.answered(tx.Request.Method, res.StatusCode)
	t := tx.l.timers
	reliable := siptransport.Reliable(tx.Conn)
	switch {
	case tx.invite && res.IsSuccess():
		if tx.state != serverAccepted { // RFC 6026 §7.1: timer L starts on entering Accepted
			tx.state = serverAccepted
			tx.timeout.reset(&tx.mu, 64*t.T1, tx.terminateLocked) // timer L
		}
	case tx.invite:
		tx.state = serverCompleted
		if !reliable {
			tx.interval = t.T1
			tx.retrans.reset(&tx.mu, t.T1, tx.resendFinalLocked) // timer G
		}
		tx.timeout.reset(&tx.mu, 64*t.T1, tx.terminateLocked) // timer H
	default:
		tx.state = serverCompleted
		tx.timeout.resetOrNow(&tx.mu, unlessReliable(reliable, 64*t.T1), tx.terminateLocked) // timer J
	}
	return err
}

// Attach stores the transaction user's state for this transaction.
func (tx *ServerTx) Attach(v any) {
	tx.mu.Lock()
	tx.attached = v
	tx.mu.Unlock()
}

// Attached returns what Attach stored.
func (tx *ServerTx) Attached() any {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	return tx.attached
}

// Answered reports whether a final response was sent.
func (tx *ServerTx) Answered() bool {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	return tx.final
}

// retransmitted answers a retransmitted request with the last response,
// RFC 3261 §17.2.1 and §17.2.2.
func (tx *ServerTx) retransmitted() {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	if tx.last != nil && (tx.state == serverProceeding || tx.state == serverCompleted) {
		_ = tx.Conn.Send(tx.last)
	}
}

// ack absorbs the ACK for a non-2xx final response; it reports false when
// the ACK is not this transaction's to absorb.
func (tx *ServerTx) ack() bool {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	switch tx.state {
	case serverCompleted:
		tx.state = serverConfirmed
		tx.retrans.stop()
		tx.timeout.resetOrNow(&tx.mu, unlessReliable(siptransport.Reliable(tx.Conn), tx.l.timers.T4), tx.terminateLocked) // timer I
		return true
	case serverConfirmed:
		return true
	}
	return false
}

func (tx *ServerTx) resendFinalLocked() {
	if tx.state != serverCompleted {
		return
	}
	_ = tx.Conn.Send(tx.last)
	tx.interval = min(2*tx.interval, tx.l.timers.T2)
	tx.retrans.reset(&tx.mu, tx.interval, tx.resendFinalLocked)
}

func (tx *ServerTx) terminateLocked() {
	if tx.state == serverTerminated {
		return
	}
	tx.state = serverTerminated
	tx.retrans.stop()
	tx.timeout.stop()
	tx.l.removeServer(tx)
}
