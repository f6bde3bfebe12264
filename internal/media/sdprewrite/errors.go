package sdprewrite

import (
	"errors"
	"fmt"
)

// Sentinel errors. Test them with errors.Is: the returned error wraps one of
// these and, for ErrMalformed, the parser's own error, whose text the proxy
// can put in the reason phrase of its 488 (RFC 3261 §21.4.26).
var (
	// ErrMalformed reports an SDP that cannot be parsed or lacks something
	// the translation needs (an m-line's connection address, say).
	ErrMalformed = errors.New("sdprewrite: malformed SDP")

	// ErrNoCommonCodec reports an SDP with no usable audio stream: no audio
	// m-line, audio rejected, or none of PCMU, PCMA, G722 and opus offered.
	ErrNoCommonCodec = errors.New("sdprewrite: no codec in common")

	// ErrLocal reports local parameters the caller got wrong (an invalid
	// RTP address), a bug rather than something the peer did.
	ErrLocal = errors.New("sdprewrite: invalid local parameters")
)

// The ways a translation finds no audio to carry.
var (
	errNoAudio       = fmt.Errorf("%w: no audio m-line with PCMU, PCMA, G722 or opus", ErrNoCommonCodec)
	errAudioRejected = fmt.Errorf("%w: the answer rejects the audio m-line", ErrNoCommonCodec)
	errNoneAnswered  = fmt.Errorf("%w: the answer keeps no offered audio codec", ErrNoCommonCodec)
)
