package ops

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
)

// realm names the protection space in WWW-Authenticate (RFC 7235 §2.2).
const realm = `realm="switchboard admin"`

// requireToken serves next only to requests that carry token as a bearer
// token (RFC 6750 §2.1); the rest get 401 with a Bearer challenge, and
// error="invalid_token" when they sent a token that is not it (§3.1).
// Tokens are compared by their SHA-256, in constant time, so that neither
// the token nor its length leaks through the time a refusal takes.
func requireToken(token string, next http.Handler) http.Handler {
	want := sha256.Sum256([]byte(token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := bearer(r.Header.Get("Authorization"))
		if !ok {
			w.Header().Set("WWW-Authenticate", "Bearer "+realm)
			writeText(w, http.StatusUnauthorized, "unauthorized: this endpoint needs Authorization: Bearer")
			return
		}
		sum := sha256.Sum256([]byte(got))
		if subtle.ConstantTimeCompare(sum[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", "Bearer "+realm+`, error="invalid_token"`)
			writeText(w, http.StatusUnauthorized, "unauthorized: wrong token")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// bearer returns the token of an Authorization header value with the
// Bearer scheme, whose name is case-insensitive (RFC 7235 §2.1).
func bearer(header string) (string, bool) {
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}
