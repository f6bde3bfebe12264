package sipproxy

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"strings"
)

// flowTokens makes flow tokens (RFC 5626 §5.2): a flow ID with an HMAC, so
// that a peer cannot steer a request onto someone else's connection by
// forging a Route.
type flowTokens struct{ key [32]byte }

func newFlowTokens() *flowTokens {
	var t flowTokens
	_, _ = rand.Read(t.key[:])
	return &t
}

// b64 decodes strictly, so that each flow has exactly one token.
var b64 = base64.RawURLEncoding.Strict()

// encode returns a token for flowID that is safe in a SIP URI user part.
func (t *flowTokens) encode(flowID string) string {
	return b64.EncodeToString([]byte(flowID)) + "." + b64.EncodeToString(t.mac(flowID))
}

// decode returns the flow ID in token, or false when the token is forged.
func (t *flowTokens) decode(token string) (string, bool) {
	id64, sig64, ok := strings.Cut(token, ".")
	if !ok {
		return "", false
	}
	id, err1 := b64.DecodeString(id64)
	sig, err2 := b64.DecodeString(sig64)
	if err1 != nil || err2 != nil || !hmac.Equal(sig, t.mac(string(id))) {
		return "", false
	}
	return string(id), true
}

func (t *flowTokens) mac(flowID string) []byte {
	m := hmac.New(sha256.New, t.key[:])
	m.Write([]byte(flowID))
	return m.Sum(nil)[:9]
}
