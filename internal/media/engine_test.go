package media

import (
	"errors"
	"net/netip"
	"regexp"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/internal/testkit/leakcheck"
)

func TestPortExhaustionAndReuse(t *testing.T) {
	leakcheck.Check(t)
	e := newTestEngine(t, 2, nil)
	lo := e.cfg.RTPPorts[0]
	a, err := e.NewBridge("a", nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := e.NewBridge("b", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, br := range []*Bridge{a, b} {
		l := br.Local()
		if p := int(l.RTP.Port()); p%2 != 0 || p < lo || p > lo+2 || l.RTCP.Port() != l.RTP.Port()+1 {
			t.Errorf("ports: got RTP %v RTCP %v, want an even/odd pair in %d-%d", l.RTP, l.RTCP, lo, lo+3)
		}
	}
	if _, err := e.NewBridge("c", nil); !errors.Is(err, ErrNoPorts) {
		t.Fatalf("third bridge on two pairs: got %v, want ErrNoPorts", err)
	}
	freed := a.Local().RTP
	a.Close()
	a.Close() // idempotent
	c, err := e.NewBridge("c", nil)
	if err != nil {
		t.Fatalf("bridge after Close: %v", err)
	}
	if got := c.Local().RTP; got != freed {
		t.Errorf("reused pair: got %v, want %v", got, freed)
	}
}

// TestEngineCloseLeavesNothing closes an engine with bridges in every
// state, one in a live call, and checks goroutines and fds return to the
// baseline.
func TestEngineCloseLeavesNothing(t *testing.T) {
	leakcheck.Check(t)
	e := newTestEngine(t, 4, nil)
	idle, err := e.NewBridge("idle", nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = idle
	waiting, err := e.NewBridge("waiting", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := waiting.StartWebRTC(WebRTCRemote{Ufrag: "abcd", Pwd: "0123456789abcdefghijkl", Fingerprint: e.Fingerprint()}); err != nil {
		t.Fatal(err)
	}
	c := startCall(t, e, false, nil)
	c.exchange(t)
	if n := admittedUfrags(e); n != 3 {
		t.Errorf("ufrags admitted with three bridges: got %d, want 3", n)
	}
	if err := e.Close(); err != nil {
		t.Fatalf("Engine.Close: %v", err)
	}
	if n := admittedUfrags(e); n != 0 {
		t.Errorf("ufrags admitted after Close: got %d, want 0", n)
	}
	if _, err := e.NewBridge("late", nil); !errors.Is(err, ErrClosed) {
		t.Errorf("NewBridge after Close: got %v, want ErrClosed", err)
	}
	if err := waiting.StartWebRTC(WebRTCRemote{Ufrag: "abcd", Pwd: "0123456789abcdefghijkl", Fingerprint: e.Fingerprint()}); !errors.Is(err, ErrClosed) {
		t.Errorf("StartWebRTC after Close: got %v, want ErrClosed", err)
	}
}

// admittedUfrags is how many ufrags e's admission takes checks for.
func admittedUfrags(e *Engine) int {
	e.admit.mu.RLock()
	defer e.admit.mu.RUnlock()
	return len(e.admit.ufrags)
}

// TestMediaTimeout: no RTP after StartWebRTC ends the bridge; onEnd may
// close the bridge itself.
func TestMediaTimeout(t *testing.T) {
	leakcheck.Check(t)
	e := newTestEngine(t, 2, func(c *Config) { c.MediaTimeout = 100 * time.Millisecond })
	ended := make(chan string, 1)
	var b *Bridge
	b, err := e.NewBridge("quiet", func(r string) {
		b.Close()
		ended <- r
	})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // not started: no timeout
	select {
	case r := <-ended:
		t.Fatalf("onEnd(%q) before StartWebRTC", r)
	default:
	}
	if err := b.StartWebRTC(WebRTCRemote{Ufrag: "abcd", Pwd: "0123456789abcdefghijkl", Fingerprint: e.Fingerprint()}); err != nil {
		t.Fatal(err)
	}
	if err := b.StartWebRTC(WebRTCRemote{Ufrag: "abcd", Pwd: "0123456789abcdefghijkl", Fingerprint: e.Fingerprint()}); !errors.Is(err, ErrStarted) {
		t.Errorf("second StartWebRTC: got %v, want ErrStarted", err)
	}
	select {
	case r := <-ended:
		if r != "media_timeout" {
			t.Errorf("onEnd: got %q, want media_timeout", r)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no media timeout")
	}
}

func TestNewConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{name: "no address", cfg: Config{RTPAddr: loopback, RTPPorts: [2]int{20000, 20003}}},
		{name: "unspecified without public address", cfg: Config{WebRTCAddr: netip.MustParseAddrPort("0.0.0.0:0"), RTPAddr: loopback, RTPPorts: [2]int{20000, 20003}}},
		{name: "no RTP address", cfg: Config{WebRTCAddr: netip.MustParseAddrPort("127.0.0.1:0"), RTPPorts: [2]int{20000, 20003}}},
		{name: "no port pair", cfg: Config{WebRTCAddr: netip.MustParseAddrPort("127.0.0.1:0"), RTPAddr: loopback, RTPPorts: [2]int{20001, 20001}}},
		{name: "no port range", cfg: Config{WebRTCAddr: netip.MustParseAddrPort("127.0.0.1:0"), RTPAddr: loopback}},
		{name: "bad range", cfg: Config{WebRTCAddr: netip.MustParseAddrPort("127.0.0.1:0"), RTPAddr: loopback, RTPPorts: [2]int{0, 70000}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if e, err := New(tt.cfg, Deps{}); err == nil {
				e.Close()
				t.Errorf("New(%+v): got nil error, want one", tt.cfg)
			}
		})
	}
}

func TestPublicAddrsAreAdvertised(t *testing.T) {
	leakcheck.Check(t)
	public := netip.MustParseAddr("203.0.113.5")
	e := newTestEngine(t, 1, func(c *Config) { c.PublicAddrs = []netip.Addr{public} })
	b, err := e.NewBridge("nat", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := netip.AddrPortFrom(public, e.WebRTCAddr().Port())
	if got := b.Local().Candidates; len(got) != 1 || got[0] != want {
		t.Errorf("candidates: got %v, want [%v]", got, want)
	}
}

func TestFingerprint(t *testing.T) {
	e := newTestEngine(t, 1, nil)
	if fp := e.Fingerprint(); !regexp.MustCompile(`^sha-256 [0-9A-F]{2}(:[0-9A-F]{2}){31}$`).MatchString(fp) {
		t.Errorf("Fingerprint: got %q, want sha-256 and 32 hex pairs", fp)
	}
	f, err := parseFingerprint(e.Fingerprint())
	if err != nil {
		t.Fatal(err)
	}
	if err := f.verify(e.cert.Certificate, nil); err != nil {
		t.Errorf("own certificate does not match own fingerprint: %v", err)
	}
	for _, bad := range []string{"", "sha-256", "md5 AB:CD", "sha-256 AB:CD", "sha-256 " + string(make([]byte, 95))} {
		if _, err := parseFingerprint(bad); !errors.Is(err, ErrFingerprint) {
			t.Errorf("parseFingerprint(%q): got %v, want ErrFingerprint", bad, err)
		}
	}
}
