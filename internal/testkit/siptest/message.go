package siptest

import (
	"math/rand/v2"
	"net/http"

	"github.com/emiago/sipgo/sip"
)

const tokenChars = "abcdefghijklmnopqrstuvwxyz0123456789"

// randToken returns n random lowercase letters and digits, as JsSIP's
// createRandomToken does; fine for tags, Call-IDs and branches, not secrets.
func randToken(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = tokenChars[rand.IntN(len(tokenChars))]
	}
	return string(b)
}

// newBranch returns an RFC 3261 §8.1.1.7 branch: magic cookie, then randomness.
func newBranch() string {
	return sip.RFC3261BranchMagicCookie + randToken(16)
}

// params builds header parameters from key, value pairs.
func params(kv ...string) sip.HeaderParams {
	p := sip.NewParams()
	for i := 0; i+1 < len(kv); i += 2 {
		p.Add(kv[i], kv[i+1])
	}
	return p
}

// setBody sets body and, when it is not empty, its Content-Type.
func setBody(m sip.Message, contentType string, body []byte) {
	if len(body) > 0 {
		ct := sip.ContentTypeHeader(contentType)
		m.AppendHeader(&ct)
	}
	m.SetBody(body)
}

// ensureToTag gives req's To header a tag if it has none, so that every
// response built from req carries the same one (RFC 3261 §8.2.6.2). It
// mutates req, which must be a request this package received.
func ensureToTag(req *sip.Request) {
	if to := req.To(); to != nil && !to.Params.Has("tag") {
		to.Params.Add("tag", randToken(10))
	}
}

// newResponse builds a response to req. contact, when not nil, is added to
// 1xx and 2xx responses to INVITE and UPDATE, which establish or refresh a
// dialog's remote target (RFC 3261 §12.1.1). An empty reason is filled in.
func newResponse(req *sip.Request, code int, reason string, body []byte, contact *sip.Uri) *sip.Response {
	if code > 100 {
		ensureToTag(req)
	}
	if reason == "" {
		reason = reasonPhrase(code)
	}
	res := sip.NewResponseFromRequest(req, code, reason, nil)
	if contact != nil && code > 100 && code < 300 && refreshesTarget(req.Method) {
		res.AppendHeader(&sip.ContactHeader{Address: *contact})
	}
	setBody(res, "application/sdp", body)
	return res
}

// reasonPhrase returns the RFC 3261 §21 reason phrase for code. The SIP
// phrases that differ from HTTP's are listed; the rest fall back to HTTP's.
func reasonPhrase(code int) string {
	switch code {
	case sip.StatusTrying:
		return "Trying"
	case sip.StatusRinging:
		return "Ringing"
	case sip.StatusSessionInProgress:
		return "Session Progress"
	case sip.StatusProxyAuthRequired:
		return "Proxy Authentication Required"
	case sip.StatusTemporarilyUnavailable:
		return "Temporarily Unavailable"
	case sip.StatusCallTransactionDoesNotExists:
		return "Call/Transaction Does Not Exist"
	case sip.StatusBusyHere:
		return "Busy Here"
	case sip.StatusRequestTerminated:
		return "Request Terminated"
	case sip.StatusNotAcceptableHere:
		return "Not Acceptable Here"
	case sip.StatusGlobalDecline:
		return "Decline"
	}
	if text := http.StatusText(code); text != "" {
		return text
	}
	return "Unknown"
}

// refreshesTarget reports whether method's 2xx carries a Contact that sets
// the dialog's remote target (RFC 3261 §12.2, RFC 3311).
func refreshesTarget(method sip.RequestMethod) bool {
	return method == sip.INVITE || method == sip.UPDATE
}
