package config

import (
	"fmt"
	"math"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// FieldError is one problem with one configuration key.
type FieldError struct {
	// File is the config file the key was read from; "" when the Config
	// was not loaded from a file.
	File string
	// Line is the 1-based line in File of Key, or of its nearest enclosing
	// key when Key itself is not in the file; 0 when neither is.
	Line int
	// Key is the key path, such as "websocket.max_message_size",
	// "routes[1].uri" or "registrar.users[0].username"; "" when the problem
	// is with the file as a whole.
	Key string
	// Msg is the complete description of the problem; it names the key.
	Msg string
}

// Error returns the message prefixed with "file:line: " or "file: " when
// those are known, as in
// `switchboard.yaml:4: websocket.idle_timeout: cannot parse "abc" as a duration`.
func (e FieldError) Error() string {
	switch {
	case e.File != "" && e.Line > 0:
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	case e.File != "":
		return e.File + ": " + e.Msg
	}
	return e.Msg
}

// Errors is every problem found in a configuration. Load and Validate
// return it as their error, so that a user sees all problems at once.
type Errors []FieldError

// Error returns the messages of all errors, one a line.
func (es Errors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// Unwrap returns the errors one by one, for errors.Is and errors.As.
func (es Errors) Unwrap() []error {
	errs := make([]error, len(es))
	for i, e := range es {
		errs[i] = e
	}
	return errs
}

// errorList collects FieldErrors; its methods keep the checks short.
type errorList struct {
	errs Errors
}

// addf records a problem with key, prefixing the message with the key.
func (l *errorList) addf(key, format string, args ...any) {
	l.add(key, key+": "+fmt.Sprintf(format, args...))
}

// add records a problem with key whose message already names the key.
func (l *errorList) add(key, msg string) {
	l.errs = append(l.errs, FieldError{Key: key, Msg: msg})
}

// err returns the collected errors, or nil when there are none.
func (l *errorList) err() error {
	if len(l.errs) == 0 {
		return nil
	}
	return l.errs
}

// Validate checks c and returns an Errors listing every problem found, or
// nil. Its FieldErrors have no File or Line; Load fills them in.
func (c *Config) Validate() error {
	var l errorList
	l.checkMode(c)
	l.checkListen(c)
	l.checkTLS(c)
	l.checkSIP(&c.SIP)
	l.checkWebSocket(&c.WebSocket)
	l.checkLimits(&c.Limits)
	l.checkStripHeaders(c.Security.StripHeaders)
	l.checkRegistrar(c)
	l.checkUpstream(c)
	l.checkRoutes(c.Routes)
	l.checkSecurity(&c.Security)
	l.checkMedia(c)
	l.checkTURN(c)
	l.positive("services.max_duration", c.Services.MaxDuration)
	l.nonNegative("shutdown.drain_timeout", c.Shutdown.DrainTimeout)
	l.oneOf("log.level", c.Log.Level, "debug", "info", "warn", "error")
	l.oneOf("log.format", c.Log.Format, "text", "json")
	return l.err()
}

func (l *errorList) checkMode(c *Config) {
	l.oneOf("mode", c.Mode, ModeRegistrar, ModeUpstream)
}

func (l *errorList) checkListen(c *Config) {
	enabled := false
	streamAddrs := map[netip.AddrPort]string{} // address → key of the first TCP-based listener on it
	for _, ln := range c.listeners() {
		if !ln.addr.IsValid() {
			continue
		}
		enabled = enabled || !ln.admin
		key := "listen." + ln.name
		if ln.needsCert && (c.TLS.CertFile == "" || c.TLS.KeyFile == "") {
			l.addf(key, "needs tls.cert_file and tls.key_file")
		}
		if ln.admin && !ln.addr.Addr().IsLoopback() && c.Admin.TokenFile == "" {
			l.addf(key, "%s is reachable from other hosts, and serves every call's addresses: set admin.token_file, or listen on a loopback address", quoteAddr(ln.addr))
		}
		if !ln.admin && ln.addr.Addr().IsUnspecified() && c.SIP.AdvertiseHost == "" {
			l.addf(key, "%s listens on all interfaces, so sip.advertise_host must name the address peers use", quoteAddr(ln.addr))
		}
		if ln.name != "udp" && ln.addr.Port() != 0 {
			if first, dup := streamAddrs[ln.addr]; dup {
				l.addf(key, "%s is already used by %s", quoteAddr(ln.addr), first)
			} else {
				streamAddrs[ln.addr] = key
			}
		}
	}
	if !enabled {
		l.add("listen", "listen: every listener is disabled; set at least one of listen.http, listen.https, listen.udp, listen.tcp, listen.tls")
	}
}

func (l *errorList) checkTLS(c *Config) {
	if c.TLS.CertFile != "" && c.TLS.KeyFile == "" {
		l.addf("tls.key_file", "is required when tls.cert_file is set")
	}
	if c.TLS.KeyFile != "" && c.TLS.CertFile == "" {
		l.addf("tls.cert_file", "is required when tls.key_file is set")
	}
}

func (l *errorList) checkSIP(s *SIP) {
	if h := s.AdvertiseHost; h != "" {
		ip, err := netip.ParseAddr(h)
		switch {
		case err == nil && ip.IsUnspecified():
			l.addf("sip.advertise_host", "%q is not an address peers can reach", h)
		case err != nil && !isHostName(h):
			l.addf("sip.advertise_host", "%q is not an IP address or host name (write it without brackets or port)", h)
		}
	}
	if s.Domain != "" && !isHostName(s.Domain) {
		l.addf("sip.domain", "%q is not a domain name", s.Domain)
	}
	l.durationRange("sip.t1", s.T1, 100*time.Millisecond, 5*time.Second)
	l.headerSafe("sip.user_agent", s.UserAgent)
}

// isHostName reports whether s is a DNS host name (RFC 1123 §2.1).
func isHostName(s string) bool {
	if len(s) == 0 || len(s) > 253 {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if len(label) == 0 || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}

// headerSafe checks that s can be written into a SIP header value.
func (l *errorList) headerSafe(key, s string) {
	if strings.ContainsFunc(s, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		l.addf(key, "must not contain control characters")
	}
}

func (l *errorList) checkWebSocket(w *WebSocket) {
	if !strings.HasPrefix(w.Path, "/") {
		l.addf("websocket.path", "%q must start with \"/\"", w.Path)
	}
	for i, o := range w.AllowedOrigins {
		l.checkOrigin(fmt.Sprintf("websocket.allowed_origins[%d]", i), o)
	}
	l.positive("websocket.handshake_timeout", w.HandshakeTimeout)
	l.intRange("websocket.max_message_size", w.MaxMessageSize, 1024, 16<<20)
	l.nonNegative("websocket.ping_interval", w.PingInterval)
	l.positive("websocket.idle_timeout", w.IdleTimeout)
	if w.PingInterval > 0 && w.IdleTimeout > 0 && w.IdleTimeout <= w.PingInterval {
		l.addf("websocket.idle_timeout", "must be longer than websocket.ping_interval (%s), got %s",
			formatDuration(w.PingInterval), formatDuration(w.IdleTimeout))
	}
	l.positive("websocket.write_timeout", w.WriteTimeout)
}

// checkOrigin checks that o is "*" or an origin exactly as browsers send it
// in the Origin header (RFC 6454 §6.1), since origins are compared as
// strings.
func (l *errorList) checkOrigin(key, o string) {
	if o == "*" {
		return
	}
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		l.addf(key, "%q is not an origin like \"https://phone.example.com\" or \"*\"", o)
		return
	}
	host := strings.ToLower(u.Host)
	if p := u.Port(); u.Scheme == "http" && p == "80" || u.Scheme == "https" && p == "443" {
		host = strings.ToLower(u.Hostname())
	}
	if want := u.Scheme + "://" + host; o != want {
		l.addf(key, "%q never matches; write it as browsers send it: %q", o, want)
	}
}

func (l *errorList) checkLimits(m *Limits) {
	l.intRange("limits.max_message_size", m.MaxMessageSize, 1024, 1<<20)
	l.intRange("limits.max_headers", m.MaxHeaders, 1, math.MaxInt)
	l.intRange("limits.max_via", m.MaxVia, 1, math.MaxInt)
	l.intRange("limits.max_connections", m.MaxConnections, 1, math.MaxInt)
	l.intRange("limits.max_connections_per_ip", m.MaxConnectionsPerIP, 1, math.MaxInt)
	if r := m.RequestsPerSecondPerIP; !(r >= 0) || math.IsInf(r, 0) {
		l.addf("limits.requests_per_second_per_ip", "must be 0 (off) or a positive number, got %v", r)
	}
	l.positive("limits.first_message_timeout", m.FirstMessageTimeout)
	l.nonNegative("limits.idle_timeout", m.IdleTimeout)
	if m.CallsPerUser < 0 {
		l.addf("limits.calls_per_user", "must be 0 (no limit) or a positive number, got %d", m.CallsPerUser)
	}
	if r := m.CallRatePerUser; !(r >= 0) || math.IsInf(r, 0) {
		l.addf("limits.call_rate_per_user", "must be 0 (off) or a positive number, got %v", r)
	}
	l.nonNegative("limits.max_call_duration", m.MaxCallDuration)
}

// neededHeaders are the headers the proxy reads or writes on every
// request, with their compact forms (RFC 3261 §7.3.3): security.strip_headers
// must not remove them.
var neededHeaders = []string{"via", "v", "from", "f", "to", "t", "call-id", "i", "cseq", "contact", "m",
	"route", "record-route", "max-forwards", "content-type", "c", "content-length", "l"}

// checkStripHeaders checks that each entry is a header name (an RFC 3261
// §25.1 token) or a prefix of one followed by "*", and spares the headers
// the proxy needs.
func (l *errorList) checkStripHeaders(names []string) {
	for i, n := range names {
		key := fmt.Sprintf("security.strip_headers[%d]", i)
		prefix, isPrefix := strings.CutSuffix(n, "*")
		if prefix == "" || strings.ContainsFunc(prefix, func(r rune) bool { return r == '*' || !isTokenRune(r) }) {
			l.addf(key, "%q is not a header name like \"X-Tenant-ID\" or a prefix like \"X-Acme-*\"", n)
			continue
		}
		lower := strings.ToLower(prefix)
		for _, h := range neededHeaders {
			if h == lower || isPrefix && strings.HasPrefix(h, lower) {
				l.addf(key, "%q would remove %s, which switchboard needs", n, h)
				break
			}
		}
	}
}

// isTokenRune reports whether r may appear in an RFC 3261 §25.1 token.
func isTokenRune(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-.!%*_+`'~", r)
}

func (l *errorList) checkRegistrar(c *Config) {
	r := &c.Registrar
	if r.Realm == "" {
		l.addf("registrar.realm", "must not be empty")
	} else if strings.ContainsAny(r.Realm, "\"\\") {
		l.addf("registrar.realm", "must not contain '\"' or '\\'")
	}
	l.headerSafe("registrar.realm", r.Realm)
	if c.Mode == ModeRegistrar && r.Auth && len(r.Users) == 0 {
		l.add("registrar.auth", "registrar.auth is on but registrar.users is empty (set users, or auth: false for an open registrar)")
	}
	l.checkUsers(r.Users)
	l.positive("registrar.nonce_ttl", r.NonceTTL)
	l.intRange("registrar.max_contacts", r.MaxContacts, 1, 1000)
	l.checkExpires(r)
	l.checkAlgorithms(r.DigestAlgorithms)
	l.checkLockout(&r.Lockout)
}

func (l *errorList) checkLockout(o *Lockout) {
	for _, n := range []struct {
		key string
		n   int
	}{
		{"registrar.lockout.user_ip_failures", o.UserIPFailures},
		{"registrar.lockout.user_failures", o.UserFailures},
		{"registrar.lockout.ip_failures", o.IPFailures},
	} {
		if n.n < 0 {
			l.addf(n.key, "must be 0 (off) or a positive number, got %d", n.n)
		}
	}
	l.positive("registrar.lockout.window", o.Window)
	l.positive("registrar.lockout.duration", o.Duration)
}

func (l *errorList) checkAlgorithms(algs []string) {
	if len(algs) == 0 {
		l.add("registrar.digest_algorithms", "must list at least one of SHA-256, MD5")
	}
	seen := map[string]bool{}
	for _, a := range algs {
		switch {
		case a != "SHA-256" && a != "MD5":
			l.addf("registrar.digest_algorithms", "unknown algorithm %q (want SHA-256 or MD5)", a)
		case seen[a]:
			l.addf("registrar.digest_algorithms", "%s listed twice", a)
		}
		seen[a] = true
	}
}

func (l *errorList) checkUsers(users []User) {
	first := map[string]int{}
	for i, u := range users {
		key := fmt.Sprintf("registrar.users[%d]", i)
		switch {
		case u.Username == "":
			l.addf(key+".username", "must not be empty")
		case strings.ContainsFunc(u.Username, func(r rune) bool { return r <= ' ' || strings.ContainsRune("\"@:;<>\\\x7f", r) }):
			l.addf(key+".username", "%q must not contain spaces, control characters or any of \" @ : ; < > \\", u.Username)
		default:
			if j, dup := first[u.Username]; dup {
				l.addf(key+".username", "%q is already used by registrar.users[%d]", u.Username, j)
			} else {
				first[u.Username] = i
			}
		}
		if u.Password == "" {
			l.addf(key+".password", "must not be empty")
		}
	}
}

// checkExpires checks the registration lifetimes, which SIP carries in
// whole seconds (RFC 3261 §20.19).
func (l *errorList) checkExpires(r *Registrar) {
	ok := true
	for _, e := range []struct {
		key string
		d   time.Duration
	}{
		{"registrar.min_expires", r.MinExpires},
		{"registrar.max_expires", r.MaxExpires},
		{"registrar.default_expires", r.DefaultExpires},
	} {
		switch {
		case e.d <= 0:
			l.addf(e.key, "must be positive, got %s", formatDuration(e.d))
			ok = false
		case e.d%time.Second != 0:
			l.addf(e.key, "must be a whole number of seconds, got %s", formatDuration(e.d))
			ok = false
		}
	}
	switch {
	case !ok:
	case r.MinExpires > r.MaxExpires:
		l.addf("registrar.min_expires", "must not exceed registrar.max_expires (%s), got %s",
			formatDuration(r.MaxExpires), formatDuration(r.MinExpires))
	case r.DefaultExpires < r.MinExpires || r.DefaultExpires > r.MaxExpires:
		l.addf("registrar.default_expires", "must be from registrar.min_expires (%s) to registrar.max_expires (%s), got %s",
			formatDuration(r.MinExpires), formatDuration(r.MaxExpires), formatDuration(r.DefaultExpires))
	}
}

func (l *errorList) checkUpstream(c *Config) {
	if c.Mode == ModeUpstream && !isSet(c.Upstream.URI) {
		l.addf("upstream.uri", "is required in upstream mode")
	}
}

func (l *errorList) checkRoutes(routes []Route) {
	for i, r := range routes {
		key := fmt.Sprintf("routes[%d]", i)
		if r.Strip < 0 {
			l.addf(key+".strip", "must not be negative, got %d", r.Strip)
		}
		if !isSet(r.URI) {
			l.addf(key+".uri", "is required")
		}
		if !isNumberPattern(r.Prefix, false) {
			l.addf(key+".prefix", "%q is not the start of a number: an optional \"+\" and digits, like \"+44\" or \"9\"", r.Prefix)
		}
		l.checkPatterns(key+".allow", r.Allow)
		l.checkPatterns(key+".deny", r.Deny)
		for j, earlier := range routes[:i] {
			if len(earlier.Allow) == 0 && len(earlier.Deny) == 0 && strings.HasPrefix(r.Prefix, earlier.Prefix) {
				l.addf(key+".prefix", "%q is never used: routes[%d] (prefix %q) comes first and matches it", r.Prefix, j, earlier.Prefix)
				break
			}
		}
	}
}

// checkPatterns checks the allow or deny list of a route: numbers, or
// prefixes of numbers ending in "*".
func (l *errorList) checkPatterns(key string, patterns []string) {
	for i, p := range patterns {
		if !isNumberPattern(p, true) {
			l.addf(fmt.Sprintf("%s[%d]", key, i), "%q is not a number like \"+15551234\" or a prefix like \"+1900*\"", p)
		}
	}
}

// isNumberPattern reports whether s is an optional "+" and digits, as the
// proxy normalises numbers; a pattern may end in "*" and must not be empty.
func isNumberPattern(s string, pattern bool) bool {
	if pattern {
		var star bool
		s, star = strings.CutSuffix(s, "*")
		if s == "" && !star {
			return false
		}
	}
	s = strings.TrimPrefix(s, "+")
	return strings.Trim(s, "0123456789") == ""
}

func (l *errorList) checkSecurity(s *Security) {
	for i, p := range s.TrustedNetworks {
		if p.Bits() == 0 {
			l.addf(fmt.Sprintf("security.trusted_networks[%d]", i), "%q trusts every address: list the networks of your PBXs and trunks", p.String())
		}
	}
}

func (l *errorList) oneOf(key, got string, allowed ...string) {
	for _, a := range allowed {
		if got == a {
			return
		}
	}
	l.addf(key, "%q is not one of %s", got, strings.Join(allowed, ", "))
}

func (l *errorList) intRange(key string, got, lo, hi int) {
	switch {
	case got >= lo && got <= hi:
	case hi == math.MaxInt:
		l.addf(key, "must be at least %d, got %d", lo, got)
	default:
		l.addf(key, "must be from %d to %d, got %d", lo, hi, got)
	}
}

func (l *errorList) durationRange(key string, got, lo, hi time.Duration) {
	if got < lo || got > hi {
		l.addf(key, "must be from %s to %s, got %s", formatDuration(lo), formatDuration(hi), formatDuration(got))
	}
}

func (l *errorList) positive(key string, got time.Duration) {
	if got <= 0 {
		l.addf(key, "must be positive, got %s", formatDuration(got))
	}
}

func (l *errorList) nonNegative(key string, got time.Duration) {
	if got < 0 {
		l.addf(key, "must not be negative, got %s", formatDuration(got))
	}
}

// formatDuration formats d as the config file would write it: "5m", not
// "5m0s".
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func (l *errorList) checkMedia(c *Config) {
	m := &c.Media
	bridge := m.WebRTCListen.IsValid()
	services := c.Services.Enabled && c.Listen.UDP.IsValid()
	// The bridge's plain legs and the services' RTP are both on rtp_ip.
	if ip := m.RTPIP; (bridge || services) && (!ip.IsValid() || ip.IsUnspecified()) {
		l.addf("media.rtp_ip", "%s is not a usable IP address (it is written into SDP)", quoteIP(ip))
	}
	if !bridge {
		return
	}
	if m.WebRTCListen.Addr().IsUnspecified() && !m.PublicIPs.Auto && len(m.PublicIPs.IPs) == 0 {
		l.add("media.public_ips", `media.webrtc_listen listens on all interfaces: list the addresses browsers reach it on, or write "auto"`)
	}
	if r := m.RTPPorts; r.Min < 1024 || int(r.Max)-int(r.Min) < 3 {
		l.addf("media.rtp_port_min", "the range %d-%d must lie within 1024-65535 and hold two port pairs at least", r.Min, r.Max)
	}
	l.nonNegative("media.timeout", m.Timeout)
	if m.Workers < 0 || m.Workers > 256 {
		l.addf("media.workers", "%d is not between 0 (automatic) and 256", m.Workers)
	}
	if m.MaxCalls < 0 {
		l.addf("media.max_calls", "%d is negative (0 sets no ceiling)", m.MaxCalls)
	}
}

// quoteIP quotes an IP address as the file would write it, "" for zero.
func quoteIP(ip netip.Addr) string {
	if !ip.IsValid() {
		return `""`
	}
	return strconv.Quote(ip.String())
}

func (l *errorList) checkTURN(c *Config) {
	t := &c.TURN
	if !t.Enabled {
		return
	}
	if !t.ListenUDP.IsValid() && !t.ListenTCP.IsValid() && !t.ListenTLS.IsValid() {
		l.add("turn.enabled", "turn.enabled: every TURN listener is off; set turn.listen_udp, turn.listen_tcp or turn.listen_tls")
	}
	if t.ListenTLS.IsValid() && (c.TLS.CertFile == "" || c.TLS.KeyFile == "") {
		l.addf("turn.listen_tls", "needs tls.cert_file and tls.key_file")
	}
	if h := t.TLSHost; h != "" {
		_, err := netip.ParseAddr(h)
		switch {
		case err == nil:
			l.addf("turn.tls_host", "%q is an IP address; Firefox needs a host name in turns: URLs (leave it empty for the address of turn.listen_tls)", h)
		case !isHostName(h):
			l.addf("turn.tls_host", "%q is not a host name (write it without port)", h)
		case !t.ListenTLS.IsValid():
			l.addf("turn.tls_host", "needs turn.listen_tls")
		}
	}
	type bound struct {
		key, proto string
		addr       netip.AddrPort
	}
	var taken []bound
	for _, ln := range c.listeners() {
		if ln.addr.IsValid() && ln.addr.Port() != 0 {
			proto := "tcp"
			if ln.name == "udp" {
				proto = "udp"
			}
			taken = append(taken, bound{"listen." + ln.name, proto, ln.addr})
		}
	}
	if a := c.Media.WebRTCListen; a.IsValid() && a.Port() != 0 {
		taken = append(taken, bound{"media.webrtc_listen", "udp", a})
	}
	for _, ln := range []bound{{"turn.listen_udp", "udp", t.ListenUDP}, {"turn.listen_tcp", "tcp", t.ListenTCP}, {"turn.listen_tls", "tcp", t.ListenTLS}} {
		if !ln.addr.IsValid() {
			continue
		}
		if ln.addr.Addr().IsUnspecified() && c.SIP.AdvertiseHost == "" {
			l.addf(ln.key, "%s listens on all interfaces, so sip.advertise_host must name the host browsers reach TURN at", quoteAddr(ln.addr))
		}
		if ln.addr.Port() == 0 {
			continue
		}
		clash := slices.IndexFunc(taken, func(b bound) bool { return b.proto == ln.proto && sameSocket(b.addr, ln.addr) })
		if clash >= 0 {
			l.addf(ln.key, "%s is already used by %s", quoteAddr(ln.addr), taken[clash].key)
		} else {
			taken = append(taken, ln)
		}
	}
	l.checkTURNRelay(t)
	relay := t.RelayPublicIP
	if !relay.IsValid() {
		relay = t.RelayIP
	}
	for _, a := range []netip.AddrPort{t.ListenUDP, t.ListenTCP, t.ListenTLS} {
		if a.IsValid() && !a.Addr().IsLoopback() && relay.IsValid() && relay.IsLoopback() {
			l.addf("turn.relay_ip", "%s is a loopback address, but TURN listens beyond this host: set turn.relay_ip (or turn.relay_public_ip) to the address peers reach relays at", quoteIP(relay))
			break
		}
	}
}

func (l *errorList) checkTURNRelay(t *TURN) {
	if t.Realm == "" || strings.ContainsAny(t.Realm, "\"\\") {
		l.addf("turn.realm", "must not be empty or contain '\"' or '\\'")
	}
	if ip := t.RelayIP; !ip.IsValid() || ip.IsUnspecified() && !t.RelayPublicIP.IsValid() {
		l.addf("turn.relay_ip", "%s is not an address a relay can advertise: name one, or set turn.relay_public_ip", quoteIP(ip))
	}
	if ip := t.RelayPublicIP; ip.IsValid() && ip.IsUnspecified() {
		l.addf("turn.relay_public_ip", "%s is not an address peers can reach", quoteIP(ip))
	}
	if t.RelayPortMin < 1024 || t.RelayPortMin > t.RelayPortMax {
		l.addf("turn.relay_port_min", "the range %d-%d must lie within 1024-65535, lowest first", t.RelayPortMin, t.RelayPortMax)
	}
	l.positive("turn.credential_ttl", t.CredentialTTL)
	if r := t.CredentialsPerSecondPerIP; !(r >= 0) || math.IsInf(r, 0) {
		l.addf("turn.credentials_per_second_per_ip", "must be 0 (off) or a positive number, got %v", r)
	}
	l.durationRange("turn.allocation_lifetime", t.AllocationLifetime, time.Minute, time.Hour)
	if t.MaxAllocations < 0 {
		l.addf("turn.max_allocations", "must be 0 (no limit) or a positive number, got %d", t.MaxAllocations)
	}
	if t.MaxAllocationsPerUser < 0 {
		l.addf("turn.max_allocations_per_user", "must be 0 (no limit) or a positive number, got %d", t.MaxAllocationsPerUser)
	}
	for i, p := range t.AllowedPeers {
		if p.Bits() == 0 {
			l.addf(fmt.Sprintf("turn.allowed_peers[%d]", i), "%q allows every peer: list the networks relays may reach", p.String())
		}
	}
}

// sameSocket reports whether two listeners would want one port: the same
// port on the same address, or on a wildcard that covers the other.
func sameSocket(a, b netip.AddrPort) bool {
	return a.Port() == b.Port() && (a.Addr() == b.Addr() || a.Addr().IsUnspecified() || b.Addr().IsUnspecified())
}
