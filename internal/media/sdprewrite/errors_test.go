package sdprewrite

import (
	"errors"
	"strings"
	"testing"
)

// crlf joins SDP lines as they travel.
func crlf(lines ...string) []byte {
	return []byte(strings.Join(lines, "\r\n") + "\r\n")
}

// Small SDPs for the error cases.
var (
	// A browser offer with video only.
	videoOnlyOffer = crlf("v=0", "o=- 1 2 IN IP4 127.0.0.1", "s=-", "t=0 0",
		"m=video 9 UDP/TLS/RTP/SAVPF 96", "c=IN IP4 0.0.0.0", "a=mid:0",
		"a=ice-ufrag:abcd", "a=ice-pwd:abcdefghijklmnopqrstuv", "a=setup:actpass",
		"a=fingerprint:sha-256 "+testFingerprintHex, "a=rtpmap:96 VP8/90000")
	// A browser offer of codecs a plain leg cannot take (Safari's iSAC, iLBC
	// and comfort noise) and telephone-event.
	isacOnlyOffer = crlf("v=0", "o=- 1 2 IN IP4 127.0.0.1", "s=-", "t=0 0",
		"m=audio 9 UDP/TLS/RTP/SAVPF 103 102 13 126", "c=IN IP4 0.0.0.0", "a=mid:0",
		"a=rtpmap:103 ISAC/16000", "a=rtpmap:102 ILBC/8000", "a=rtpmap:13 CN/8000",
		"a=rtpmap:126 telephone-event/8000")
	// A plain offer of G.729 and telephone-event, as an AudioCodes gateway
	// sends (sipcapture/paStash#75).
	g729Offer = crlf("v=0", "o=AudiocodesGW 1 2 IN IP4 10.160.20.30", "s=Phone-Call",
		"c=IN IP4 10.160.20.30", "t=0 0", "m=audio 32556 RTP/AVP 18 101", "a=sendrecv",
		"a=rtpmap:18 G729/8000", "a=fmtp:18 annexb=no", "a=ptime:20",
		"a=rtpmap:101 telephone-event/8000")
	// A plain offer whose connection address is a host name.
	hostnameOffer = crlf("v=0", "o=- 1 2 IN IP4 pbx.example.com", "s=-",
		"c=IN IP4 pbx.example.com", "t=0 0", "m=audio 4000 RTP/AVP 0", "a=rtpmap:0 PCMU/8000")
	// Plain answers to chrome-audio-offer: audio rejected, and only a codec
	// that was not offered.
	rejectingAnswer = crlf("v=0", "o=- 1 2 IN IP4 192.0.2.1", "s=-", "c=IN IP4 192.0.2.1",
		"t=0 0", "m=audio 0 RTP/AVP 0")
	unofferedAnswer = crlf("v=0", "o=- 1 2 IN IP4 192.0.2.1", "s=-", "c=IN IP4 192.0.2.1",
		"t=0 0", "m=audio 4000 RTP/AVP 18 126", "a=rtpmap:18 G729/8000",
		"a=rtpmap:126 telephone-event/8000")
	garbage   = []byte("INVITE sip:bob@example.com SIP/2.0\r\n")
	truncated = []byte("v=0\r\no=-\r\n")
)

func TestErrors(t *testing.T) {
	chrome := readFile(t, "testdata/chrome-audio-offer", "in.sdp")
	asterisk := readFile(t, "testdata/asterisk-answer", "in.sdp")
	tests := []struct {
		name string
		run  func() ([]byte, error)
		want error
	}{
		{"browser offer not SDP", offerToPlain(garbage, testPlain), ErrMalformed},
		{"browser offer truncated", offerToPlain(truncated, testPlain), ErrMalformed},
		{"browser offer video only", offerToPlain(videoOnlyOffer, testPlain), ErrNoCommonCodec},
		{"browser offer no usable codec", offerToPlain(isacOnlyOffer, testPlain), ErrNoCommonCodec},
		{"plain offer G.729 only", offerToWeb(g729Offer, testWeb), ErrNoCommonCodec},
		{"plain offer host name", offerToWeb(hostnameOffer, testWeb), ErrMalformed},
		{"plain offer not SDP", offerToWeb(garbage, testWeb), ErrMalformed},
		{"plain answer rejects audio", answerToWeb(rejectingAnswer, chrome), ErrNoCommonCodec},
		{"plain answer unoffered codec", answerToWeb(unofferedAnswer, chrome), ErrNoCommonCodec},
		{"plain answer, offer not SDP", answerToWeb(asterisk, garbage), ErrMalformed},
		{"browser answer not SDP", answerToPlain(garbage, asterisk), ErrMalformed},
		{"browser answer rejects audio", answerToPlain(rejectingAnswer, asterisk), ErrNoCommonCodec},
		{"relayed not SDP", relay(garbage, testPlain), ErrMalformed},
		{"relayed audio rejected", relay(rejectingAnswer, testPlain), ErrNoCommonCodec},
		{"relayed host name", relay(hostnameOffer, testPlain), ErrMalformed},
		{"relayed local unset", relay(asterisk, PlainLocal{}), ErrLocal},
		{"plain local unset", offerToPlain(chrome, PlainLocal{}), ErrLocal},
		{"WebRTC local unset", offerToWeb(asterisk, WebRTCLocal{}), ErrLocal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := tt.run()
			if !errors.Is(err, tt.want) {
				t.Fatalf("got error %v, want %v", err, tt.want)
			}
			if out != nil {
				t.Errorf("got output %q with the error, want none", out)
			}
		})
	}
}

// TestMalformedKeepsReason checks the parser's reason reaches the caller,
// for the 488's reason phrase.
func TestMalformedKeepsReason(t *testing.T) {
	_, _, err := WebRTCOfferToPlain(truncated, testPlain)
	if err == nil || err.Error() == ErrMalformed.Error() {
		t.Fatalf("got error %v, want ErrMalformed with the parser's reason", err)
	}
}

func offerToPlain(in []byte, local PlainLocal) func() ([]byte, error) {
	return func() ([]byte, error) { out, _, err := WebRTCOfferToPlain(in, local); return out, err }
}

func offerToWeb(in []byte, local WebRTCLocal) func() ([]byte, error) {
	return func() ([]byte, error) { out, _, err := PlainOfferToWebRTC(in, local); return out, err }
}

func answerToWeb(in, offer []byte) func() ([]byte, error) {
	return func() ([]byte, error) { out, _, err := PlainAnswerToWebRTC(in, offer, testWeb); return out, err }
}

func answerToPlain(in, offer []byte) func() ([]byte, error) {
	return func() ([]byte, error) { out, _, err := WebRTCAnswerToPlain(in, offer, testPlain); return out, err }
}

func relay(in []byte, local PlainLocal) func() ([]byte, error) {
	return func() ([]byte, error) { out, _, err := PlainToPlain(in, local); return out, err }
}
