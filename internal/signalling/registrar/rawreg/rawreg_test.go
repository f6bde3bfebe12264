package rawreg

import (
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"
)

// jssip is a REGISTER as JsSIP 3.10 sends it.
const jssip = "REGISTER sip:example.com SIP/2.0\r\n" +
	"Via: SIP/2.0/WSS 7k2mq3df1hle.invalid;branch=z9hG4bK4866617\r\n" +
	"Max-Forwards: 69\r\n" +
	"To: <sip:alice@example.com>\r\n" +
	"From: \"Alice\" <sip:alice@example.com>;tag=0g3ctr2nq0\r\n" +
	"Call-ID: 6ro40v6ct7bjvs4hd0ecgd\r\n" +
	"CSeq: 7 REGISTER\r\n" +
	"Contact: <sip:5bdtjss1@7k2mq3df1hle.invalid;transport=ws>;+sip.ice;reg-id=1;+sip.instance=\"<urn:uuid:0f7a8b7d>\";expires=600\r\n" +
	"Expires: 600\r\n" +
	"Allow: INVITE,ACK,CANCEL,BYE,UPDATE,MESSAGE,OPTIONS,REFER,INFO,NOTIFY\r\n" +
	"Supported: path,gruu,outbound\r\n" +
	"User-Agent: JsSIP 3.10.1\r\n" +
	"Content-Length: 0\r\n\r\n"

func TestParseJsSIP(t *testing.T) {
	var req Request
	if !Parse([]byte(jssip), &req) {
		t.Fatal("Parse refused a JsSIP REGISTER")
	}
	for _, c := range []struct{ name, got, want string }{
		{"Via", string(req.Via), "SIP/2.0/WSS 7k2mq3df1hle.invalid;branch=z9hG4bK4866617"},
		{"Via host", string(req.ViaHost), "7k2mq3df1hle.invalid"},
		{"Via params", string(req.ViaParams), ";branch=z9hG4bK4866617"},
		{"From", string(req.From), `"Alice" <sip:alice@example.com>;tag=0g3ctr2nq0`},
		{"To user", string(req.ToURI.User), "alice"},
		{"To host", string(req.ToURI.Host), "example.com"},
		{"Call-ID", string(req.CallID), "6ro40v6ct7bjvs4hd0ecgd"},
		{"Expires", string(req.Expires), "600"},
		{"Contact URI", string(req.Contacts[0].URI.Text), "sip:5bdtjss1@7k2mq3df1hle.invalid;transport=ws"},
		{"Contact params", string(req.Contacts[0].Params), `;+sip.ice;reg-id=1;+sip.instance="<urn:uuid:0f7a8b7d>";expires=600`},
	} {
		if c.got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, c.got, c.want)
		}
	}
	if req.CSeq != 7 || req.NContacts != 1 || !req.SupportsPath || !req.SupportsOutbound || req.Headers != 12 {
		t.Errorf("got CSeq %d, %d contacts, path %v, outbound %v, %d headers; want 7, 1, true, true, 12",
			req.CSeq, req.NContacts, req.SupportsPath, req.SupportsOutbound, req.Headers)
	}
}

// TestParseDeclines lists forms Parse leaves to sipgo, each a change to
// the JsSIP REGISTER.
func TestParseDeclines(t *testing.T) {
	for _, c := range []struct{ name, old, new string }{
		{"not REGISTER", "REGISTER sip:", "OPTIONS sip:"},
		{"version", " SIP/2.0\r\nVia", " SIP/3.0\r\nVia"},
		{"user in Request-URI", "REGISTER sip:example.com", "REGISTER sip:a@example.com"},
		{"compact Via", "Via: ", "v: "},
		{"two Vias", "Max-Forwards", "Via: SIP/2.0/WSS b.invalid;branch=z9hG4bKb\r\nMax-Forwards"},
		{"Via list", "z9hG4bK4866617\r\n", "z9hG4bK4866617,SIP/2.0/WSS b.invalid\r\n"},
		{"Via IPv6", "7k2mq3df1hle.invalid;branch", "[2001:db8::1];branch"},
		{"Via port 0", "7k2mq3df1hle.invalid;branch", "7k2mq3df1hle.invalid:0;branch"},
		{"Via space", "WSS 7k2mq3df1hle", "WSS  7k2mq3df1hle"},
		{"Via param twice", ";branch=z9hG4bK4866617", ";branch=z9hG4bK4866617;branch=x"},
		{"Via quoted param", ";branch=z9hG4bK4866617", ";branch=z9hG4bK4866617;x=\"y\""},
		{"folded line", "Max-Forwards: 69\r\n", "Max-Forwards:\r\n 69\r\n"},
		{"no space after colon", "Max-Forwards: 69", "Max-Forwards:69"},
		{"Max-Forwards 0", "Max-Forwards: 69", "Max-Forwards: 0"},
		{"unquoted display name", `"Alice" <sip:alice`, `Alice <sip:alice`},
		{"display name escape", `"Alice" <sip:alice`, `"Al\\ice" <sip:alice`},
		{"addr-spec", "To: <sip:alice@example.com>", "To: sip:alice@example.com"},
		{"To tag", "To: <sip:alice@example.com>", "To: <sip:alice@example.com>;tag=x"},
		{"To without user", "To: <sip:alice@example.com>", "To: <sip:example.com>"},
		{"escaped user", "To: <sip:alice@", "To: <sip:%61lice@"},
		{"upper-case scheme", "To: <sip:", "To: <SIP:"},
		{"URI headers", "example.com>\r\nFrom", "example.com?x=y>\r\nFrom"},
		{"Call-ID space", "Call-ID: 6ro40v6ct7bjvs4hd0ecgd", "Call-ID: 6ro40v6 ct7bjvs4hd0ecgd"},
		{"CSeq method", "CSeq: 7 REGISTER", "CSeq: 7 INVITE"},
		{"CSeq too big", "CSeq: 7 REGISTER", "CSeq: 2147483648 REGISTER"},
		{"Contact list", "expires=600\r\n", "expires=600, <sip:b@c.invalid>\r\n"},
		{"Contact display name", "Contact: <sip:5b", "Contact: \"x\" <sip:5b"},
		{"Contact quoted with space", `"<urn:uuid:0f7a8b7d>"`, `"<urn:uuid: 0f7a8b7d>"`},
		{"Contact after wildcard", "Expires: 600", "Contact: *\r\nExpires: 600"},
		{"Expires words", "Expires: 600", "Expires: soon"},
		{"two Expires", "Expires: 600", "Expires: 600\r\nExpires: 60"},
		{"Require", "Expires: 600", "Require: outbound"},
		{"Path", "Expires: 600", "Path: <sip:edge.example;lr>"},
		{"Route", "Expires: 600", "Route: <sip:edge.example;lr>"},
		{"compact Supported", "Supported: ", "k: "},
		{"body", "Content-Length: 0\r\n\r\n", "Content-Length: 1\r\n\r\nx"},
		{"no From", "From: \"Alice\" <sip:alice@example.com>;tag=0g3ctr2nq0\r\n", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			msg := strings.Replace(jssip, c.old, c.new, 1)
			if msg == jssip {
				t.Fatalf("%q is not in the message", c.old)
			}
			var req Request
			if Parse([]byte(msg), &req) {
				t.Errorf("Parse read\n%s", msg)
			}
		})
	}
}

func TestParseWildcardAndContacts(t *testing.T) {
	var req Request
	msg := strings.Replace(jssip, "Contact: <sip:5bdtjss1@7k2mq3df1hle.invalid;transport=ws>", "Contact: *", 1)
	msg = strings.Replace(msg, `*;+sip.ice;reg-id=1;+sip.instance="<urn:uuid:0f7a8b7d>";expires=600`, "*", 1)
	if !Parse([]byte(msg), &req) || !req.Wildcard || req.NContacts != 0 {
		t.Errorf("wildcard: got %v, %d contacts; want a wildcard", req.Wildcard, req.NContacts)
	}
	more := strings.Replace(jssip, "Expires: 600", "Contact: <sip:b@192.0.2.1:5062>;q=0.5\r\ncontact: <sip:c@c.invalid>\r\nExpires: 600", 1)
	if !Parse([]byte(more), &req) || req.NContacts != 3 || string(req.Contacts[1].URI.Port) != "5062" {
		t.Errorf("three contacts: got %d, the second's port %q", req.NContacts, req.Contacts[1].URI.Port)
	}
}

// FuzzParse holds Parse to sipgo: what Parse reads, sipgo parses too, to
// the same Call-ID, CSeq and number of contacts, and renders From, To and
// the Contacts as they came.
func FuzzParse(f *testing.F) {
	f.Add(jssip)
	f.Add(strings.Replace(jssip, "Contact: <sip:5bdtjss1", "Contact: <sip:b@c.invalid>\r\nContact: <sip:5bdtjss1", 1))
	f.Fuzz(func(t *testing.T, msg string) {
		var req Request
		if !Parse([]byte(msg), &req) {
			return
		}
		parsed, err := sip.NewParser().ParseSIP([]byte(msg))
		if err != nil {
			t.Fatalf("sipgo refuses what Parse read: %v", err)
		}
		r := parsed.(*sip.Request)
		if got, want := r.CallID().Value(), string(req.CallID); got != want {
			t.Errorf("Call-ID: sipgo %q, Parse %q", got, want)
		}
		if r.CSeq().SeqNo != req.CSeq {
			t.Errorf("CSeq: sipgo %d, Parse %d", r.CSeq().SeqNo, req.CSeq)
		}
		if got, want := r.From().Value(), string(req.From); got != want {
			t.Errorf("From: sipgo renders %q, Parse read %q", got, want)
		}
		if got, want := r.To().Value(), string(req.To); got != want {
			t.Errorf("To: sipgo renders %q, Parse read %q", got, want)
		}
		if got, want := r.Via().Value(), string(req.Via); got != want {
			t.Errorf("Via: sipgo renders %q, Parse read %q", got, want)
		}
		contacts := r.GetHeaders("Contact")
		if req.Wildcard {
			return
		}
		if len(contacts) != req.NContacts {
			t.Fatalf("sipgo sees %d contacts, Parse %d", len(contacts), req.NContacts)
		}
		for i, h := range contacts {
			if got, want := h.Value(), string(req.Contacts[i].Value); got != want {
				t.Errorf("Contact %d: sipgo renders %q, Parse read %q", i, got, want)
			}
		}
	})
}

// BenchmarkParse reads a JsSIP REGISTER.
//
//	go test -run '^$' -bench Parse -benchmem ./internal/signalling/registrar/rawreg/
func BenchmarkParse(b *testing.B) {
	msg := []byte(jssip)
	var req Request
	b.ReportAllocs()
	for b.Loop() {
		if !Parse(msg, &req) {
			b.Fatal("Parse refused the REGISTER")
		}
	}
}

// jssipAuth is JsSIP's Authorization header after a challenge.
const jssipAuth = `Authorization: Digest algorithm=MD5, username="alice", realm="switchboard", nonce="bm9uY2U", uri="sip:example.com", response="3f2ac4a7d0b3c2f9e6a1b8c7d6e5f4a3", qop=auth, cnonce="8q4o0ri1aq0b", nc=00000001` + "\r\n"

func TestParseDigest(t *testing.T) {
	var req Request
	msg := strings.Replace(jssip, "Content-Length", jssipAuth+"Content-Length", 1)
	if !Parse([]byte(msg), &req) {
		t.Fatal("Parse refused a JsSIP REGISTER with credentials")
	}
	d := &req.Digest
	for _, c := range []struct{ name, got, want string }{
		{"Request-URI", string(req.RequestURI), "sip:example.com"},
		{"username", string(d.Username), "alice"},
		{"realm", string(d.Realm), "switchboard"},
		{"nonce", string(d.Nonce), "bm9uY2U"},
		{"uri", string(d.URI), "sip:example.com"},
		{"response", string(d.Response), "3f2ac4a7d0b3c2f9e6a1b8c7d6e5f4a3"},
		{"algorithm", string(d.Algorithm), "MD5"},
		{"cnonce", string(d.CNonce), "8q4o0ri1aq0b"},
		{"qop", string(d.QOP), "auth"},
		{"nc", string(d.NC), "00000001"},
	} {
		if c.got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, c.got, c.want)
		}
	}
	if !Parse([]byte(jssip), &req) || req.Authorization != nil || req.Digest.Username != nil {
		t.Errorf("no Authorization: got %q, %+v", req.Authorization, req.Digest)
	}
	for _, c := range []struct{ name, old, new string }{
		{"scheme case", "Digest ", "digest "},
		{"Basic", "Digest algorithm=MD5, username=\"alice\"", "Basic YWxpY2U6cHc="},
		{"two spaces after scheme", "Digest ", "Digest  "},
		{"no space after comma", `MD5, username`, `MD5,username`},
		{"space before comma", `MD5, username`, `MD5 , username`},
		{"space around =", `username="alice"`, `username = "alice"`},
		{"upper-case name", `username=`, `Username=`},
		{"unknown parameter", `qop=auth`, `qop=auth, opaque="x"`},
		{"parameter twice", `qop=auth`, `qop=auth, qop=auth`},
		{"escape", `username="alice"`, `username="al\"ice"`},
		{"tab in quotes", `username="alice"`, "username=\"al\tice\""},
		{"unquoted URI", `uri="sip:example.com"`, `uri=sip:example.com`},
		{"comma in quotes", `realm="switchboard"`, `realm="switch, board"`},
		{"no username", `username="alice", `, ``},
		{"trailing comma", "nc=00000001\r\n", "nc=00000001, \r\n"},
		{"no parameters", jssipAuth, "Authorization: Digest \r\n"},
		{"two headers", jssipAuth, jssipAuth + jssipAuth},
	} {
		t.Run(c.name, func(t *testing.T) {
			declined := strings.Replace(msg, c.old, c.new, 1)
			if declined == msg {
				t.Fatalf("%q is not in the message", c.old)
			}
			if Parse([]byte(declined), &req) {
				t.Errorf("Parse read %q", declined)
			}
		})
	}
}
