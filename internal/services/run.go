package services

import (
	"time"
)

// run is the call's clock, one goroutine per call: it answers after
// AnswerDelay, retransmits, paces the tone, ends the call when it was
// quiet or long enough, and forgets it once it has lingered 64·T1 after
// its end, so that late retransmissions still get their answer.
//
// A goroutine per call, rather than one ticker shared by every call, keeps
// each call's timers, tone buffer and sequence numbers its own: no lock on
// the tone path, no call delaying another, and a call's end is its
// goroutine's return. The cost, a few kilobytes of stack, is less than
// the RTP reader each call needs anyway.
func (c *call) run() {
	defer c.s.forget(c)
	var tick <-chan time.Time
	if c.service == Tone {
		t := time.NewTicker(ptime)
		defer t.Stop()
		tick = t.C
	}
	wake := time.NewTimer(0)
	defer wake.Stop()
	for {
		select {
		case <-c.s.closing:
			c.media.close()
			return
		case <-tick:
			c.media.sendTone()
			continue
		case <-c.kick:
		case <-wake.C:
		}
		next, state, done := c.step(time.Now())
		if done {
			return
		}
		if state == ended {
			tick = nil
		}
		wake.Reset(time.Until(next))
	}
}

// step does what is due at now and returns when to look again, the
// state, and whether the call can be forgotten.
func (c *call) step(now time.Time) (next time.Time, state callState, done bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state == ringing && !now.Before(c.answerAt) {
		c.answerLocked(now)
	}
	if c.retx != nil && !now.Before(c.retx.next) {
		c.retransmitLocked(now)
	}
	if c.state == confirmed && c.retx == nil {
		if reason := c.expiredLocked(now); reason != "" {
			c.hangupLocked(now, reason)
		}
	}
	if c.state == ended && c.retx == nil && !now.Before(c.endedAt.Add(c.linger())) {
		return time.Time{}, ended, true
	}
	return c.nextLocked(now), c.state, false
}

// retransmitLocked sends the pending message again, or gives up on it: an
// unACKed 2xx ends the call with BYE (RFC 3261 §13.3.1.4).
func (c *call) retransmitLocked(now time.Time) {
	r := c.retx
	if !now.Before(r.giveUp) {
		c.retx = nil
		if r.success && c.state != ended {
			c.hangupLocked(now, endNoACK)
		}
		return
	}
	c.s.write(r.data, c.peer)
	r.interval = min(2*r.interval, c.s.cfg.t2())
	r.next = now.Add(r.interval)
}

// expiredLocked says why a confirmed call must end now, or "".
func (c *call) expiredLocked(now time.Time) string {
	switch {
	case !now.Before(c.started.Add(c.s.cfg.MaxDuration)):
		return endMax
	case c.peerSends && !now.Before(c.idleDeadline()):
		return endIdle
	}
	return ""
}

// idleDeadline is when the call ends if no more RTP arrives.
func (c *call) idleDeadline() time.Time {
	return time.Unix(0, c.media.lastRTP.Load()).Add(c.s.cfg.IdleTimeout)
}

// linger is how long an ended call still answers retransmissions: 64·T1,
// as RFC 3261 §17.2.2 timer J.
func (c *call) linger() time.Duration { return 64 * c.s.cfg.T1 }

// nextLocked is the earliest time something may be due.
func (c *call) nextLocked(now time.Time) time.Time {
	next := now.Add(time.Hour)
	consider := func(t time.Time) {
		if t.Before(next) {
			next = t
		}
	}
	if c.retx != nil {
		consider(c.retx.next)
	}
	switch {
	case c.state == ringing:
		consider(c.answerAt)
	case c.state == confirmed && c.retx == nil:
		consider(c.started.Add(c.s.cfg.MaxDuration))
		if c.peerSends {
			consider(c.idleDeadline())
		}
	case c.state == ended:
		consider(c.endedAt.Add(c.linger()))
	}
	return next
}
