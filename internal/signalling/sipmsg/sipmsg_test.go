package sipmsg

import (
	"testing"

	"github.com/emiago/sipgo/sip"
)

func parse(t *testing.T, raw string) *sip.Request {
	t.Helper()
	m, err := sip.ParseMessage([]byte(raw))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return m.(*sip.Request)
}

const invite = "INVITE sip:bob@example.com SIP/2.0\r\n" +
	"Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1\r\n" +
	"Record-Route: <sip:p1.example.com;lr>\r\n" +
	"Record-Route: <sip:p2.example.com;lr>\r\n" +
	"From: <sip:alice@example.com>;tag=a1\r\n" +
	"To: <sip:bob@example.com>\r\n" +
	"Call-ID: c1\r\n" +
	"CSeq: 1 INVITE\r\n" +
	"Contact: <sip:alice@192.0.2.1:5060>\r\n" +
	"Content-Type: Application/SDP; charset=x\r\n" +
	"Content-Length: 4\r\n\r\nv=0\n"

func TestReadings(t *testing.T) {
	req := parse(t, invite)
	if !HasSDP(req) {
		t.Error("HasSDP: got false, want true (case-insensitive type, parameters after it)")
	}
	if got := FromTag(req); got != "a1" {
		t.Errorf("FromTag: got %q, want a1", got)
	}
	if got, has := ToTag(req), HasToTag(req); got != "" || has {
		t.Errorf("ToTag: got %q, %v, want none", got, has)
	}
	rr := RecordRoute(req)
	if len(rr) != 2 || rr[0].Host != "p1.example.com" || rr[1].Host != "p2.example.com" {
		t.Errorf("RecordRoute: got %v, want p1 then p2", rr)
	}
	rr[0].Host = "changed"
	if RecordRoute(req)[0].Host != "p1.example.com" {
		t.Error("RecordRoute returned the message's own URI, not a copy")
	}
	fallback := sip.Uri{Host: "fallback.example.com"}
	if got := RemoteTarget(req, fallback); got.Host != "192.0.2.1" || got.User != "alice" {
		t.Errorf("RemoteTarget: got %v, want the Contact", got)
	}
}

func TestWithoutSDPOrContact(t *testing.T) {
	for name, raw := range map[string]string{
		"no body":       "OPTIONS sip:b@x SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK2\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:b@x>;tag=2\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\nContent-Type: application/sdp\r\nContent-Length: 0\r\n\r\n",
		"other type":    "MESSAGE sip:b@x SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK3\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:b@x>;tag=2\r\nCall-ID: c\r\nCSeq: 1 MESSAGE\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nhi",
		"no type, body": "MESSAGE sip:b@x SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK4\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:b@x>;tag=2\r\nCall-ID: c\r\nCSeq: 1 MESSAGE\r\nContent-Length: 2\r\n\r\nhi",
	} {
		t.Run(name, func(t *testing.T) {
			req := parse(t, raw)
			if HasSDP(req) {
				t.Error("HasSDP: got true, want false")
			}
			if !HasToTag(req) || ToTag(req) != "2" {
				t.Errorf("ToTag: got %q, want 2", ToTag(req))
			}
			fallback := sip.Uri{Host: "fallback.example.com"}
			if got := RemoteTarget(req, fallback); got.Host != "fallback.example.com" {
				t.Errorf("RemoteTarget: got %v, want the fallback", got)
			}
		})
	}
}

func TestParty(t *testing.T) {
	req := parse(t, invite)
	if got := Party(req.From()); got != "alice@example.com" {
		t.Errorf("Party(From): got %q, want alice@example.com", got)
	}
	if got := PartyTo(req.To()); got != "bob@example.com" {
		t.Errorf("PartyTo(To): got %q, want bob@example.com", got)
	}
	if got := Party(nil); got != "" {
		t.Errorf("Party(nil): got %q, want empty", got)
	}
	if got := PartyTo(&sip.ToHeader{Address: sip.Uri{Host: "example.com"}}); got != "example.com" {
		t.Errorf("PartyTo without a user: got %q, want example.com", got)
	}
}
