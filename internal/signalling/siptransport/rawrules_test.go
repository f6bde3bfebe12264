package siptransport

import (
	"strings"
	"testing"

	"github.com/switchboard-gw/switchboard/internal/signalling/registrar/rawreg"
)

// rawJsSIP is a REGISTER as JsSIP 3.10 sends it.
const rawJsSIP = "REGISTER sip:example.com SIP/2.0\r\n" +
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

// TestRawRegisterKeepsRules holds rawreg, which Inbound offers a REGISTER
// to before the framing and syntax rules run, to read only messages both
// rules accept. FuzzRawRegisterKeepsRules tries more.
func TestRawRegisterKeepsRules(t *testing.T) {
	for name, msg := range map[string]string{
		"jssip":          rawJsSIP,
		"control char":   strings.Replace(rawJsSIP, "JsSIP 3.10.1", "JsSIP\x013.10.1", 1),
		"DEL":            strings.Replace(rawJsSIP, "JsSIP 3.10.1", "JsSIP\x7f3.10.1", 1),
		"bare LF":        strings.Replace(rawJsSIP, "JsSIP 3.10.1", "JsSIP\n3.10.1", 1),
		"bare CR":        strings.Replace(rawJsSIP, "JsSIP 3.10.1", "JsSIP\r3.10.1", 1),
		"no end of head": strings.TrimSuffix(rawJsSIP, "\r\n"),
		"wildcard":       strings.Replace(rawJsSIP, "Contact: <sip:5bdtjss1@7k2mq3df1hle.invalid;transport=ws>", "Contact: *\r\nX", 1),
	} {
		t.Run(name, func(t *testing.T) { checkRawKeepsRules(t, []byte(msg)) })
	}
	var req rawreg.Request
	if !rawreg.Parse([]byte(rawJsSIP), &req) {
		t.Fatal("rawreg refused the JsSIP REGISTER: the test checks nothing")
	}
}

func FuzzRawRegisterKeepsRules(f *testing.F) {
	f.Add([]byte(rawJsSIP))
	f.Add([]byte(strings.Replace(rawJsSIP, "Expires: 600", "Contact: <sip:b@192.0.2.1:5062>;q=0.5\r\nExpires: 600", 1)))
	f.Fuzz(checkRawKeepsRules)
}

func checkRawKeepsRules(t *testing.T, msg []byte) {
	var req rawreg.Request
	if !rawreg.Parse(msg, &req) {
		return
	}
	if f := checkMessage(msg); f != nil {
		t.Errorf("rawreg reads a message the framing rule refuses (%s):\n%q", f.reason, msg)
	}
	if f := checkSyntax(msg); f != nil {
		t.Errorf("rawreg reads a message the syntax rule refuses (%s):\n%q", f.reason, msg)
	}
}
