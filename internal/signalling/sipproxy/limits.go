package sipproxy

import (
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/internal/signalling/siptransport"
	"github.com/switchboard-gw/switchboard/internal/signalling/siptx"
)

// Limits bounds what one authenticated user may start, and how long any
// dialog switchboard record-routed may last. A zero field is off.
//
// The per-user limits apply in ModeRegistrar with Config.Auth, to the
// INVITEs of users authenticated by admit. Trusted peers (the PBXs and
// trunks) are not limited per user: they carry the calls of many users,
// whom switchboard cannot tell apart, and their capacity is theirs to
// police. Without Auth (the development mode) no user is authenticated,
// and none is limited.
type Limits struct {
	// CallsPerUser is the most calls one user may have at once: INVITEs
	// forwarded and not yet failed, and the dialogs they created until
	// they end.
	CallsPerUser int
	// CallRatePerUser is the sustained rate of new calls one user may
	// start, per second; bursts of twice this are allowed.
	CallRatePerUser float64
	// MaxCallDuration ends a dialog with BYE to both ends this long after
	// its 2xx (Reason: SIP;cause=200;text="maximum call duration").
	MaxCallDuration time.Duration
	// AckTimeout ends a dialog whose 2xx no ACK followed within it, as its
	// UAS would (RFC 3261 §13.3.1.4: 64*T1), so that an INVITE never
	// ACKed holds nothing. The gateway sets it to 64*T1.
	AckTimeout time.Duration
}

// The reasons a call is refused for its user's limits, as the
// switchboard_proxy_user_limited_total metric labels them.
const (
	limitCalls = "calls_per_user"
	limitRate  = "call_rate_per_user"
)

// The reasons switchboard ends a dialog itself, as the
// switchboard_proxy_dialogs_ended_total metric labels them, and the text
// of the Reason header of its BYEs.
const (
	endMaxDuration = "max_call_duration"
	endNoAck       = "no_ack"

	reasonMaxDuration = "maximum call duration"
	reasonNoAck       = "no ACK"
)

// userLimits counts each limited user's calls and new-call rate. A user
// has an entry only while it has calls, or while its rate bucket is not
// yet full again, so memory is bounded by the users active lately, who are
// all authenticated ones.
type userLimits struct {
	cfg Limits

	// mu guards the fields below.
	mu        sync.Mutex
	active    map[string]int
	buckets   map[string]*bucket
	lastSweep time.Time
}

// bucket is a token bucket of new calls.
type bucket struct {
	tokens float64
	last   time.Time
}

func newUserLimits(cfg Limits) *userLimits {
	return &userLimits{cfg: cfg, active: map[string]int{}, buckets: map[string]*bucket{}}
}

// acquire counts a new call of user, or reports the limit it would break.
func (u *userLimits) acquire(user string) (*lease, string) {
	now := time.Now()
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.cfg.CallsPerUser > 0 && u.active[user] >= u.cfg.CallsPerUser {
		return nil, limitCalls
	}
	if u.cfg.CallRatePerUser > 0 && !u.takeTokenLocked(user, now) {
		return nil, limitRate
	}
	u.active[user]++
	return &lease{u: u, user: user}, ""
}

// takeTokenLocked takes one token from user's bucket: the token bucket
// of siptransport.RateLimiter, keyed by user instead of address.
func (u *userLimits) takeTokenLocked(user string, now time.Time) bool {
	rate, burst := u.cfg.CallRatePerUser, 2*u.cfg.CallRatePerUser
	b := u.buckets[user]
	if b == nil {
		u.sweepLocked(now, rate, burst)
		b = &bucket{tokens: burst, last: now}
		u.buckets[user] = b
	}
	b.tokens = min(burst, b.tokens+now.Sub(b.last).Seconds()*rate)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// sweepLocked forgets the buckets that are full again, at most once a
// second.
func (u *userLimits) sweepLocked(now time.Time, rate, burst float64) {
	if now.Sub(u.lastSweep) < time.Second {
		return
	}
	u.lastSweep = now
	refill := time.Duration(burst / rate * float64(time.Second))
	for user, b := range u.buckets {
		if now.Sub(b.last) > refill {
			delete(u.buckets, user)
		}
	}
}

// users reports how many users have an entry, for tests of its bound.
func (u *userLimits) users() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.active) + len(u.buckets)
}

// lease is one counted call of a user; release uncounts it, once. A nil
// lease counts nothing.
type lease struct {
	u    *userLimits
	user string
	once sync.Once
}

func (l *lease) release() {
	if l == nil {
		return
	}
	l.once.Do(func() {
		l.u.mu.Lock()
		defer l.u.mu.Unlock()
		if l.u.active[l.user]--; l.u.active[l.user] <= 0 {
			delete(l.u.active, l.user)
		}
	})
}

// limitCall counts a new INVITE against its user's limits, once admit let
// it through. It returns nil for a request no limit applies to: another
// method, a trusted peer's, or any without Config.Auth.
func (p *Proxy) limitCall(tx *siptx.ServerTx) (*lease, error) {
	req := tx.Request
	if req.Method != sip.INVITE || p.cfg.Mode != ModeRegistrar || !p.cfg.Auth || p.cfg.Trusted.trusts(tx.Conn) {
		return nil, nil
	}
	if p.cfg.Limits.CallsPerUser == 0 && p.cfg.Limits.CallRatePerUser == 0 {
		return nil, nil
	}
	if req.Contact() == nil {
		// RFC 3261 §8.1.1.8; without it switchboard could not know the
		// dialog, nor when it ends, and the call would go uncounted.
		return nil, errNoContact
	}
	// admit checked that the authenticated user is the one From names.
	l, limit := p.limits.acquire(fromUser(req))
	if limit != "" {
		p.metrics.userLimited(limit)
		if limit == limitRate {
			return nil, errCallRate
		}
		return nil, errTooManyCalls
	}
	return l, nil
}

// dialogLife is what ends a dialog on its own: its user's lease, released
// with it, and the one timer that fires at its next deadline: the ACK it
// waits for, or its maximum duration. Its fields are guarded by
// dialogs.mu.
type dialogLife struct {
	lease *lease
	start time.Time
	acked bool
	timer *time.Timer
}

// dialogConfirmed records the dialog a 2xx to an initial INVITE created,
// with the call's lease, and arms its timer. A dialog switchboard cannot
// record (a 2xx without Contact) cannot be ended by it either: its lease is
// released at once.
func (p *Proxy) dialogConfirmed(inv *sip.Request, callerConn, calleeConn siptransport.Conn, res *sip.Response, l *lease) {
	d := newDialog(inv, callerConn, calleeConn, res)
	if d == nil {
		l.release()
		return
	}
	d.life = dialogLife{lease: l, start: time.Now()}
	p.dialogs.mu.Lock()
	defer p.dialogs.mu.Unlock()
	if old := p.dialogs.byCallID[d.callID]; old != nil {
		old.stopLocked()
	}
	p.dialogs.byCallID[d.callID] = d
	p.armLocked(d)
}

// armLocked sets d's timer to its next deadline, or stops it if none is
// left.
func (p *Proxy) armLocked(d *dialog) {
	at, _ := p.deadlineLocked(d)
	if at.IsZero() {
		if d.life.timer != nil {
			d.life.timer.Stop()
		}
		return
	}
	wait := time.Until(at)
	if d.life.timer == nil {
		d.life.timer = time.AfterFunc(wait, func() { p.dialogTimer(d) })
		return
	}
	d.life.timer.Reset(wait)
}

// deadlineLocked is when d must end, and why; zero when never.
func (p *Proxy) deadlineLocked(d *dialog) (time.Time, string) {
	lim := p.cfg.Limits
	var at time.Time
	why := ""
	if lim.MaxCallDuration > 0 {
		at, why = d.life.start.Add(lim.MaxCallDuration), endMaxDuration
	}
	if !d.life.acked && lim.AckTimeout > 0 {
		if ack := d.life.start.Add(lim.AckTimeout); at.IsZero() || ack.Before(at) {
			at, why = ack, endNoAck
		}
	}
	return at, why
}

// dialogTimer ends d if its deadline has come, else sets the timer again:
// an ACK may have moved the deadline since the timer was set.
func (p *Proxy) dialogTimer(d *dialog) {
	p.dialogs.mu.Lock()
	if p.dialogs.byCallID[d.callID] != d {
		p.dialogs.mu.Unlock()
		return // ended already
	}
	at, why := p.deadlineLocked(d)
	if at.IsZero() || time.Now().Before(at) {
		p.armLocked(d)
		p.dialogs.mu.Unlock()
		return
	}
	p.dialogs.mu.Unlock()
	p.metrics.dialogEnded(why)
	reason := reasonMaxDuration
	if why == endNoAck {
		reason = reasonNoAck
	}
	p.log.Info("ending call", "call_id", d.callID, "reason", reason)
	p.Hangup(d.callID, reason)
}

// acked records the ACK of a dialog's 2xx: from now only its maximum
// duration can end it.
func (p *Proxy) acked(callID string) {
	p.dialogs.mu.Lock()
	defer p.dialogs.mu.Unlock()
	d := p.dialogs.byCallID[callID]
	if d == nil || d.life.acked {
		return
	}
	d.life.acked = true
	if d.life.timer != nil {
		p.armLocked(d)
	}
}

// stopLocked releases what d holds when it ends.
func (d *dialog) stopLocked() {
	if d.life.timer != nil {
		d.life.timer.Stop()
	}
	d.life.lease.release()
}
