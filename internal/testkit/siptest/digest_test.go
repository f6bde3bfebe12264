package siptest

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
)

// checkDigest reports whether cred, an Authorization value, answers ch for
// method and password, as a registrar would check it.
func checkDigest(cred, method, pass string, ch digestChallenge) error {
	p, err := parseAuthParams(strings.TrimPrefix(cred, "Digest "))
	if err != nil {
		return err
	}
	nc, _ := strconv.ParseInt(p["nc"], 16, 64)
	want, err := ch.response(digestCreds{method: method, uri: p["uri"], user: p["username"], pass: pass, cnonce: p["cnonce"], nc: int(nc)})
	if err != nil {
		return err
	}
	if p["response"] != want || p["nonce"] != ch.nonce || p["realm"] != ch.realm {
		return fmt.Errorf("credentials %q do not answer %+v", cred, ch)
	}
	return nil
}

func TestDigestVectors(t *testing.T) {
	const rfc7616 = `realm="http-auth@example.org", qop="auth, auth-int", nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"`
	tests := []struct {
		name, challenge, pass, cnonce, want string
	}{
		{
			name:      "RFC 2617 §3.5 MD5",
			challenge: `Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"`,
			pass:      "Circle Of Life", cnonce: "0a4f113b", want: "6629fae49393a05397450978507c4ef1",
		},
		{
			name:      "RFC 7616 §3.9.1 MD5",
			challenge: `Digest ` + rfc7616 + `, algorithm=MD5`,
			pass:      "Circle of Life", cnonce: "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", want: "8ca523f5e9506fed4657c9700eebdbec",
		},
		{
			name:      "RFC 7616 §3.9.1 SHA-256",
			challenge: `Digest ` + rfc7616 + `, algorithm=SHA-256`,
			pass:      "Circle of Life", cnonce: "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", want: "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch, err := parseChallenge(tt.challenge)
			if err != nil {
				t.Fatal(err)
			}
			cred, err := ch.authorization(digestCreds{method: "GET", uri: "/dir/index.html", user: "Mufasa", pass: tt.pass, cnonce: tt.cnonce, nc: 1})
			if err != nil {
				t.Fatal(err)
			}
			p, _ := parseAuthParams(strings.TrimPrefix(cred, "Digest "))
			if p["response"] != tt.want {
				t.Errorf("response = %s, want %s", p["response"], tt.want)
			}
			if p["qop"] != "auth" || p["nc"] != "00000001" || p["opaque"] != ch.opaque {
				t.Errorf("got qop=%s nc=%s opaque=%s, want auth, 00000001, %s", p["qop"], p["nc"], p["opaque"], ch.opaque)
			}
		})
	}
}

func TestDigestAuthorizationRoundTrip(t *testing.T) {
	const challenge = `Digest realm="switchboard", nonce="abc\"def", algorithm=SHA-256, qop="auth"`
	cred, err := DigestAuthorization(challenge, "REGISTER", "sip:127.0.0.1", "alice", "secret", 3)
	if err != nil {
		t.Fatal(err)
	}
	ch, _ := parseChallenge(challenge)
	if err := checkDigest(cred, "REGISTER", "secret", ch); err != nil {
		t.Error(err)
	}
	if !strings.Contains(cred, "nc=00000003") || !strings.Contains(cred, "algorithm=SHA-256") {
		t.Errorf("got %s, want nc=00000003 and algorithm=SHA-256", cred)
	}
}

func TestDigestAuthorizationRejects(t *testing.T) {
	tests := map[string]string{
		"basic scheme":      `Basic realm="x"`,
		"unknown algorithm": `Digest realm="x", nonce="n", algorithm=SHA-512`,
		"auth-int only":     `Digest realm="x", nonce="n", qop="auth-int"`,
		"unterminated":      `Digest realm="x, nonce="n`,
	}
	for name, challenge := range tests {
		t.Run(name, func(t *testing.T) {
			if got, err := DigestAuthorization(challenge, "INVITE", "sip:x", "u", "p", 1); err == nil {
				t.Errorf("got %q, want an error", got)
			}
		})
	}
}
