package sipproxy

import (
	"errors"

	"github.com/emiago/sipgo/sip"
)

// StatusError is a failure that maps to a SIP final response.
type StatusError struct {
	Code   int
	Reason string
}

func (e *StatusError) Error() string { return e.Reason }

func status(code int, reason string) *StatusError { return &StatusError{Code: code, Reason: reason} }

// Errors the proxy answers with; reason phrases name the fault (RFC 3261 §21).
var (
	errTooManyHops    = status(sip.StatusTooManyHops, "Too Many Hops")
	errLoop           = status(sip.StatusLoopDetected, "Loop Detected")
	errNotRegistered  = status(sip.StatusTemporarilyUnavailable, "Temporarily Unavailable (not registered)")
	errFlowFailed     = status(430, "Flow Failed")
	errFlowGone       = status(sip.StatusTemporarilyUnavailable, "Temporarily Unavailable (connection closed)")
	errNoRoute        = status(sip.StatusNotFound, "Not Found (no route)")
	errUnresolvable   = status(sip.StatusNotFound, "Not Found (cannot resolve target)")
	errNoTransport    = status(sip.StatusServiceUnavailable, "Service Unavailable (transport not enabled)")
	errDraining       = status(sip.StatusServiceUnavailable, "Service Unavailable (shutting down)")
	errNoTransaction  = status(sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
	errBadToken       = status(sip.StatusNotFound, "Not Found (unknown flow token)")
	errUnreachable    = status(sip.StatusServiceUnavailable, "Service Unavailable (next hop unreachable)")
	errRequestTimeout = status(sip.StatusRequestTimeout, "Request Timeout")
	errNotImplemented = status(sip.StatusNotImplemented, "Not Implemented")

	errForgedToken      = status(sip.StatusForbidden, "Forbidden (bad flow token)")
	errIdentityMismatch = status(sip.StatusForbidden, "Forbidden (From does not match the authenticated user)")
	errWrongCredentials = status(sip.StatusForbidden, "Forbidden (bad credentials)")
	errBadCredentials   = status(sip.StatusBadRequest, "Bad Request (malformed Proxy-Authorization)")
	errUntrusted        = status(sip.StatusForbidden, "Forbidden (not a trusted peer)")
	errRegisterFirst    = status(sip.StatusForbidden, "Forbidden (register first)")

	// The per-user limits (limits.go): RFC 3261 §21.4.4, the server
	// refuses this user's request, and retrying it at once will not help;
	// not 503, which says the server is overloaded for everyone and sends
	// clients to another, nor 486, which says the callee is busy.
	errTooManyCalls = status(sip.StatusForbidden, "Forbidden (too many calls)")
	errCallRate     = status(sip.StatusForbidden, "Forbidden (call rate exceeded)")
	errNoContact    = status(sip.StatusBadRequest, "Bad Request (missing Contact)")

	// The dial plan (dialplan.go).
	errNotANumber       = status(sip.StatusNotFound, "Not Found (not a valid number)")
	errPhoneContext     = status(sip.StatusAddressIncomplete, "Address Incomplete (phone-context not supported)")
	errIncomplete       = status(sip.StatusAddressIncomplete, "Address Incomplete")
	errNumberNotAllowed = status(sip.StatusForbidden, "Forbidden (number not allowed)")
)

// statusCoder is an error from another component that knows the SIP
// response it calls for.
type statusCoder interface{ SIPStatus() (int, string) }

// asStatus turns any error into the response it calls for.
func asStatus(err error) *StatusError {
	var se *StatusError
	if errors.As(err, &se) {
		return se
	}
	var sc statusCoder
	if errors.As(err, &sc) {
		code, reason := sc.SIPStatus()
		return status(code, reason)
	}
	return status(sip.StatusInternalServerError, "Server Internal Error")
}
