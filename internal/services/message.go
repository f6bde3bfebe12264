package services

import (
	"hash/fnv"
	"math/rand/v2"
	"net/netip"
	"strconv"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/internal/signalling/sipmsg"
)

// allow lists the methods the services answer, for Allow headers.
const allow = "INVITE, ACK, CANCEL, BYE, OPTIONS"

// response builds a response to req whose To carries tag when req's has
// none (RFC 3261 §8.2.6.2); the same tag must go on every response of a
// dialog. A 100 carries no tag.
func (s *Server) response(req *sip.Request, code int, reason, tag string) *sip.Response {
	res := sip.NewResponseFromRequest(req, code, reason, nil)
	if code == sip.StatusTrying {
		return res
	}
	if to := res.To(); to != nil && !sipmsg.HasToTag(req) {
		to.Params.Add("tag", tag)
	}
	if s.cfg.UserAgent != "" {
		res.AppendHeader(sip.NewHeader("Server", s.cfg.UserAgent))
	}
	return res
}

// reply sends res to where req came from (RFC 3581 symmetric response) and
// returns the bytes sent.
func (s *Server) reply(req *sip.Request, res *sip.Response) []byte {
	to, err := netip.ParseAddrPort(req.Source())
	if err != nil {
		return nil
	}
	return s.send(res, to)
}

// replyStateless answers req as a stateless UAS does (RFC 3261 §8.2.7):
// the To tag derives from the request, so that a retransmission gets the
// same answer.
func (s *Server) replyStateless(req *sip.Request, code int, reason string) {
	s.metrics.rejected(code)
	res := s.response(req, code, reason, statelessTag(req))
	if code == sip.StatusMethodNotAllowed {
		res.AppendHeader(sip.NewHeader("Allow", allow))
	}
	if code == sip.StatusServiceUnavailable {
		res.AppendHeader(sip.NewHeader("Retry-After", "5"))
	}
	s.reply(req, res)
}

// options answers OPTIONS, RFC 3261 §11.2.
func (s *Server) options(req *sip.Request, tag string) *sip.Response {
	res := s.response(req, sip.StatusOK, "OK", tag)
	res.AppendHeader(sip.NewHeader("Allow", allow))
	res.AppendHeader(sip.NewHeader("Accept", "application/sdp"))
	return res
}

// statelessTag is a To tag that is the same for every retransmission of req.
func statelessTag(req *sip.Request) string {
	h := fnv.New64a()
	h.Write([]byte(req.CallID().Value()))
	h.Write([]byte(sipmsg.FromTag(req)))
	h.Write([]byte(req.Via().Params.GetOr("branch", "")))
	return strconv.FormatUint(h.Sum64(), 36)
}

// setSDP sets an SDP body.
func setSDP(m sip.Message, body []byte) {
	ct := sip.ContentTypeHeader("application/sdp")
	m.AppendHeader(&ct)
	m.SetBody(body)
}

// newTag returns a random tag or branch suffix (RFC 3261 §19.3): not a
// secret, only unique.
func newTag() string { return strconv.FormatUint(rand.Uint64(), 36) }

// newBye builds the BYE this side of the dialog sends, RFC 3261 §12.2.1.1
// and §15.1.1: to the caller's Contact, through the route set, with the
// dialog's tags and the next local CSeq.
func (c *call) newBye(cseq uint32, reason string) *sip.Request {
	bye := sip.NewRequest(sip.BYE, *c.target.Clone())
	via := &sip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: "UDP",
		Host: c.s.addr.Addr().String(), Port: int(c.s.addr.Port()), Params: sip.NewParams()}
	via.Params.Add("branch", sip.RFC3261BranchMagicCookie+newTag())
	via.Params.Add("rport", "")
	bye.AppendHeader(via)
	mf := sip.MaxForwardsHeader(70)
	bye.AppendHeader(&mf)
	for _, r := range c.routes {
		bye.AppendHeader(&sip.RouteHeader{Address: *r.Clone()})
	}
	from := &sip.FromHeader{Address: *c.invite.To().Address.Clone(), Params: sip.NewParams()}
	from.Params.Add("tag", c.tag)
	to := &sip.ToHeader{Address: *c.invite.From().Address.Clone(), Params: sip.NewParams()}
	to.Params.Add("tag", sipmsg.FromTag(c.invite))
	callID := sip.CallIDHeader(c.id)
	bye.AppendHeader(from)
	bye.AppendHeader(to)
	bye.AppendHeader(&callID)
	bye.AppendHeader(&sip.CSeqHeader{SeqNo: cseq, MethodName: sip.BYE})
	bye.AppendHeader(sip.NewHeader("Reason", `SIP;cause=200;text="`+reason+`"`))
	if c.s.cfg.UserAgent != "" {
		bye.AppendHeader(sip.NewHeader("User-Agent", c.s.cfg.UserAgent))
	}
	bye.SetBody(nil)
	return bye
}
