package media

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/pion/stun/v4"
)

// bindingRequest is a browser's ICE check as pion builds one: USERNAME
// "rfrag:lfrag", then MESSAGE-INTEGRITY and FINGERPRINT.
func bindingRequest(t testing.TB, username string) []byte {
	t.Helper()
	attrs := []stun.Setter{stun.TransactionID, stun.BindingRequest}
	if username != "" {
		attrs = append(attrs, stun.NewUsername(username))
	}
	attrs = append(attrs, stun.NewShortTermIntegrity("pwd"), stun.Fingerprint)
	m, err := stun.Build(attrs...)
	if err != nil {
		t.Fatal(err)
	}
	return m.Raw
}

func TestStunUsername(t *testing.T) {
	good := bindingRequest(t, "live:remote")
	noUser := bindingRequest(t, "")
	mutate := func(p []byte, f func([]byte) []byte) []byte { return f(append([]byte(nil), p...)) }
	for _, c := range []struct {
		name string
		p    []byte
		user string
		ok   bool
	}{
		{"binding request", good, "live:remote", true},
		{"no USERNAME", noUser, "", true},
		{"empty", nil, "", false},
		{"header only, cut", good[:19], "", false},
		{"top bits set", mutate(good, func(p []byte) []byte { p[0] |= 0x80; return p }), "", false},
		{"wrong cookie", mutate(good, func(p []byte) []byte { p[4] ^= 1; return p }), "", false},
		{"length beyond the datagram", good[:len(good)-4], "", false},
		{"length short of the datagram", append(append([]byte(nil), good...), 0, 0, 0, 0), "", false},
		{"length not a multiple of 4", mutate(good, func(p []byte) []byte {
			binary.BigEndian.PutUint16(p[2:4], uint16(len(p)-20+2))
			return append(p, 0, 0)
		}), "", false},
		{"attribute longer than the message", mutate(good, func(p []byte) []byte {
			binary.BigEndian.PutUint16(p[22:24], 0xfff0) // USERNAME's length
			return p
		}), "", false},
		{"attribute header cut", mutate(noUser[:20], func(p []byte) []byte {
			binary.BigEndian.PutUint16(p[2:4], 4)
			return append(p, 0, 6, 0, 4) // a USERNAME header without its value
		}), "", false},
	} {
		user, ok := stunUsername(c.p)
		if ok != c.ok || string(user) != c.user {
			t.Errorf("%s: got %q, %v; want %q, %v", c.name, user, ok, c.user, c.ok)
		}
	}
}

// TestAdmission walks one engine's admission through a call's life: what a
// browser sends passes, what nobody's call could use is refused, by reason.
func TestAdmission(t *testing.T) {
	a := newAdmission()
	b := &Bridge{}
	a.addUfrag(b, "live")
	browser := netip.MustParseAddrPort("192.0.2.1:5000")
	stranger := netip.MustParseAddrPort("198.51.100.7:6000")
	checkedAddr := netip.MustParseAddrPort("203.0.113.9:7000")
	checked := func(s netip.AddrPort) bool { return s == checkedAddr }
	now := time.Now().UnixNano()

	dtls := []byte{22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	rtp := make([]byte, 172)
	rtp[0], rtp[1] = 0x80, 0
	rtcp := []byte{0x80, 200, 0, 1, 0, 0, 0, 1}
	want := func(name string, p []byte, src netip.AddrPort, at int64, ok bool, why RefuseReason) {
		t.Helper()
		gotOK, gotWhy := a.admit(p, src, at, checked)
		if gotOK != ok || !ok && gotWhy != why {
			t.Errorf("%s from %v: got %v (%v), want %v (%v)", name, src, gotOK, gotWhy, ok, why)
		}
	}

	// Before the browser's first check, only the check passes.
	want("DTLS", dtls, browser, now, false, RefusedUnknownSource)
	want("RTP", rtp, browser, now, false, RefusedUnknownSource)
	want("STUN without USERNAME", bindingRequest(t, ""), browser, now, false, RefusedUnknownSource)
	want("check naming no live ufrag", bindingRequest(t, "gone:remote"), browser, now, false, RefusedUnknownUfrag)
	want("check naming a ufrag as remote", bindingRequest(t, "remote:live"), browser, now, false, RefusedUnknownUfrag)
	want("check", bindingRequest(t, "live:remote"), browser, now, true, 0)
	// Then what the browser sends from there.
	for name, p := range map[string][]byte{"DTLS": dtls, "RTP": rtp, "RTCP": rtcp, "STUN without USERNAME": bindingRequest(t, "")} {
		want(name, p, browser, now+int64(time.Second), true, 0)
		want(name, p, stranger, now, false, RefusedUnknownSource)
		want(name, p, checkedAddr, now, true, 0)
	}
	for name, p := range map[string][]byte{
		"zeros":       make([]byte, 1200),
		"one byte":    {22},
		"ASCII":       []byte("GET / HTTP/1.1\r\n\r\n"),
		"TURN data":   {0x40, 0, 0, 4, 1, 2, 3, 4},
		"broken STUN": bindingRequest(t, "live:remote")[:40],
	} {
		want(name, p, browser, now, false, RefusedMalformed)
	}
	// Consent checks renew the browser's standing; silence ends it.
	later := now + int64(heardFor) + int64(time.Second)
	want("DTLS after silence", dtls, browser, later, false, RefusedUnknownSource)
	want("consent check", bindingRequest(t, "live:remote"), browser, later, true, 0)
	want("DTLS after the check", dtls, browser, later, true, 0)

	// An ICE restart adds a ufrag and keeps the one before; a second drops
	// the first; the bridge's close drops all.
	a.addUfrag(b, "next")
	want("check, old ufrag", bindingRequest(t, "live:r"), stranger, now, true, 0)
	a.addUfrag(b, "third")
	want("check, ufrag two restarts old", bindingRequest(t, "live:r"), stranger, now, false, RefusedUnknownUfrag)
	want("check, new ufrag", bindingRequest(t, "third:r"), stranger, now, true, 0)
	a.removeBridge(b)
	want("check after close", bindingRequest(t, "third:r"), stranger, now, false, RefusedUnknownUfrag)
	a.addUfrag(b, "late")
	want("check, ufrag added after close", bindingRequest(t, "late:r"), stranger, now, false, RefusedUnknownUfrag)
	if len(a.ufrags) != 0 {
		t.Errorf("ufrags left after close: %v", a.ufrags)
	}
}

// TestAdmissionBoundsSources checks that the sources remembered stay at
// maxHeard, the stale ones forgotten first, in a sweep at most once a
// second.
func TestAdmissionBoundsSources(t *testing.T) {
	a := newAdmission()
	a.addUfrag(&Bridge{}, "live")
	check := bindingRequest(t, "live:r")
	none := func(netip.AddrPort) bool { return false }
	now := time.Now().UnixNano()
	src := func(i int) netip.AddrPort {
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 5000)
	}
	for i := range maxHeard + 10 {
		if ok, _ := a.admit(check, src(i), now, none); !ok {
			t.Fatalf("check %d refused", i)
		}
	}
	if n := len(a.heard); n != maxHeard {
		t.Fatalf("remembered %d sources, want %d", n, maxHeard)
	}
	if ok, _ := a.admit(check, src(maxHeard+20), now+int64(time.Second)-1, none); !ok {
		t.Fatal("check refused")
	}
	if n := len(a.heard); n != maxHeard {
		t.Errorf("full, swept less than a second ago: remembered %d sources, want %d", n, maxHeard)
	}
	later := now + int64(heardFor)
	if ok, _ := a.admit(check, src(maxHeard+21), later, none); !ok {
		t.Fatal("check refused")
	}
	if n := len(a.heard); n != 1 {
		t.Errorf("after the others went stale: remembered %d sources, want 1", n)
	}
}

// TestAdmissionDoesNotAllocate: refusing junk, or admitting a check, costs
// no allocation.
func TestAdmissionDoesNotAllocate(t *testing.T) {
	a := newAdmission()
	a.addUfrag(&Bridge{}, "live")
	check := bindingRequest(t, "live:r")
	junk := bindingRequest(t, "gone:r")
	rtp := make([]byte, 172)
	rtp[0] = 0x80
	src := netip.MustParseAddrPort("192.0.2.1:5000")
	e := &Engine{checked: map[netip.AddrPort]*Bridge{}}
	now := time.Now().UnixNano()
	a.admit(check, src, now, e.isChecked)
	n := testing.AllocsPerRun(1000, func() {
		a.admit(check, src, now, e.isChecked)
		a.admit(junk, src, now, e.isChecked)
		a.admit(rtp, netip.MustParseAddrPort("192.0.2.2:5000"), now, e.isChecked)
		a.admit(make([]byte, 64), src, now, e.isChecked)
	})
	if n != 0 {
		t.Errorf("got %v allocations per round, want 0", n)
	}
}

// FuzzStunUsername holds stunUsername to pion/stun: a message it takes,
// pion decodes, with the same first USERNAME.
func FuzzStunUsername(f *testing.F) {
	f.Add(bindingRequest(f, "live:remote"))
	f.Add(bindingRequest(f, ""))
	f.Add(make([]byte, 20))
	f.Fuzz(func(t *testing.T, p []byte) {
		user, ok := stunUsername(p)
		if !ok {
			return
		}
		m := &stun.Message{Raw: append([]byte(nil), p...)}
		if err := m.Decode(); err != nil {
			t.Fatalf("taken here, refused by pion: %v", err)
		}
		pionUser, err := m.Get(stun.AttrUsername)
		if (err == nil) != (user != nil) || !bytes.Equal(pionUser, user) {
			t.Fatalf("USERNAME: got %q, pion %q (%v)", user, pionUser, err)
		}
	})
}
