package sdprewrite

import (
	"bytes"
	"slices"
	"strings"

	"github.com/pion/sdp/v3"
)

// Limits on a browser's SDP. They are far above what Chrome, Firefox and
// Safari send (a Chrome audio+video offer is ~5 KB, ~160 lines, 2 m-lines;
// Firefox sends IPv4, IPv6 and TCP candidates for two components, a few
// dozen at most), and they bound the work an SDP from the open internet
// costs before it is refused. They are not configuration: the SIP message
// size limits (websocket.max_message_size, limits.max_message_size) are the
// operator's knob, and at their defaults no SDP reaches MaxSDPSize.
const (
	// MaxSDPSize is the largest SDP accepted, in bytes.
	MaxSDPSize = 64 << 10
	// MaxSDPLines is the most lines an SDP may have, session and media
	// levels together.
	MaxSDPLines = 4096
	// MaxMediaLines is the most m-lines an SDP may have.
	MaxMediaLines = 32
	// MaxCandidates is the most a=candidate lines one m-line (or the
	// session level) may have.
	MaxCandidates = 256
)

// fingerprintSizes are the hash functions accepted in a=fingerprint (RFC
// 8122 §5), by token, with their digest size in bytes. SHA-256 is the one
// every WebRTC endpoint supports and every browser sends (RFC 8827 §6.5);
// sha-1, md5 and md2 are refused, their collisions being practical, and so
// is sha-224, which no browser sends.
var fingerprintSizes = map[string]int{"sha-256": 32, "sha-384": 48, "sha-512": 64}

// ValidateWebRTC checks a browser's SDP, offer or answer, against the rules
// WebRTC sets for it (RFC 8829, 8839, 8842, 8122) and against the limits
// above, before anything of it is forwarded. The translations from WebRTC
// (WebRTCOfferToPlain, WebRTCAnswerToPlain) run the same checks; this is for
// an SDP that crosses untranslated. The error is a *Fault, or ErrMalformed
// for an SDP that does not parse.
func ValidateWebRTC(desc []byte) error {
	d, err := parseWebRTC(desc, false)
	if err != nil {
		return err
	}
	i := audioIndex(d)
	if i < 0 {
		i = slices.IndexFunc(d.MediaDescriptions, func(m *sdp.MediaDescription) bool { return m.MediaName.Port.Value != 0 })
	}
	if i < 0 {
		return nil // everything rejected: no transport to check
	}
	return checkTransport(d, d.MediaDescriptions[i])
}

// parseWebRTC reads a browser's SDP: limits, parse, then the syntax of every
// ICE and DTLS attribute wherever it appears. answer forbids a=setup:actpass
// (RFC 8842 §5.3).
func parseWebRTC(b []byte, answer bool) (*sdp.SessionDescription, error) {
	if len(b) > MaxSDPSize {
		return nil, FaultTooLarge
	}
	if bytes.Count(b, []byte{'\n'}) > MaxSDPLines {
		return nil, FaultTooManyLines
	}
	d, err := parse(b)
	if err != nil {
		return nil, err
	}
	if len(d.MediaDescriptions) > MaxMediaLines {
		return nil, FaultTooManyMedia
	}
	if err := checkAttributes(d.Attributes, answer); err != nil {
		return nil, err
	}
	for _, m := range d.MediaDescriptions {
		if err := checkAttributes(m.Attributes, answer); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// checkAttributes checks one level's attributes: how many candidates, and
// the syntax of each fingerprint, ICE credential and DTLS role.
func checkAttributes(as []sdp.Attribute, answer bool) error {
	candidates := 0
	for _, a := range as {
		var err error
		switch a.Key {
		case "candidate":
			if candidates++; candidates > MaxCandidates {
				return FaultTooManyCandidates
			}
		case "fingerprint":
			err = checkFingerprint(a.Value)
		case "ice-ufrag":
			err = checkICE(a.Value, 4, FaultUfragTooShort, FaultUfragInvalid)
		case "ice-pwd":
			err = checkICE(a.Value, 22, FaultPwdTooShort, FaultPwdInvalid)
		case "setup":
			err = checkSetup(a.Value, answer)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// checkTransport checks that m, the m-line that carries the call, has what
// ICE and DTLS-SRTP need, at media or session level: a fingerprint (RFC
// 8122 §5) and ICE credentials (RFC 8839 §5.4).
func checkTransport(d *sdp.SessionDescription, m *sdp.MediaDescription) error {
	if _, ok := attr(d, m, "fingerprint"); !ok {
		return FaultNoFingerprint
	}
	_, ufrag := attr(d, m, "ice-ufrag")
	_, pwd := attr(d, m, "ice-pwd")
	if !ufrag || !pwd {
		return FaultNoICE
	}
	return nil
}

// checkFingerprint checks an a=fingerprint value, RFC 8122 §5:
// hash-func SP fingerprint, where fingerprint is 2UHEX *(":" 2UHEX), of
// exactly the hash function's size. The token is case-insensitive (RFC 8122
// §5 and RFC 4566's token rules); lower-case hex is taken too.
func checkFingerprint(v string) error {
	algo, hex, ok := strings.Cut(v, " ")
	if !ok {
		return FaultFingerprintMalformed
	}
	size, known := fingerprintSizes[strings.ToLower(algo)]
	if !known {
		return FaultFingerprintAlgorithm
	}
	hex = strings.TrimSpace(hex)
	if len(hex) != 3*size-1 {
		return FaultFingerprintMalformed
	}
	for i := 0; i < len(hex); i++ {
		c := hex[i]
		if i%3 == 2 {
			if c != ':' {
				return FaultFingerprintMalformed
			}
			continue
		}
		if !isHex(c) {
			return FaultFingerprintMalformed
		}
	}
	return nil
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'A' <= c && c <= 'F' || 'a' <= c && c <= 'f'
}

// checkICE checks an ice-ufrag or ice-pwd value, RFC 8839 §5.4: min to 256
// ice-chars (ALPHA / DIGIT / "+" / "/").
func checkICE(v string, min int, short, invalid *Fault) error {
	if len(v) < min {
		return short
	}
	if len(v) > 256 {
		return invalid
	}
	for i := 0; i < len(v); i++ {
		if !isICEChar(v[i]) {
			return invalid
		}
	}
	return nil
}

func isICEChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '+' || c == '/'
}

// checkSetup checks an a=setup value (RFC 4145 §4, RFC 8842 §5): an offer
// may be actpass, active or passive (a later offer may keep the role
// negotiated, §5.5), an answer active or passive (§5.3); holdconn is never
// used (§5.1). An SDP without a=setup is let through: RFC 4145 §4.1 gives
// the offerer active by default, which is how the translations read it.
func checkSetup(v string, answer bool) error {
	switch v {
	case "active", "passive":
		return nil
	case "actpass":
		if !answer {
			return nil
		}
	}
	return FaultSetup
}
