package callmedia

import (
	"errors"
	"strings"

	"github.com/switchboard-gw/switchboard/internal/media/sdprewrite"
)

// statusError is a failure with the SIP response it calls for; the proxy
// reads it through SIPStatus.
type statusError struct {
	code   int
	reason string
}

func (e *statusError) Error() string            { return e.reason }
func (e *statusError) SIPStatus() (int, string) { return e.code, e.reason }

// errNoPorts is answered 503: every plain-leg port pair is in use.
var errNoPorts = &statusError{503, "Service Unavailable (no free media ports)"}

// errNewFingerprint is answered 488: the browser's restart offer brings a new
// DTLS certificate, which needs a new DTLS association (RFC 8842 §5) that
// the bridge cannot make mid-call.
var errNewFingerprint = &statusError{488, "Not Acceptable Here (new DTLS fingerprint)"}

// sdpError maps a translation failure to 488 Not Acceptable Here with the
// fault in the reason phrase (RFC 3261 §21.4.26).
func sdpError(err error) error {
	reason := "Not Acceptable Here (SDP: " + phrase(err) + ")"
	if errors.Is(err, sdprewrite.ErrNoCommonCodec) {
		reason = "Not Acceptable Here (no codec in common)"
	}
	return &statusError{488, reason}
}

// phrase shortens an error to something safe in a status line.
func phrase(err error) string {
	s := strings.TrimPrefix(err.Error(), "sdprewrite: ")
	b := []byte(s)
	for i, c := range b {
		if c < 0x20 || c > 0x7e {
			b[i] = ' '
		}
	}
	if len(b) > 60 {
		b = b[:60]
	}
	return string(b)
}
