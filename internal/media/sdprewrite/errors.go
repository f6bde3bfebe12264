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

// ErrInvalid reports a browser's SDP that breaks a rule of WebRTC or one of
// the limits on its size: the error is a *Fault, which says which.
var ErrInvalid = errors.New("sdprewrite: invalid WebRTC SDP")

// Fault is one way a browser's SDP is invalid. Reason names the fault in
// words fit for a reason phrase, without quoting the SDP; Label names it in
// metrics. errors.Is(f, ErrInvalid) holds for every Fault.
type Fault struct {
	Label, Reason string
}

func (f *Fault) Error() string        { return ErrInvalid.Error() + ": " + f.Reason }
func (f *Fault) Is(target error) bool { return target == ErrInvalid }

// The faults ValidateWebRTC and the translations from WebRTC report.
var (
	FaultTooLarge             = &Fault{"too_large", "SDP too large"}
	FaultTooManyLines         = &Fault{"too_many_lines", "too many SDP lines"}
	FaultTooManyMedia         = &Fault{"too_many_mlines", "too many m-lines"}
	FaultTooManyCandidates    = &Fault{"too_many_candidates", "too many candidates"}
	FaultNoFingerprint        = &Fault{"no_fingerprint", "no DTLS fingerprint"}
	FaultFingerprintAlgorithm = &Fault{"fingerprint_algorithm", "unsupported fingerprint algorithm"}
	FaultFingerprintMalformed = &Fault{"fingerprint_malformed", "malformed fingerprint"}
	FaultNoICE                = &Fault{"no_ice_credentials", "no ICE credentials"}
	FaultUfragTooShort        = &Fault{"ice_ufrag_too_short", "ICE ufrag too short"}
	FaultUfragInvalid         = &Fault{"ice_ufrag_invalid", "invalid ICE ufrag"}
	FaultPwdTooShort          = &Fault{"ice_pwd_too_short", "ICE password too short"}
	FaultPwdInvalid           = &Fault{"ice_pwd_invalid", "invalid ICE password"}
	FaultSetup                = &Fault{"setup_invalid", "invalid a=setup"}
)

// Faults lists every Fault, for the metrics to know their labels.
var Faults = []*Fault{
	FaultTooLarge, FaultTooManyLines, FaultTooManyMedia, FaultTooManyCandidates,
	FaultNoFingerprint, FaultFingerprintAlgorithm, FaultFingerprintMalformed,
	FaultNoICE, FaultUfragTooShort, FaultUfragInvalid, FaultPwdTooShort, FaultPwdInvalid, FaultSetup,
}
