package registrar

import (
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/internal/signalling/registrar/rawreg"
)

// FuzzParseAuthorization checks that no Authorization value panics the
// parser or Verify, and that whatever parses survives a round trip.
// Seeds: testdata/fuzz/FuzzParseAuthorization.
func FuzzParseAuthorization(f *testing.F) {
	f.Add(`Digest username="alice", realm="example.com", nonce="abc", uri="sip:example.com", response="0123", qop=auth, cnonce="x1", nc=00000001`)
	a := newTestAuthenticator(AuthConfig{Realm: "example.com", Users: testUsers}, newClock())
	f.Fuzz(func(t *testing.T, v string) {
		params, err := parseDigest(v)
		if err == nil {
			var parts []string
			for k, val := range params {
				parts = append(parts, k+"="+quote(val))
			}
			again, err := parseDigest("Digest " + strings.Join(parts, ", "))
			if err != nil || !maps.Equal(params, again) {
				t.Errorf("got %q (%v) after a round trip, want %q", again, err, params)
			}
		}
		req := sip.NewRequest(sip.REGISTER, sip.Uri{Scheme: "sip", Host: "example.com"})
		req.AppendHeader(sip.NewHeader("Authorization", v))
		if user, res := a.Verify(req, srcA, false); res == AuthOK || user != "" {
			t.Errorf("got %q %v from a fuzzed value, want no user", user, res)
		}
	})
}

// FuzzRawDigest holds rawreg's reading of an Authorization value to
// parseDigest's: what rawreg reads, parseDigest parses to the same
// parameters, none more, and the credentials RegisterRaw makes of them are
// newCredentials'.
func FuzzRawDigest(f *testing.F) {
	f.Add(`Digest algorithm=MD5, username="alice", realm="example.com", nonce="abc", uri="sip:example.com", response="0123", qop=auth, cnonce="x1", nc=00000001`)
	f.Add(`Digest username="alice", realm="example.com", nonce="", uri="sip:example.com", response="0123", qop="auth", cnonce="x 1", nc=1`)
	f.Fuzz(func(t *testing.T, v string) {
		msg := "REGISTER sip:example.com SIP/2.0\r\nVia: SIP/2.0/WS a.invalid;branch=z9hG4bK1\r\n" +
			"To: <sip:alice@example.com>\r\nFrom: <sip:alice@example.com>;tag=1\r\nCall-ID: c\r\nCSeq: 1 REGISTER\r\n" +
			"Authorization: " + v + "\r\n\r\n"
		var req rawreg.Request
		if !rawreg.Parse([]byte(msg), &req) {
			return
		}
		params, err := parseDigest(string(req.Authorization))
		if err != nil {
			t.Fatalf("parseDigest refuses what rawreg read: %v", err)
		}
		d := &req.Digest
		read := map[string][]byte{"username": d.Username, "realm": d.Realm, "nonce": d.Nonce, "uri": d.URI,
			"response": d.Response, "algorithm": d.Algorithm, "cnonce": d.CNonce, "qop": d.QOP, "nc": d.NC}
		n := 0
		for name, value := range read {
			got, ok := params[name]
			if ok != (value != nil) || got != string(value) {
				t.Errorf("%s: parseDigest %q (%v), rawreg %q", name, got, ok, value)
			}
			if ok {
				n++
			}
		}
		if n != len(params) {
			t.Errorf("parseDigest has %d parameters, rawreg read %d", len(params), n)
		}
	})
}

// FuzzDigestURI checks that digestURIMatches survives any uri parameter,
// matches any URI to itself, and is symmetric where both sides parse.
// Seeds: testdata/fuzz/FuzzDigestURI.
func FuzzDigestURI(f *testing.F) {
	f.Add("sip:bob@example.com;transport=ws", "SIP:bob@EXAMPLE.com;transport=WS")
	f.Add("sip:%62ob@example.com:5060;lr?subject=x", "sips:example.com")
	f.Fuzz(func(t *testing.T, a, b string) {
		var ua, ub sip.Uri
		errA, errB := sip.ParseUri(a, &ua), sip.ParseUri(b, &ub)
		if errB == nil {
			_ = digestURIMatches(a, &ub)
			if !digestURIMatches(ub.String(), &ub) {
				t.Errorf("got %q not matching itself, want a match", ub.String())
			}
		}
		if errA == nil && errB == nil && sameURI(&ua, &ub) != sameURI(&ub, &ua) {
			t.Errorf("sameURI(%q, %q) is not symmetric", a, b)
		}
	})
}

// FuzzRegister checks that Register answers any header values, given as
// unparsed headers and, when sipgo accepts the message, as parsed ones,
// with a final response and never a panic.
// Seeds: testdata/fuzz/FuzzRegister.
func FuzzRegister(f *testing.F) {
	f.Add("<sip:alice@example.com>", "<sip:alice@192.0.2.1>;expires=60", "600", "", "path, outbound", "", "<sip:edge.example.net;lr>")
	f.Fuzz(func(t *testing.T, to, contact, expires, authz, supported, require, path string) {
		fields := []struct{ name, value string }{
			{"To", to}, {"Contact", contact}, {"Expires", expires}, {"Authorization", authz},
			{"Supported", supported}, {"Require", require}, {"Path", path},
		}
		generic := sip.NewRequest(sip.REGISTER, sip.Uri{Scheme: "sip", Host: "example.com"})
		callID := sip.CallIDHeader("fuzz")
		generic.AppendHeader(&callID)
		generic.AppendHeader(&sip.CSeqHeader{SeqNo: 1, MethodName: sip.REGISTER})
		raw := "REGISTER sip:example.com SIP/2.0\r\nVia: SIP/2.0/WSS x.invalid;branch=z9hG4bKf\r\n" +
			"From: <sip:alice@example.com>;tag=f\r\nCall-ID: fuzz\r\nCSeq: 1 REGISTER\r\n"
		for _, h := range fields {
			if h.value != "" {
				generic.AppendHeader(sip.NewHeader(h.name, h.value))
				raw += h.name + ": " + h.value + "\r\n"
			}
		}
		reqs := []*sip.Request{generic}
		if msg, err := sip.ParseMessage([]byte(raw + "Content-Length: 0\r\n\r\n")); err == nil {
			if req, ok := msg.(*sip.Request); ok {
				reqs = append(reqs, req)
			}
		}
		for _, req := range reqs {
			for _, cfg := range []Config{
				{Domain: "example.com", MinExpires: 1},
				{Auth: true, Users: testUsers},
			} {
				clk := newClock()
				r := newTestRegistrar(cfg, clk)
				res, user := r.Register(req, flowA)
				if res == nil || res.StatusCode < 200 || res.StatusCode > 699 {
					t.Fatalf("got %v, want a final response", res)
				}
				if user != "" && res.StatusCode != 200 {
					t.Errorf("got user %q with %d, want none", user, res.StatusCode)
				}
				if len(r.Lookup("alice@example.com")) > DefaultMaxContacts {
					t.Errorf("got more than %d bindings", DefaultMaxContacts)
				}
				clk.Advance(time.Hour)
				r.Sweep()
				if n := r.Count(); n != 0 {
					t.Errorf("got %d bindings after they all expired, want 0", n)
				}
			}
		}
	})
}
