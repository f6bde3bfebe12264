package sdprewrite

import (
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"
)

// staticCodecs are the RFC 3551 §6 payload types of usable codecs, which an
// SDP may list without a=rtpmap.
var staticCodecs = map[uint8]Codec{
	0: {PT: 0, Name: "PCMU", Rate: 8000},
	8: {PT: 8, Name: "PCMA", Rate: 8000},
	9: {PT: 9, Name: "G722", Rate: 8000},
}

// audioNames are the codecs a plain leg can take from a browser without
// transcoding.
var audioNames = []string{"PCMU", "PCMA", "G722", "opus"}

const dtmfName = "telephone-event"

func isAudio(c Codec) bool {
	for _, n := range audioNames {
		if strings.EqualFold(c.Name, n) {
			return true
		}
	}
	return false
}

func isDTMF(c Codec) bool { return strings.EqualFold(c.Name, dtmfName) }

// Codecs lists the payload types of m in m= order, each named by its
// a=rtpmap (RFC 8866 §6.6) or, without one, by its static payload type
// (RFC 3551 §6: PCMU, PCMA, G722), with its a=fmtp parameters; a payload
// type that stays unnamed is left out. It reads codecs as the translations
// do, for a package that answers plain SDP itself (the built-in services).
func Codecs(m *sdp.MediaDescription) []Codec { return codecs(m, staticCodecs) }

// codecs lists the payload types of m in m= order, named by a=rtpmap or by
// known; payload types that stay unnamed are left out.
func codecs(m *sdp.MediaDescription, known map[uint8]Codec) []Codec {
	maps, fmtps := rtpmaps(m), fmtps(m)
	var cs []Codec
	for _, f := range m.MediaName.Formats {
		pt, err := strconv.ParseUint(f, 10, 8)
		if err != nil {
			continue
		}
		c, ok := maps[uint8(pt)]
		if !ok {
			c, ok = known[uint8(pt)]
		}
		if ok {
			c.Fmtp = fmtps[uint8(pt)]
			cs = append(cs, c)
		}
	}
	return cs
}

// usable keeps the codecs that cross the gateway, in order: PCMU, PCMA,
// G722 and opus, and telephone-event at a clock rate one of those uses,
// since events share the clock of the audio they go with (RFC 4733).
func usable(cs []Codec) []Codec {
	rates := map[uint32]bool{}
	for _, c := range cs {
		if isAudio(c) {
			rates[c.Rate] = true
		}
	}
	var keep []Codec
	for _, c := range cs {
		if isAudio(c) || (isDTMF(c) && rates[c.Rate]) {
			keep = append(keep, c)
		}
	}
	return keep
}

// hasAudio reports whether cs holds a codec that carries sound.
func hasAudio(cs []Codec) bool {
	for _, c := range cs {
		if isAudio(c) {
			return true
		}
	}
	return false
}

// answered returns the codecs of an answer's m-line that were offered, in
// the answer's order. An answer may omit a=rtpmap for a payload type the
// offer mapped, so the offer's mapping names it (RFC 3264 §6.1).
func answered(m *sdp.MediaDescription, offered []Codec) []Codec {
	known := map[uint8]Codec{}
	for _, c := range offered {
		c.Fmtp = ""
		known[c.PT] = c
	}
	var cs []Codec
	for _, c := range codecs(m, known) {
		if _, ok := known[c.PT]; ok {
			cs = append(cs, c)
		}
	}
	return cs
}
