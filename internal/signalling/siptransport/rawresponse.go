package siptransport

import (
	"bytes"
	"strconv"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// rawResponse builds a response to a request that did not parse, from the
// header lines a response must echo (RFC 3261 §8.2.6.2): every Via, and the
// first From, To, Call-ID and CSeq. It returns nil when data is not a
// request or has no Via or CSeq, which a client matches the response to its
// transaction by (§17.1.3): then there is no one to answer, and the message
// is dropped (§18.3). A From, To or Call-ID that is missing is left out, so
// that the 400 still says which one it was.
func rawResponse(data []byte, code int, reason string) *sip.Response {
	return buildRawResponse(data, code, reason, false)
}

// rawResponseRepaired is rawResponse for a request whose echoed headers
// would make a response no one can parse (RFC 4475 §3.1.2.1, §3.1.2.6):
// only the top Via value is echoed, without its empty parameters and list
// elements, and a From or To that breaks the grammar is replaced by
// <sip:invalid.invalid>. The client still matches it to its transaction,
// by the branch and CSeq (RFC 3261 §17.1.3).
func rawResponseRepaired(data []byte, code int, reason string) *sip.Response {
	return buildRawResponse(data, code, reason, true)
}

func buildRawResponse(data []byte, code int, reason string, repair bool) *sip.Response {
	head, _, _ := bytes.Cut(data, []byte("\r\n\r\n"))
	lines := strings.Split(string(head), "\r\n")
	if len(lines) < 2 || !looksLikeRequestLine(lines[0]) || strings.HasPrefix(lines[0], "ACK ") {
		return nil
	}
	res := sip.NewResponse(code, reason)
	found := map[string]bool{}
	for _, line := range lines[1:] {
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		canon, keep := echoedHeaders[strings.ToLower(strings.TrimSpace(name))]
		if !keep {
			continue
		}
		value = strings.TrimSpace(value)
		if value == "" || found[canon] && (canon != "Via" || repair) {
			continue
		}
		if repair {
			value = repairValue(canon, value)
		}
		if canon == "CSeq" {
			value = repairCSeq(value, strings.Fields(lines[0])[0])
		}
		if canon == "To" && !strings.Contains(strings.ToLower(value), ";tag=") {
			value += ";tag=sb-bad-request"
		}
		found[canon] = true
		res.AppendHeader(sip.NewHeader(canon, value))
	}
	for _, name := range []string{"Via", "CSeq"} {
		if !found[name] {
			return nil
		}
	}
	res.AppendHeader(sip.NewHeader("Content-Length", "0"))
	return res
}

var echoedHeaders = map[string]string{
	"via": "Via", "v": "Via",
	"from": "From", "f": "From",
	"to": "To", "t": "To",
	"call-id": "Call-ID", "i": "Call-ID",
	"cseq": "CSeq",
}

func looksLikeRequestLine(line string) bool {
	parts := strings.Fields(line) // more than 3 when the Request-URI holds white space (RFC 4475 §3.1.2.8)
	return len(parts) >= 3 && strings.HasPrefix(parts[len(parts)-1], "SIP/") && !strings.HasPrefix(parts[0], "SIP/")
}

// repairCSeq keeps a CSeq the client can match its response with: the
// number if it is one below 2^31 (RFC 3261 §8.1.1.5), else 0, and the method
// of the request line.
func repairCSeq(value, method string) string {
	num, _, _ := strings.Cut(value, " ")
	if _, err := strconv.ParseUint(num, 10, 31); err != nil {
		num = "0"
	}
	return num + " " + method
}

// repairValue makes an echoed header value one a response can carry.
func repairValue(canon, value string) string {
	switch canon {
	case "Via":
		value, _, _ = strings.Cut(value, ",")
		for strings.Contains(value, ";;") {
			value = strings.ReplaceAll(value, ";;", ";")
		}
		return strings.TrimRight(value, "; \t")
	case "From", "To":
		if badAddress([]byte(value)) {
			return "<sip:invalid.invalid>"
		}
	}
	return value
}
