package registrar

import (
	"strconv"

	"github.com/emiago/sipgo/sip"
)

// Status codes sipgo has no constant for (RFC 3261 §21.4).
const (
	statusIntervalTooBrief = 423
)

// statusError is a REGISTER the registrar refuses, carrying the final
// response to send: status code, reason phrase and any header the status
// requires (Min-Expires for 423, Unsupported for 420).
type statusError struct {
	code   int
	reason string
	header []sip.Header
}

func (e *statusError) Error() string {
	return "registrar: " + strconv.Itoa(e.code) + " " + e.reason
}

// response builds the error response to req.
func (e *statusError) response(req *sip.Request) *sip.Response {
	res := newResponse(req, e.code, e.reason)
	for _, h := range e.header {
		res.AppendHeader(sip.HeaderClone(h))
	}
	return res
}

// badRequest is a 400 whose reason phrase names the fault, as RFC 3261
// §21.4.1 suggests.
func badRequest(fault string) *statusError {
	return &statusError{code: sip.StatusBadRequest, reason: "Bad Request (" + fault + ")"}
}

func forbidden(fault string) *statusError {
	return &statusError{code: sip.StatusForbidden, reason: "Forbidden (" + fault + ")"}
}

// The fixed refusals of Register.
var (
	errNotRegister     = &statusError{code: sip.StatusMethodNotAllowed, reason: "Method Not Allowed", header: []sip.Header{sip.NewHeader("Allow", "REGISTER")}}
	errMalformedAuth   = badRequest("malformed Authorization")
	errDigestURI       = badRequest("digest uri does not match Request-URI") // RFC 7616 §3.4.6
	errBadCredentials  = forbidden("bad credentials")
	errUserMismatch    = forbidden("user does not match To")
	errTooManyContacts = forbidden("too many contacts")
	errNoCallID        = badRequest("missing Call-ID")
	errNoCSeq          = badRequest("missing CSeq")
	errNoTo            = badRequest("missing or malformed To")
	errToNotSIP        = badRequest("To is not a SIP URI")
	errToNoUser        = badRequest("To has no user")
	errToNoHost        = badRequest("To has no host")
	errDomain          = &statusError{code: sip.StatusNotFound, reason: "Not Found (domain not served)"}
	errContact         = badRequest("malformed Contact")
	errContactScheme   = badRequest("Contact is not a SIP URI")
	errWildcard        = badRequest("Contact * needs Expires: 0 and no other Contact")
	errQ               = badRequest("invalid q")
	errRegID           = badRequest("invalid reg-id")
	// errNotAdmitted is RegisterRaw's credentials refused at the last
	// moment (see applyLocked): never answered, since Register then takes
	// the request and gives it the answer.
	errNotAdmitted = forbidden("bad credentials")
)
