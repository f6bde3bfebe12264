package siptransport

import "errors"

// Sentinel errors returned by transports.
var (
	// ErrClosed is returned by Send on a connection that has gone away.
	ErrClosed = errors.New("siptransport: connection closed")
	// ErrQueueFull is returned by Send when a peer does not read fast enough.
	ErrQueueFull = errors.New("siptransport: peer is not reading; send queue full")
	// ErrTooManyConnections is returned when a connection limit is reached.
	ErrTooManyConnections = errors.New("siptransport: too many connections")
	// ErrUnsupportedTransport is returned for a transport with no listener.
	ErrUnsupportedTransport = errors.New("siptransport: transport not enabled")
)
