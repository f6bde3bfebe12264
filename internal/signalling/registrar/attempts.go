package registrar

import "net/netip"

// Attempts keeps the score of authentication attempts so that the
// Authenticator can refuse a user or a source that has failed too often,
// before it checks any credentials. The Authenticator calls Allow once for
// each request that carries credentials for its realm (well-formed, for
// the Request-URI), then Failed for a wrong password or an unknown user,
// or Succeeded for valid credentials; it reports nothing else (no
// credentials, a stale or foreign nonce, a replay), so that a client's own
// challenge round trips never count against it.
//
// src is the address the request came from: the REGISTER's flow, or the
// proxied request's source. Lockout keeps the score in memory; a cluster of
// gateways would share one in a store such as Redis. Implementations must
// be safe for concurrent use.
type Attempts interface {
	// Allow reports whether user may try credentials from src now.
	Allow(user string, src netip.Addr) bool
	// Failed records a wrong password or an unknown user.
	Failed(user string, src netip.Addr)
	// Succeeded records valid credentials.
	Succeeded(user string, src netip.Addr)
}
