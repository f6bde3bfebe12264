package loadgen

import (
	"errors"
	"fmt"
	"strings"

	"github.com/pion/ice/v4"
	"github.com/pion/sdp/v3"
)

// offerParams is what a caller's offer says about it.
type offerParams struct {
	Ufrag, Pwd  string
	Fingerprint string // "sha-256 AB:CD:..."
	Candidates  []ice.Candidate
	SSRC        uint32
}

// buildOffer writes a WebRTC audio offer as a browser would (RFC 8829
// §5.2.1): BUNDLE with one m-section, UDP/TLS/RTP/SAVPF, PCMU only, ICE
// credentials and host candidates, DTLS fingerprint and setup:actpass
// (RFC 8842 §5.2), rtcp-mux.
func buildOffer(p offerParams) ([]byte, error) {
	d, err := sdp.NewJSEPSessionDescription(false)
	if err != nil {
		return nil, err
	}
	d.Origin.UnicastAddress = "127.0.0.1"
	d.WithValueAttribute(sdp.AttrKeyGroup, "BUNDLE 0").WithValueAttribute(sdp.AttrKeyMsidSemantic, " WMS sbload")
	m := sdp.NewJSEPMediaDescription("audio", nil).
		WithICECredentials(p.Ufrag, p.Pwd).
		WithValueAttribute("fingerprint", p.Fingerprint).
		WithValueAttribute(sdp.AttrKeyConnectionSetup, "actpass").
		WithValueAttribute(sdp.AttrKeyMID, "0").
		WithPropertyAttribute(sdp.AttrKeySendRecv).
		WithPropertyAttribute(sdp.AttrKeyRTCPMux).
		WithCodec(0, "PCMU", 8000, 0, "").
		WithValueAttribute("ssrc", fmt.Sprintf("%d cname:sbload", p.SSRC))
	for _, c := range p.Candidates {
		m.WithValueAttribute("candidate", c.Marshal())
	}
	m.WithPropertyAttribute("end-of-candidates")
	return d.WithMedia(m).Marshal()
}

// answerParams is what the caller needs from the gateway's answer.
type answerParams struct {
	Ufrag, Pwd  string
	Fingerprint string
	// DTLSClient is true when the answer says a=setup:passive, so the
	// caller is the DTLS client (RFC 5763 §5).
	DTLSClient bool
	Candidates []ice.Candidate
}

var errAnswer = errors.New("loadgen: unusable answer")

// parseAnswer reads the first audio m-section of the answer; attributes
// missing there are looked up at session level.
func parseAnswer(body []byte) (answerParams, error) {
	var d sdp.SessionDescription
	if err := d.Unmarshal(body); err != nil {
		return answerParams{}, fmt.Errorf("%w: %v", errAnswer, err)
	}
	var m *sdp.MediaDescription
	for _, md := range d.MediaDescriptions {
		if md.MediaName.Media == "audio" && md.MediaName.Port.Value != 0 {
			m = md
			break
		}
	}
	if m == nil {
		return answerParams{}, fmt.Errorf("%w: no audio m-line accepted", errAnswer)
	}
	attr := func(key string) string {
		if v, ok := m.Attribute(key); ok {
			return v
		}
		v, _ := d.Attribute(key)
		return v
	}
	a := answerParams{
		Ufrag: attr("ice-ufrag"), Pwd: attr("ice-pwd"), Fingerprint: attr("fingerprint"),
		DTLSClient: attr(sdp.AttrKeyConnectionSetup) == "passive",
	}
	if a.Ufrag == "" || a.Pwd == "" || !strings.HasPrefix(strings.ToLower(a.Fingerprint), "sha-256 ") {
		return answerParams{}, fmt.Errorf("%w: ICE credentials or sha-256 fingerprint missing", errAnswer)
	}
	if !strings.Contains(" "+strings.Join(m.MediaName.Formats, " ")+" ", " 0 ") {
		return answerParams{}, fmt.Errorf("%w: PCMU not accepted", errAnswer)
	}
	for _, at := range m.Attributes {
		if at.Key != "candidate" {
			continue
		}
		c, err := ice.UnmarshalCandidate(at.Value)
		if err != nil {
			return answerParams{}, fmt.Errorf("%w: candidate %q: %v", errAnswer, at.Value, err)
		}
		a.Candidates = append(a.Candidates, c)
	}
	if len(a.Candidates) == 0 {
		return answerParams{}, fmt.Errorf("%w: no candidate", errAnswer)
	}
	return a, nil
}
