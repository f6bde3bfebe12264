package sdprewrite

import "github.com/pion/sdp/v3"

// offerSDP is an offer read for translation: its audio m-line, at index i, and
// the codecs of it that cross the gateway.
type offerSDP struct {
	d      *sdp.SessionDescription
	i      int
	m      *sdp.MediaDescription
	codecs []Codec
}

// readOffer parses an offer and finds its audio.
func readOffer(b []byte) (offerSDP, error) {
	d, err := parse(b)
	if err != nil {
		return offerSDP{}, err
	}
	return findAudio(d)
}

// readWebRTCOffer parses and checks a browser's offer (see ValidateWebRTC)
// and finds its audio.
func readWebRTCOffer(b []byte) (offerSDP, error) {
	d, err := parseWebRTC(b, false)
	if err != nil {
		return offerSDP{}, err
	}
	off, err := findAudio(d)
	if err != nil {
		return offerSDP{}, err
	}
	return off, checkTransport(d, off.m)
}

// findAudio finds the audio of an offer.
func findAudio(d *sdp.SessionDescription) (offerSDP, error) {
	i := audioIndex(d)
	if i < 0 {
		return offerSDP{}, errNoAudio
	}
	m := d.MediaDescriptions[i]
	return offerSDP{d: d, i: i, m: m, codecs: usable(codecs(m, staticCodecs))}, nil
}

// answerSDP is an answer read against its offer: its audio m-line, and the
// offered codecs it keeps.
type answerSDP struct {
	d      *sdp.SessionDescription
	m      *sdp.MediaDescription
	codecs []Codec
	offer  offerSDP
}

// readAnswer parses an answer and the offer it answers, and finds the
// answer's audio: the m-line at the offer's audio index (RFC 3264 §6).
func readAnswer(b, offerBytes []byte) (answerSDP, error) {
	d, err := parse(b)
	if err != nil {
		return answerSDP{}, err
	}
	return findAnswered(d, offerBytes)
}

// readWebRTCAnswer parses and checks a browser's answer (see
// ValidateWebRTC) and finds its audio.
func readWebRTCAnswer(b, offerBytes []byte) (answerSDP, error) {
	d, err := parseWebRTC(b, true)
	if err != nil {
		return answerSDP{}, err
	}
	ans, err := findAnswered(d, offerBytes)
	if err != nil {
		return answerSDP{}, err
	}
	return ans, checkTransport(d, ans.m)
}

// findAnswered finds the audio of answer d to the offer offerBytes.
func findAnswered(d *sdp.SessionDescription, offerBytes []byte) (answerSDP, error) {
	off, err := readOffer(offerBytes)
	if err != nil {
		return answerSDP{}, err
	}
	m := mediaAt(d, off.i, "audio")
	if m == nil || m.MediaName.Port.Value == 0 {
		return answerSDP{}, errAudioRejected
	}
	cs := answered(m, off.codecs)
	if !hasAudio(cs) {
		return answerSDP{}, errNoneAnswered
	}
	return answerSDP{d: d, m: m, codecs: cs, offer: off}, nil
}

// direction returns the direction of the audio.
func (a answerSDP) direction() string { return Direction(a.d, a.m) }

// direction returns the direction of the audio.
func (o offerSDP) direction() string { return Direction(o.d, o.m) }
