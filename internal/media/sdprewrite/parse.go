package sdprewrite

import (
	"fmt"
	"slices"
	"strings"

	"github.com/pion/sdp/v3"
)

// parse reads b into a description of its own; b itself is never touched.
func parse(b []byte) (*sdp.SessionDescription, error) {
	var d sdp.SessionDescription
	if err := d.Unmarshal(b); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return &d, nil
}

// attr returns the value of attribute key at media level, else at session
// level, as RFC 8866 §5.13 scopes attributes.
func attr(s *sdp.SessionDescription, m *sdp.MediaDescription, key string) (string, bool) {
	if v, ok := m.Attribute(key); ok {
		return v, true
	}
	return s.Attribute(key)
}

// has reports whether m carries the property attribute key.
func has(m *sdp.MediaDescription, key string) bool {
	_, ok := m.Attribute(key)
	return ok
}

// values returns the values of every media-level attribute named key.
func values(m *sdp.MediaDescription, key string) []string {
	var vs []string
	for _, a := range m.Attributes {
		if a.Key == key {
			vs = append(vs, a.Value)
		}
	}
	return vs
}

var directions = []string{"sendrecv", "sendonly", "recvonly", "inactive"}

// Direction returns the direction of m, an m-line of s: its attribute at
// media level, else at session level, else sendrecv (RFC 3264 §5.1).
func Direction(s *sdp.SessionDescription, m *sdp.MediaDescription) string {
	for _, as := range [][]sdp.Attribute{m.Attributes, s.Attributes} {
		for _, a := range as {
			if slices.Contains(directions, a.Key) {
				return a.Key
			}
		}
	}
	return "sendrecv"
}

// inBundle reports whether mid is in one of the session's BUNDLE groups
// (RFC 8843).
func inBundle(s *sdp.SessionDescription, mid string) bool {
	for _, v := range values(&sdp.MediaDescription{Attributes: s.Attributes}, "group") {
		f := strings.Fields(v)
		if len(f) > 1 && f[0] == "BUNDLE" && slices.Contains(f[1:], mid) {
			return true
		}
	}
	return false
}

// mediaAt returns the m-line of the given media type at index i, else the
// first of that type, else nil: an answer has as many m-lines as its offer
// (RFC 3264 §6), but a lenient reading costs nothing.
func mediaAt(d *sdp.SessionDescription, i int, media string) *sdp.MediaDescription {
	if i < len(d.MediaDescriptions) && d.MediaDescriptions[i].MediaName.Media == media {
		return d.MediaDescriptions[i]
	}
	for _, m := range d.MediaDescriptions {
		if m.MediaName.Media == media {
			return m
		}
	}
	return nil
}
