package gateway

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/pion/sdp/v3"

	"github.com/switchboard-gw/switchboard/internal/config"
	"github.com/switchboard-gw/switchboard/internal/testkit/leakcheck"
	"github.com/switchboard-gw/switchboard/internal/testkit/rtptest"
	"github.com/switchboard-gw/switchboard/internal/testkit/siptest"
)

// dialService calls a built-in service from a pion browser, unregistered,
// and returns once ICE and DTLS with switchboard are up.
func dialService(t *testing.T, g *testGateway, service string) (*rtptest.Browser, *siptest.Dialog) {
	t.Helper()
	alice := browser(t, g, "alice")
	br := newBrowser(t)
	offer, err := br.Offer()
	if err != nil {
		t.Fatal(err)
	}
	d, err := alice.Invite(ctx(t), userURI(g, service), offer)
	if err != nil {
		t.Fatalf("INVITE %s: %v", service, err)
	}
	if err := br.SetAnswer(d.Response.Body()); err != nil {
		t.Fatalf("browser refused the answer: %v\n%s", err, d.Response.Body())
	}
	wait, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := br.WaitConnected(wait); err != nil {
		t.Fatalf("ICE/DTLS: %v", err)
	}
	return br, d
}

// hangUpService ends a service call from the caller and waits until both
// the bridge and the services have let it go.
func hangUpService(t *testing.T, g *testGateway, d *siptest.Dialog) {
	t.Helper()
	if res, err := d.Bye(ctx(t)); err != nil || res.StatusCode != 200 {
		t.Fatalf("BYE: got %v %v, want 200", res, err)
	}
	waitFor(t, func() bool { return len(g.calls.Snapshot()) == 0 && g.services.Active() == 0 })
}

// until polls cond for up to 10 s; on timeout it fails with what().
func until(t *testing.T, cond func() bool, what func() string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal(what())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestBrowserDialsEcho is the newcomer's first call: a browser dials echo
// and hears itself, through ICE, DTLS-SRTP and the media bridge.
func TestBrowserDialsEcho(t *testing.T) {
	leakcheck.Check(t)
	g := startGateway(t, nil)
	br, d := dialService(t, g, "echo")
	br.Send()
	until(t, func() bool { _, matching := br.Received(); return matching >= 10 }, func() string {
		all, matching := br.Received()
		return fmt.Sprintf("echo: got %d packets, %d with the browser's payload", all, matching)
	})
	if st := g.calls.Snapshot(); len(st) != 1 || st[0].Verdict != "audio flowed both ways" {
		t.Errorf("call state: got %+v", st)
	}
	hangUpService(t, g, d)
}

func TestBrowserDialsTone(t *testing.T) {
	leakcheck.Check(t)
	g := startGateway(t, nil)
	br, d := dialService(t, g, "tone")
	br.Send() // the bridge and the services both end silent calls
	until(t, func() bool { all, _ := br.Received(); return all >= 50 && br.ToneScore(440) >= 0.8 }, func() string {
		all, _ := br.Received()
		return fmt.Sprintf("tone: got %d packets scoring %.2f at 440 Hz, want >= 0.8", all, br.ToneScore(440))
	})
	hangUpService(t, g, d)
}

// TestPhoneDialsEcho: a plain SIP phone reaches echo too, in both modes,
// and in upstream mode the PBX never hears of it. In upstream mode a phone
// that did not register through switchboard needs to be trusted: this one
// is on a trusted network, and the PBX has an address of its own.
func TestPhoneDialsEcho(t *testing.T) {
	pbx, err := siptest.NewUDPPeer(siptest.WithIP(pbxIP))
	if err != nil {
		t.Fatal(err)
	}
	defer pbx.Close()
	tests := []struct {
		name   string
		mutate func(*config.Config)
	}{
		{"registrar", nil},
		{"upstream", func(c *config.Config) {
			c.Mode = config.ModeUpstream
			c.Upstream = config.Upstream{URI: sipURI(t, "sip:"+pbx.Addr().String()+";transport=udp")}
			c.Security.TrustedNetworks = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			leakcheck.Check(t)
			g := startGateway(t, tt.mutate)
			_, carol := phone(t, g, "carol")
			media, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
			if err != nil {
				t.Fatal(err)
			}
			defer media.Close()
			local := media.LocalAddr().(*net.UDPAddr).AddrPort()
			d, err := carol.Invite(ctx(t), userURI(g, "echo"), siptest.AudioSDP("127.0.0.1", int(local.Port())))
			if err != nil {
				t.Fatalf("INVITE echo: %v", err)
			}
			if got := len(d.RouteSet); got != 2 {
				t.Errorf("route set: got %d entries, want 2 (record-routed like any call)", got)
			}
			to := answerAddr(t, d.Response.Body())
			payload := []byte("hello, echo")
			pkt := append([]byte{0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 9}, payload...)
			buf := make([]byte, 1500)
			for i := range 5 {
				binary.BigEndian.PutUint16(pkt[2:], uint16(i))
				if _, err := media.WriteToUDPAddrPort(pkt, to); err != nil {
					t.Fatal(err)
				}
				_ = media.SetReadDeadline(time.Now().Add(2 * time.Second))
				n, err := media.Read(buf)
				if err != nil || string(buf[12:n]) != string(payload) {
					t.Fatalf("echo %d: got %q %v, want %q", i, buf[:n], err, payload)
				}
			}
			hangUpService(t, g, d)
			if n := pbx.Pending(); n != 0 {
				t.Errorf("messages at the PBX: got %d, want 0", n)
			}
		})
	}
}

// TestServiceHangsUpThroughTheProxy: at services.max_duration the service
// sends BYE along the route set the proxy record-routed, and it reaches
// the browser over its WebSocket; the bridge lets the call go.
func TestServiceHangsUpThroughTheProxy(t *testing.T) {
	leakcheck.Check(t)
	g := startGateway(t, func(c *config.Config) { c.Services.MaxDuration = 500 * time.Millisecond })
	br, d := dialService(t, g, "tone")
	br.Send()
	bye, err := d.Await(ctx(t), sip.BYE)
	if err != nil {
		t.Fatalf("browser got no BYE at max_duration: %v", err)
	}
	if r := bye.GetHeader("Reason"); r == nil || !strings.Contains(r.Value(), "max_duration") {
		t.Errorf("Reason: got %v, want max_duration", r)
	}
	waitFor(t, func() bool { return len(g.calls.Snapshot()) == 0 && g.services.Active() == 0 })
}

func TestServicesOff(t *testing.T) {
	leakcheck.Check(t)
	g := startGateway(t, func(c *config.Config) { c.Services.Enabled = false })
	_, carol := phone(t, g, "carol")
	_, err := carol.Invite(ctx(t), userURI(g, "echo"), siptest.AudioSDP("127.0.0.1", 4000))
	if se, ok := err.(*siptest.StatusError); !ok || se.Response.StatusCode != 480 {
		t.Fatalf("INVITE echo with services off: got %v, want 480 (nobody registered as echo)", err)
	}
}

// answerAddr reads the audio address of an SDP body.
func answerAddr(t *testing.T, body []byte) netip.AddrPort {
	t.Helper()
	var d sdp.SessionDescription
	if err := d.Unmarshal(body); err != nil || len(d.MediaDescriptions) == 0 || d.ConnectionInformation == nil {
		t.Fatalf("answer: %v\n%s", err, body)
	}
	ip, err := netip.ParseAddr(d.ConnectionInformation.Address.Address)
	if err != nil {
		t.Fatal(err)
	}
	return netip.AddrPortFrom(ip, uint16(d.MediaDescriptions[0].MediaName.Port.Value))
}
