package turnserver

import (
	"testing"
	"time"
)

// TestCredentialsAsCoturn checks a password against one computed outside
// Go, as a web application minting coturn's REST credentials would:
//
//	printf 1700000000:alice | openssl dgst -sha1 -hmac 'north-secret-0123' -binary | base64
func TestCredentialsAsCoturn(t *testing.T) {
	c := NewCredentials([]byte("north-secret-0123"), "switchboard")
	user, pass := c.Mint("alice", time.Unix(1700000000, 0))
	if user != "1700000000:alice" {
		t.Errorf("username: got %q, want %q", user, "1700000000:alice")
	}
	if want := "ersLiktDsjTp8bqVNrsKIAlktas="; pass != want {
		t.Errorf("password: got %q, want %q", pass, want)
	}
}

func TestCredentialsCheck(t *testing.T) {
	c := NewCredentials([]byte("north-secret-0123"), "switchboard")
	now := time.Unix(1700000000, 0)
	tests := []struct {
		name     string
		username string
		grace    time.Duration
		want     credResult
		wantUser string
	}{
		{"valid", "1700000060:alice", 0, credOK, "alice"},
		{"no user, as coturn allows", "1700000060", 0, credOK, ""},
		{"expired", "1699999999:alice", 0, credExpired, "alice"},
		{"expiring now", "1700000000:alice", 0, credExpired, "alice"},
		{"expired within the refresh grace", "1699999999:alice", refreshGrace, credOK, "alice"},
		{"expired beyond the grace", "1699985000:alice", refreshGrace, credExpired, "alice"},
		{"no expiry", "alice", 0, credMalformed, ""},
		{"user first", "alice:1700000060", 0, credMalformed, ""},
		{"negative", "-5:alice", 0, credMalformed, ""},
		{"empty", "", 0, credMalformed, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			user, key, res := c.check(tc.username, now, tc.grace)
			if res != tc.want || user != tc.wantUser {
				t.Errorf("check(%q): got %v %q, want %v %q", tc.username, res, user, tc.want, tc.wantUser)
			}
			if (key != nil) != (res == credOK) {
				t.Errorf("check(%q): key %x with result %v", tc.username, key, res)
			}
		})
	}
}
