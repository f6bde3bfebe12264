package siptest

import (
	"fmt"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// withCredentials returns a copy of req that answers challenge, a 401 or 407,
// with CSeq+1 and a new branch (RFC 3261 §22.2).
func (ua *UA) withCredentials(req *sip.Request, challenge *sip.Response) (*sip.Request, error) {
	chName, credName := "WWW-Authenticate", "Authorization"
	if challenge.StatusCode == sip.StatusProxyAuthRequired {
		chName, credName = "Proxy-Authenticate", "Proxy-Authorization"
	}
	ch, ok := pickChallenge(challenge.GetHeaders(chName))
	if !ok {
		return nil, fmt.Errorf("siptest: %d without a usable %s", challenge.StatusCode, chName)
	}
	cred, err := DigestAuthorization(ch, string(req.Method), req.Recipient.String(), ua.User, ua.Password, 1)
	if err != nil {
		return nil, err
	}
	retry := req.Clone()
	retry.RemoveHeader(credName)
	retry.AppendHeader(sip.NewHeader(credName, cred))
	retry.Via().Params.Add("branch", newBranch())
	retry.CSeq().SeqNo++
	return retry, nil
}

// pickChallenge prefers a SHA-256 challenge to an MD5 one (RFC 8760 §2.4).
func pickChallenge(headers []sip.Header) (string, bool) {
	fallback := ""
	for _, h := range headers {
		ch, err := parseChallenge(h.Value())
		if err != nil {
			continue
		}
		if _, err := digestHash(ch.algorithm); err != nil {
			continue
		}
		if strings.EqualFold(ch.algorithm, "SHA-256") {
			return h.Value(), true
		}
		fallback = h.Value()
	}
	return fallback, fallback != ""
}
