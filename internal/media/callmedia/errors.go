package callmedia

import (
	"errors"

	"github.com/switchboard-gw/switchboard/internal/media/sdprewrite"
)

// statusError is a failure with the SIP response it calls for; the proxy
// reads it through SIPStatus. label names its class in the refusal metric.
type statusError struct {
	code   int
	reason string
	label  string
}

func (e *statusError) Error() string            { return e.reason }
func (e *statusError) SIPStatus() (int, string) { return e.code, e.reason }

// errNoPorts is answered 503: every plain-leg port pair is in use.
var errNoPorts = &statusError{503, "Service Unavailable (no free media ports)", "no_ports"}

// errNewFingerprint is answered 488: the browser's restart offer brings a new
// DTLS certificate, which needs a new DTLS association (RFC 8842 §5) that
// the bridge cannot make mid-call.
var errNewFingerprint = &statusError{488, "Not Acceptable Here (new DTLS fingerprint)", "new_fingerprint"}

// The translation failures other than a browser's invalid SDP, answered 488.
var (
	errNoCodec   = &statusError{488, "Not Acceptable Here (no codec in common)", "no_common_codec"}
	errMalformed = &statusError{488, "Not Acceptable Here (malformed SDP)", "malformed"}
)

// sdpError maps a translation failure to 488 Not Acceptable Here with the
// fault in the reason phrase (RFC 3261 §21.4.26). The phrase names the
// fault and never quotes the SDP: what the parser saw is for the log.
func sdpError(err error) error {
	var f *sdprewrite.Fault
	switch {
	case errors.As(err, &f):
		return &statusError{488, "Not Acceptable Here (" + f.Reason + ")", f.Label}
	case errors.Is(err, sdprewrite.ErrNoCommonCodec):
		return errNoCodec
	case errors.Is(err, sdprewrite.ErrMalformed):
		return errMalformed
	}
	return &statusError{500, "Server Internal Error (SDP not translated)", "other"}
}

// refusalLabel returns the label of err in the refusal metric.
func refusalLabel(err error) string {
	var se *statusError
	if errors.As(err, &se) {
		return se.label
	}
	return "other"
}
