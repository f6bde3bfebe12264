package ops

import (
	"encoding/json"
	"net/http"
	"net/netip"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/internal/media"
	"github.com/switchboard-gw/switchboard/internal/media/callmedia"
)

// anchored is a webrtc-webrtc call with every address set, and a
// plain-plain call, which has no browser.
var anchored = map[string]callmedia.CallState{
	"a84b4c76e66710/x@pc33.example": {
		CallID: "a84b4c76e66710/x@pc33.example", From: "alice@203.0.113.7", To: "bob@10.0.0.9", Started: time.Unix(1700000000, 0).UTC(),
		Anchor: "webrtc-webrtc", Codec: "PCMU", Verdict: "audio flowed both ways",
		Media: []media.Stats{bridgeStats("192.0.2.1:50000", "10.0.0.1:20000"), bridgeStats("198.51.100.2:40000", "10.0.0.1:20002")},
	},
	"plain": {CallID: "plain", Anchor: "plain-plain", Relay: &media.RelayStats{ID: "plain"}},
}

func bridgeStats(browser, plain string) media.Stats {
	var s media.Stats
	s.ID = "a84b4c76e66710/x@pc33.example"
	s.ICE = media.ICEStats{State: "connected", Local: netip.MustParseAddrPort("203.0.113.5:10000"), Remote: netip.MustParseAddrPort(browser)}
	s.DTLS = media.DTLSStats{State: "connected", Role: "server", SRTPProfile: "SRTP_AEAD_AES_128_GCM"}
	s.Browser.RTPIn.Packets, s.Browser.RTPOut.Packets = 50, 49
	s.Plain.Local = netip.MustParseAddrPort(plain)
	s.Plain.RemoteRTP = netip.MustParseAddrPort("10.0.0.9:4000")
	s.Plain.RemoteRTCP = netip.MustParseAddrPort("10.0.0.9:4001")
	s.Plain.RTPIn.Packets = 48
	return s
}

func lookup(id string) (callmedia.CallState, bool) {
	st, ok := anchored[id]
	return st, ok
}

func TestCallEndpoint(t *testing.T) {
	mux := http.NewServeMux()
	RegisterCall(mux, lookup)
	tests := []struct {
		name     string
		method   string
		path     string
		wantCode int
	}{
		{"own call", http.MethodGet, "/calls/" + url.PathEscape("a84b4c76e66710/x@pc33.example"), http.StatusOK},
		{"head", http.MethodHead, "/calls/" + url.PathEscape("a84b4c76e66710/x@pc33.example"), http.StatusOK},
		{"unknown call", http.MethodGet, "/calls/guess", http.StatusNotFound},
		{"unescaped slash", http.MethodGet, "/calls/a84b4c76e66710/x@pc33.example", http.StatusNotFound},
		{"no browser in it", http.MethodGet, "/calls/plain", http.StatusNotFound},
		{"no listing", http.MethodGet, "/calls", http.StatusNotFound},
		{"no listing with slash", http.MethodGet, "/calls/", http.StatusNotFound},
		{"post", http.MethodPost, "/calls/plain", http.StatusMethodNotAllowed},
		{"no metrics", http.MethodGet, "/metrics", http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := get(mux, tt.method, tt.path, "")
			if rec.Code != tt.wantCode {
				t.Errorf("%s %s: got status %d, want %d", tt.method, tt.path, rec.Code, tt.wantCode)
			}
			if rec.Code != http.StatusOK && strings.Contains(rec.Body.String(), "guess") {
				t.Errorf("%s %s: body %q echoes the Call-ID", tt.method, tt.path, rec.Body.String())
			}
		})
	}
}

// TestCallEndpointOwnView: the entry is the /calls entry without
// addresses.
func TestCallEndpointOwnView(t *testing.T) {
	mux := http.NewServeMux()
	RegisterCall(mux, lookup)
	id := "a84b4c76e66710/x@pc33.example"
	rec := get(mux, http.MethodGet, "/calls/"+url.PathEscape(id), "")
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type: got %q, want application/json", ct)
	}
	body := rec.Body.String()
	for _, addr := range []string{"203.0.113.5", "203.0.113.7", "192.0.2.1", "198.51.100.2", "10.0.0.1", "10.0.0.9"} {
		if strings.Contains(body, addr) {
			t.Errorf("entry shows address %s:\n%s", addr, body)
		}
	}
	var got callmedia.CallState
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatalf("body %q: %v", body, err)
	}
	want := anchored[id]
	want.From, want.To = "", "" // the parties are the admin's to see
	want.Media = []media.Stats{want.Media[0], want.Media[1]}
	for i := range want.Media {
		m := &want.Media[i]
		m.ICE.Local, m.ICE.Remote = netip.AddrPort{}, netip.AddrPort{}
		m.Plain.Local, m.Plain.RemoteRTP, m.Plain.RemoteRTCP = netip.AddrPort{}, netip.AddrPort{}, netip.AddrPort{}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v,\nwant %+v", got, want)
	}
	if anchored[id].Media[0].ICE.Remote.Port() != 50000 {
		t.Errorf("ownView changed the state it was handed")
	}
}

// TestCallEndpointMediaOff: without a lookup (media off) every call is
// unknown.
func TestCallEndpointMediaOff(t *testing.T) {
	mux := http.NewServeMux()
	RegisterCall(mux, nil)
	if rec := get(mux, http.MethodGet, "/calls/x", ""); rec.Code != http.StatusNotFound {
		t.Errorf("got status %d, want 404", rec.Code)
	}
}
