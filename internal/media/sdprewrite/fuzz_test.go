package sdprewrite

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzTranslate feeds arbitrary SDP to the translations of offers and to
// PlainToPlain, seeded
// with every input under testdata. Whatever they accept must come out as an
// SDP that parses, WebRTC towards the browser and plain towards the plain leg.
func FuzzTranslate(f *testing.F) {
	paths, _ := filepath.Glob("testdata/*/in.sdp")
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		if out, _, err := WebRTCOfferToPlain(in, testPlain); err == nil {
			checkOutput(t, out, false)
		}
		if out, _, err := PlainOfferToWebRTC(in, testWeb); err == nil {
			checkOutput(t, out, true)
		}
		if out, _, err := PlainToPlain(in, testPlain); err == nil && !IsWebRTC(in) {
			checkOutput(t, out, false)
		}
	})
}

// FuzzValidateWebRTC feeds arbitrary SDP to ValidateWebRTC and to the
// translations from WebRTC, seeded with the browsers' SDPs under testdata
// and the corpus under testdata/fuzz. It must not panic; what it accepts
// fits the limits; and it agrees with the translations, which run the same
// checks: no SDP ValidateWebRTC refuses is ever translated, and a Fault
// from the offer's translation is ValidateWebRTC's too.
func FuzzValidateWebRTC(f *testing.F) {
	for _, c := range browserSDPs {
		b, err := os.ReadFile(filepath.Join("testdata", c.name, "in.sdp"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	offer, err := os.ReadFile("testdata/asterisk-offer/in.sdp")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		err := ValidateWebRTC(in)
		if err == nil && len(in) > MaxSDPSize {
			t.Fatalf("accepted %d bytes, more than MaxSDPSize", len(in))
		}
		if err != nil && !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrMalformed) {
			t.Fatalf("got %v, want a Fault or ErrMalformed", err)
		}
		fault := faultOf(err)
		out, _, terr := WebRTCOfferToPlain(in, testPlain)
		if terr == nil {
			checkOutput(t, out, false)
		}
		if fault != nil && terr == nil {
			t.Fatalf("ValidateWebRTC refused with %v, the offer translation accepted it", fault)
		}
		if got := faultOf(terr); got != nil && got != fault {
			t.Fatalf("the offer translation refused with %v, ValidateWebRTC with %v", got, err)
		}
		if _, _, aerr := WebRTCAnswerToPlain(in, offer, testPlain); fault != nil && aerr == nil {
			t.Fatalf("ValidateWebRTC refused with %v, the answer translation accepted it", fault)
		}
	})
}
