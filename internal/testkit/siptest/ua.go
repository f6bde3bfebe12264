package siptest

import (
	"context"
	"fmt"
	"strconv"
	"sync"

	"github.com/emiago/sipgo/sip"
)

const allowMethods = "INVITE,ACK,CANCEL,BYE,UPDATE,MESSAGE,OPTIONS,REFER,INFO,NOTIFY"

// UA is a SIP user agent in the manner of JsSIP: it registers, places and
// answers calls over any Transport. Set the exported fields before first use;
// a UA must not be copied after that.
type UA struct {
	Transport Transport
	User      string
	Password  string
	// Domain is the host of the user's address of record and of REGISTER's
	// Request-URI, e.g. "127.0.0.1".
	Domain string
	// InstanceID, e.g. "<urn:uuid:...>", is sent as +sip.instance on REGISTER
	// contacts when set (RFC 5626 §4.1).
	InstanceID string
	// RegID is sent as reg-id on REGISTER contacts when positive (RFC 5626 §4.2).
	RegID int

	mu sync.Mutex
	// regCallID and regCSeq are reused across REGISTERs (RFC 3261 §10.2).
	regCallID string
	regCSeq   uint32
	served    map[sip.RequestMethod]int
}

// AOR returns the user's address of record, sip:user@domain.
func (ua *UA) AOR() sip.Uri {
	return sip.Uri{Scheme: "sip", User: ua.User, Host: ua.Domain}
}

// NewRequest builds an out-of-dialog request to target as JsSIP does: the
// transport's Via with a fresh branch, Max-Forwards 70, From (the AOR) with a
// tag, To, a new Call-ID, CSeq 1, the transport's Contact, Supported: path,
// gruu, outbound, and Allow.
func (ua *UA) NewRequest(method sip.RequestMethod, target sip.Uri) *sip.Request {
	return ua.buildRequest(method, target, target)
}

func (ua *UA) buildRequest(method sip.RequestMethod, ruri, to sip.Uri) *sip.Request {
	req := sip.NewRequest(method, ruri)
	req.AppendHeader(ua.newVia())
	maxForwards := sip.MaxForwardsHeader(70)
	req.AppendHeader(&maxForwards)
	req.AppendHeader(&sip.ToHeader{Address: *to.Clone(), Params: sip.NewParams()})
	req.AppendHeader(&sip.FromHeader{Address: ua.AOR(), Params: params("tag", randToken(10))})
	callID := sip.CallIDHeader(randToken(22))
	req.AppendHeader(&callID)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: 1, MethodName: method})
	req.AppendHeader(ua.contactHeader(method))
	req.AppendHeader(sip.NewHeader("Supported", "path, gruu, outbound"))
	req.AppendHeader(sip.NewHeader("Allow", allowMethods))
	req.SetBody(nil)
	return req
}

func (ua *UA) newVia() *sip.ViaHeader {
	via := ua.Transport.Via()
	via.Params.Add("branch", newBranch())
	return via
}

// contactHeader returns the Contact for a method's request; REGISTER's
// carries the RFC 5626 instance and registration IDs.
func (ua *UA) contactHeader(method sip.RequestMethod) *sip.ContactHeader {
	h := &sip.ContactHeader{Address: ua.Transport.Contact(ua.User), Params: sip.NewParams()}
	if method != sip.REGISTER {
		return h
	}
	if ua.InstanceID != "" {
		h.Params.Add("+sip.instance", strconv.Quote(ua.InstanceID))
	}
	if ua.RegID > 0 {
		h.Params.Add("reg-id", strconv.Itoa(ua.RegID))
	}
	return h
}

// Do sends req and returns its final response. If that is a 401 or 407 and
// the UA has a password, Do answers the challenge once, with CSeq+1 and a
// new branch, and returns the final response to the retry. Not for INVITE.
func (ua *UA) Do(ctx context.Context, req *sip.Request) (*sip.Response, error) {
	res, err := ua.roundTrip(ctx, req)
	if err != nil || !isChallenge(res) || ua.Password == "" {
		return res, err
	}
	retry, err := ua.withCredentials(req, res)
	if err != nil {
		return res, err
	}
	return ua.roundTrip(ctx, retry)
}

// roundTrip sends req and waits for its final response, skipping provisional ones.
func (ua *UA) roundTrip(ctx context.Context, req *sip.Request) (*sip.Response, error) {
	if err := ua.Transport.Send(req); err != nil {
		return nil, fmt.Errorf("siptest: send %s: %w", req.Method, err)
	}
	return ua.finalResponse(ctx, req)
}

func (ua *UA) finalResponse(ctx context.Context, req *sip.Request) (*sip.Response, error) {
	match := isResponseTo(req)
	for {
		m, err := ua.Transport.Next(ctx, match)
		if err != nil {
			return nil, fmt.Errorf("siptest: waiting for response to %s: %w", req.Method, err)
		}
		if res := m.(*sip.Response); !res.IsProvisional() {
			return res, nil
		}
	}
}

func isChallenge(res *sip.Response) bool {
	return res.StatusCode == sip.StatusUnauthorized || res.StatusCode == sip.StatusProxyAuthRequired
}
