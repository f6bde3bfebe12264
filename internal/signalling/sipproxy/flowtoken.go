package sipproxy

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"strings"
)

// flowTokens makes flow tokens (RFC 5626 §5.2): a flow ID with an HMAC, so
// that a peer cannot steer a request onto someone else's connection by
// forging a Route.
//
// The tokens in Record-Route are bound to the dialog's Call-ID as well:
// every party to a call learns the token of the other side's flow (a
// trunk's, say) from the route set, and with a token good for any Call-ID
// it could send that peer requests that look in-dialog for calls it has no
// part in, past the authentication of out-of-dialog requests. Every
// request of a dialog carries its Call-ID (RFC 3261 §12.2.1.1) — early
// dialogs (PRACK, UPDATE), ACK, re-INVITE, each fork's dialog, and the
// NOTIFYs of SUBSCRIBE and REFER subscriptions alike, which a list of
// confirmed dialogs would miss — so binding costs no state. A party can
// still send requests with its own call's Call-ID: those are of its own
// dialog, whose tags the far end checks.
type flowTokens struct{ key [32]byte }

func newFlowTokens() *flowTokens {
	var t flowTokens
	_, _ = rand.Read(t.key[:])
	return &t
}

// b64 decodes strictly, so that each flow has exactly one token.
var b64 = base64.RawURLEncoding.Strict()

// encode returns a token for flowID in the dialog of callID that is safe
// in a SIP URI user part.
func (t *flowTokens) encode(flowID, callID string) string {
	return b64.EncodeToString([]byte(flowID)) + "." + b64.EncodeToString(t.mac("d", flowID, callID))
}

// encodePath returns a token for flowID for a Path header (RFC 3327),
// which names the flow for requests of any Call-ID: it never verifies as a
// dialog's.
func (t *flowTokens) encodePath(flowID string) string {
	return b64.EncodeToString([]byte(flowID)) + "." + b64.EncodeToString(t.mac("p", flowID, ""))
}

// decode returns the flow ID in token, or false when the token is forged
// or was made for another dialog than callID's.
func (t *flowTokens) decode(token, callID string) (string, bool) {
	id64, sig64, ok := strings.Cut(token, ".")
	if !ok {
		return "", false
	}
	id, err1 := b64.DecodeString(id64)
	sig, err2 := b64.DecodeString(sig64)
	if err1 != nil || err2 != nil || !hmac.Equal(sig, t.mac("d", string(id), callID)) {
		return "", false
	}
	return string(id), true
}

// mac is the token MAC of a flow ID for a use ("d" dialog, "p" Path) and
// Call-ID. The flow ID's length goes first, so that no flow ID and Call-ID
// pair reads as another.
func (t *flowTokens) mac(use, flowID, callID string) []byte {
	m := hmac.New(sha256.New, t.key[:])
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(flowID)))
	m.Write([]byte(use))
	m.Write(n[:])
	m.Write([]byte(flowID))
	m.Write([]byte(callID))
	return m.Sum(nil)[:9]
}
