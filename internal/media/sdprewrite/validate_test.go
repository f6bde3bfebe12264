package sdprewrite

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// testFingerprintHex is a well-formed sha-256 fingerprint value.
const testFingerprintHex = "A4:67:3A:52:5C:D4:9C:65:45:9D:61:43:B2:EC:31:E8:42:4E:EC:54:C9:70:E3:89:28:94:3E:5C:3C:ED:FC:64"

// hexPairs returns n colon-separated hex pairs.
func hexPairs(n int) string {
	return strings.TrimSuffix(strings.Repeat("AB:", n), ":")
}

// mutation changes one thing in a browser's SDP.
type mutation func([]byte) []byte

// setAttr gives every a=key line the value v.
func setAttr(key, v string) mutation {
	re := regexp.MustCompile(`(?m)^a=` + key + `:[^\r\n]*`)
	return func(b []byte) []byte { return re.ReplaceAll(b, []byte("a="+key+":"+v)) }
}

// dropAttr removes every a=key line.
func dropAttr(key string) mutation {
	re := regexp.MustCompile(`(?m)^a=` + key + `:[^\r\n]*\r?\n`)
	return func(b []byte) []byte { return re.ReplaceAll(b, nil) }
}

// appendLines adds n copies of line at the end (to the last m-line).
func appendLines(n int, line string) mutation {
	return func(b []byte) []byte {
		return append(bytes.Clone(b), strings.Repeat(line+"\r\n", n)...)
	}
}

// browserSDPs are the browsers' offers and answers of testdata, each with
// the check that reads it: the translation, which must refuse exactly what
// ValidateWebRTC refuses, with the answer's rules for answers.
var browserSDPs = []struct {
	name   string
	answer bool
	offer  string // for an answer, the case whose in.sdp it answers
}{
	{name: "chrome-audio-offer"},
	{name: "chrome-av-offer"},
	{name: "firefox-av-offer"},
	{name: "safari-audio-offer"},
	{name: "jssip-chrome-offer"},
	{name: "sipjs-legacy-offer"},
	{name: "chrome-answer", answer: true, offer: "asterisk-offer"},
	{name: "chrome-av-answer", answer: true, offer: "asterisk-av-offer"},
	{name: "chrome-hold-answer", answer: true, offer: "freeswitch-hold-offer"},
}

func TestValidateWebRTC(t *testing.T) {
	tests := []struct {
		name   string
		mutate mutation
		want   *Fault // nil: accepted
		answer bool   // only for answers
		offer  bool   // only for offers
	}{
		{"as sent", func(b []byte) []byte { return b }, nil, false, false},
		{"lower-case hex", setAttr("fingerprint", "sha-256 "+strings.ToLower(testFingerprintHex)), nil, false, false},
		{"upper-case hash token", setAttr("fingerprint", "SHA-256 "+testFingerprintHex), nil, false, false},
		{"sha-384", setAttr("fingerprint", "sha-384 "+hexPairs(48)), nil, false, false},
		{"sha-512", setAttr("fingerprint", "sha-512 "+hexPairs(64)), nil, false, false},
		{"ufrag of 256", setAttr("ice-ufrag", strings.Repeat("u", 256)), nil, false, false},
		{"no a=setup", dropAttr("setup"), nil, false, false},
		{"setup active", setAttr("setup", "active"), nil, false, false},
		{"setup passive", setAttr("setup", "passive"), nil, false, false},
		{"setup actpass", setAttr("setup", "actpass"), nil, false, true},
		{"99 candidates", appendLines(99, "a=candidate:1 1 udp 2122260223 192.0.2.1 50000 typ host"), nil, false, false},

		{"no fingerprint", dropAttr("fingerprint"), FaultNoFingerprint, false, false},
		{"sha-1", setAttr("fingerprint", "sha-1 "+hexPairs(20)), FaultFingerprintAlgorithm, false, false},
		{"md5", setAttr("fingerprint", "md5 "+hexPairs(16)), FaultFingerprintAlgorithm, false, false},
		{"unknown hash", setAttr("fingerprint", "sha3-256 "+testFingerprintHex), FaultFingerprintAlgorithm, false, false},
		{"no hash token", setAttr("fingerprint", testFingerprintHex), FaultFingerprintMalformed, false, false},
		{"only a hash token", setAttr("fingerprint", "sha-256"), FaultFingerprintMalformed, false, false},
		{"bad hex", setAttr("fingerprint", "sha-256 G"+testFingerprintHex[1:]), FaultFingerprintMalformed, false, false},
		{"too short for sha-256", setAttr("fingerprint", "sha-256 "+hexPairs(20)), FaultFingerprintMalformed, false, false},
		{"too long for sha-256", setAttr("fingerprint", "sha-256 "+hexPairs(33)), FaultFingerprintMalformed, false, false},
		{"no colons", setAttr("fingerprint", "sha-256 "+strings.Repeat("AB", 32)+strings.Repeat(" ", 31)), FaultFingerprintMalformed, false, false},
		{"sha-512 length with sha-256", setAttr("fingerprint", "sha-256 "+hexPairs(64)), FaultFingerprintMalformed, false, false},
		{"no ufrag", dropAttr("ice-ufrag"), FaultNoICE, false, false},
		{"no pwd", dropAttr("ice-pwd"), FaultNoICE, false, false},
		{"ufrag of 3", setAttr("ice-ufrag", "abc"), FaultUfragTooShort, false, false},
		{"ufrag of 257", setAttr("ice-ufrag", strings.Repeat("u", 257)), FaultUfragInvalid, false, false},
		{"ufrag not ice-chars", setAttr("ice-ufrag", "ab;cd"), FaultUfragInvalid, false, false},
		{"pwd of 21", setAttr("ice-pwd", strings.Repeat("p", 21)), FaultPwdTooShort, false, false},
		{"pwd of 257", setAttr("ice-pwd", strings.Repeat("p", 257)), FaultPwdInvalid, false, false},
		{"pwd not ice-chars", setAttr("ice-pwd", "abcdefghijklmnopqrstuv\"x"), FaultPwdInvalid, false, false},
		{"setup holdconn", setAttr("setup", "holdconn"), FaultSetup, false, false},
		{"setup unknown", setAttr("setup", "both"), FaultSetup, false, false},
		{"answer actpass", setAttr("setup", "actpass"), FaultSetup, true, false},
		{"100 m-lines", appendLines(100, "m=video 0 UDP/TLS/RTP/SAVPF 96"), FaultTooManyMedia, false, false},
		{"1,000 candidates", appendLines(1000, "a=candidate:1 1 udp 2122260223 192.0.2.1 50000 typ host"), FaultTooManyCandidates, false, false},
		{"5,000 lines", appendLines(5000, "a=x"), FaultTooManyLines, false, false},
		{"1 MiB", appendLines(1, "a=x:"+strings.Repeat("x", 1<<20)), FaultTooLarge, false, false},
	}
	for _, sdpCase := range browserSDPs {
		in := readFile(t, "testdata/"+sdpCase.name, "in.sdp")
		var offer []byte
		if sdpCase.answer {
			offer = readFile(t, "testdata/"+sdpCase.offer, "in.sdp")
		}
		for _, tt := range tests {
			if (tt.answer && !sdpCase.answer) || (tt.offer && sdpCase.answer) {
				continue
			}
			t.Run(sdpCase.name+"/"+tt.name, func(t *testing.T) {
				mutated := tt.mutate(in)
				if tt.want == nil {
					if err := ValidateWebRTC(mutated); err != nil {
						t.Fatalf("ValidateWebRTC: got error %v, want none", err)
					}
				}
				var out []byte
				var err error
				if sdpCase.answer {
					out, _, err = WebRTCAnswerToPlain(mutated, offer, testPlain)
				} else {
					out, _, err = WebRTCOfferToPlain(mutated, testPlain)
				}
				if tt.want == nil {
					if err != nil {
						t.Fatalf("translation: got error %v, want none", err)
					}
					return
				}
				if got := faultOf(err); got != tt.want {
					t.Errorf("translation: got %v, want %v", err, tt.want)
				}
				if out != nil {
					t.Error("translation: got output with the error, want none")
				}
				if got := faultOf(ValidateWebRTC(mutated)); got != tt.want && !(sdpCase.answer && tt.answer) {
					t.Errorf("ValidateWebRTC: got %v, want %v", got, tt.want)
				}
			})
		}
	}
}

func faultOf(err error) *Fault {
	var f *Fault
	if errors.As(err, &f) {
		return f
	}
	return nil
}

// TestFaultReasons checks that faults are ErrInvalid, and that their reasons
// fit a reason phrase and their labels a metric.
func TestFaultReasons(t *testing.T) {
	labels := map[string]bool{}
	for _, f := range Faults {
		if !errors.Is(f, ErrInvalid) {
			t.Errorf("%v: got errors.Is(ErrInvalid) false, want true", f)
		}
		if labels[f.Label] {
			t.Errorf("label %q: got it twice, want each once", f.Label)
		}
		labels[f.Label] = true
		if !regexp.MustCompile(`^[a-z_]+$`).MatchString(f.Label) {
			t.Errorf("label %q: got characters outside [a-z_]", f.Label)
		}
		if !regexp.MustCompile(`^[ -~]{1,40}$`).MatchString(f.Reason) {
			t.Errorf("reason %q: want 1 to 40 printable ASCII characters", f.Reason)
		}
	}
}

// TestValidateAllRejected checks an SDP whose every m-line is rejected
// passes: it has no transport to check (a browser's answer refusing all).
func TestValidateAllRejected(t *testing.T) {
	in := crlf("v=0", "o=- 1 2 IN IP4 127.0.0.1", "s=-", "t=0 0", "m=audio 0 UDP/TLS/RTP/SAVPF 0")
	if err := ValidateWebRTC(in); err != nil {
		t.Errorf("got %v, want none", err)
	}
	if err := ValidateWebRTC(garbage); !errors.Is(err, ErrMalformed) {
		t.Errorf("not SDP: got %v, want ErrMalformed", err)
	}
}

func ExampleValidateWebRTC() {
	offer := crlf("v=0", "o=- 1 2 IN IP4 127.0.0.1", "s=-", "t=0 0",
		"m=audio 9 UDP/TLS/RTP/SAVPF 0", "c=IN IP4 0.0.0.0",
		"a=ice-ufrag:abcd", "a=ice-pwd:abcdefghijklmnopqrstuv", "a=setup:actpass",
		"a=fingerprint:sha-1 "+hexPairs(20), "a=rtpmap:0 PCMU/8000")
	err := ValidateWebRTC(offer)
	var f *Fault
	if errors.As(err, &f) {
		fmt.Printf("488 Not Acceptable Here (%s), counted as %s\n", f.Reason, f.Label)
	}
	// Output: 488 Not Acceptable Here (unsupported fingerprint algorithm), counted as fingerprint_algorithm
}
