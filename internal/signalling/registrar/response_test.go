package registrar

import (
	"regexp"
	"testing"

	"github.com/emiago/sipgo/sip"
)

// TestNewResponseAsSipgo checks newResponse against
// sip.NewResponseFromRequest, which it replaces on the REGISTER path: the
// same start line and headers in the same order, the To tag aside, and
// neither the request nor its headers changed.
func TestNewResponseAsSipgo(t *testing.T) {
	tests := []struct {
		name  string
		lines []string
	}{
		{name: "jssip", lines: []string{
			"REGISTER sip:example.com SIP/2.0",
			"Via: SIP/2.0/WSS df7jal23ls0d.invalid;branch=z9hG4bKabc;received=192.0.2.10;rport=50001",
			"From: <sip:alice@example.com>;tag=a73kszlfl",
			"To: <sip:alice@example.com>",
			"Call-ID: c1", "CSeq: 1 REGISTER", "Contact: <sip:x@df7jal23ls0d.invalid;transport=ws>", "Content-Length: 0",
		}},
		{name: "to tag kept, two Vias", lines: []string{
			"REGISTER sip:example.com SIP/2.0",
			"Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK1",
			"Via: SIP/2.0/UDP 192.0.2.20:5060;branch=z9hG4bK2",
			"From: \"Alice\" <sip:alice@example.com>;tag=1",
			"To: \"Alice\" <sip:alice@example.com>;tag=given",
			"Call-ID: c2", "CSeq: 7 REGISTER", "Record-Route: <sip:rr.example.com;lr>", "Content-Length: 0",
		}},
		{name: "empty rport", lines: []string{
			"REGISTER sip:example.com SIP/2.0",
			"Via: SIP/2.0/UDP 10.0.0.1:5060;rport;branch=z9hG4bK3",
			"From: <sip:bob@example.com>;tag=2",
			"To: <sip:bob@example.com>;x=y",
			"Call-ID: c3", "CSeq: 2 REGISTER", "Content-Length: 0",
		}},
	}
	tag := regexp.MustCompile(`(?m)^(To: .*;tag=)[^;\r]*`)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := parseRequest(t, tt.lines...)
			req.SetSource("198.51.100.7:40000")
			req.SetTransport("UDP")
			before := req.String()
			want := sip.NewResponseFromRequest(req, 200, "OK", nil)
			got := newResponse(req, 200, "OK")
			if req.String() != before {
				t.Errorf("request changed:\n%s\nwas:\n%s", req.String(), before)
			}
			gotText, wantText := tag.ReplaceAllString(got.String(), "${1}T"), tag.ReplaceAllString(want.String(), "${1}T")
			if gotText != wantText {
				t.Errorf("got\n%s\nwant\n%s", gotText, wantText)
			}
			if want.To().Params.Has("tag") != got.To().Params.Has("tag") || got.Destination() != want.Destination() || got.Transport() != want.Transport() {
				t.Errorf("got tag %v, destination %q, transport %q; want %v, %q, %q", got.To().Params.Has("tag"),
					got.Destination(), got.Transport(), want.To().Params.Has("tag"), want.Destination(), want.Transport())
			}
		})
	}
}

func TestNewTagsDiffer(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		tag := newTag()
		if seen[tag] || tag == "" {
			t.Fatalf("tag %q repeated or empty", tag)
		}
		seen[tag] = true
	}
}
