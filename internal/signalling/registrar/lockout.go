package registrar

import (
	"hash/maphash"
	"log/slog"
	"net/netip"
	"sync"
	"time"
)

// DefaultMaxLockoutEntries bounds each of Lockout's tables when
// LockoutConfig.MaxEntries is zero. It is not in the config file.
const DefaultMaxLockoutEntries = 100000

// trustFor is how long a login exempts its user and source from the user
// and IP lockouts (not from the lockout of that pair).
const trustFor = 24 * time.Hour

// maxLoggedUser bounds the user names Lockout logs, which a client chose.
const maxLoggedUser = 64

// LockoutConfig configures a Lockout with values from the config file. A
// failure count of zero turns that scope off.
type LockoutConfig struct {
	// UserIPFailures failures of one user from one source lock that user
	// out from that source.
	UserIPFailures int
	// UserFailures failures of one user, from any sources, lock that user
	// out from every source it has not logged in from within trustFor.
	UserFailures int
	// IPFailures failures from one source, whatever the users, lock that
	// source out for every user that has not logged in from it within
	// trustFor.
	IPFailures int
	// Window is how long failures are counted from the first one; the
	// count then starts again. Required.
	Window time.Duration
	// Duration is how long a lockout lasts. Required.
	Duration time.Duration
	// MaxEntries bounds each table of users, sources and pairs; when one is
	// full the oldest entry that is only counting goes first, then the
	// oldest lockout. Zero means DefaultMaxLockoutEntries.
	MaxEntries int
}

// LockoutDeps are a Lockout's collaborators.
type LockoutDeps struct {
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger logs each lockout once, when it starts; nil logs nothing.
	Logger *slog.Logger
	// Metrics counts lockouts; nil counts nothing.
	Metrics *Metrics
}

// Lockout is the in-memory Attempts. It counts failures in three scopes,
// a user from one source, a user from anywhere, a source for any user,
// and locks out whichever reaches its limit within the window, for the
// lockout's duration; tries while locked are not counted and do not extend
// it. So that an attacker cannot keep the real user out, a login marks its
// (user, source) pair trusted: the user and source lockouts do not apply to
// it, only a lockout of the pair itself, which takes that pair's own
// failures. A success clears the pair's count, never the user's or the
// source's, which a user logging in often would otherwise keep at zero.
//
// Sources are IP addresses, IPv4-mapped ones unmapped, IPv6 ones cut to
// their /64 (one subscriber's network). User names are kept as 64-bit
// hashes with a random seed, so that long names cost no memory.
type Lockout struct {
	cfg     LockoutConfig
	now     func() time.Time
	log     *slog.Logger
	metrics *Metrics
	seed    maphash.Seed

	mu      sync.Mutex
	pairs   *failTable[pairKey]
	users   *failTable[uint64]
	ips     *failTable[netip.Addr]
	trusted *trustTable
}

// pairKey is a user (hashed) from a source.
type pairKey struct {
	user uint64
	ip   netip.Addr
}

// NewLockout returns a Lockout with nothing counted.
func NewLockout(cfg LockoutConfig, deps LockoutDeps) *Lockout {
	if cfg.MaxEntries <= 0 {
		cfg.MaxEntries = DefaultMaxLockoutEntries
	}
	now := deps.Now
	if now == nil {
		now = time.Now
	}
	return &Lockout{
		cfg: cfg, now: now, log: deps.Logger, metrics: deps.Metrics, seed: maphash.MakeSeed(),
		pairs:   newFailTable[pairKey](cfg.UserIPFailures, cfg.MaxEntries),
		users:   newFailTable[uint64](cfg.UserFailures, cfg.MaxEntries),
		ips:     newFailTable[netip.Addr](cfg.IPFailures, cfg.MaxEntries),
		trusted: newTrustTable(cfg.MaxEntries),
	}
}

var _ Attempts = (*Lockout)(nil)

// Allow refuses a locked-out pair, and a user or source locked out unless
// the pair is trusted.
func (l *Lockout) Allow(user string, src netip.Addr) bool {
	k, now := l.key(user, src), l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pruneLocked(now)
	switch {
	case l.pairs.locked(k):
		return false
	case l.trusted.has(k):
		return true
	}
	return !l.users.locked(k.user) && !l.ips.locked(k.ip)
}

// Failed counts a failure in every scope and logs each lockout it starts.
func (l *Lockout) Failed(user string, src netip.Addr) {
	k, now := l.key(user, src), l.now()
	l.mu.Lock()
	l.pruneLocked(now)
	var started []string
	if l.pairs.fail(k, now, l.cfg.Duration) {
		started = append(started, scopeUserIP)
	}
	if l.users.fail(k.user, now, l.cfg.Duration) {
		started = append(started, scopeUser)
	}
	if l.ips.fail(k.ip, now, l.cfg.Duration) {
		started = append(started, scopeIP)
	}
	l.mu.Unlock()
	for _, scope := range started {
		l.lockedOut(scope, user, src)
	}
}

// Succeeded clears the pair's failures and trusts it.
func (l *Lockout) Succeeded(user string, src netip.Addr) {
	k, now := l.key(user, src), l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pruneLocked(now)
	l.pairs.forget(k)
	l.trusted.add(k, now)
}

// Len returns the number of entries held in all tables, for tests and
// operators.
func (l *Lockout) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.pairs.byKey) + len(l.users.byKey) + len(l.ips.byKey) + len(l.trusted.byKey)
}

func (l *Lockout) key(user string, src netip.Addr) pairKey {
	return pairKey{user: maphash.String(l.seed, user), ip: sourceOf(src)}
}

func (l *Lockout) pruneLocked(now time.Time) {
	l.pairs.prune(now, l.cfg.Window)
	l.users.prune(now, l.cfg.Window)
	l.ips.prune(now, l.cfg.Window)
	l.trusted.prune(now)
}

// lockedOut counts and logs a lockout that has just started.
func (l *Lockout) lockedOut(scope, user string, src netip.Addr) {
	l.metrics.lockedOut(scope)
	if l.log == nil {
		return
	}
	attrs := []any{"scope", scope, "duration", l.cfg.Duration}
	if scope != scopeIP {
		if len(user) > maxLoggedUser {
			user = user[:maxLoggedUser] + "…"
		}
		attrs = append(attrs, "user", user)
	}
	if scope != scopeUser {
		attrs = append(attrs, "source", sourceOf(src).String())
	} else {
		attrs = append(attrs, "last_source", src.String())
	}
	l.log.Warn("authentication locked out after repeated failures", attrs...)
}

// sourceOf is the address a source is counted by: an IPv4 address, or the
// /64 network of an IPv6 one.
func sourceOf(ip netip.Addr) netip.Addr {
	ip = ip.Unmap().WithZone("")
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.Addr()
	}
	return ip
}
