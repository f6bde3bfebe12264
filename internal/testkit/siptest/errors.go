package siptest

import (
	"errors"
	"fmt"

	"github.com/emiago/sipgo/sip"
)

// ErrClosed is returned, wrapped, by receives on a WSClient or UDPPeer whose
// connection has ended.
var ErrClosed = errors.New("siptest: connection closed")

// ErrSubprotocol is returned by DialWS when the server did not select the
// "sip" WebSocket subprotocol (RFC 7118 §4.1).
var ErrSubprotocol = errors.New(`siptest: server did not select the "sip" subprotocol`)

// StatusError reports a final non-2xx response to a request that needed one
// in the 2xx class, such as an INVITE answered 486.
type StatusError struct {
	Response *sip.Response
}

func (e *StatusError) Error() string {
	method := sip.RequestMethod("request")
	if cseq := e.Response.CSeq(); cseq != nil {
		method = cseq.MethodName
	}
	return fmt.Sprintf("siptest: %s answered %d %s", method, e.Response.StatusCode, e.Response.Reason)
}

// HandshakeError reports a WebSocket upgrade the server refused.
type HandshakeError struct {
	// StatusCode is the HTTP status of the refusal, or 0 if none was read.
	StatusCode int
	Err        error
}

func (e *HandshakeError) Error() string {
	return fmt.Sprintf("siptest: websocket handshake failed (HTTP %d): %v", e.StatusCode, e.Err)
}

func (e *HandshakeError) Unwrap() error { return e.Err }
