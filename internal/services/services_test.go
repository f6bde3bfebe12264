package services

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/internal/media/g711"
	"github.com/switchboard-gw/switchboard/internal/testkit/leakcheck"
	"github.com/switchboard-gw/switchboard/internal/testkit/rtptest"
)

func TestEchoSendsAudioBack(t *testing.T) {
	leakcheck.Check(t)
	s := start(t, Config{})
	_, ua := caller(t, s)
	media := rtpSocket(t)
	d, err := ua.Invite(ctx(t), uri(s, Echo), offer(media, "0 8 101"))
	if err != nil {
		t.Fatalf("INVITE echo: %v", err)
	}
	answer := d.Response.Body()
	to, pt := mediaOf(t, answer)
	if pt != "0" || !hasLine(answer, "a=rtpmap:101 telephone-event/8000") || !hasLine(answer, "a=sendrecv") {
		t.Errorf("answer: got\n%s\nwant PCMU, telephone-event 101, sendrecv", answer)
	}
	if to.Addr().String() != "127.0.0.1" {
		t.Errorf("answer address: got %s, want 127.0.0.1", to)
	}

	var echoSSRC uint32
	var lastSeq uint16
	for i, ssrc := range []uint32{0x1111, 0x1111, 0x1111, 0x2222, 0x2222} {
		payload := []byte{byte(i), 1, 2, 3}
		seq := uint16(1000 + i)
		if ssrc == 0x2222 {
			seq += 5000 // a new stream starts anywhere
		}
		if _, err := media.WriteToUDPAddrPort(rtp(0, seq, uint32(160*i), ssrc, payload), to); err != nil {
			t.Fatal(err)
		}
		p := readRTP(t, media)
		got := binary.BigEndian.Uint32(p[8:])
		outSeq := binary.BigEndian.Uint16(p[2:])
		if !bytes.Equal(p[rtpHeader:], payload) {
			t.Errorf("packet %d: got payload %v, want %v", i, p[rtpHeader:], payload)
		}
		if i > 0 && (got != echoSSRC || outSeq != lastSeq+1) {
			t.Errorf("packet %d: got SSRC %#x seq %d, want one stream (SSRC %#x, seq %d) whatever the caller's SSRC", i, got, outSeq, echoSSRC, lastSeq+1)
		}
		if got == ssrc {
			t.Errorf("packet %d: echo kept the caller's SSRC", i)
		}
		echoSSRC, lastSeq = got, outSeq
	}
	if res, err := d.Bye(ctx(t)); err != nil || res.StatusCode != 200 {
		t.Fatalf("BYE: got %v %v, want 200", res, err)
	}
	waitFor(t, "the RTP port to be free", func() bool {
		c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(to))
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	if n := s.Active(); n != 0 {
		t.Errorf("active calls after BYE: got %d, want 0", n)
	}
}

func TestToneIs440Hz(t *testing.T) {
	tests := []struct {
		name    string
		formats string
		wantPT  byte
		decode  func(byte) int16
	}{
		{"PCMU", "0 101", 0, g711.ULawLinear},
		{"PCMA first", "8 0 101", 8, g711.ALawLinear},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			leakcheck.Check(t)
			s := start(t, Config{})
			_, ua := caller(t, s)
			media := rtpSocket(t)
			d, err := ua.Invite(ctx(t), uri(s, Tone), offer(media, tt.formats))
			if err != nil {
				t.Fatalf("INVITE tone: %v", err)
			}
			var samples []int16
			var seq uint16
			var ts uint32
			for i := range 25 {
				p := readRTP(t, media) // the tone goes to the offer's address, unasked
				if p[1]&0x7f != tt.wantPT {
					t.Fatalf("payload type: got %d, want %d", p[1]&0x7f, tt.wantPT)
				}
				s, tstamp := binary.BigEndian.Uint16(p[2:]), binary.BigEndian.Uint32(p[4:])
				if i > 0 && (s != seq+1 || tstamp != ts+160) {
					t.Errorf("packet %d: got seq %d ts %d, want %d %d", i, s, tstamp, seq+1, ts+160)
				}
				seq, ts = s, tstamp
				for _, b := range p[rtpHeader:] {
					samples = append(samples, tt.decode(b))
				}
			}
			if score := rtptest.DetectTonePCM(samples, 440); score < 0.9 {
				t.Errorf("440 Hz score: got %.2f, want >= 0.9", score)
			}
			if res, err := d.Bye(ctx(t)); err != nil || res.StatusCode != 200 {
				t.Fatalf("BYE: got %v %v, want 200", res, err)
			}
		})
	}
}

// TestToneFollowsTheSource: RTP from another address than the SDP's moves
// the tone there (symmetric RTP).
func TestToneFollowsTheSource(t *testing.T) {
	leakcheck.Check(t)
	s := start(t, Config{})
	_, ua := caller(t, s)
	advertised, actual := rtpSocket(t), rtpSocket(t)
	d, err := ua.Invite(ctx(t), uri(s, Tone), offer(advertised, "0"))
	if err != nil {
		t.Fatal(err)
	}
	to, _ := mediaOf(t, d.Response.Body())
	readRTP(t, advertised)
	if _, err := actual.WriteToUDPAddrPort(rtp(0, 1, 0, 7, make([]byte, 160)), to); err != nil {
		t.Fatal(err)
	}
	readRTP(t, actual)
	_, _ = d.Bye(ctx(t))
}

func TestStatelessAnswers(t *testing.T) {
	leakcheck.Check(t)
	s := start(t, Config{})
	p, ua := caller(t, s)
	savpf := []byte("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
		"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 opus/48000/2\r\n")
	tests := []struct {
		name   string
		method sip.RequestMethod
		user   string
		body   []byte
		want   int
	}{
		{"unknown user", sip.INVITE, "bob", nil, 404},
		{"WebRTC offer", sip.INVITE, Echo, savpf, 488},
		{"no audio codec", sip.INVITE, Echo, offer(rtpSocket(t), "9"), 488},
		{"OPTIONS", sip.OPTIONS, Echo, nil, 200},
		{"MESSAGE", sip.MESSAGE, Echo, nil, 405},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := ua.NewRequest(tt.method, uri(s, tt.user))
			if tt.body != nil {
				req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
				req.SetBody(tt.body)
			}
			res, err := ua.Do(ctx(t), req)
			if err != nil || res.StatusCode != tt.want {
				t.Fatalf("got %v %v, want %d", res, err, tt.want)
			}
		})
	}
	bye := ua.NewRequest(sip.BYE, uri(s, Echo))
	bye.To().Params.Add("tag", "gone")
	if res, err := ua.Do(ctx(t), bye); err != nil || res.StatusCode != 481 {
		t.Errorf("BYE for no call: got %v %v, want 481", res, err)
	}
	if n := p.Pending(); n != 0 {
		t.Errorf("messages left over: %d", n)
	}
}

// TestRetransmissions: the 2xx is sent again until the ACK; a
// retransmitted INVITE gets it again; after the ACK, silence.
func TestRetransmissions(t *testing.T) {
	leakcheck.Check(t)
	s := start(t, Config{T1: 20 * time.Millisecond})
	p, ua := caller(t, s)
	req := ua.NewRequest(sip.INVITE, uri(s, Echo))
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	req.SetBody(offer(rtpSocket(t), "0"))
	for range 2 {
		if err := p.Send(req, s.Addr()); err != nil {
			t.Fatal(err)
		}
	}
	var oks []*sip.Response
	for len(oks) < 4 {
		res, err := p.RecvResponse(ctx(t))
		if err != nil {
			t.Fatalf("got %d 200s, want 4: %v", len(oks), err)
		}
		if res.StatusCode == 200 {
			oks = append(oks, res)
		}
	}
	for _, res := range oks[1:] {
		if got, want := res.To().Params.GetOr("tag", ""), oks[0].To().Params.GetOr("tag", ""); got != want {
			t.Errorf("To tag: got %q, want %q on every 200", got, want)
		}
	}
	ack := sip.NewRequest(sip.ACK, oks[0].Contact().Address)
	ack.AppendHeader(ua.Transport.Via())
	ack.Via().Params.Add("branch", sip.RFC3261BranchMagicCookie+"ack1")
	ack.AppendHeader(sip.HeaderClone(req.From()))
	ack.AppendHeader(sip.HeaderClone(oks[0].To()))
	ack.AppendHeader(sip.HeaderClone(req.CallID()))
	ack.AppendHeader(&sip.CSeqHeader{SeqNo: req.CSeq().SeqNo, MethodName: sip.ACK})
	ack.SetBody(nil)
	if err := p.Send(ack, s.Addr()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // the next retransmission was due within 160 ms
	for p.Pending() > 0 {
		_, _ = p.Recv(ctx(t))
	}
	time.Sleep(400 * time.Millisecond)
	if n := p.Pending(); n != 0 {
		t.Errorf("messages after the ACK: got %d, want none", n)
	}
}

// TestUnACKedAnswerEndsWithBye is RFC 3261 §13.3.1.4: no ACK within 64·T1,
// and the services hang up.
func TestUnACKedAnswerEndsWithBye(t *testing.T) {
	leakcheck.Check(t)
	s := start(t, Config{T1: 10 * time.Millisecond})
	p, ua := caller(t, s)
	req := ua.NewRequest(sip.INVITE, uri(s, Echo))
	if err := p.Send(req, s.Addr()); err != nil {
		t.Fatal(err)
	}
	bye, err := p.RecvRequest(ctx(t), sip.BYE)
	if err != nil {
		t.Fatalf("no BYE: %v", err)
	}
	if r := bye.GetHeader("Reason"); r == nil || r.Value() != `SIP;cause=200;text="no_ack"` {
		t.Errorf("Reason: got %v, want no_ack", r)
	}
	again, err := p.RecvRequest(ctx(t), sip.BYE)
	if err != nil {
		t.Fatalf("BYE not retransmitted: %v", err)
	}
	if again.Via().Params.GetOr("branch", "") != bye.Via().Params.GetOr("branch", "") || again.CSeq().SeqNo != bye.CSeq().SeqNo {
		t.Errorf("retransmitted BYE: got %s, want the same request as\n%s", again, bye)
	}
	if _, err := p.Respond(again, 200, "OK", nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the call to be forgotten", func() bool { return s.lookup(bye.CallID().Value()) == nil })
}

// TestServiceHangsUpThroughTheRouteSet: the BYE after the media stopped
// goes to the caller's Contact through the INVITE's Record-Route, in order
// (RFC 3261 §12.1.1), with the dialog's tags.
func TestServiceHangsUpThroughTheRouteSet(t *testing.T) {
	tests := []struct {
		name   string
		cfg    Config
		reason string
	}{
		{"no RTP", Config{IdleTimeout: 200 * time.Millisecond, T1: 10 * time.Millisecond}, endIdle},
		{"max duration", Config{MaxDuration: 200 * time.Millisecond, T1: 10 * time.Millisecond}, endMax},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			leakcheck.Check(t)
			s := start(t, tt.cfg)
			_, ua := caller(t, s)
			req := ua.NewRequest(sip.INVITE, uri(s, Echo))
			rr := []string{"<sip:tokenA@192.0.2.1:5060;transport=udp;lr>", "<sip:tokenB@192.0.2.1:5060;transport=ws;lr>"}
			for _, v := range rr {
				req.AppendHeader(sip.NewHeader("Record-Route", v))
			}
			req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
			req.SetBody(offer(rtpSocket(t), "0"))
			call, err := ua.SendInvite(req)
			if err != nil {
				t.Fatal(err)
			}
			d, err := call.Wait(ctx(t))
			if err != nil {
				t.Fatal(err)
			}
			bye, err := d.Await(ctx(t), sip.BYE)
			if err != nil {
				t.Fatalf("no BYE: %v", err)
			}
			var routes []string
			for _, h := range bye.GetHeaders("Route") {
				routes = append(routes, h.Value())
			}
			if len(routes) != 2 || routes[0] != rr[0] || routes[1] != rr[1] {
				t.Errorf("Route: got %q, want %q", routes, rr)
			}
			if got, want := bye.Recipient.String(), req.Contact().Address.String(); got != want {
				t.Errorf("Request-URI: got %s, want %s", got, want)
			}
			if bye.From().Params.GetOr("tag", "") != d.RemoteTag || bye.To().Params.GetOr("tag", "") != d.LocalTag {
				t.Errorf("tags: got From %s To %s, want %s %s", bye.From().Params, bye.To().Params, d.RemoteTag, d.LocalTag)
			}
			if r := bye.GetHeader("Reason"); r == nil || r.Value() != `SIP;cause=200;text="`+tt.reason+`"` {
				t.Errorf("Reason: got %v, want %s", r, tt.reason)
			}
			waitFor(t, "the call to be forgotten", func() bool { return s.lookup(d.CallID) == nil })
		})
	}
}

func TestCancelBeforeAnswer(t *testing.T) {
	leakcheck.Check(t)
	s := start(t, Config{AnswerDelay: time.Minute})
	_, ua := caller(t, s)
	call, err := ua.InviteAsync(uri(s, Echo), offer(rtpSocket(t), "0"))
	if err != nil {
		t.Fatal(err)
	}
	if res, err := call.WaitProvisional(ctx(t)); err != nil || res.StatusCode != 100 {
		t.Fatalf("got %v %v, want 100", res, err)
	}
	if res, err := call.WaitProvisional(ctx(t)); err != nil || res.StatusCode != 180 {
		t.Fatalf("got %v %v, want 180", res, err)
	}
	res, err := call.Cancel(ctx(t))
	if err != nil || res.StatusCode != 487 {
		t.Fatalf("INVITE after CANCEL: got %v %v, want 487", res, err)
	}
	waitFor(t, "no active call", func() bool { return s.Active() == 0 })
}

func TestReInviteMirrorsDirection(t *testing.T) {
	leakcheck.Check(t)
	s := start(t, Config{})
	_, ua := caller(t, s)
	media := rtpSocket(t)
	d, err := ua.Invite(ctx(t), uri(s, Tone), offer(media, "0"))
	if err != nil {
		t.Fatal(err)
	}
	first, _ := mediaOf(t, d.Response.Body())
	tests := []struct{ offered, want string }{
		{"a=sendonly", "a=recvonly"},
		{"a=inactive", "a=inactive"},
		{"a=recvonly", "a=sendonly"},
		{"a=sendrecv", "a=sendrecv"},
	}
	for _, tt := range tests {
		res, err := d.Request(ctx(t), sip.INVITE, offer(media, "0", tt.offered))
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("re-INVITE %s: got %v %v, want 200", tt.offered, res, err)
		}
		if again, _ := mediaOf(t, res.Body()); again != first || !hasLine(res.Body(), tt.want) {
			t.Errorf("answer to %s: got\n%s\nwant the same media at %s with %s", tt.offered, res.Body(), first, tt.want)
		}
	}
	if res, err := d.Bye(ctx(t)); err != nil || res.StatusCode != 200 {
		t.Fatalf("BYE: got %v %v", res, err)
	}
}

// TestLateOffer: an INVITE without SDP gets the services' offer in the
// 2xx, and the ACK's answer sets the media.
func TestLateOffer(t *testing.T) {
	leakcheck.Check(t)
	s := start(t, Config{})
	p, ua := caller(t, s)
	media := rtpSocket(t)
	req := ua.NewRequest(sip.INVITE, uri(s, Tone))
	if err := p.Send(req, s.Addr()); err != nil {
		t.Fatal(err)
	}
	var ok *sip.Response
	for ok == nil {
		res, err := p.RecvResponse(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode == 200 {
			ok = res
		}
	}
	if !hasLine(ok.Body(), "a=rtpmap:8 PCMA/8000") {
		t.Fatalf("2xx offer: got\n%s\nwant PCMU and PCMA", ok.Body())
	}
	ack := sip.NewRequest(sip.ACK, ok.Contact().Address)
	ack.AppendHeader(ua.Transport.Via())
	ack.Via().Params.Add("branch", sip.RFC3261BranchMagicCookie+"ack2")
	ack.AppendHeader(sip.HeaderClone(req.From()))
	ack.AppendHeader(sip.HeaderClone(ok.To()))
	ack.AppendHeader(sip.HeaderClone(req.CallID()))
	ack.AppendHeader(&sip.CSeqHeader{SeqNo: req.CSeq().SeqNo, MethodName: sip.ACK})
	ack.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	ack.SetBody(offer(media, "8"))
	if err := p.Send(ack, s.Addr()); err != nil {
		t.Fatal(err)
	}
	if pkt := readRTP(t, media); pkt[1]&0x7f != 8 {
		t.Errorf("payload type: got %d, want 8 (the answer's)", pkt[1]&0x7f)
	}
}

func TestCloseEndsCalls(t *testing.T) {
	leakcheck.Check(t)
	s, err := New(testConfig(Config{}), Deps{})
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve() }()
	_, ua := caller(t, s)
	if _, err := ua.Invite(ctx(t), uri(s, Tone), offer(rtpSocket(t), "0")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve: %v", err)
	}
	if err := s.Serve(); err != nil {
		t.Errorf("Serve after Close: got %v, want nil", err)
	}
	if err := s.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		t.Errorf("second Close: %v", err)
	}
}

// TestToneFrame checks a frame of the tone; the G.711 encoders have their
// own tests in internal/g711.
func TestToneFrame(t *testing.T) {
	if got := rtptest.DetectTone(toneFrames[pcmu][0][:], 440); got < 0.8 {
		t.Errorf("one PCMU frame at 440 Hz: got %.2f", got)
	}
}
