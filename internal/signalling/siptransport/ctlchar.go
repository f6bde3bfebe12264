package siptransport

import (
	"encoding/binary"

	"github.com/emiago/sipgo/sip"
)

// reasonControlChar is the reason phrase of the 400 answering a message
// whose start line or headers hold a control character. It names the fault
// and nothing of the message.
const reasonControlChar = "Bad Request (control character in header)"

// hasControlChar reports whether the head of a SIP message (start line and
// header fields, up to the blank line) holds a byte that RFC 3261 §25.1
// allows nowhere there: a control character (0x00–0x1F but HT, and 0x7F),
// or a CR or LF that is not part of a CRLF. A CRLF followed by SP or HT is
// line folding (§7.3.1) and is allowed; the body is not looked at.
//
// sipgo splits lines on CR alone, so a bare LF would stay inside a header
// value and be forwarded raw, to peers that may take it for a line end: a
// header injected past switchboard's checks. One pass over the head, eight
// bytes at a time while none of them is below 0x20 or is 0x7F.
func hasControlChar(data []byte) bool {
	_, found := scanControl(data)
	return found
}

// scanControl is hasControlChar that also returns where the head ends: the
// index of the CRLF CRLF that ends it when no control character comes
// first, else -1.
func scanControl(data []byte) (headEnd int, found bool) {
	const (
		ones = 0x0101010101010101
		high = 0x8080808080808080
		del  = 0x7f7f7f7f7f7f7f7f
	)
	for i := 0; i < len(data); {
		for ; i+8 <= len(data); i += 8 {
			x := binary.LittleEndian.Uint64(data[i:])
			below := (x - 0x20*ones) &^ x & high // a byte < 0x20 (exact for bytes ≥ 0x80 too)
			y := x ^ del
			isDel := (y - ones) &^ y & high // a byte == 0x7F
			if below|isDel != 0 {
				break
			}
		}
		// The control character (or tab) is among the next eight bytes.
		end := min(i+8, len(data))
		for ; i < end && (data[i] >= 0x20 && data[i] != 0x7f || data[i] == '\t'); i++ {
		}
		switch {
		case i == end:
		case data[i] != '\r' || i+1 == len(data) || data[i+1] != '\n':
			return -1, true
		case i+3 < len(data) && data[i+2] == '\r' && data[i+3] == '\n':
			return i, false // the blank line: the body follows
		default:
			i += 2
		}
	}
	return -1, false
}

// rejectControlChar answers a message that hasControlChar refused with a
// 400, unless the response would carry the control character back: the
// header lines it must echo (Via, From, To, Call-ID, CSeq) are where the
// fault may be, and then the request is dropped (RFC 3261 §18.3).
func (in *Inbound) rejectControlChar(data []byte, from Conn) {
	res := rawResponse(data, sip.StatusBadRequest, reasonControlChar)
	if res == nil || hasControlChar(Marshal(res)) {
		return
	}
	in.answer(from, res)
}
