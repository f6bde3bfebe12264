package services

import (
	"net/netip"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/internal/signalling/sipmsg"
)

// handleRequest answers a request: in its call if it has one, else as a
// stateless UAS (RFC 3261 §8.2.7), except an INVITE for a service, which
// starts a call.
func (s *Server) handleRequest(req *sip.Request, from netip.AddrPort) {
	if c := s.lookup(req.CallID().Value()); c != nil {
		c.handle(req)
		return
	}
	switch {
	case req.Method == sip.ACK:
		// The ACK of a failure answered statelessly, or of nothing.
	case sipmsg.HasToTag(req) || req.Method == sip.CANCEL:
		s.replyStateless(req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
	case req.Method == sip.OPTIONS:
		s.reply(req, s.options(req, statelessTag(req)))
	case req.Recipient.User != Echo && req.Recipient.User != Tone:
		s.replyStateless(req, sip.StatusNotFound, "Not Found")
	case req.Method == sip.INVITE:
		s.invite(req, from)
	default:
		s.replyStateless(req, sip.StatusMethodNotAllowed, "Method Not Allowed")
	}
}

// invite starts a call to a service. What fails before the call exists
// is answered statelessly: without a 100 first, the proxy retransmits the
// INVITE until it gets the answer.
func (s *Server) invite(req *sip.Request, from netip.AddrPort) {
	var offer *remote
	if len(req.Body()) > 0 {
		var err error
		if offer, err = parseRemote(req.Body()); err != nil {
			s.replyStateless(req, sip.StatusNotAcceptableHere, "Not Acceptable Here")
			return
		}
	}
	media, err := newStream(req.Recipient.User, s.cfg.RTPAddr, offer != nil && offer.mux)
	if err != nil {
		s.replyStateless(req, sip.StatusServiceUnavailable, "Service Unavailable (no media port)")
		return
	}
	c := newCall(s, req, from, offer, media)
	if !s.admit(c) {
		media.close()
		s.replyStateless(req, sip.StatusServiceUnavailable, "Service Unavailable (too many calls)")
		return
	}
	c.start()
}

// handleResponse hands a response to the call whose BYE it answers.
func (s *Server) handleResponse(res *sip.Response) {
	if c := s.lookup(res.CallID().Value()); c != nil {
		c.response(res)
	}
}

func (s *Server) lookup(callID string) *call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[callID]
}

// admit records a new call and counts its two goroutines, unless the
// server is closed or full.
func (s *Server) admit(c *call) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.active >= s.cfg.MaxCalls {
		return false
	}
	s.calls[c.id] = c
	s.active++
	s.wg.Add(2)
	return true
}

// ended counts and logs a call's end.
func (s *Server) ended(c *call, reason string, lasted time.Duration) {
	s.mu.Lock()
	s.active--
	s.mu.Unlock()
	s.metrics.ended(c.service, reason)
	s.log.Info("service call ended", "call_id", c.id, "service", c.service, "reason", reason,
		"duration", lasted.Round(time.Millisecond), "rtp_received", c.media.packets.Load())
}

// forget drops a call that has stopped lingering.
func (s *Server) forget(c *call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.calls[c.id] == c {
		delete(s.calls, c.id)
	}
}
