package sdprewrite

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/pion/sdp/v3"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata from the code's output")

// Switchboard's side of every golden case.
var (
	testPlain = PlainLocal{Addr: netip.MustParseAddrPort("198.51.100.5:30000")}
	testMux   = PlainLocal{Addr: netip.MustParseAddrPort("198.51.100.5:30002"), RTCPMux: true}
	testWeb   = WebRTCLocal{
		Ufrag:       "sbQ2",
		Pwd:         "switchboardPwd0123456789",
		Fingerprint: "sha-256 0F:54:5D:2B:6E:9A:11:C3:47:88:B0:2A:FD:63:90:1E:7C:25:D4:E8:39:A6:5B:F0:12:8D:C7:4E:A3:96:0B:71",
		Candidates: []netip.AddrPort{
			netip.MustParseAddrPort("203.0.113.10:40000"),
			netip.MustParseAddrPort("[2001:db8::10]:40000"),
		},
		SSRC:  1527411466,
		CNAME: "switchboard",
		MSID:  "sb sb-audio",
	}
)

// translation runs one of the four translations on a case's in.sdp and, for
// answers, the offer.sdp it answers.
type translation func(in, offer []byte) (out []byte, remote any, err error)

func fromBrowserOffer(local PlainLocal) translation {
	return func(in, _ []byte) ([]byte, any, error) { return WebRTCOfferToPlain(in, local) }
}

func fromPlainAnswer(in, offer []byte) ([]byte, any, error) {
	return PlainAnswerToWebRTC(in, offer, testWeb)
}

func fromPlainOffer(in, _ []byte) ([]byte, any, error) { return PlainOfferToWebRTC(in, testWeb) }

func fromPlainRelay(in, _ []byte) ([]byte, any, error) { return PlainToPlain(in, testPlain) }

func fromBrowserAnswer(in, offer []byte) ([]byte, any, error) {
	return WebRTCAnswerToPlain(in, offer, testPlain)
}

// goldenCases name each directory under testdata: in.sdp, offer.sdp for
// answers, and the outputs want.sdp and remote.json.
var goldenCases = []struct {
	name      string
	run       translation
	toBrowser bool
}{
	{"chrome-av-offer", fromBrowserOffer(testPlain), false},
	{"chrome-audio-offer", fromBrowserOffer(testPlain), false},
	{"firefox-av-offer", fromBrowserOffer(testPlain), false},
	{"firefox-audio-offer", fromBrowserOffer(testPlain), false},
	{"safari-audio-offer", fromBrowserOffer(testPlain), false},
	{"jssip-chrome-offer", fromBrowserOffer(testPlain), false},
	{"sipjs-legacy-offer", fromBrowserOffer(testMux), false},
	{"chrome-hold-offer", fromBrowserOffer(testPlain), false},
	{"chrome-inactive-offer", fromBrowserOffer(testPlain), false},
	{"asterisk-answer", fromPlainAnswer, true},
	{"asterisk-hold-answer", fromPlainAnswer, true},
	{"freeswitch-answer", fromPlainAnswer, true},
	{"baresip-answer", fromPlainAnswer, true},
	{"asterisk-offer", fromPlainOffer, true},
	{"asterisk-av-offer", fromPlainOffer, true},
	{"freeswitch-offer", fromPlainOffer, true},
	{"freeswitch-hold-offer", fromPlainOffer, true},
	{"baresip-offer", fromPlainOffer, true},
	{"chrome-answer", fromBrowserAnswer, false},
	{"chrome-av-answer", fromBrowserAnswer, false},
	{"chrome-hold-answer", fromBrowserAnswer, false},
	{"firefox-answer", fromBrowserAnswer, false},
	{"asterisk-av-relay", fromPlainRelay, false},
	{"freeswitch-relay-answer", fromPlainRelay, false},
}

func TestGolden(t *testing.T) {
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join("testdata", tc.name)
			out, remote, err := tc.run(readFile(t, dir, "in.sdp"), readFile(t, dir, "offer.sdp"))
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			checkOutput(t, out, tc.toBrowser)
			js, err := json.MarshalIndent(remote, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			compareGolden(t, filepath.Join(dir, "want.sdp"), out)
			compareGolden(t, filepath.Join(dir, "remote.json"), append(js, '\n'))
		})
	}
}

// checkOutput checks what holds for every output: it parses, and it is
// WebRTC exactly when it goes to a browser.
func checkOutput(t *testing.T, out []byte, toBrowser bool) {
	t.Helper()
	var d sdp.SessionDescription
	if err := d.Unmarshal(out); err != nil {
		t.Errorf("output does not parse: %v", err)
	}
	if got := IsWebRTC(out); got != toBrowser {
		t.Errorf("IsWebRTC(output) = %v, want %v", got, toBrowser)
	}
}

// TestGoldenCasesListed keeps testdata and the table in step.
func TestGoldenCasesListed(t *testing.T) {
	listed := map[string]bool{}
	for _, tc := range goldenCases {
		listed[tc.name] = true
	}
	entries, err := os.ReadDir("testdata")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() && e.Name() != "fuzz" && !listed[e.Name()] {
			t.Errorf("testdata/%s is not in goldenCases", e.Name())
		}
	}
}

// readFile returns a test file, or nil if it does not exist.
func readFile(t *testing.T, dir, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// compareGolden compares got with the golden file at path, or rewrites the
// file under -update.
func compareGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s: got\n%s\nwant\n%s", path, got, want)
	}
}
