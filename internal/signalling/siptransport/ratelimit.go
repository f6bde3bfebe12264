package siptransport

import (
	"net/netip"
	"sync"
	"time"
)

// RateLimiter is a token bucket per IP address. Buckets idle for longer than
// it takes to refill are forgotten, so memory stays bounded by the number of
// recently active addresses.
type RateLimiter struct {
	rate  float64
	burst float64
	now   func() time.Time

	// mu guards the fields below.
	mu        sync.Mutex
	buckets   map[netip.Addr]*bucket
	lastSweep time.Time
}

type bucket struct {
	tokens float64
	last   time.Time
}

// NewRateLimiter allows rate events per second per address, bursts of burst.
func NewRateLimiter(rate, burst float64) *RateLimiter {
	return &RateLimiter{rate: rate, burst: burst, now: time.Now, buckets: map[netip.Addr]*bucket{}}
}

// Allow takes one token from ip's bucket and reports whether there was one.
func (r *RateLimiter) Allow(ip netip.Addr) bool {
	now := r.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	b := r.buckets[ip]
	if b == nil {
		r.sweepLocked(now)
		b = &bucket{tokens: r.burst, last: now}
		r.buckets[ip] = b
	}
	b.tokens = min(r.burst, b.tokens+now.Sub(b.last).Seconds()*r.rate)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// sweepLocked drops buckets that are full again, at most once a second.
func (r *RateLimiter) sweepLocked(now time.Time) {
	if now.Sub(r.lastSweep) < time.Second {
		return
	}
	r.lastSweep = now
	refill := time.Duration(r.burst / r.rate * float64(time.Second))
	for ip, b := range r.buckets {
		if now.Sub(b.last) > refill {
			delete(r.buckets, ip)
		}
	}
}
