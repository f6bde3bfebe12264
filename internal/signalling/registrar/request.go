package registrar

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
)

// malformedExpires is what a malformed expires value means (RFC 3261 §10.2.1.1, §20.10).
const malformedExpires = 3600 * time.Second

// supportedExtensions are the option tags this registrar implements; a
// Require naming any other is refused with 420 (RFC 3261 §10.3 step 2).
var supportedExtensions = map[string]bool{"path": true, "outbound": true}

// registration is a REGISTER request that passed validation: everything
// RFC 3261 §10.3 steps 2 and 5-7 need, with no binding touched yet.
type registration struct {
	user, aor string
	callID    string
	cseq      uint32
	// wildcard is "Contact: *" with "Expires: 0": remove every binding (step 6).
	wildcard bool
	// contacts are the bindings to add, refresh or (expires 0) remove, one
	// per identity, the last occurrence winning.
	contacts []contact
	path     []string
	// supportsPath is Supported: path (RFC 3327 §5.3).
	supportsPath bool
	// outbound is set when a contact uses RFC 5626 outbound.
	outbound bool
}

// contact is one validated Contact header field value.
type contact struct {
	uri      *sip.Uri
	params   sip.HeaderParams // as received, minus expires
	expires  time.Duration    // already clamped; 0 removes
	q        float64
	instance string
	regID    int
	outbound bool
	key      string
	// rendered is the contact as the 200 lists it, but for expires, when
	// it came from rawreg; "" otherwise.
	rendered string
}

// parseRegistration validates req against cfg without touching any binding.
func parseRegistration(req *sip.Request, cfg *Config) (*registration, *statusError) {
	reg := &registration{}
	callID := req.CallID()
	if callID == nil || *callID == "" {
		return nil, errNoCallID
	}
	reg.callID = string(*callID)
	cseq := req.CSeq()
	if cseq == nil {
		return nil, errNoCSeq
	}
	reg.cseq = cseq.SeqNo
	var f fields
	f.gather(req)
	if err := checkRequire(f.require); err != nil {
		return nil, err
	}
	var err *statusError
	if reg.user, reg.aor, err = addressOfRecord(req, cfg.Domain); err != nil {
		return nil, err
	}
	reg.supportsPath = f.supportsPath
	reg.path = headerList(f.path)
	if f.contactErr != nil {
		return nil, f.contactErr
	}
	if err := reg.parseContacts(&f, cfg); err != nil {
		return nil, err
	}
	return reg, nil
}

// fields are the header fields of a REGISTER that the registrar reads,
// gathered in one pass over its headers rather than one pass each.
type fields struct {
	require []sip.Header // Require
	path    []sip.Header // Path
	// expires is the value of the first Expires, when hasExpires.
	expires    string
	hasExpires bool
	// contacts are the Contact values; contactErr is set when one that
	// sipgo left unparsed does not parse.
	contacts   []*sip.ContactHeader
	contactErr *statusError
	// rendered, when set, are the contacts as the 200 lists them, but
	// for expires: the bytes they came in (rawreg).
	rendered []string
	// owned is set when the contacts were made for this request alone
	// (rawreg), so their URIs need no copy to be kept.
	owned bool
	// Supported lists path (RFC 3327 §5.3) or outbound (RFC 5626).
	supportsPath, supportsOutbound bool
}

// gather files req's header fields, their names compared
// case-insensitively (RFC 3261 §7.3.1), compact forms included (§7.3.3).
func (f *fields) gather(req *sip.Request) {
	for _, h := range req.Headers() {
		if c, ok := h.(*sip.ContactHeader); ok {
			f.contacts = append(f.contacts, c)
			continue
		}
		switch name := h.Name(); {
		case isName(name, "Contact", "m"):
			f.addContacts(h.Value())
		case isName(name, "Supported", "k"):
			f.supportsPath = f.supportsPath || hasOptionTag(h, "path")
			f.supportsOutbound = f.supportsOutbound || hasOptionTag(h, "outbound")
		case isName(name, "Require", ""):
			f.require = append(f.require, h)
		case isName(name, "Path", ""):
			f.path = append(f.path, h)
		case !f.hasExpires && isName(name, "Expires", ""):
			f.expires, f.hasExpires = h.Value(), true
		}
	}
}

// isName reports whether a header name is full or, when compact is not
// "", compact, ignoring case. Header names are ASCII tokens: the length
// check spares EqualFold the names that cannot match.
func isName(name, full, compact string) bool {
	return len(name) == len(full) && strings.EqualFold(name, full) ||
		compact != "" && len(name) == len(compact) && strings.EqualFold(name, compact)
}

// checkRequire implements RFC 3261 §10.3 step 2 (and §8.2.2.3) on the
// Require header fields.
func checkRequire(require []sip.Header) *statusError {
	var unsupported []string
	for _, h := range require {
		for v := h.Value(); v != ""; {
			var tag string
			tag, v, _ = strings.Cut(v, ",")
			tag = strings.ToLower(strings.TrimSpace(tag))
			if tag != "" && !supportedExtensions[tag] && !slices.Contains(unsupported, tag) {
				unsupported = append(unsupported, tag)
			}
		}
	}
	if len(unsupported) == 0 {
		return nil
	}
	return &statusError{
		code:   sip.StatusBadExtension,
		reason: "Bad Extension",
		header: []sip.Header{sip.NewHeader("Unsupported", strings.Join(unsupported, ", "))},
	}
}

// addressOfRecord extracts the AOR from To (RFC 3261 §10.3 step 5) in its
// canonical form user@host: the host lower-cased, the user as sent.
func addressOfRecord(req *sip.Request, domain string) (user, aor string, err *statusError) {
	to := req.To()
	if to == nil {
		return "", "", errNoTo
	}
	return aorOf(to.Address.Scheme, to.Address.User, to.Address.Host, domain)
}

// aorOf is addressOfRecord for To's scheme, user and host.
func aorOf(scheme, user, host, domain string) (string, string, *statusError) {
	switch {
	case scheme != "sip" && scheme != "sips":
		return "", "", errToNotSIP
	case user == "":
		return "", "", errToNoUser
	case host == "":
		return "", "", errToNoHost
	case domain != "" && !strings.EqualFold(host, domain):
		return "", "", errDomain
	}
	return user, user + "@" + strings.ToLower(host), nil
}

// parseContacts implements the checks of RFC 3261 §10.3 steps 6 and 7 and
// RFC 5626 §6; it rejects the whole request before any binding changes.
// It does not look at f.contactErr, which its caller has.
func (reg *registration) parseContacts(f *fields, cfg *Config) *statusError {
	hdrs, supportsOutbound := f.contacts, f.supportsOutbound
	if len(hdrs) > cfg.MaxContacts {
		// Bounds the work one request can cause; applyLocked enforces the
		// limit on the AOR as a whole.
		return errTooManyContacts
	}
	defExpires, hasExpires := cfg.DefaultExpires, f.hasExpires
	if hasExpires {
		defExpires = parseExpires(f.expires)
	}
	for _, h := range hdrs {
		if h.Address.Wildcard {
			if len(hdrs) != 1 || !hasExpires || defExpires != 0 || len(h.Params) != 0 {
				return errWildcard
			}
			reg.wildcard = true
			return nil
		}
	}
	tooBrief := false
	for i, h := range hdrs {
		c, err := newContact(h, defExpires, cfg, supportsOutbound, f.owned)
		if err != nil {
			return err
		}
		if i < len(f.rendered) {
			c.rendered = f.rendered[i]
		}
		if c.expires > 0 && c.expires < cfg.MinExpires {
			tooBrief = true
		}
		reg.outbound = reg.outbound || c.outbound
		reg.addContact(c)
	}
	if tooBrief {
		// RFC 3261 §10.3 step 7, §20.23.
		return &statusError{
			code:   statusIntervalTooBrief,
			reason: "Interval Too Brief",
			header: []sip.Header{sip.NewHeader("Min-Expires", strconv.FormatInt(seconds(cfg.MinExpires), 10))},
		}
	}
	return nil
}

func (reg *registration) addContact(c contact) {
	for i := range reg.contacts {
		if reg.contacts[i].key == c.key {
			reg.contacts[i] = c
			return
		}
	}
	reg.contacts = append(reg.contacts, c)
}

func newContact(h *sip.ContactHeader, defExpires time.Duration, cfg *Config, supportsOutbound, owned bool) (contact, *statusError) {
	u := &h.Address
	if u.Scheme != "sip" && u.Scheme != "sips" || u.Host == "" {
		return contact{}, errContactScheme
	}
	c := contact{uri: u, q: 1, expires: defExpires}
	if !owned {
		c.uri = u.Clone()
	}
	for _, kv := range h.Params {
		if !strings.EqualFold(kv.K, "expires") {
			if c.params == nil {
				c.params = make(sip.HeaderParams, 0, len(h.Params))
			}
			c.params = append(c.params, kv)
		}
	}
	if v, ok := param(h.Params, "expires"); ok {
		c.expires = parseExpires(v)
	}
	c.expires = min(c.expires, cfg.MaxExpires)
	if v, ok := param(h.Params, "q"); ok {
		q, err := strconv.ParseFloat(v, 64)
		if err != nil || !(q >= 0 && q <= 1) {
			return contact{}, errQ
		}
		c.q = q
	}
	if v, ok := param(h.Params, "+sip.instance"); ok {
		c.instance = unwrap(unwrap(v, '"', '"'), '<', '>')
	}
	if v, ok := param(h.Params, "reg-id"); ok {
		// RFC 5626 §4.2.1: reg-id is 1 to 2**31-1.
		id, err := strconv.ParseInt(v, 10, 32)
		if err != nil || id < 1 {
			return contact{}, errRegID
		}
		c.regID = int(id)
	}
	_, ob := u.UriParams.Get("ob")
	c.outbound = c.instance != "" && c.regID > 0 && (supportsOutbound || ob)
	c.key = bindingKey(c.uri, c.instance, c.regID)
	return c, nil
}

// bindingKey is a binding's identity within its AOR. With +sip.instance and
// reg-id it is that pair (RFC 5626 §6), so a UA that reconnects replaces
// its old binding even from another flow or Call-ID. Otherwise it is the
// contact URI's scheme, user, host and port (RFC 3261 §10.3 step 7, a
// simplification of the §19.1.4 comparison that ignores URI parameters).
func bindingKey(u *sip.Uri, instance string, regID int) string {
	if instance != "" && regID > 0 {
		return "instance:" + instance + ";reg-id=" + strconv.Itoa(regID)
	}
	return "uri:" + u.Scheme + ":" + u.User + "@" + strings.ToLower(u.Host) + ":" + strconv.Itoa(u.Port)
}

// addContacts parses the values of a Contact header field that sipgo left
// unparsed (a header added by hand, or several values in one field).
func (f *fields) addContacts(value string) {
	if f.contactErr != nil {
		return
	}
	for _, v := range splitList(value) {
		c := &sip.ContactHeader{}
		name, err := sip.ParseAddressValue(v, &c.Address, &c.Params)
		if err != nil {
			f.contactErr = errContact
			return
		}
		c.DisplayName = name
		f.contacts = append(f.contacts, c)
	}
}

// parseExpires parses delta-seconds (RFC 3261 §20.19), capping it at
// 2**32-1 and reading a malformed value as 3600 (§10.2.1.1).
func parseExpires(v string) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" || strings.TrimLeft(v, "0123456789") != "" {
		return malformedExpires
	}
	n, err := strconv.ParseUint(v, 10, 32)
	if err != nil {
		n = math.MaxUint32
	}
	return time.Duration(n) * time.Second
}

// seconds rounds d up to whole seconds.
func seconds(d time.Duration) int64 {
	return int64((d + time.Second - 1) / time.Second)
}

// hasOptionTag reports whether the header field lists the option tag (RFC
// 3261 §19.2), compared case-insensitively.
func hasOptionTag(h sip.Header, tag string) bool {
	for v := h.Value(); v != ""; {
		var t string
		t, v, _ = strings.Cut(v, ",")
		if strings.EqualFold(strings.TrimSpace(t), tag) {
			return true
		}
	}
	return false
}

// headerList returns the comma-separated values of the header fields, in order.
func headerList(hdrs []sip.Header) []string {
	var out []string
	for _, h := range hdrs {
		out = append(out, splitList(h.Value())...)
	}
	return out
}

// splitList splits a header field value at the commas that separate its
// values (RFC 3261 §7.3.1), not those inside quotes or angle brackets, and
// drops empty elements.
func splitList(v string) []string {
	var out []string
	quoted, angle, escaped := false, false, false
	start := 0
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case escaped:
			escaped = false
		case quoted && c == '\\':
			escaped = true
		case c == '"':
			quoted = !quoted
		case quoted:
		case c == '<':
			angle = true
		case c == '>':
			angle = false
		case c == ',' && !angle:
			out = appendTrimmed(out, v[start:i])
			start = i + 1
		}
	}
	return appendTrimmed(out, v[start:])
}

func appendTrimmed(out []string, s string) []string {
	if s = strings.TrimSpace(s); s != "" {
		out = append(out, s)
	}
	return out
}

// param looks a header parameter up by case-insensitive name (RFC 3261 §7.3.1).
func param(hp sip.HeaderParams, name string) (string, bool) {
	for _, kv := range hp {
		if strings.EqualFold(kv.K, name) {
			return kv.V, true
		}
	}
	return "", false
}

// unwrap removes one pair of open/close delimiters around s, if present.
func unwrap(s string, open, close byte) string {
	if len(s) >= 2 && s[0] == open && s[len(s)-1] == close {
		return s[1 : len(s)-1]
	}
	return s
}
