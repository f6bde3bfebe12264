package registrar

import (
	"math/rand/v2"
	"net"
	"strconv"

	"github.com/emiago/sipgo/sip"
)

// newResponse is sip.NewResponseFromRequest for a request to the
// registrar, REGISTER above all, at a fraction of its cost: it shares the
// request's Via, From, Call-ID and CSeq header values with the response
// instead of cloning them, since neither message changes once the response
// is built (the transaction user gets the request to read, and the
// response is only rendered), and it draws the To tag from the runtime's
// per-thread ChaCha8 generator rather than crypto/rand. The headers come
// out in the same order and with the same values as sipgo's, but for the
// tag's form. RFC 3261 §8.2.6.2 (tag), §8.2.6.2 and §20 Table 3 (no
// Record-Route in a response to REGISTER), RFC 3581 §4 (rport).
func newResponse(req *sip.Request, code int, reason string) *sip.Response {
	res := sip.NewResponse(code, reason)
	res.SipVersion = req.SipVersion
	first := true
	for _, h := range req.Headers() {
		via, ok := h.(*sip.ViaHeader)
		if !ok {
			continue
		}
		if first {
			via = withRport(via, req.Source())
			first = false
		}
		res.AppendHeader(via)
	}
	if h := req.From(); h != nil {
		res.AppendHeader(h)
	}
	if h := req.To(); h != nil {
		res.AppendHeader(withTag(h))
	}
	if h := req.CallID(); h != nil {
		res.AppendHeader(h)
	}
	if h := req.CSeq(); h != nil {
		res.AppendHeader(h)
	}
	res.SetBody(nil)
	res.SetTransport(req.Transport())
	res.SetDestination(req.Source())
	return res
}

// withRport returns via, or a copy of it with rport and received filled in
// from source when it asks for them (RFC 3581 §4) and the transport has not
// filled them in already.
func withRport(via *sip.ViaHeader, source string) *sip.ViaHeader {
	if v, ok := via.Params.Get("rport"); !ok || v != "" {
		return via
	}
	via = via.Clone()
	host, port, _ := net.SplitHostPort(source)
	via.Params.Add("rport", port)
	via.Params.Add("received", host)
	return via
}

// withTag returns to, or a copy of it with a tag when it has none (RFC
// 3261 §8.2.6.2). The copy shares the URI, which nothing changes.
func withTag(to *sip.ToHeader) *sip.ToHeader {
	if to.Params.Has("tag") {
		return to
	}
	params := make(sip.HeaderParams, len(to.Params), len(to.Params)+1)
	copy(params, to.Params)
	tagged := &sip.ToHeader{DisplayName: to.DisplayName, Address: to.Address, Params: params}
	tagged.Params.Add("tag", newTag())
	return tagged
}

// newTag returns 64 random bits in hex: RFC 3261 §19.3 asks for at least 32
// cryptographically random bits, which the runtime's ChaCha8 gives.
func newTag() string {
	var b [16]byte
	return string(strconv.AppendUint(b[:0], rand.Uint64(), 16))
}
