// Package registrar is switchboard's SIP registrar (RFC 3261 §10.3) with
// RFC 5626 outbound and RFC 3327 Path support, and the Digest authenticator
// (RFC 3261 §22, RFC 7616, RFC 8760) that the proxy shares for INVITEs.
//
// The package is pure: no I/O (but the injected logger's line when a
// lockout starts) and no goroutines. Its owner hands it each REGISTER with
// the flow it arrived on and sends the response it gets back, calls
// DropFlow when a connection closes and Sweep now and then; every time is
// read from the injected clock. Repeated authentication failures are kept
// behind Attempts, which Lockout implements in memory.
package registrar

import (
	"cmp"
	"hash/maphash"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo/sip"
)

// DefaultMaxContacts is the most bindings of one address-of-record when
// Config.MaxContacts is zero (registrar.max_contacts has its own default).
const DefaultMaxContacts = 10

// dateFormat is the SIP-date of the Date header (RFC 3261 §20.17, RFC 1123).
const dateFormat = "Mon, 02 Jan 2006 15:04:05 GMT"

// Flow identifies the transport connection a request arrived on.
type Flow struct {
	ID        string // unique connection/flow id, e.g. "ws-17" or "udp:1.2.3.4:5060"
	Transport string // "udp", "tcp", "tls", "ws" or "wss"
	Remote    netip.AddrPort
}

// Config configures a Registrar with values from the config file, taken as
// they are: New fills in nothing.
type Config struct {
	// Realm is the Digest realm. Required when Auth is on.
	Realm string
	// Domain is the only host accepted in an address-of-record; "" accepts
	// any host.
	Domain string
	// Auth requires Digest authentication. When false the registrar is
	// open: anyone may register any user without a password.
	Auth bool
	// Users maps user names to passwords. New copies it.
	Users map[string]string
	// NonceTTL is how long a Digest nonce stays fresh. Required when Auth
	// is on.
	NonceTTL time.Duration
	// MinExpires is the shortest registration accepted; a shorter one is
	// answered 423 (RFC 3261 §10.3 step 7). Required, whole seconds.
	MinExpires time.Duration
	// MaxExpires caps every registration. Required, at least MinExpires.
	MaxExpires time.Duration
	// DefaultExpires applies to a contact with neither an expires parameter
	// nor an Expires header. Required, from MinExpires to MaxExpires.
	DefaultExpires time.Duration
	// MaxContacts is the most bindings one address-of-record may hold; a
	// REGISTER that would exceed it is answered 403. It is
	// registrar.max_contacts; zero means DefaultMaxContacts.
	MaxContacts int
	// DigestAlgorithms lists the challenges offered, most preferred first
	// (RFC 8760 §2.4). Required when Auth is on. JsSIP and SIP.js answer
	// only the first challenge and only MD5, so they need MD5 first.
	DigestAlgorithms []string
}

// Deps are a Registrar's collaborators.
type Deps struct {
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Attempts locks out users and sources that fail Digest authentication
	// too often, on REGISTER and on the proxy's requests alike (a
	// *Lockout); nil locks no one out.
	Attempts Attempts
	// Metrics counts refused credentials; nil counts nothing.
	Metrics *Metrics
}

// Binding is one registered contact of an address-of-record.
type Binding struct {
	AOR        string   // canonical "user@host": host lower-cased, user as sent
	Contact    *sip.Uri // the Contact URI as registered
	Expires    time.Time
	Q          float64 // 1.0 unless the Contact had a q parameter
	InstanceID string  // +sip.instance without quotes and angle brackets (RFC 5626), "" if none
	RegID      int     // reg-id (RFC 5626), 0 if none
	Flow       Flow    // the flow the REGISTER arrived on
	CallID     string
	CSeq       uint32
	Path       []string // Path header values (RFC 3327), in order
	// Outbound is set when the UA uses RFC 5626 outbound: InstanceID and
	// RegID are set and the REGISTER had Supported: outbound or the
	// Contact URI an ob parameter. Requests to it must use Flow.
	Outbound bool
	// Params are the Contact header parameters as registered (feature tags
	// of RFC 3840, +sip.instance, reg-id, q), without expires.
	Params sip.HeaderParams
}

// OverFlow reports whether requests to b go over the flow its REGISTER
// came on rather than to its Contact as registered (RFC 3261 §10.3 stores
// the Contact; the flow is the fix-up of a Contact that cannot be used as
// it is): with RFC 5626 outbound (§5.3); over a connection (TCP, TLS,
// WebSocket), which is the way back to the client; and over UDP when NAT is
// detected, the Contact naming another host than the address the REGISTER
// came from (a private address behind NAT, or a name). A Contact at the
// source's own IP, on another port, is a client that listens elsewhere
// than it sends from, or a registration on behalf of a phone beside it:
// requests go to the Contact.
func (b Binding) OverFlow() bool {
	if b.Outbound || !strings.EqualFold(b.Flow.Transport, "udp") || !b.Flow.Remote.IsValid() {
		return true
	}
	ip, err := netip.ParseAddr(strings.Trim(b.Contact.Host, "[]"))
	return err != nil || ip.Unmap() != b.Flow.Remote.Addr().Unmap()
}

func (b Binding) clone() Binding {
	b.Contact = b.Contact.Clone()
	b.Path = slices.Clone(b.Path)
	b.Params = b.Params.Clone()
	return b
}

// entry is a stored Binding. Entries are never modified once stored, so a
// REGISTER can work on a copy of the slice and commit it atomically.
type entry struct {
	b   Binding
	key string // see bindingKey
	seq uint64 // order of registration, for "most recent first"
	// rendered is the Contact as a 200 lists it, but for expires, when
	// the REGISTER came through RegisterRaw; "" otherwise.
	rendered string
}

func (e *entry) live(now time.Time) bool { return now.Before(e.b.Expires) }

// Registrar holds the bindings of every address-of-record and answers
// REGISTER requests. It is safe for concurrent use.
type Registrar struct {
	cfg  Config
	now  func() time.Time
	auth *Authenticator

	// shards hold the bindings, spread by user part so that REGISTERs and
	// lookups of different users take different locks.
	shards [shardCount]shard
	seed   maphash.Seed
	// seq numbers the entries in registration order.
	seq atomic.Uint64

	// date is the Date header value of the last 200, for its second.
	date atomic.Pointer[formattedDate]
}

// shardCount is how many locks the bindings are spread over: enough that
// cores rarely meet on one, few enough that Sweep and DropFlow, which visit
// every shard, stay cheap.
const shardCount = 64

// shard is the bindings of the users whose user part hashes to it.
type shard struct {
	// mu guards byUser.
	mu sync.Mutex
	// byUser maps the user part of each AOR to its bindings, expired ones
	// included until Sweep removes them.
	byUser map[string][]*entry
	// The padding keeps two shards' locks off one cache line.
	_ [64 - 16]byte
}

// formattedDate is the Date header of one second. Responses share it:
// nothing changes a header once it is in a response.
type formattedDate struct {
	sec    int64
	header sip.Header
}

// requireOutbound is RFC 5626 §6's Require: outbound, shared by every
// response that carries it.
var requireOutbound = sip.NewHeader("Require", "outbound")

// New returns a Registrar with no bindings. It copies cfg.Users.
func New(cfg Config, deps Deps) *Registrar {
	cfg.Users = maps.Clone(cfg.Users)
	if cfg.MaxContacts <= 0 {
		cfg.MaxContacts = DefaultMaxContacts
	}
	now := deps.Now
	if now == nil {
		now = time.Now
	}
	r := &Registrar{
		cfg:  cfg,
		now:  now,
		seed: maphash.MakeSeed(),
		auth: NewAuthenticator(
			AuthConfig{Realm: cfg.Realm, Users: cfg.Users, NonceTTL: cfg.NonceTTL, Algorithms: cfg.DigestAlgorithms},
			AuthDeps{Now: now, Attempts: deps.Attempts, Metrics: deps.Metrics},
		),
	}
	for i := range r.shards {
		r.shards[i].byUser = make(map[string][]*entry)
	}
	return r
}

// shardOf returns the shard that holds user's bindings.
func (r *Registrar) shardOf(user string) *shard {
	return &r.shards[maphash.String(r.seed, user)%shardCount]
}

// Auth returns the registrar's Authenticator, for the proxy's 407 challenges.
func (r *Registrar) Auth() *Authenticator { return r.auth }

// Register processes a REGISTER (RFC 3261 §10.3) that arrived on flow and
// returns the response to send, never nil. With Config.Auth it challenges
// (401) or refuses (403, 400) until the Digest credentials are right and
// name the To user; the flow's remote address is the client the nonces are
// bound to and the source Attempts counts. It then validates the request, updates the bindings
// all at once or not at all, and answers 200 listing every current contact
// of the AOR with its remaining expires. user is the authenticated user (the
// To user when Config.Auth is false) when the answer is 200, else "".
func (r *Registrar) Register(req *sip.Request, flow Flow) (res *sip.Response, user string) {
	if req.Method != sip.REGISTER {
		return errNotRegister.response(req), ""
	}
	authUser, res := r.authenticate(req, flow.Remote.Addr())
	if res != nil {
		return res, ""
	}
	reg, err := parseRegistration(req, &r.cfg)
	if err == nil && r.cfg.Auth && authUser != reg.user {
		// RFC 3261 §10.3 step 4: a user may only register its own AOR.
		err = errUserMismatch
	}
	if err != nil {
		return err.response(req), ""
	}
	live, now, err := r.apply(reg, flow, nil)
	if err != nil {
		return err.response(req), ""
	}
	return r.accept(req, reg, live, now), reg.user
}

// apply takes reg's user's shard lock and applies reg (applyLocked).
func (r *Registrar) apply(reg *registration, flow Flow, admit func() bool) ([]*entry, time.Time, *statusError) {
	now := r.now()
	sh := r.shardOf(reg.user)
	sh.mu.Lock()
	live, err := r.applyLocked(sh, reg, flow, now, admit)
	sh.mu.Unlock()
	return live, now, err
}

// authenticate implements RFC 3261 §10.3 step 3. It returns a response
// when the request must not go further.
// A lockout is answered as bad credentials: the right password is refused
// too, and a guess cannot tell a lockout from a wrong guess.
func (r *Registrar) authenticate(req *sip.Request, src netip.Addr) (string, *sip.Response) {
	if !r.cfg.Auth {
		return "", nil
	}
	user, result := r.auth.Verify(req, src, false)
	switch result {
	case AuthOK:
		return user, nil
	case AuthMissing:
		return "", r.auth.Challenge(req, src, false, false)
	case AuthStale:
		return "", r.auth.Challenge(req, src, false, true)
	case AuthBadRequest:
		return "", errMalformedAuth.response(req)
	case AuthURIMismatch:
		return "", errDigestURI.response(req)
	}
	return "", errBadCredentials.response(req) // AuthFailed, AuthReplay, AuthLocked
}

// applyLocked carries out RFC 3261 §10.3 steps 6 and 7 on a copy of the
// user's entries and commits the copy only if the result is acceptable,
// so a REGISTER changes all its bindings or none. It returns the AOR's
// live entries afterwards, in liveEntries' order. sh is reg.user's shard;
// its mutex is held. admit, when not nil, is asked last, once the result
// is acceptable: when it refuses nothing is committed (errNotAdmitted).
func (r *Registrar) applyLocked(sh *shard, reg *registration, flow Flow, now time.Time, admit func() bool) ([]*entry, *statusError) {
	entries := slices.Clone(sh.byUser[reg.user])
	if reg.wildcard {
		entries = slices.DeleteFunc(entries, func(e *entry) bool {
			return e.b.AOR == reg.aor && e.live(now) && !reg.outOfOrder(&e.b)
		})
	}
	for i := range reg.contacts {
		entries = r.applyContactLocked(entries, reg, &reg.contacts[i], flow, now)
	}
	live := liveEntries(entries, reg.aor, now)
	if len(live) > r.cfg.MaxContacts {
		return nil, errTooManyContacts
	}
	if admit != nil && !admit() {
		return nil, errNotAdmitted
	}
	if len(entries) == 0 {
		delete(sh.byUser, reg.user)
	} else {
		sh.byUser[reg.user] = entries
	}
	return live, nil
}

// applyContactLocked adds, refreshes or removes the binding of one contact
// (RFC 3261 §10.3 step 7; RFC 5626 §6 for instance and reg-id).
func (r *Registrar) applyContactLocked(entries []*entry, reg *registration, c *contact, flow Flow, now time.Time) []*entry {
	i := slices.IndexFunc(entries, func(e *entry) bool {
		return e.b.AOR == reg.aor && e.key == c.key && e.live(now)
	})
	switch {
	case i < 0 && c.expires == 0:
		return entries
	case i < 0:
		return append(entries, r.newEntryLocked(reg, c, flow, now))
	case reg.outOfOrder(&entries[i].b):
		return entries
	case c.expires == 0:
		return slices.Delete(entries, i, i+1)
	}
	entries[i] = r.newEntryLocked(reg, c, flow, now)
	return entries
}

func (r *Registrar) newEntryLocked(reg *registration, c *contact, flow Flow, now time.Time) *entry {
	return &entry{
		key:      c.key,
		seq:      r.seq.Add(1),
		rendered: c.rendered,
		b: Binding{
			AOR:        reg.aor,
			Contact:    c.uri,
			Expires:    now.Add(c.expires),
			Q:          c.q,
			InstanceID: c.instance,
			RegID:      c.regID,
			Flow:       flow,
			CallID:     reg.callID,
			CSeq:       reg.cseq,
			Path:       slices.Clone(reg.path),
			Outbound:   c.outbound,
			Params:     c.params,
		},
	}
}

// outOfOrder reports whether the request is older than the one that made
// b: same Call-ID, CSeq not higher. RFC 3261 §10.3 step 7 says such an
// update "MUST be aborted and the request fails"; switchboard leaves that
// binding untouched, applies the rest and still answers 200 with the
// current bindings, which is all a late or duplicated REGISTER needs.
func (reg *registration) outOfOrder(b *Binding) bool {
	return b.CallID == reg.callID && reg.cseq <= b.CSeq
}

// accept builds the 200 of RFC 3261 §10.3 step 8. The live entries are
// read without the lock: stored entries are never modified.
func (r *Registrar) accept(req *sip.Request, reg *registration, live []*entry, now time.Time) *sip.Response {
	res := newResponse(req, sip.StatusOK, "OK")
	for _, e := range live {
		b := &e.b
		// The URI is shared with the binding (the response only renders
		// it); the parameters get expires, so they are a copy.
		params := make(sip.HeaderParams, len(b.Params), len(b.Params)+1)
		copy(params, b.Params)
		h := &sip.ContactHeader{Address: *b.Contact, Params: params}
		h.Params.Add("expires", strconv.FormatInt(seconds(b.Expires.Sub(now)), 10))
		res.AppendHeader(h)
	}
	if reg.outbound {
		// RFC 5626 §6: tell the UA its flow is in use.
		res.AppendHeader(requireOutbound)
	}
	if reg.supportsPath {
		// RFC 3327 §5.3.
		for _, p := range reg.path {
			res.AppendHeader(sip.NewHeader("Path", p))
		}
	}
	res.AppendHeader(r.dateHeader(now))
	return res
}

// dateHeader is now as a SIP-date in a Date header, made once per second.
func (r *Registrar) dateHeader(now time.Time) sip.Header {
	sec := now.Unix()
	if d := r.date.Load(); d != nil && d.sec == sec {
		return d.header
	}
	d := &formattedDate{sec: sec, header: sip.NewHeader("Date", now.UTC().Format(dateFormat))}
	r.date.Store(d)
	return d.header
}

// Lookup returns copies of the live bindings of aor ("user@host", the host
// compared case-insensitively), best q first, then most recent first.
func (r *Registrar) Lookup(aor string) []Binding {
	i := strings.LastIndexByte(aor, '@')
	if i <= 0 {
		return nil
	}
	user := aor[:i]
	aor = user + "@" + strings.ToLower(aor[i+1:])
	now := r.now()
	sh := r.shardOf(user)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	return liveBindings(sh.byUser[user], aor, now)
}

// LookupUser is Lookup by user part alone, whatever the host; it suits a
// registrar whose Config.Domain is "".
func (r *Registrar) LookupUser(user string) []Binding {
	now := r.now()
	sh := r.shardOf(user)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	return liveBindings(sh.byUser[user], "", now)
}

// DropFlow removes and returns every binding registered over the flow
// flowID, which has closed: nothing can reach those contacts any more.
func (r *Registrar) DropFlow(flowID string) []Binding {
	return r.remove(func(e *entry) bool { return e.b.Flow.ID == flowID })
}

// Sweep removes and returns the expired bindings. The owner calls it
// periodically; Lookup already hides them in between.
func (r *Registrar) Sweep() []Binding {
	now := r.now()
	return r.remove(func(e *entry) bool { return !e.live(now) })
}

// Count returns the number of live bindings.
func (r *Registrar) Count() int {
	now := r.now()
	n := 0
	for i := range r.shards {
		sh := &r.shards[i]
		sh.mu.Lock()
		for _, entries := range sh.byUser {
			for _, e := range entries {
				if e.live(now) {
					n++
				}
			}
		}
		sh.mu.Unlock()
	}
	return n
}

// remove deletes the entries that match and returns them ordered by AOR,
// then registration order. It takes one shard's lock at a time.
func (r *Registrar) remove(match func(*entry) bool) []Binding {
	var removed []*entry
	for i := range r.shards {
		sh := &r.shards[i]
		sh.mu.Lock()
		removed = sh.removeLocked(match, removed)
		sh.mu.Unlock()
	}
	slices.SortFunc(removed, func(a, b *entry) int {
		return cmp.Or(strings.Compare(a.b.AOR, b.b.AOR), cmp.Compare(a.seq, b.seq))
	})
	out := make([]Binding, len(removed))
	for i, e := range removed {
		out[i] = e.b.clone()
	}
	return out
}

// removeLocked deletes the shard's entries that match and appends them to
// removed.
func (sh *shard) removeLocked(match func(*entry) bool, removed []*entry) []*entry {
	for user, entries := range sh.byUser {
		kept := slices.DeleteFunc(slices.Clone(entries), match)
		if len(kept) == len(entries) {
			continue
		}
		for _, e := range entries {
			if match(e) {
				removed = append(removed, e)
			}
		}
		if len(kept) == 0 {
			delete(sh.byUser, user)
		} else {
			sh.byUser[user] = kept
		}
	}
	return removed
}

// liveBindings returns copies of the live entries of aor ("" for any),
// best q first, then most recent first.
func liveBindings(entries []*entry, aor string, now time.Time) []Binding {
	live := liveEntries(entries, aor, now)
	out := make([]Binding, len(live))
	for i, e := range live {
		out[i] = e.b.clone()
	}
	return out
}

// liveEntries returns the live entries of aor ("" for any), best q first,
// then most recent first.
func liveEntries(entries []*entry, aor string, now time.Time) []*entry {
	var live []*entry
	for _, e := range entries {
		if e.live(now) && (aor == "" || e.b.AOR == aor) {
			live = append(live, e)
		}
	}
	slices.SortFunc(live, func(a, b *entry) int {
		return cmp.Or(cmp.Compare(b.b.Q, a.b.Q), cmp.Compare(b.seq, a.seq))
	})
	return live
}
