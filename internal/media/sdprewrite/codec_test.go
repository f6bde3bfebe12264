package sdprewrite

import (
	"slices"
	"testing"
)

func TestUsable(t *testing.T) {
	opus := Codec{PT: 111, Name: "opus", Rate: 48000, Channels: 2}
	pcmu := Codec{PT: 0, Name: "PCMU", Rate: 8000}
	te48 := Codec{PT: 110, Name: "telephone-event", Rate: 48000}
	te16 := Codec{PT: 113, Name: "telephone-event", Rate: 16000}
	te8 := Codec{PT: 126, Name: "telephone-event", Rate: 8000}
	isac := Codec{PT: 103, Name: "ISAC", Rate: 16000}
	red := Codec{PT: 63, Name: "red", Rate: 48000, Channels: 2}
	tests := []struct {
		name string
		in   []Codec
		want []Codec
	}{
		{"order kept", []Codec{pcmu, opus}, []Codec{pcmu, opus}},
		{"others dropped", []Codec{opus, red, isac, pcmu}, []Codec{opus, pcmu}},
		{"events at used rates", []Codec{opus, isac, te48, te16, te8}, []Codec{opus, te48}},
		{"events alone", []Codec{te8}, nil},
		{"case of names", []Codec{{PT: 8, Name: "pcma", Rate: 8000}}, []Codec{{PT: 8, Name: "pcma", Rate: 8000}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := usable(tt.in); !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseRtpmap(t *testing.T) {
	tests := []struct {
		value string
		want  Codec
		ok    bool
	}{
		{"111 opus/48000/2", Codec{PT: 111, Name: "opus", Rate: 48000, Channels: 2}, true},
		{"9 G722/8000/1", Codec{PT: 9, Name: "G722", Rate: 8000, Channels: 1}, true},
		{"0 PCMU/8000", Codec{PT: 0, Name: "PCMU", Rate: 8000}, true},
		{"300 PCMU/8000", Codec{}, false},
		{"96 VP8", Codec{}, false},
		{"96 /90000", Codec{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			got, ok := parseRtpmap(tt.value)
			if got != tt.want || ok != tt.ok {
				t.Errorf("got %+v, %v; want %+v, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}
