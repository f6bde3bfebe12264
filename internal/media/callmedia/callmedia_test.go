package callmedia

import (
	"bytes"
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-gw/switchboard/internal/signalling/sipmsg"
	"github.com/switchboard-gw/switchboard/internal/testkit/leakcheck"
)

// step is one SDP through Rewrite and what must come out: an SDP of kind
// want ("plain", "webrtc offer", "webrtc answer", or "untouched"), or an
// error mapping to SIP status.
type step struct {
	msg    sipmsg.SDPMessage
	want   string
	status int
}

// TestOfferAnswer runs calls through Rewrite, as the proxy would, with real
// SDPs and a real engine: whichever message carries an SDP, the call's
// state decides whether it is an offer or an answer and which way it goes.
func TestOfferAnswer(t *testing.T) {
	leakcheck.Check(t)
	f := func(name string) []byte { return sdpFile(t, name) }
	bad := []byte("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nthis is not sdp\r\n")
	isac := []byte("v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 103\r\n" +
		"c=IN IP4 0.0.0.0\r\na=fingerprint:sha-256 AA:BB\r\na=rtpmap:103 ISAC/16000\r\n")
	tests := []struct {
		name      string
		anchorAll bool
		steps     []step
		check     func(t *testing.T, st []CallState, outs [][]byte)
	}{{
		name: "browser offer, plain answer",
		steps: []step{
			{msg: browserToPlain(0, "a", f("chrome-audio-offer")), want: "plain"},
			{msg: plainToBrowser(200, "b", f("asterisk-answer")), want: "webrtc answer"},
		},
		check: func(t *testing.T, st []CallState, _ [][]byte) {
			wantBridge(t, st, "PCMA", "121.162.50.118:10078")
		},
	}, {
		name: "plain offer, browser answer",
		steps: []step{
			{msg: plainToBrowser(0, "a", f("asterisk-offer")), want: "webrtc offer"},
			{msg: browserToPlain(200, "b", f("chrome-answer")), want: "plain"},
		},
		check: func(t *testing.T, st []CallState, _ [][]byte) {
			wantBridge(t, st, "PCMA", "10.17.0.10:12752")
		},
	}, {
		name: "late offer: the 200 offers, the ACK answers",
		steps: []step{
			{msg: plainToBrowser(200, "b", f("asterisk-offer")), want: "webrtc offer"},
			{msg: browserToPlain(0, "a", f("chrome-answer")), want: "plain"},
		},
		check: func(t *testing.T, st []CallState, _ [][]byte) {
			wantBridge(t, st, "PCMA", "10.17.0.10:12752")
		},
	}, {
		name: "183 then 200 with the same answer",
		steps: []step{
			{msg: browserToPlain(0, "a", f("chrome-audio-offer")), want: "plain"},
			{msg: plainToBrowser(183, "b", f("asterisk-answer")), want: "webrtc answer"},
			{msg: plainToBrowser(200, "b", f("asterisk-answer")), want: "webrtc answer"},
			// The 200 settled the offer: the browser's next SDP is an offer.
			{msg: browserToPlain(0, "a", f("chrome-hold-offer")), want: "plain"},
		},
		check: func(t *testing.T, st []CallState, outs [][]byte) {
			if !bytes.Equal(outs[1], outs[2]) {
				t.Errorf("the 200's answer differs from the 183's:\n%s\n%s", outs[1], outs[2])
			}
		},
	}, {
		name: "browser puts the call on hold",
		steps: []step{
			{msg: browserToPlain(0, "a", f("chrome-audio-offer")), want: "plain"},
			{msg: plainToBrowser(200, "b", f("asterisk-answer")), want: "webrtc answer"},
			{msg: browserToPlain(0, "a", f("chrome-hold-offer")), want: "plain"},
			{msg: plainToBrowser(200, "b", f("asterisk-hold-answer")), want: "webrtc answer"},
		},
		check: func(t *testing.T, st []CallState, outs [][]byte) {
			if !bytes.Contains(outs[2], []byte("a=sendonly")) || !bytes.Contains(outs[3], []byte("a=recvonly")) {
				t.Errorf("hold: got\n%s\nand\n%s\nwant sendonly to the phone, recvonly to the browser", outs[2], outs[3])
			}
			if a, b := attr(outs[1], "ice-ufrag"), attr(outs[3], "ice-ufrag"); a != b {
				t.Errorf("hold restarted ICE: ufrag %q, then %q", a, b)
			}
			wantBridge(t, st, "PCMA", "121.162.50.118:10078")
		},
	}, {
		name: "phone puts the call on hold",
		steps: []step{
			{msg: plainToBrowser(0, "a", f("asterisk-offer")), want: "webrtc offer"},
			{msg: browserToPlain(200, "b", f("chrome-answer")), want: "plain"},
			{msg: plainToBrowser(0, "a", f("freeswitch-hold-offer")), want: "webrtc offer"},
			{msg: browserToPlain(200, "b", f("chrome-hold-answer")), want: "plain"},
		},
		check: func(t *testing.T, st []CallState, _ [][]byte) {
			wantBridge(t, st, "PCMA", "192.0.2.31:20340")
		},
	}, {
		name: "malformed offer",
		steps: []step{
			{msg: browserToPlain(0, "a", bad), status: 488},
		},
	}, {
		name: "no codec in common",
		steps: []step{
			{msg: browserToPlain(0, "a", isac), status: 488},
		},
	}, {
		name: "malformed re-offer keeps the call",
		steps: []step{
			{msg: browserToPlain(0, "a", f("chrome-audio-offer")), want: "plain"},
			{msg: plainToBrowser(200, "b", f("asterisk-answer")), want: "webrtc answer"},
			{msg: browserToPlain(0, "a", bad), status: 488},
			{msg: browserToPlain(0, "a", f("chrome-hold-offer")), want: "plain"},
		},
		check: func(t *testing.T, st []CallState, _ [][]byte) {
			wantBridge(t, st, "PCMA", "121.162.50.118:10078")
		},
	}, {
		name: "browser to browser passes through",
		steps: []step{
			{msg: browserToBrowser(0, "a", f("chrome-audio-offer")), want: "untouched"},
		},
	}, {
		name: "phone to phone passes through",
		steps: []step{
			{msg: plainToPlain(0, "a", f("asterisk-offer")), want: "untouched"},
		},
	}, {
		name:      "anchor all: browser to browser",
		anchorAll: true,
		steps: []step{
			{msg: browserToBrowser(0, "a", f("chrome-audio-offer")), want: "webrtc offer"},
			{msg: browserToBrowser(200, "b", f("chrome-answer")), want: "webrtc answer"},
			// A re-offer from the callee goes the other way.
			{msg: browserToBrowser(0, "b", f("chrome-hold-offer")), want: "webrtc offer"},
		},
		check: func(t *testing.T, st []CallState, outs [][]byte) {
			if len(st) != 1 || st[0].Anchor != "webrtc-webrtc" || len(st[0].Media) != 2 {
				t.Fatalf("got %s, want one webrtc-webrtc call with two bridges", describe(st))
			}
			a, b := st[0].Media[0], st[0].Media[1]
			if a.Plain.RemoteRTP != b.Plain.Local || b.Plain.RemoteRTP != a.Plain.Local {
				t.Errorf("bridges not back to back: %v → %v, %v → %v", a.Plain.Local, a.Plain.RemoteRTP, b.Plain.Local, b.Plain.RemoteRTP)
			}
			if a.DTLS.Role == "" || b.DTLS.Role == "" {
				t.Errorf("DTLS not started on both bridges: %q, %q", a.DTLS.Role, b.DTLS.Role)
			}
			if got, want := attr(outs[2], "ice-ufrag"), attr(outs[1], "ice-ufrag"); got != want {
				t.Errorf("the callee's re-offer reached the caller with ufrag %q, want the caller's bridge's %q", got, want)
			}
		},
	}, {
		name:      "anchor all: phone to phone",
		anchorAll: true,
		steps: []step{
			{msg: plainToPlain(0, "a", f("asterisk-offer")), want: "plain"},
			{msg: plainToPlain(200, "b", f("freeswitch-answer")), want: "plain"},
		},
		check: func(t *testing.T, st []CallState, outs [][]byte) {
			if len(st) != 1 || st[0].Relay == nil || st[0].Codec != "opus" {
				t.Fatalf("got %s, want one relayed call, opus", describe(st))
			}
			caller, callee := st[0].Relay.Legs[0], st[0].Relay.Legs[1]
			if caller.RemoteRTP.String() != "10.17.0.10:12752" || callee.RemoteRTP.String() != "192.0.2.31:24580" {
				t.Errorf("relay remotes: got %v and %v", caller.RemoteRTP, callee.RemoteRTP)
			}
			for i, l := range []netip.AddrPort{callee.Local, caller.Local} {
				if !bytes.Contains(outs[i], []byte(" "+l.Addr().String()+"\r\n")) || !bytes.Contains(outs[i], []byte("m=audio "+strconv.Itoa(int(l.Port())))) {
					t.Errorf("SDP %d does not point at the relay's %v:\n%s", i, l, outs[i])
				}
			}
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, _ := newTestManager(t, 4, Config{AnchorAll: tt.anchorAll}, nil)
			var outs [][]byte
			for i, s := range tt.steps {
				out, err := m.Rewrite(s.msg)
				if got := sipStatus(err); got != s.status {
					t.Fatalf("step %d: got error %v (status %d), want status %d", i, err, got, s.status)
				}
				switch {
				case s.want == "untouched" && !bytes.Equal(out, s.msg.Body):
					t.Errorf("step %d: got\n%s\nwant the SDP untouched", i, out)
				case s.want != "untouched" && err == nil && kind(out) != s.want:
					t.Errorf("step %d: got a %s SDP, want a %s one:\n%s", i, kind(out), s.want, out)
				}
				outs = append(outs, out)
			}
			st := m.Snapshot()
			if tt.check != nil {
				tt.check(t, st, outs)
			} else if len(st) != 0 {
				t.Errorf("calls: got %s, want none", describe(st))
			}
		})
	}
}

// wantBridge checks st is one webrtc-plain call whose bridge started DTLS
// (the answer came) and sends to the phone at remote.
func wantBridge(t *testing.T, st []CallState, codec, remote string) {
	t.Helper()
	if len(st) != 1 || st[0].Anchor != "webrtc-plain" || len(st[0].Media) != 1 {
		t.Fatalf("got %s, want one webrtc-plain call", describe(st))
	}
	b := st[0].Media[0]
	if st[0].Codec != codec || b.DTLS.Role == "" || b.Plain.RemoteRTP.String() != remote {
		t.Errorf("got codec %q, DTLS role %q, phone at %v; want %s, a role, %s", st[0].Codec, b.DTLS.Role, b.Plain.RemoteRTP, codec, remote)
	}
}

// TestRefusedOfferFreesPorts: a call whose first SDP is refused gives its
// port pair back, and a call with no port left is answered 503.
func TestRefusedOfferFreesPorts(t *testing.T) {
	leakcheck.Check(t)
	m, _ := newTestManager(t, 1, Config{}, nil)
	if _, err := m.Rewrite(browserToPlain(0, "a", []byte("v=0\r\n"))); sipStatus(err) != 488 {
		t.Fatalf("malformed offer: got %v, want 488", err)
	}
	if _, err := m.Rewrite(browserToPlain(0, "a", sdpFile(t, "chrome-audio-offer"))); err != nil {
		t.Fatalf("offer after the refused one: got %v, want none", err)
	}
	second := browserToPlain(0, "a", sdpFile(t, "chrome-audio-offer"))
	second.CallID = "another call"
	if _, err := m.Rewrite(second); sipStatus(err) != 503 {
		t.Fatalf("offer with no port left: got %v, want 503", err)
	}
}

// TestEndIdempotent: End releases a call once; ending it again, or a call
// never seen, does nothing; Close ends what is left.
func TestEndIdempotent(t *testing.T) {
	leakcheck.Check(t)
	m, _ := newTestManager(t, 2, Config{}, nil)
	for _, id := range []string{"one", "two"} {
		msg := browserToPlain(0, "a", sdpFile(t, "chrome-audio-offer"))
		msg.CallID = id
		if _, err := m.Rewrite(msg); err != nil {
			t.Fatal(err)
		}
	}
	m.End("one", "bye")
	m.End("one", "bye")
	m.End("never seen", "bye")
	if st := m.Snapshot(); len(st) != 1 || st[0].CallID != "two" {
		t.Fatalf("got %s, want call two alone", describe(st))
	}
	m.Close()
	m.Close()
	if st := m.Snapshot(); len(st) != 0 {
		t.Errorf("after Close: got %s, want none", describe(st))
	}
}

// TestState: State finds one anchored call by Call-ID, and only while it
// is anchored.
func TestState(t *testing.T) {
	m, _ := newTestManager(t, 2, Config{}, nil)
	msg := browserToPlain(0, "a", sdpFile(t, "chrome-audio-offer"))
	msg.CallID = "one"
	if _, err := m.Rewrite(msg); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		id   string
		want bool
	}{{"one", true}, {"two", false}, {"", false}} {
		st, ok := m.State(tt.id)
		if ok != tt.want || ok && st.CallID != tt.id {
			t.Errorf("State(%q): got %q, %v, want found %v", tt.id, st.CallID, ok, tt.want)
		}
	}
	m.End("one", "bye")
	if _, ok := m.State("one"); ok {
		t.Errorf("State after End: got found, want not")
	}
}

// TestSnapshotVerdict: a call whose browser never connected says so.
func TestSnapshotVerdict(t *testing.T) {
	m, _ := newTestManager(t, 2, Config{}, nil)
	for _, msg := range []sipmsg.SDPMessage{
		browserToPlain(0, "a", sdpFile(t, "chrome-audio-offer")),
		plainToBrowser(200, "b", sdpFile(t, "asterisk-answer")),
	} {
		if _, err := m.Rewrite(msg); err != nil {
			t.Fatal(err)
		}
	}
	st := m.Snapshot()
	if len(st) != 1 || !strings.HasPrefix(st[0].Verdict, "no audio: ICE with the browser is ") || st[0].class != noAudio {
		t.Errorf("got %s, want no audio for want of ICE", describe(st))
	}
}

// TestTiming: a call's timing starts with its final answer, not an early
// one, and a step that has not happened is absent.
func TestTiming(t *testing.T) {
	m, _ := newTestManager(t, 2, Config{}, nil)
	offer := browserToPlain(0, "a", sdpFile(t, "chrome-audio-offer"))
	early := plainToBrowser(183, "b", sdpFile(t, "asterisk-answer"))
	final := plainToBrowser(200, "b", sdpFile(t, "asterisk-answer"))
	for i, msg := range []sipmsg.SDPMessage{offer, early, final} {
		if _, err := m.Rewrite(msg); err != nil {
			t.Fatal(err)
		}
		st := m.Snapshot()
		if len(st) != 1 {
			t.Fatalf("got %s, want one call", describe(st))
		}
		switch tm := st[0].Timing; {
		case i < 2 && tm != nil:
			t.Errorf("after %d SDPs: timing %+v before the final answer", i+1, *tm)
		case i == 2 && tm == nil:
			t.Errorf("after the 200: no timing")
		case i == 2 && (tm.DTLS != nil || tm.FirstToPhone != nil || tm.FirstToBrowser != nil):
			t.Errorf("after the 200, with no browser: timing %+v, want only absent steps", *tm)
		}
	}
}

// TestMetrics counts a call from its start to its end.
func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, _ := newTestManager(t, 2, Config{}, NewMetrics(reg))
	if _, err := m.Rewrite(browserToPlain(0, "a", sdpFile(t, "chrome-audio-offer"))); err != nil {
		t.Fatal(err)
	}
	if got := gather(t, reg, "switchboard_media_anchored_calls", "anchor=webrtc-plain"); got != 1 {
		t.Errorf("anchored calls: got %v, want 1", got)
	}
	m.End("call", "WebSocket lost")
	for _, c := range []struct {
		name, labels string
		want         float64
	}{
		{"switchboard_media_anchored_calls", "anchor=webrtc-plain", 0},
		{"switchboard_media_calls_ended_total", "reason=websocket_lost,verdict=not_answered", 1}, // ended before any answer
		{"switchboard_media_rtp_packets_total", "direction=in,leg=browser", 0},
		{"switchboard_media_srtp_auth_failures_total", "", 0},
	} {
		if got := gather(t, reg, c.name, c.labels); got != c.want {
			t.Errorf("%s{%s}: got %v, want %v", c.name, c.labels, got, c.want)
		}
	}
}

// gather returns the value of the metric name whose labels, written
// "k=v,k=v" in name order, are labels; -1 when there is none.
func gather(t *testing.T, reg *prometheus.Registry, name, labels string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			var ls []string
			for _, l := range m.GetLabel() {
				ls = append(ls, l.GetName()+"="+l.GetValue())
			}
			if strings.Join(ls, ",") == labels {
				return m.GetGauge().GetValue() + m.GetCounter().GetValue()
			}
		}
	}
	return -1
}

// A call that ends before any answer — challenged (401/407), failed or
// cancelled — has no media to judge: its verdict says so instead of
// blaming ICE, which starts only on the answer, and a challenge is counted
// as one, not as a failed call.
func TestNotAnsweredVerdict(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, _ := newTestManager(t, 2, Config{}, NewMetrics(reg))
	if _, err := m.Rewrite(browserToPlain(0, "a", sdpFile(t, "chrome-audio-offer"))); err != nil {
		t.Fatal(err)
	}
	st := m.Snapshot()
	if len(st) != 1 || st[0].class != notAnswered || st[0].Verdict != "no media: the offer has had no answer" {
		t.Errorf("ringing: got %s, want not answered", describe(st))
	}
	m.End("call", "challenged")
	if got := gather(t, reg, "switchboard_media_calls_ended_total", "reason=challenged,verdict=not_answered"); got != 1 {
		t.Errorf("calls_ended_total{reason=challenged,verdict=not_answered}: got %v, want 1", got)
	}
	for _, verdict := range []string{"none", "one_way", "both_ways"} {
		if got := gather(t, reg, "switchboard_media_calls_ended_total", "reason=challenged,verdict="+verdict); got > 0 { // -1: never counted
			t.Errorf("calls_ended_total{reason=challenged,verdict=%s}: got %v, want none", verdict, got)
		}
	}
}

// /calls names who called whom, from the first SDP's From and To.
func TestFromTo(t *testing.T) {
	m, _ := newTestManager(t, 2, Config{}, nil)
	msg := browserToPlain(0, "a", sdpFile(t, "chrome-audio-offer"))
	msg.From, msg.To = "alice@example.com", "bob@example.com"
	if _, err := m.Rewrite(msg); err != nil {
		t.Fatal(err)
	}
	st, ok := m.State("call")
	if !ok || st.From != "alice@example.com" || st.To != "bob@example.com" {
		t.Errorf("got %v %q → %q, want alice@example.com → bob@example.com", ok, st.From, st.To)
	}
}
