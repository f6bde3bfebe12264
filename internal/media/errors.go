package media

import "errors"

// Errors returned by Engine and Bridge.
var (
	// ErrNoPorts means every RTP/RTCP port pair in Config.RTPPorts is taken.
	ErrNoPorts = errors.New("media: no free RTP port pair")
	// ErrClosed means the Engine or Bridge was closed.
	ErrClosed = errors.New("media: closed")
	// ErrStarted means StartWebRTC was called twice on one Bridge.
	ErrStarted = errors.New("media: WebRTC leg already started")
	// ErrNotStarted means RestartICE was called before StartWebRTC.
	ErrNotStarted = errors.New("media: WebRTC leg not started")
	// ErrFingerprint means a DTLS fingerprint could not be parsed, or the
	// peer's certificate does not match it (RFC 8122 §5).
	ErrFingerprint = errors.New("media: DTLS fingerprint")
)
