package sdprewrite

import (
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
