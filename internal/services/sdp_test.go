package services

import (
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

// sdpWith is a session description from 127.0.0.1 with the given lines
// after t=.
func sdpWith(lines ...string) []byte {
	return []byte("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
		strings.Join(lines, "\r\n") + "\r\n")
}

func TestParseRemote(t *testing.T) {
	at := func(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }
	tests := []struct {
		name  string
		body  []byte
		want  remote // mlines not compared
		lines int
	}{
		{
			name: "rtpmap names a dynamic payload type",
			body: sdpWith("m=audio 4000 RTP/AVP 96 0", "a=rtpmap:96 pcma/8000"),
			want: remote{audio: 0, pt: 96, codec: pcma, dtmf: -1, addr: at("127.0.0.1:4000"), dir: "sendrecv"}, lines: 1,
		},
		{
			name: "static payload types, G722 passed over",
			body: sdpWith("m=audio 4000 RTP/AVP 9 8 0"),
			want: remote{audio: 0, pt: 8, codec: pcma, dtmf: -1, addr: at("127.0.0.1:4000"), dir: "sendrecv"}, lines: 1,
		},
		{
			name: "opus first, then PCMU; telephone-event at 8 kHz only",
			body: sdpWith("m=audio 4000 RTP/AVP 111 0 101 126", "a=rtpmap:111 opus/48000/2",
				"a=rtpmap:101 telephone-event/48000", "a=rtpmap:126 telephone-event/8000"),
			want: remote{audio: 0, pt: 0, codec: pcmu, dtmf: 126, addr: at("127.0.0.1:4000"), dir: "sendrecv"}, lines: 1,
		},
		{
			name: "PCMU at another clock rate is not PCMU/8000",
			body: sdpWith("m=audio 4000 RTP/AVP 96 8", "a=rtpmap:96 PCMU/16000"),
			want: remote{audio: 0, pt: 8, codec: pcma, dtmf: -1, addr: at("127.0.0.1:4000"), dir: "sendrecv"}, lines: 1,
		},
		{
			name: "session-level direction, media-level address, rtcp-mux",
			body: []byte("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=recvonly\r\n" +
				"m=audio 5000 RTP/AVPF 0\r\nc=IN IP6 ::1\r\na=rtcp-mux\r\n"),
			want: remote{audio: 0, pt: 0, codec: pcmu, dtmf: -1, addr: at("[::1]:5000"), dir: "recvonly", mux: true}, lines: 1,
		},
		{
			name: "hold: c=0.0.0.0 gives no address",
			body: []byte("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=sendonly\r\n"),
			want: remote{audio: 0, pt: 0, codec: pcmu, dtmf: -1, dir: "sendonly"}, lines: 1,
		},
		{
			name: "no c= at all gives no address",
			body: []byte("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"),
			want: remote{audio: 0, pt: 0, codec: pcmu, dtmf: -1, dir: "sendrecv"}, lines: 1,
		},
		{
			name: "SRTP, rejected and video m-lines passed over",
			body: sdpWith("m=audio 3000 UDP/TLS/RTP/SAVPF 0", "m=audio 0 RTP/AVP 0", "m=video 3002 RTP/AVP 96",
				"m=audio 4000 RTP/AVP 8", "m=audio 4002 RTP/AVP 0"),
			want: remote{audio: 3, pt: 8, codec: pcma, dtmf: -1, addr: at("127.0.0.1:4000"), dir: "sendrecv"}, lines: 5,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseRemote(tt.body)
			if err != nil {
				t.Fatalf("parseRemote: %v", err)
			}
			if len(got.mlines) != tt.lines {
				t.Errorf("m-lines: got %d, want %d", len(got.mlines), tt.lines)
			}
			got.mlines = nil
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("got %+v, want %+v", *got, tt.want)
			}
		})
	}
}

func TestParseRemoteRefuses(t *testing.T) {
	tests := []struct {
		name string
		body []byte
		want error
	}{
		{name: "not SDP", body: []byte("hello"), want: errBadSDP},
		{name: "video only", body: sdpWith("m=video 4000 RTP/AVP 96"), want: errNoAudio},
		{name: "no G.711", body: sdpWith("m=audio 4000 RTP/AVP 9 111", "a=rtpmap:111 opus/48000/2"), want: errNoAudio},
		{name: "G.711 over SRTP only", body: sdpWith("m=audio 4000 RTP/SAVP 0"), want: errNoAudio},
		{name: "payload type RTP cannot carry", body: sdpWith("m=audio 4000 RTP/AVP 200", "a=rtpmap:200 PCMU/8000"), want: errNoAudio},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := parseRemote(tt.body); !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
}
