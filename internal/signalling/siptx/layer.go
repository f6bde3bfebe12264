// Package siptx implements the SIP transaction layer of RFC 3261 §17, with
// the RFC 6026 Accepted states, for a stateful proxy: server transactions
// absorb retransmitted requests and retransmit final responses over UDP,
// client transactions retransmit requests and time out. Over reliable
// transports (TCP, TLS, WebSocket) no timer retransmits.
//
// The layer runs over any siptransport.Conn, so one state machine serves
// every transport. Callbacks run on the goroutine that read the message or on
// a timer's goroutine; they must not block.
package siptx

import (
	"errors"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/internal/signalling/siptransport"
)

// Config holds the layer's settings.
type Config struct {
	// T1 is the RFC 3261 §17.1.1.1 round-trip estimate from which the
	// retransmission intervals and transaction timeouts derive. Required;
	// RFC 3261 recommends 500ms.
	T1 time.Duration
}

// The timers RFC 3261 §17.1.2.2 fixes: T2 caps the retransmission interval
// of non-INVITE requests and INVITE responses, T4 is how long a message may
// stay in the network.
const (
	T2 = 4 * time.Second
	T4 = 5 * time.Second
)

// Deps are the layer's collaborators.
type Deps struct {
	// Handler is the transaction user. It may be nil at first and set with
	// SetHandler before any message arrives.
	Handler RequestHandler
	// Metrics counts transactions; nil counts nothing.
	Metrics *Metrics
}

// timerSet is the RFC 3261 §17.1.1.1 timer values one layer runs with.
type timerSet struct {
	T1, T2, T4 time.Duration
}

// RequestHandler is the transaction user: the proxy.
type RequestHandler interface {
	// HandleRequest is called once for each new server transaction.
	HandleRequest(tx *ServerTx)
	// HandleAck is called for an ACK that matches no server transaction:
	// the ACK for a 2xx, which is end to end (RFC 3261 §17.1.1.3).
	HandleAck(req *sip.Request, from siptransport.Conn)
	// HandleStrayResponse is called for a response that matches no client
	// transaction (RFC 3261 §16.7 step 1 leaves it to the proxy core).
	HandleStrayResponse(res *sip.Response, from siptransport.Conn)
	// ConnClosed is called when a reliable connection goes away.
	ConnClosed(c siptransport.Conn)
}

// RawRequestHandler is a transaction user that answers some requests from
// their bytes (the proxy, for the REGISTERs its registrar reads itself).
type RawRequestHandler interface {
	// HandleRawRequest answers the request in data at once with a final
	// response, and returns its method and status code; ok is false when
	// it did nothing, and the request is then parsed and handled as usual.
	HandleRawRequest(data []byte, from siptransport.Conn) (method sip.RequestMethod, code int, ok bool)
}

// Layer matches messages to transactions. It implements siptransport.Handler.
type Layer struct {
	timers  timerSet
	handler RequestHandler
	metrics *Metrics

	servers *table[*ServerTx]
	clients *table[*ClientTx]
}

var (
	_ siptransport.Handler    = (*Layer)(nil)
	_ siptransport.RawHandler = (*Layer)(nil)
)

// New returns a layer that passes new requests to deps.Handler.
func New(cfg Config, deps Deps) *Layer {
	return &Layer{timers: timerSet{T1: cfg.T1, T2: T2, T4: T4}, handler: deps.Handler, metrics: deps.Metrics,
		servers: newTable[*ServerTx](), clients: newTable[*ClientTx]()}
}

// SetHandler replaces the transaction user; call it before any message arrives.
func (l *Layer) SetHandler(h RequestHandler) { l.handler = h }

// HandleMessage matches msg to a transaction, RFC 3261 §17.1.3 and §17.2.3.
func (l *Layer) HandleMessage(msg sip.Message, from siptransport.Conn) {
	switch m := msg.(type) {
	case *sip.Request:
		l.handleRequest(m, from)
	case *sip.Response:
		l.handleResponse(m, from)
	}
}

// HandleRaw lets a transaction user that is a RawRequestHandler answer a
// request from its bytes, over a reliable transport, without a
// transaction: there a non-INVITE server transaction ends as its final
// response is sent (RFC 3261 §17.2.2, timer J is zero), and the request is
// answered before its connection's next message is read, so no
// retransmission could have matched it but one sent, with the same branch
// and sent-by, over another connection at the same moment. It is counted
// as a transaction that started and ended.
func (l *Layer) HandleRaw(data []byte, from siptransport.Conn) bool {
	rh, ok := l.handler.(RawRequestHandler)
	if !ok || !siptransport.Reliable(from) {
		return false
	}
	method, code, ok := rh.HandleRawRequest(data, from)
	if ok {
		l.metrics.started("server", method)
		l.metrics.answered(method, code)
		l.metrics.ended("server")
	}
	return ok
}

// ErrConnClosed reports that a client transaction's connection went away.
var ErrConnClosed = errors.New("siptx: connection closed")

// ConnClosed fails the client transactions that were waiting on c, so their
// users hear of it at once rather than at timer B, then tells the
// transaction user.
func (l *Layer) ConnClosed(c siptransport.Conn) {
	orphans := l.clients.appendMatching(nil, func(tx *ClientTx) bool { return tx.Conn == c })
	for _, tx := range orphans {
		tx.fail(ErrConnClosed)
	}
	l.handler.ConnClosed(c)
}

func (l *Layer) handleRequest(req *sip.Request, from siptransport.Conn) {
	if req.Method == sip.ACK {
		if tx := l.server(serverKey(req, sip.INVITE)); tx != nil && tx.ack() {
			return
		}
		l.handler.HandleAck(req, from)
		return
	}
	key := serverKey(req, req.Method)
	tx, found := l.servers.getOrAdd(key, func() *ServerTx { return newServerTx(l, key, req, from) })
	if found {
		tx.retransmitted()
		return
	}
	l.metrics.started("server", req.Method)
	l.handler.HandleRequest(tx)
}

func (l *Layer) handleResponse(res *sip.Response, from siptransport.Conn) {
	tx := l.client(clientKey(res))
	if tx == nil {
		l.handler.HandleStrayResponse(res, from)
		return
	}
	tx.receive(res)
}

// FindInvite returns the INVITE server transaction a CANCEL refers to,
// RFC 3261 §9.2.
func (l *Layer) FindInvite(cancel *sip.Request) *ServerTx {
	return l.server(serverKey(cancel, sip.INVITE))
}

func (l *Layer) server(key string) *ServerTx { return l.servers.get(key) }

func (l *Layer) client(key string) *ClientTx { return l.clients.get(key) }

func (l *Layer) removeServer(tx *ServerTx) {
	l.servers.remove(tx.key, tx)
	l.metrics.ended("server")
}

func (l *Layer) removeClient(tx *ClientTx) {
	l.clients.remove(tx.key, tx)
	l.metrics.ended("client")
}

// Len returns the number of live server and client transactions.
func (l *Layer) Len() int { return l.servers.len() + l.clients.len() }

// serverKey is RFC 3261 §17.2.3: branch, sent-by and method, with ACK
// matching INVITE.
func serverKey(req *sip.Request, method sip.RequestMethod) string {
	via := req.Via()
	branch, _ := via.Params.Get("branch")
	return branch + "|" + via.Host + ":" + itoa(via.Port) + "|" + string(method)
}

// clientKey is RFC 3261 §17.1.3: the top Via branch and the CSeq method.
func clientKey(res *sip.Response) string {
	branch, _ := res.Via().Params.Get("branch")
	return branch + "|" + string(res.CSeq().MethodName)
}

func clientKeyOf(req *sip.Request) string {
	branch, _ := req.Via().Params.Get("branch")
	return branch + "|" + string(req.Method)
}

// Pending returns the number of transactions still waiting for a final
// response; those in Completed or Accepted states only absorb
// retransmissions, so a drain need not wait for them.
func (l *Layer) Pending() int {
	servers := l.servers.appendAll(nil)
	clients := l.clients.appendAll(nil)
	n := 0
	for _, tx := range servers {
		if !tx.Answered() {
			n++
		}
	}
	for _, tx := range clients {
		if tx.waiting() {
			n++
		}
	}
	return n
}
