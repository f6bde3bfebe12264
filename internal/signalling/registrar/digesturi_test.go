package registrar

import (
	"testing"

	"github.com/emiago/sipgo/sip"
)

func TestDigestURIMatches(t *testing.T) {
	tests := []struct {
		name      string
		uri, ruri string
		want      bool
	}{
		{"same spelling", "sip:bob@example.com;transport=ws", "sip:bob@example.com;transport=ws", true},
		{"scheme and host case", "SIP:bob@EXAMPLE.com", "sip:bob@example.com", true},
		{"user case matters", "sip:Bob@example.com", "sip:bob@example.com", false},
		{"escaped user", "sip:%62ob@example.com", "sip:bob@example.com", true},
		{"parameter order", "sip:example.com;lr;transport=tcp", "sip:example.com;transport=tcp;lr", true},
		{"transport on one side only", "sip:example.com;transport=tcp", "sip:example.com", false},
		{"other parameter on one side only", "sip:example.com;foo=1", "sip:example.com", true},
		{"other parameter differs", "sip:example.com;foo=1", "sip:example.com;foo=2", false},
		{"explicit default port", "sip:example.com:5060", "sip:example.com", false},
		{"other port", "sip:example.com:5070", "sip:example.com:5060", false},
		{"other host", "sip:example.net", "sip:example.com", false},
		{"sips against sip", "sips:example.com", "sip:example.com", false},
		{"header on one side", "sip:example.com?subject=x", "sip:example.com", false},
		{"tel same", "tel:+15551234", "tel:+15551234", true},
		{"tel other", "tel:+15551235", "tel:+15551234", false},
		{"not a URI", "/", "sip:example.com", false},
		{"empty", "", "sip:example.com", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ruri sip.Uri
			if err := sip.ParseUri(tt.ruri, &ruri); err != nil {
				t.Fatal(err)
			}
			if got := digestURIMatches(tt.uri, &ruri); got != tt.want {
				t.Errorf("digestURIMatches(%q, %q): got %v, want %v", tt.uri, tt.ruri, got, tt.want)
			}
		})
	}
}
