package siptransport

import (
	"bytes"
	"testing"
)

func TestNormalizeHead(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"untouched", validOptions, validOptions},
		{"Via protocol and parameters",
			"OPTIONS sip:x SIP/2.0\r\nv:  SIP  /   2.0  / UDP  192.0.2.1 ;  rport ;\r\n  branch  =   z9hG4bK1  ,\r\n SIP / 2.0 / TCP h2\r\nContent-Length: 0\r\n\r\n",
			"OPTIONS sip:x SIP/2.0\r\nv: SIP/2.0/UDP 192.0.2.1;rport;branch=z9hG4bK1,SIP/2.0/TCP h2\r\nContent-Length: 0\r\n\r\n"},
		{"quoted strings and <> keep their spaces",
			"OPTIONS sip:x SIP/2.0\r\nFrom : \"A  ;  B \\\" = \"   <sip:a@x;lr>\r\n ;  tag = 1\r\nSubject: a  ;\r\n b\r\nl: 2\r\n\r\na ",
			"OPTIONS sip:x SIP/2.0\r\nFrom: \"A  ;  B \\\" = \" <sip:a@x;lr>;tag=1\r\nSubject: a  ; b\r\nl: 2\r\n\r\na "},
		{"folded CSeq", "OPTIONS sip:x SIP/2.0\r\ncseq: 0009\r\n  OPTIONS\r\nl: 0\r\n\r\n", "OPTIONS sip:x SIP/2.0\r\ncseq: 0009 OPTIONS\r\nl: 0\r\n\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(normalizeHead([]byte(tt.in))); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestNormalizeHeadAllocatesNothingForATidyMessage(t *testing.T) {
	msg := []byte(fuzzSeeds[1])
	if n := testing.AllocsPerRun(100, func() { normalizeHead(msg) }); n != 0 {
		t.Errorf("got %v allocations, want 0", n)
	}
}

// BenchmarkSyntaxAndNormalize is what the syntax rule and normalizeHead add
// to every message that passed the framing rule: a JsSIP REGISTER.
func BenchmarkSyntaxAndNormalize(b *testing.B) {
	msg := []byte(fuzzSeeds[1])
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		end := bytes.Index(msg, crlfCRLF) // as Inbound.parse does, once for both
		if checkSyntaxAt(msg, end) != nil {
			b.Fatal("refused")
		}
		normalizeHeadAt(msg, end)
	}
}
