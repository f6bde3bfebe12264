package sdprewrite

import (
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"
)

// rtpmaps reads m's a=rtpmap lines: "<pt> <name>/<rate>[/<channels>]"
// (RFC 8866 §6.6). Lines that do not parse are ignored.
func rtpmaps(m *sdp.MediaDescription) map[uint8]Codec {
	cs := map[uint8]Codec{}
	for _, v := range values(m, "rtpmap") {
		if c, ok := parseRtpmap(v); ok {
			cs[c.PT] = c
		}
	}
	return cs
}

func parseRtpmap(v string) (Codec, bool) {
	ptText, enc, _ := strings.Cut(v, " ")
	pt, err := strconv.ParseUint(ptText, 10, 8)
	parts := strings.Split(strings.TrimSpace(enc), "/")
	if err != nil || len(parts) < 2 || parts[0] == "" {
		return Codec{}, false
	}
	rate, err := strconv.ParseUint(parts[1], 10, 32)
	if err != nil {
		return Codec{}, false
	}
	c := Codec{PT: uint8(pt), Name: parts[0], Rate: uint32(rate)}
	if len(parts) > 2 {
		c.Channels, _ = strconv.Atoi(parts[2])
	}
	return c, true
}

// fmtps reads m's a=fmtp lines: "<pt> <parameters>".
func fmtps(m *sdp.MediaDescription) map[uint8]string {
	fs := map[uint8]string{}
	for _, v := range values(m, "fmtp") {
		ptText, params, _ := strings.Cut(v, " ")
		if pt, err := strconv.ParseUint(ptText, 10, 8); err == nil {
			fs[uint8(pt)] = strings.TrimSpace(params)
		}
	}
	return fs
}

// codecAttributes writes a=rtpmap, and a=fmtp when there are parameters,
// for each codec; static payload types get a=rtpmap too, as is usual.
func codecAttributes(cs []Codec) []sdp.Attribute {
	var as []sdp.Attribute
	for _, c := range cs {
		pt := strconv.Itoa(int(c.PT))
		enc := c.Name + "/" + strconv.FormatUint(uint64(c.Rate), 10)
		if c.Channels > 0 {
			enc += "/" + strconv.Itoa(c.Channels)
		}
		as = append(as, sdp.NewAttribute("rtpmap", pt+" "+enc))
		if c.Fmtp != "" {
			as = append(as, sdp.NewAttribute("fmtp", pt+" "+c.Fmtp))
		}
	}
	return as
}

// formats returns the m= format list for cs.
func formats(cs []Codec) []string {
	fs := make([]string, len(cs))
	for i, c := range cs {
		fs[i] = strconv.Itoa(int(c.PT))
	}
	return fs
}
