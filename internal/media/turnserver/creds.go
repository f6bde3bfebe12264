package turnserver

import (
	"crypto/hmac"
	"crypto/md5" //nolint:gosec // RFC 8489 §9.2.2: the long-term key is MD5(username:realm:password)
	"crypto/sha1"
	"encoding/base64"
	"strconv"
	"strings"
	"time"
)

// Credentials mints and checks TURN REST credentials as coturn does
// (draft-uberti-behave-turn-rest, coturn's use-auth-secret): the username is
// "EXPIRY:USER", EXPIRY in Unix seconds, and the password is
// base64(HMAC-SHA1(secret, username)). A web application that mints them for
// coturn mints them for switchboard with the same secret.
type Credentials struct {
	secret []byte
	realm  string
}

// NewCredentials returns credentials keyed by secret for realm.
func NewCredentials(secret []byte, realm string) *Credentials {
	return &Credentials{secret: secret, realm: realm}
}

// Mint returns a username and password for user valid until expires.
func (c *Credentials) Mint(user string, expires time.Time) (username, password string) {
	username = strconv.FormatInt(expires.Unix(), 10) + ":" + user
	return username, c.password(username)
}

// password is base64(HMAC-SHA1(secret, username)).
func (c *Credentials) password(username string) string {
	mac := hmac.New(sha1.New, c.secret)
	mac.Write([]byte(username))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// credResult is what check found of a username.
type credResult int

const (
	credOK credResult = iota
	// credMalformed: no expiry, or one that is not a number.
	credMalformed
	// credExpired: the expiry has passed (beyond the grace, when one applies).
	credExpired
)

// check parses a REST username and returns its user and the long-term key
// (RFC 8489 §9.2.2) a request signed with its password carries. grace is how
// long after its expiry the username is still accepted: zero for a new
// allocation, refreshGrace for requests on one that exists.
func (c *Credentials) check(username string, now time.Time, grace time.Duration) (user string, key []byte, res credResult) {
	expiry, user, _ := strings.Cut(username, ":")
	secs, err := strconv.ParseInt(expiry, 10, 64)
	if err != nil || secs <= 0 {
		return "", nil, credMalformed
	}
	if !now.Before(time.Unix(secs, 0).Add(grace)) {
		return user, nil, credExpired
	}
	return user, longTermKey(username, c.realm, c.password(username)), credOK
}

// longTermKey is MD5(username ":" realm ":" password), RFC 8489 §9.2.2.
func longTermKey(username, realm, password string) []byte {
	h := md5.New() //nolint:gosec // the protocol's key derivation
	h.Write([]byte(username + ":" + realm + ":" + password))
	return h.Sum(nil)
}
