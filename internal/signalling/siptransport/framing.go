package siptransport

import (
	"bytes"
	"strings"
)

// The framing rule is what every message must satisfy before it is parsed,
// whatever carried it: a UDP datagram, a WebSocket message, or a message a
// framer cut from a TCP or TLS stream. It is checked on the raw header block,
// so every transport refuses the same messages with the same answer:
//
//   - a start line of the form of RFC 3261 §7.1 or §7.2, with a version
//     SIP/x.y; a request for another version than 2.0 gets 505 (§21.5.6);
//     a Request-URI that is an absolute URI, scheme first (not <sip:...>);
//   - header lines "name: value" (§7.3), folded lines allowed;
//   - Via, From, To, Call-ID and CSeq present (§8.1.1; Max-Forwards is
//     optional on receipt, §16.3 step 3 adds it);
//   - each of From, To, Call-ID, CSeq, Max-Forwards, Content-Length and
//     Content-Type, in full or compact form (§7.3.3), once, or repeated with
//     the same value (§7.3.1: they are not lists);
//   - a Content-Length that is a number (§20.14), present on a stream and
//     not beyond the end of a datagram or WebSocket message (§18.3);
//   - a CSeq number below 2^31 (§8.1.1.5).
//
// A request that breaks the rule is answered from its raw headers when they
// name its transaction (rawResponse); a response is dropped. On a stream
// (TCP, TLS, WebSocket) nothing after the message can be trusted to start
// where the peer meant it to, so the connection is closed once the answer
// is written (StreamConn).

// StreamConn is a Conn whose messages follow one another on one ordered
// stream: TCP, TLS or WebSocket.
type StreamConn interface {
	Conn
	// BreakFraming is called by Inbound, on the reading goroutine, once it
	// has refused (and perhaps answered) a message that broke the framing
	// rule. The transport reads nothing more from the connection and closes
	// it once what it queued is written; a WebSocket closes with 1002.
	BreakFraming()
}

// fault is why the framing rule refused a message: the status and fixed
// reason phrase it is answered with, and the metric label that counts it.
// No reason phrase holds a byte of the message it refuses.
type fault struct {
	status int
	reason string
	label  string
	// keep is set for a fault of the syntax rule (syntax.go), which leaves
	// the message's boundaries in no doubt: a stream stays open.
	keep bool
}

// The faults of the framing rule; faultMissing and faultDuplicate add one
// for each header they name.
var (
	faultStartLine      = &fault{400, "Bad Request (malformed start line)", "malformed", false}
	faultHeaderLine     = &fault{400, "Bad Request (malformed header)", "malformed", false}
	faultUnterminated   = &fault{400, "Bad Request (unterminated header)", "malformed", false}
	faultVersion        = &fault{505, "Version Not Supported", "version", false}
	faultCSeqRange      = &fault{400, "Bad Request (CSeq out of range)", "cseq_out_of_range", false}
	faultLengthSyntax   = &fault{400, "Bad Request (malformed Content-Length)", "content_length", false}
	faultLengthConflict = &fault{400, "Bad Request (conflicting Content-Length)", "content_length", false}
	faultLengthMissing  = &fault{400, "Bad Request (missing Content-Length)", "content_length", false}
	faultLengthBeyond   = &fault{400, "Bad Request (Content-Length exceeds message)", "content_length", false}
	faultTooLarge       = &fault{513, "Message Too Large", "too_large", false}
	faultControlChar    = &fault{400, reasonControlChar, "control_character", false}

	faultMissing, faultDuplicate [numFields]*fault
)

// field is a header the framing rule knows.
type field int

const (
	fieldVia field = iota
	fieldFrom
	fieldTo
	fieldCallID
	fieldCSeq
	fieldMaxForwards
	fieldContentLength
	fieldContentType
	numFields
)

// fieldNames are the fields' full names; fieldCompact their compact forms
// (RFC 3261 §7.3.3), 0 for none.
var (
	fieldNames   = [numFields]string{"Via", "From", "To", "Call-ID", "CSeq", "Max-Forwards", "Content-Length", "Content-Type"}
	fieldCompact = [numFields]byte{'v', 'f', 't', 'i', 0, 0, 'l', 'c'}
)

// mandatory are the fields every message carries, RFC 3261 §8.1.1.
var mandatory = [...]field{fieldVia, fieldFrom, fieldTo, fieldCallID, fieldCSeq}

func init() {
	for f, name := range fieldNames {
		faultMissing[f] = &fault{400, "Bad Request (missing " + name + ")", "missing_header", false}
		faultDuplicate[f] = &fault{400, "Bad Request (duplicate " + name + ")", "duplicate_header", false}
	}
	faultDuplicate[fieldContentLength] = faultLengthConflict
}

// lookupField returns the field a header name stands for.
func lookupField(name []byte) (field, bool) {
	if len(name) == 1 {
		c := name[0] | 0x20
		for f, compact := range fieldCompact {
			if compact != 0 && c == compact {
				return field(f), true
			}
		}
		return 0, false
	}
	// Every header line passes here: the length, then the first letter,
	// leave one name to compare.
	var f field
	switch len(name) {
	case 2:
		f = fieldTo
	case 3:
		f = fieldVia
	case 4:
		f = fieldCSeq
		if name[0]|0x20 == 'f' {
			f = fieldFrom
		}
	case 7:
		f = fieldCallID
	case 12:
		f = fieldContentType
		if name[0]|0x20 == 'm' {
			f = fieldMaxForwards
		}
	case 14:
		f = fieldContentLength
	default:
		return 0, false
	}
	return f, strings.EqualFold(fieldNames[f], string(name))
}

// head is what the framing rule learnt from a header block.
type head struct {
	request bool
	// length is the Content-Length, -1 when there is none.
	length int
}

var (
	crlf     = []byte("\r\n")
	crlfCRLF = []byte("\r\n\r\n")
)

// checkMessage applies the framing rule to one whole message: a datagram or
// a WebSocket message.
func checkMessage(data []byte) *fault {
	// One pass finds both the end of the head and any control character
	// in it; the head is not scanned for them again.
	end, control := scanControl(data)
	if control {
		if bytes.Index(data, crlfCRLF) < 0 {
			return faultUnterminated
		}
		return faultControlChar
	}
	if end < 0 {
		return faultUnterminated
	}
	h, f := scanFields(data[:end])
	if f != nil {
		return f
	}
	if h.length > len(data)-end-len(crlfCRLF) {
		return faultLengthBeyond
	}
	return nil
}

// scanHead applies the framing rule to a header block: the start line and
// header lines, without the blank line that ends them. It allocates nothing.
func scanHead(block []byte) (head, *fault) {
	if hasControlChar(block) {
		return head{length: -1}, faultControlChar
	}
	return scanFields(block)
}

// scanFields is scanHead for a header block known to hold no control
// character.
func scanFields(block []byte) (head, *fault) {
	h := head{length: -1}
	startLine, _, _ := bytes.Cut(block, crlf)
	var f *fault
	if h.request, f = checkStartLine(startLine); f != nil {
		return h, f
	}
	var (
		first [numFields][]byte
		seen  [numFields]bool
	)
	for pos := len(startLine) + len(crlf); pos < len(block); {
		end := lineEnd(block, pos)
		for end+len(crlf) < len(block) && isWSP(block[end+len(crlf)]) { // RFC 3261 §7.3.1 folding
			end = lineEnd(block, end+len(crlf))
		}
		line := block[pos:end]
		pos = end + len(crlf)
		name, value, ok := bytes.Cut(line, []byte(":"))
		for len(name) > 0 && isWSP(name[len(name)-1]) {
			name = name[:len(name)-1]
		}
		if !ok || !isToken(name) {
			return h, faultHeaderLine
		}
		fd, known := lookupField(name)
		if !known {
			continue
		}
		value = trimLWS(value)
		switch {
		case fd == fieldVia:
		case fd == fieldContentLength:
			n, ok := parseDigits(value)
			if !ok || len(value) != digitsLen(value) {
				return h, faultLengthSyntax
			}
			if h.length >= 0 && n != h.length {
				return h, faultLengthConflict
			}
			h.length = n
		case seen[fd] && !equalLWS(first[fd], value):
			return h, faultDuplicate[fd]
		case fd == fieldCSeq && !seen[fd]:
			// The number only: a CSeq that is not a number followed by a
			// method is the parser's to refuse, as any malformed value.
			if n, ok := parseDigits(value); ok && n >= 1<<31 {
				return h, faultCSeqRange
			}
		}
		if !seen[fd] || len(first[fd]) == 0 {
			first[fd] = value
		}
		seen[fd] = true
	}
	for _, fd := range mandatory {
		if !seen[fd] || len(first[fd]) == 0 {
			return h, faultMissing[fd]
		}
	}
	return h, nil
}

// checkStartLine checks a Request-Line (RFC 3261 §7.1) or a Status-Line
// (§7.2) for its shape and version, and reports which it is.
func checkStartLine(line []byte) (request bool, f *fault) {
	if len(line) >= 4 && strings.EqualFold(string(line[:4]), "SIP/") {
		version, rest, ok1 := bytes.Cut(line, []byte(" "))
		code, _, ok2 := bytes.Cut(rest, []byte(" "))
		if !ok1 || !ok2 || len(code) != 3 || digitsLen(code) != 3 || code[0] < '1' || code[0] > '6' {
			return false, faultStartLine
		}
		return false, checkVersion(version)
	}
	method, rest, ok1 := bytes.Cut(line, []byte(" "))
	uri, version, ok2 := bytes.Cut(rest, []byte(" "))
	scheme, _, ok3 := bytes.Cut(uri, []byte(":"))
	if !ok1 || !ok2 || !ok3 || !isToken(method) || !isScheme(scheme) { // RFC 3261 §25.1 absoluteURI: not <sip:...>
		return true, faultStartLine
	}
	return true, checkVersion(version)
}

// checkVersion accepts SIP/2.0 and refuses any other SIP/x.y with 505,
// anything else as a malformed start line. RFC 3261 §7.1: the version is
// case-insensitive.
func checkVersion(v []byte) *fault {
	if strings.EqualFold(string(v), "SIP/2.0") {
		return nil
	}
	if len(v) < 4 || !strings.EqualFold(string(v[:4]), "SIP/") {
		return faultStartLine
	}
	major, minor, ok := bytes.Cut(v[4:], []byte("."))
	if !ok || len(major) == 0 || len(minor) == 0 || digitsLen(major) != len(major) || digitsLen(minor) != len(minor) {
		return faultStartLine
	}
	return faultVersion
}

// lineEnd returns the index of the CRLF that ends the line starting at pos,
// or len(b).
func lineEnd(b []byte, pos int) int {
	if i := bytes.Index(b[pos:], crlf); i >= 0 {
		return pos + i
	}
	return len(b)
}

func isWSP(c byte) bool { return c == ' ' || c == '\t' }

func isLWS(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// trimLWS cuts linear white space, folds included, from both ends of v.
func trimLWS(v []byte) []byte {
	for len(v) > 0 && isLWS(v[0]) {
		v = v[1:]
	}
	for len(v) > 0 && isLWS(v[len(v)-1]) {
		v = v[:len(v)-1]
	}
	return v
}

// equalLWS compares two trimmed header values, taking every run of linear
// white space as one space: the same value folded differently is the same.
func equalLWS(a, b []byte) bool {
	for len(a) > 0 && len(b) > 0 {
		if isLWS(a[0]) && isLWS(b[0]) {
			for len(a) > 0 && isLWS(a[0]) {
				a = a[1:]
			}
			for len(b) > 0 && isLWS(b[0]) {
				b = b[1:]
			}
			continue
		}
		if a[0] != b[0] {
			return false
		}
		a, b = a[1:], b[1:]
	}
	return len(a) == 0 && len(b) == 0
}

// digitsLen returns how many decimal digits v starts with.
func digitsLen(v []byte) int {
	n := 0
	for n < len(v) && v[n] >= '0' && v[n] <= '9' {
		n++
	}
	return n
}

// maxDigitsValue caps parseDigits: anything at or above it is more than any
// message or CSeq may hold, so its exact value does not matter.
const maxDigitsValue = 1 << 40

// parseDigits reads the decimal number v starts with, capped at
// maxDigitsValue; ok is false when v does not start with a digit.
func parseDigits(v []byte) (n int, ok bool) {
	d := digitsLen(v)
	for _, c := range v[:d] {
		n = min(n*10+int(c-'0'), maxDigitsValue)
	}
	return n, d > 0
}

// isToken reports whether b is a non-empty token, RFC 3261 §25.1.
func isToken(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if !isTokenChar(c) {
			return false
		}
	}
	return true
}

// isTokenChar reports whether c may appear in a token, RFC 3261 §25.1.
func isTokenChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-.!%*_+`'~", c) >= 0
}

// refuseFraming applies the framing rule to one whole message and, when it
// is broken, refuses the message and reports true.
func (in *Inbound) refuseFraming(data []byte, from Conn) bool {
	f := checkMessage(data)
	if f == nil {
		return false
	}
	in.refuse(f, data, from)
	return true
}

// refuse counts a message that broke the framing rule, answers it when it
// is a request whose transaction its raw headers name, and breaks the
// stream it came on. data holds at least the message's header block.
func (in *Inbound) refuse(f *fault, data []byte, from Conn) {
	in.metrics.rejected(f.label)
	if f == faultControlChar {
		in.rejectControlChar(data, from)
	} else {
		in.reject(data, from, f.status, f.reason)
	}
	if s, ok := from.(StreamConn); ok && !f.keep {
		s.BreakFraming()
	}
}

// parseFaultReason is the reason phrase for a message that passed the
// framing rule but that the parser refused: its start line or one of its
// header values is malformed. The parser's error is not repeated: it can
// hold the peer's bytes.
func (in *Inbound) parseFaultReason(data []byte) string {
	startLine, _, _ := bytes.Cut(data, crlf)
	probe := make([]byte, 0, len(startLine)+len(crlfCRLF))
	probe = append(append(probe, startLine...), crlfCRLF...)
	if _, err := in.parser.ParseSIP(probe); err != nil {
		return faultStartLine.reason
	}
	return faultHeaderLine.reason
}
