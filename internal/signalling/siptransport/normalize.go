package siptransport

import (
	"bytes"
	"strings"
)

// RFC 3261 lets linear white space stand almost anywhere in a header: a
// folded line is one SP (§7.3.1), and SWS may surround the "/" of a Via's
// protocol and the ";", "=" and "," between parameters and list elements
// (§25.1 SLASH, SEMI, EQUAL, COMMA). sipgo's parser takes none of that: it
// reads "SIP / 2.0 / UDP" as a Via with no transport and " tag = x" as a
// parameter named " tag " (RFC 4475 §3.1.1.1). normalizeHead rewrites such
// a header block into the form sipgo reads before it parses, and leaves
// every other message untouched.

// structured are the headers whose white space normalizeHead takes out,
// full names and compact forms: those sipgo parses into parts. Any other
// header is only unfolded.
var structured = [...]string{"via", "v", "from", "f", "to", "t", "contact", "m", "route", "record-route", "cseq"}

// normalizeHead returns data, or, when its header block holds a folded
// line or white space sipgo would misread in a structured header, a copy
// with the header block rewritten: folds unfolded, white space around "/",
// ";", "=" and "," removed and runs of it made one SP, outside quoted
// strings and <...>. The body is copied unchanged. It allocates only for a
// message it rewrites.
func normalizeHead(data []byte) []byte { return normalizeHeadAt(data, bytes.Index(data, crlfCRLF)) }

// normalizeHeadAt is normalizeHead for a message whose head ends at end,
// where bytes.Index finds the first CRLF CRLF (-1 for none).
func normalizeHeadAt(data []byte, end int) []byte {
	if end < 0 || !needsNormalizing(data[:end]) {
		return data
	}
	out := make([]byte, 0, len(data))
	startLine, _, _ := bytes.Cut(data[:end], crlf)
	out = append(out, startLine...)
	block := data[:end]
	for pos := len(startLine) + len(crlf); pos < len(block); {
		lineStop := lineEnd(block, pos)
		for lineStop+len(crlf) < len(block) && isWSP(block[lineStop+len(crlf)]) {
			lineStop = lineEnd(block, lineStop+len(crlf))
		}
		line := block[pos:lineStop]
		pos = lineStop + len(crlf)
		out = append(out, crlf...)
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			out = append(out, line...)
			continue
		}
		out = append(append(out, trimWSPRight(name)...), ": "...)
		if isStructured(trimWSPRight(name)) {
			out = appendTight(out, trimLWS(value))
		} else {
			out = appendUnfolded(out, trimLWS(value))
		}
	}
	return append(out, data[end:]...)
}

// needsNormalizing reports whether a header block holds a folded line, or
// a structured header with white space next to a separator or doubled.
func needsNormalizing(block []byte) bool {
	startLine, _, _ := bytes.Cut(block, crlf)
	for pos := len(startLine) + len(crlf); pos < len(block); {
		if isWSP(block[pos]) {
			return true // a folded line
		}
		lineStop := lineEnd(block, pos)
		line := block[pos:lineStop]
		pos = lineStop + len(crlf)
		colon := bytes.IndexByte(line, ':')
		if colon > 0 && isStructured(trimWSPRight(line[:colon])) && looseLWS(trimLWS(line[colon+1:])) {
			return true
		}
	}
	return false
}

func isStructured(name []byte) bool {
	if len(name) == 0 {
		return false
	}
	for _, s := range structured {
		if len(s) == len(name) && s[0] == name[0]|0x20 && strings.EqualFold(s, string(name)) {
			return true
		}
	}
	return false
}

// isSeparator reports whether LWS around c is SWS that sipgo cannot take.
func isSeparator(c byte) bool { return c == '/' || c == ';' || c == '=' || c == ',' }

// looseLWS reports whether v, outside quoted strings and <...>, holds white
// space next to a separator or two white space characters in a row.
func looseLWS(v []byte) bool {
	if !maybeLoose(v) {
		return false
	}
	quoted, bracket := false, false
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case quoted && c == '\\':
			i++
		case c == '"' && !bracket:
			quoted = !quoted
		case quoted:
		case c == '<':
			bracket = true
		case c == '>':
			bracket = false
		case bracket:
		case isLWS(c):
			if i+1 < len(v) && (isLWS(v[i+1]) || isSeparator(v[i+1])) || i > 0 && isSeparator(v[i-1]) {
				return true
			}
		}
	}
	return false
}

// appendTight appends a structured value with its white space tightened.
func appendTight(out, v []byte) []byte {
	quoted, bracket := false, false
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case quoted && c == '\\' && i+1 < len(v):
			out = append(out, c, v[i+1])
			i++
			continue
		case c == '"' && !bracket:
			quoted = !quoted
		case quoted, bracket && c != '>':
		case c == '<':
			bracket = true
		case c == '>':
			bracket = false
		case isLWS(c):
			j := i
			for j < len(v) && isLWS(v[j]) {
				j++
			}
			prev := byte(0)
			if len(out) > 0 {
				prev = out[len(out)-1]
			}
			if j < len(v) && !isSeparator(v[j]) && !isSeparator(prev) {
				out = append(out, ' ')
			}
			i = j - 1
			continue
		}
		if quoted && (c == '\r' || c == '\n') {
			continue // a fold inside a quoted string is one SP: its WSP stays
		}
		out = append(out, c)
	}
	return out
}

// appendUnfolded appends an unstructured value with each fold made one SP.
func appendUnfolded(out, v []byte) []byte {
	for len(v) > 0 {
		line, rest, ok := bytes.Cut(v, crlf)
		out = append(out, line...)
		if !ok {
			break
		}
		v = rest
	}
	return out
}

// maybeLoose is looseLWS's quick first look: whether any space in v has a
// space or separator beside it, or v holds a tab, quotes aside. Most values
// have neither, and it finds the spaces with IndexByte.
func maybeLoose(v []byte) bool {
	if bytes.IndexByte(v, '\t') >= 0 {
		return true
	}
	for i := 0; ; i++ {
		j := bytes.IndexByte(v[i:], ' ')
		if j < 0 {
			return false
		}
		i += j
		if i+1 < len(v) && (v[i+1] == ' ' || isSeparator(v[i+1])) || i > 0 && isSeparator(v[i-1]) {
			return true
		}
	}
}
