package sdprewrite

import (
	"bytes"
	"slices"
	"testing"
)

// TestInputsUntouched checks every translation leaves its inputs as they
// were, and gives the same output twice.
func TestInputsUntouched(t *testing.T) {
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			dir := "testdata/" + tc.name
			in, offer := readFile(t, dir, "in.sdp"), readFile(t, dir, "offer.sdp")
			inCopy, offerCopy := bytes.Clone(in), bytes.Clone(offer)
			candidates := slices.Clone(testWeb.Candidates)
			first, _, _ := tc.run(in, offer)
			second, _, _ := tc.run(in, offer)
			if !bytes.Equal(in, inCopy) || !bytes.Equal(offer, offerCopy) {
				t.Error("the input SDP changed")
			}
			if !slices.Equal(testWeb.Candidates, candidates) {
				t.Error("the local candidates changed")
			}
			if !bytes.Equal(first, second) {
				t.Errorf("got different outputs for the same input:\n%s\n%s", first, second)
			}
		})
	}
}

// TestLineEnds checks bare LF line ends read like CRLF ones.
func TestLineEnds(t *testing.T) {
	in := readFile(t, "testdata/chrome-audio-offer", "in.sdp")
	want, _, err := WebRTCOfferToPlain(in, testPlain)
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := WebRTCOfferToPlain(bytes.ReplaceAll(in, []byte("\r\n"), []byte("\n")), testPlain)
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("with LF line ends got %q, %v; want %q", got, err, want)
	}
}
