package registrar

import "github.com/prometheus/client_golang/prometheus"

// failReason says why credentials were refused: the reason label of
// switchboard_auth_failures_total.
type failReason string

// The reasons credentials are refused.
const (
	reasonMalformed     failReason = "malformed"      // do not parse, or not qop=auth: 400
	reasonURIMismatch   failReason = "uri_mismatch"   // uri is not the Request-URI: 400
	reasonLocked        failReason = "locked"         // refused unchecked by Attempts: 403
	reasonUnknownUser   failReason = "unknown_user"   // no such user: 403, counts towards lockout
	reasonWrongPassword failReason = "wrong_password" // wrong response: 403, counts towards lockout
	reasonReplay        failReason = "replay"         // nonce count did not increase: 403
	reasonStale         failReason = "stale"          // expired or forgotten nonce: 401/407 stale
	reasonForeignNonce  failReason = "foreign_nonce"  // nonce not issued to this client: 401/407 stale
)

var failReasons = []failReason{
	reasonMalformed, reasonURIMismatch, reasonLocked, reasonUnknownUser,
	reasonWrongPassword, reasonReplay, reasonStale, reasonForeignNonce,
}

// Lockout scopes: the scope label of switchboard_auth_lockouts_total.
const (
	scopeUserIP = "user_ip" // one user from one address
	scopeUser   = "user"    // one user from every address it has not logged in from
	scopeIP     = "ip"      // one address, for every user that has not logged in from it
)

// Metrics counts refused credentials and lockouts. A nil *Metrics counts
// nothing.
type Metrics struct {
	failures map[failReason]prometheus.Counter
	lockouts map[string]prometheus.Counter
}

// NewMetrics registers the authentication metrics with reg. Every label
// value exists from the start, at zero.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	failures := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "switchboard", Subsystem: "auth", Name: "failures_total",
		Help: "Digest credentials refused, on REGISTER and on proxied requests, by reason.",
	}, []string{"reason"})
	lockouts := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "switchboard", Subsystem: "auth", Name: "lockouts_total",
		Help: "Lockouts begun after repeated authentication failures, by scope.",
	}, []string{"scope"})
	reg.MustRegister(failures, lockouts)
	m := &Metrics{failures: map[failReason]prometheus.Counter{}, lockouts: map[string]prometheus.Counter{}}
	for _, r := range failReasons {
		m.failures[r] = failures.WithLabelValues(string(r))
	}
	for _, s := range []string{scopeUserIP, scopeUser, scopeIP} {
		m.lockouts[s] = lockouts.WithLabelValues(s)
	}
	return m
}

func (m *Metrics) failed(r failReason) {
	if m != nil {
		m.failures[r].Inc()
	}
}

func (m *Metrics) lockedOut(scope string) {
	if m != nil {
		m.lockouts[scope].Inc()
	}
}
