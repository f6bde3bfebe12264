// Package siptransport carries SIP messages over UDP, TCP and TLS, and defines
// the Conn abstraction that the WebSocket transport (package sipws) implements
// too, so that transactions and the proxy see one kind of path to a peer.
//
// Every inbound byte passes through an Inbound, which applies the configured
// limits (RFC 3261 §18.3 size checks, header and Via counts, a per-IP request
// rate) and one framing rule for every transport (framing.go), parses the
// message, stamps received/rport on the top Via (RFC 3261 §18.2.1, RFC 3581
// §4), and answers malformed requests with a 400 (or 505) whose reason
// phrase names the fault in fixed words, never in the peer's.
package siptransport

import (
	"bytes"
	"net/netip"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// Transport names as they appear in a Via header.
const (
	UDP = "UDP"
	TCP = "TCP"
	TLS = "TLS"
	WS  = "WS"
	WSS = "WSS"
)

// Conn is a path to one peer: a connection (TCP, TLS, WS, WSS) or a UDP
// socket paired with the peer's address. Send must be safe for concurrent use
// and must not block for long: a slow peer must never stall the caller.
type Conn interface {
	// Transport is one of UDP, TCP, TLS, WS and WSS.
	Transport() string
	// LocalAddr is the address the peer reached switchboard on.
	LocalAddr() netip.AddrPort
	// RemoteAddr is the peer's address as seen on the socket.
	RemoteAddr() netip.AddrPort
	// FlowID names the flow (RFC 5626 §3.1): a connection, or for UDP the
	// pair of local socket and remote address. It is stable for the
	// connection's lifetime and never reused.
	FlowID() string
	// Send writes one message. It returns ErrClosed once the connection is gone.
	Send(msg sip.Message) error
}

// BufferSender is a Conn that can send a message rendered by hand, without
// a sip.Message: the connections do (TCP, TLS, WebSocket).
type BufferSender interface {
	// SendBuffer queues the message in buf, a buffer from NewBuffer, and
	// owns buf from then on.
	SendBuffer(buf *bytes.Buffer) error
}

// remoteSourcer is a Conn that keeps its peer's address rendered once, as
// netip.AddrPort.String does, so that the messages it delivers get their
// source without rendering it again each.
type remoteSourcer interface {
	RemoteSource() string
}

// remoteSource is c's RemoteAddr as text.
func remoteSource(c Conn) string {
	if s, ok := c.(remoteSourcer); ok {
		return s.RemoteSource()
	}
	return c.RemoteAddr().String()
}

// Reliable reports whether c runs over a reliable, connection-oriented
// transport, where RFC 3261 §17 timers that retransmit are not used.
func Reliable(c Conn) bool { return c.Transport() != UDP }

// IsWebSocket reports whether the transport name is WS or WSS.
func IsWebSocket(transport string) bool {
	return strings.EqualFold(transport, WS) || strings.EqualFold(transport, WSS)
}

// Handler receives what the transports read. HandleMessage is called on the
// reading goroutine, so it must not block; ConnClosed is called once for
// every reliable connection when it goes away.
type Handler interface {
	HandleMessage(msg sip.Message, from Conn)
	ConnClosed(c Conn)
}
