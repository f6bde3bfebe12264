package gateway

import (
	"encoding/binary"
	"net"
	"net/netip"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/internal/testkit/rtptest"
	"github.com/switchboard-gw/switchboard/internal/testkit/siptest"
)

// The first words of a call (issue 11): DTLS completes soon after the 200
// OK and audio flows both ways soon after DTLS, whichever side answers.

// dtlsAfterAnswer and audioAfterDTLS bound every call's DTLS completion
// after the 200 OK and its first audio, each way, after DTLS.
const (
	dtlsAfterAnswer = 300 * time.Millisecond
	audioAfterDTLS  = 100 * time.Millisecond
)

// phoneMedia is a phone's RTP: it sends a PCMU frame every 20 ms to the
// gateway once started and notes when the first packet came back.
type phoneMedia struct {
	conn    *net.UDPConn
	firstAt atomic.Int64
	stop    chan struct{}
	done    chan struct{}
}

func newPhoneMedia(t *testing.T) *phoneMedia {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	m := &phoneMedia{conn: c, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		buf := make([]byte, 1500)
		for {
			n, _, err := c.ReadFrom(buf)
			if err != nil {
				return
			}
			if n >= 12 && buf[0]>>6 == 2 && buf[1]&0x7f == 0 {
				m.firstAt.CompareAndSwap(0, time.Now().UnixNano())
			}
		}
	}()
	t.Cleanup(func() { c.Close() })
	return m
}

func (m *phoneMedia) addr() netip.AddrPort { return m.conn.LocalAddr().(*net.UDPAddr).AddrPort() }

// send starts the phone's audio towards to; the returned func stops it.
func (m *phoneMedia) send(to netip.AddrPort) (stop func()) {
	go func() {
		defer close(m.done)
		pkt := make([]byte, 12+160)
		pkt[0], pkt[1] = 0x80, 0
		binary.BigEndian.PutUint32(pkt[8:], 0x5eed)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		dst := net.UDPAddrFromAddrPort(to)
		for i := 0; ; i++ {
			binary.BigEndian.PutUint16(pkt[2:], uint16(i))
			binary.BigEndian.PutUint32(pkt[4:], uint32(i*160))
			m.conn.WriteTo(pkt, dst)
			select {
			case <-m.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return func() { close(m.stop); <-m.done }
}

// firstWords is one call's timeline, from the 200 OK.
type firstWords struct {
	dtls, toBrowser, toPhone time.Duration
}

// waitFirstWords waits until audio arrived both ways and returns the
// timeline from answeredAt.
func waitFirstWords(t *testing.T, br *rtptest.Browser, pm *phoneMedia, answeredAt time.Time) firstWords {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for br.FirstRTPAt().IsZero() || pm.firstAt.Load() == 0 || br.ConnectedAt().IsZero() {
		if time.Now().After(deadline) {
			t.Fatalf("no audio both ways 5s after the answer: connected %v, to browser %v, to phone %v",
				br.ConnectedAt(), br.FirstRTPAt(), pm.firstAt.Load())
		}
		time.Sleep(2 * time.Millisecond)
	}
	return firstWords{
		dtls:      br.ConnectedAt().Sub(answeredAt),
		toBrowser: br.FirstRTPAt().Sub(answeredAt),
		toPhone:   time.Unix(0, pm.firstAt.Load()).Sub(answeredAt),
	}
}

// browserAnswers has the phone call the browser, which answers switchboard's
// ICE-lite offer (the browser is the DTLS client), and returns the timeline
// from the browser's 200 OK.
func browserAnswers(t *testing.T, g *testGateway, alice *siptest.UA, p *siptest.UDPPeer) firstWords {
	br := newBrowser(t)
	pm := newPhoneMedia(t)
	var answeredAt time.Time
	answered := make(chan *siptest.Dialog, 1)
	go func() {
		defer close(answered)
		in, err := alice.NextInvite(ctx(t))
		if err != nil {
			t.Errorf("browser: %v", err)
			return
		}
		answer, err := br.Answer(in.Invite.Body())
		if err != nil {
			t.Errorf("browser: %v", err)
			return
		}
		br.Send()
		answeredAt = time.Now()
		d, err := in.Answer(ctx(t), answer)
		if err != nil {
			t.Errorf("browser: %v", err)
			return
		}
		answered <- d
	}()
	d, err := p.Call(ctx(t), g.Addrs().UDP, userURI(g, "alice"), siptest.AudioSDP("127.0.0.1", int(pm.addr().Port())))
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	stop := pm.send(audioAddr(t, d.Response.Body()))
	defer stop()
	bd := <-answered
	if bd == nil {
		t.FailNow()
	}
	fw := waitFirstWords(t, br, pm, answeredAt)
	hangUp(t, d, bd)
	return fw
}

// browserCalls has the browser call the phone (the browser offers, the
// phone answers) and returns the timeline from the phone's 200 OK.
func browserCalls(t *testing.T, alice, bob *siptest.UA, g *testGateway) firstWords {
	br := newBrowser(t)
	pm := newPhoneMedia(t)
	offer, err := br.Offer()
	if err != nil {
		t.Fatal(err)
	}
	var answeredAt time.Time
	answered := make(chan *siptest.Dialog, 1)
	go func() {
		defer close(answered)
		in, err := bob.NextInvite(ctx(t))
		if err != nil {
			t.Errorf("phone: %v", err)
			return
		}
		answeredAt = time.Now()
		d, err := in.Answer(ctx(t), siptest.AudioSDP("127.0.0.1", int(pm.addr().Port())))
		if err != nil {
			t.Errorf("phone: %v", err)
			return
		}
		answered <- d
	}()
	bd, err := alice.Invite(ctx(t), userURI(g, "bob"), offer)
	if err != nil {
		t.Fatal(err)
	}
	if err := br.SetAnswer(bd.Response.Body()); err != nil {
		t.Fatal(err)
	}
	br.Send()
	pd := <-answered
	if pd == nil {
		t.FailNow()
	}
	stop := pm.send(audioAddr(t, pd.Invite.Body()))
	defer stop()
	fw := waitFirstWords(t, br, pm, answeredAt)
	hangUp(t, bd, pd)
	return fw
}

// hangUp ends the call from by's side, the other side answering the BYE.
func hangUp(t *testing.T, by, other *siptest.Dialog) {
	t.Helper()
	done := make(chan error, 1)
	go func() { _, err := other.Await(ctx(t), sip.BYE); done <- err }()
	if res, err := by.Bye(ctx(t)); err != nil || res.StatusCode != 200 {
		t.Fatalf("bye: %v %v", res, err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// firstWordsCalls is how many calls each direction places.
func firstWordsCalls() int {
	if testing.Short() {
		return 8
	}
	return 30
}

// checkFirstWords reports p50 and max of each figure and fails for every
// call past the bounds.
func checkFirstWords(t *testing.T, calls []firstWords) {
	t.Helper()
	var dtls, toBrowser, toPhone []time.Duration
	for i, c := range calls {
		dtls = append(dtls, c.dtls)
		toBrowser = append(toBrowser, c.toBrowser)
		toPhone = append(toPhone, c.toPhone)
		if c.dtls > dtlsAfterAnswer {
			t.Errorf("call %d: DTLS done %v after the 200 OK, want under %v", i, c.dtls, dtlsAfterAnswer)
		}
		if d := c.toBrowser - c.dtls; d > audioAfterDTLS {
			t.Errorf("call %d: first audio to the browser %v after DTLS, want under %v", i, d, audioAfterDTLS)
		}
		if d := c.toPhone - c.dtls; d > audioAfterDTLS {
			t.Errorf("call %d: first audio to the phone %v after DTLS, want under %v", i, d, audioAfterDTLS)
		}
	}
	t.Logf("%d calls, from the 200 OK, p50 / max: DTLS done %v / %v; first audio to the browser %v / %v; to the phone %v / %v",
		len(calls), p50(dtls), slices.Max(dtls), p50(toBrowser), slices.Max(toBrowser), p50(toPhone), slices.Max(toPhone))
}

func p50(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

func TestMediaFirstWordsBrowserAnswers(t *testing.T) {
	g := startGateway(t, nil)
	alice := browser(t, g, "alice")
	register(t, alice)
	p, _ := phone(t, g, "bob")
	var calls []firstWords
	for range firstWordsCalls() {
		calls = append(calls, browserAnswers(t, g, alice, p))
	}
	checkFirstWords(t, calls)
}

func TestMediaFirstWordsBrowserCalls(t *testing.T) {
	g := startGateway(t, nil)
	alice := browser(t, g, "alice")
	register(t, alice)
	_, bob := phone(t, g, "bob")
	register(t, bob)
	var calls []firstWords
	for range firstWordsCalls() {
		calls = append(calls, browserCalls(t, alice, bob, g))
	}
	checkFirstWords(t, calls)
}
