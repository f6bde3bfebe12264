package dtlssrtp

import "errors"

// Errors of a handshake that cannot key SRTP.
var (
	// ErrNoProfile means the handshake negotiated no SRTP profile: the
	// peer offered none of Profiles.
	ErrNoProfile = errors.New("dtlssrtp: DTLS negotiated no SRTP profile")
	// ErrUnknownProfile means a DTLS SRTP profile that is not in Profiles.
	ErrUnknownProfile = errors.New("dtlssrtp: unexpected SRTP profile")
	// ErrNoState means the DTLS conn has no connection state: its
	// handshake has not finished.
	ErrNoState = errors.New("dtlssrtp: DTLS connection state unavailable")
)
