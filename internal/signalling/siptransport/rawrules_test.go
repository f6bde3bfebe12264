package siptransport

import (
	"os"
	"strings"
	"testing"

	"github.com/switchboard-gw/switchboard/internal/signalling/registrar/rawreg"
)

// rawJsSIP is a REGISTER as JsSIP 3.10 sends it, from the registrar's
// test data.
var rawJsSIP = func() string {
	b, err := os.ReadFile("../registrar/testdata/jssip-register.sip")
	if err != nil {
		panic(err)
	}
	return strings.ReplaceAll(strings.TrimRight(string(b), "\n")+"\n\n", "\n", "\r\n")
}()

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
