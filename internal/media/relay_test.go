package media

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"io"
	"net/netip"
	"slices"
	"sync"
	"testing"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"

	"github.com/switchboard-gw/switchboard/internal/testkit/leakcheck"
)

// fakeBrowser holds the browser's side of fixed SRTP keys: enc protects
// what it sends, dec opens what the bridge sends it.
type fakeBrowser struct {
	enc, dec *srtp.Context
	mu       sync.Mutex
	got      [][]byte // what the bridge sent towards the browser; guarded by mu
}

func (f *fakeBrowser) Write(p []byte) (int, error) {
	f.mu.Lock()
	f.got = append(f.got, slices.Clone(p))
	f.mu.Unlock()
	return len(p), nil
}

// newRelayBridge makes a bridge whose SRTP session is keyed as if DTLS had
// run, writing towards the browser into out (nil: a fakeBrowser).
func newRelayBridge(tb testing.TB, profile srtp.ProtectionProfile, out io.Writer) (*Bridge, *fakeBrowser) {
	tb.Helper()
	return newKeyedBridge(tb, newTestEngine(tb, 1, nil), profile, out)
}

// newKeyedBridge is newRelayBridge on e.
func newKeyedBridge(tb testing.TB, e *Engine, profile srtp.ProtectionProfile, out io.Writer) (*Bridge, *fakeBrowser) {
	tb.Helper()
	b, err := e.NewBridge("relay", nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { b.Close() })
	keyLen, _ := profile.KeyLen()
	saltLen, _ := profile.SaltLen()
	random := func(n int) []byte {
		p := make([]byte, n)
		rand.Read(p)
		return p
	}
	keys := srtp.SessionKeys{
		LocalMasterKey: random(keyLen), LocalMasterSalt: random(saltLen),
		RemoteMasterKey: random(keyLen), RemoteMasterSalt: random(saltLen),
	}
	fb := &fakeBrowser{}
	if out == nil {
		out = fb
	}
	s, err := newSession(keys, profile, out)
	if err != nil {
		tb.Fatal(err)
	}
	b.sess.Store(s)
	if fb.enc, err = srtp.CreateContext(keys.RemoteMasterKey, keys.RemoteMasterSalt, profile); err != nil {
		tb.Fatal(err)
	}
	if fb.dec, err = srtp.CreateContext(keys.LocalMasterKey, keys.LocalMasterSalt, profile); err != nil {
		tb.Fatal(err)
	}
	return b, fb
}

func rtpPacket(ssrc uint32, seq uint16, payload []byte) []byte {
	raw, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: 160 * uint32(seq), SSRC: ssrc}, Payload: payload}).Marshal()
	return raw
}

func TestSRTPAuthFailuresAreDropped(t *testing.T) {
	leakcheck.Check(t)
	b, fb := newRelayBridge(t, srtp.ProtectionProfileAeadAes128Gcm, nil)
	pbx := newPBXSocket(t)
	b.SetPlainRemote(pbx.addr(), netip.AddrPort{})
	sc := newScratch()

	good, err := fb.enc.EncryptRTP(nil, rtpPacket(0xB0B, 1, browserPayload), nil)
	if err != nil {
		t.Fatal(err)
	}
	bad := slices.Clone(good)
	bad[len(bad)-1] ^= 1
	b.fromBrowser(bad, sc)
	if n := b.Stats().Browser.SRTPAuthFailures; n != 1 {
		t.Errorf("auth failures: got %d, want 1", n)
	}
	b.fromBrowser(good, sc)
	d := pbx.next(t, "the good packet", func(datagram) bool { return true })
	var p rtp.Packet
	if err := p.Unmarshal(d.data); err != nil || !bytes.Equal(p.Payload, browserPayload) || p.SequenceNumber != 1 {
		t.Errorf("PBX got %v (err %v), want sequence 1 with the browser's payload", p.Header, err)
	}
	b.fromBrowser(good, sc) // a replay
	if st := b.Stats().Browser; st.SRTPAuthFailures != 1 || st.Dropped != 1 {
		t.Errorf("after a replay: got %d auth failures, %d dropped, want 1 and 1", st.SRTPAuthFailures, st.Dropped)
	}
}

func TestPlainToBrowserRewritesSSRC(t *testing.T) {
	leakcheck.Check(t)
	b, fb := newRelayBridge(t, srtp.ProtectionProfileAes128CmHmacSha1_80, nil)
	src := netip.MustParseAddrPort("127.0.0.1:9")
	b.SetPlainRemote(src, netip.AddrPort{})
	sc := newScratch()
	b.fromPlain(rtpPacket(pbxSSRC, 7, pbxPayload), src, false, sc)

	rr := &rtcp.ReceiverReport{SSRC: pbxSSRC, Reports: []rtcp.ReceptionReport{{SSRC: 0xB0B}}}
	sdes := rtcp.NewCNAMESourceDescription(pbxSSRC, "pbx")
	raw, _ := rtcp.Marshal([]rtcp.Packet{rr, sdes})
	b.fromPlain(raw, netip.AddrPortFrom(src.Addr(), src.Port()+1), true, sc)

	if len(fb.got) != 2 {
		t.Fatalf("browser got %d packets, want 2", len(fb.got))
	}
	plain, err := fb.dec.DecryptRTP(nil, fb.got[0], nil)
	if err != nil {
		t.Fatal(err)
	}
	var p rtp.Packet
	p.Unmarshal(plain)
	if p.SSRC != b.Local().SSRC || p.SequenceNumber != 7 || p.Timestamp != 7*160 || !bytes.Equal(p.Payload, pbxPayload) {
		t.Errorf("browser got %v, want SSRC %#x, sequence 7, timestamp 1120 and the PBX's payload", p.Header, b.Local().SSRC)
	}
	plainRTCP, err := fb.dec.DecryptRTCP(nil, fb.got[1], nil)
	if err != nil {
		t.Fatal(err)
	}
	pkts, err := rtcp.Unmarshal(plainRTCP)
	if err != nil {
		t.Fatal(err)
	}
	gotRR, gotSDES := pkts[0].(*rtcp.ReceiverReport), pkts[1].(*rtcp.SourceDescription)
	if gotRR.SSRC != b.Local().SSRC || gotRR.Reports[0].SSRC != 0xB0B || gotSDES.Chunks[0].Source != b.Local().SSRC {
		t.Errorf("browser got RR from %#x on %#x, SDES for %#x; want both from %#x, report on 0xb0b",
			gotRR.SSRC, gotRR.Reports[0].SSRC, gotSDES.Chunks[0].Source, b.Local().SSRC)
	}
}

func TestRTCPRewrite(t *testing.T) {
	const from, to, other = 0x1111, 0x2222, 0x3333
	compound := func(pkts ...rtcp.Packet) []byte {
		raw, err := rtcp.Marshal(pkts)
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	tests := []struct {
		name string
		in   []rtcp.Packet
		want []rtcp.Packet // after mapRTCPSource(from → to)
	}{
		{
			name: "sender report blocks",
			in:   []rtcp.Packet{&rtcp.SenderReport{SSRC: other, Reports: []rtcp.ReceptionReport{{SSRC: from}, {SSRC: other}}}},
			want: []rtcp.Packet{&rtcp.SenderReport{SSRC: other, Reports: []rtcp.ReceptionReport{{SSRC: to}, {SSRC: other}}}},
		},
		{
			name: "receiver report and SDES",
			in:   []rtcp.Packet{&rtcp.ReceiverReport{SSRC: other, Reports: []rtcp.ReceptionReport{{SSRC: from}}}, rtcp.NewCNAMESourceDescription(other, "x")},
			want: []rtcp.Packet{&rtcp.ReceiverReport{SSRC: other, Reports: []rtcp.ReceptionReport{{SSRC: to}}}, rtcp.NewCNAMESourceDescription(other, "x")},
		},
		{
			name: "PLI media source",
			in:   []rtcp.Packet{&rtcp.PictureLossIndication{SenderSSRC: other, MediaSSRC: from}},
			want: []rtcp.Packet{&rtcp.PictureLossIndication{SenderSSRC: other, MediaSSRC: to}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := compound(tt.in...)
			mapRTCPSource(raw, from, to)
			if want := compound(tt.want...); !bytes.Equal(raw, want) {
				t.Errorf("got % x, want % x", raw, want)
			}
		})
	}

	raw := compound(&rtcp.ReceiverReport{SSRC: from}, &rtcp.Goodbye{}, &rtcp.Goodbye{Sources: []uint32{from}})
	setRTCPSender(raw, to)
	want := compound(&rtcp.ReceiverReport{SSRC: to}, &rtcp.Goodbye{}, &rtcp.Goodbye{Sources: []uint32{to}})
	if !bytes.Equal(raw, want) {
		t.Errorf("setRTCPSender: got % x, want % x", raw, want)
	}
}

// TestRelayDoesNotAllocate holds the hot path to zero allocations per
// packet, each way.
func TestRelayDoesNotAllocate(t *testing.T) {
	b, fb := newRelayBridge(t, srtp.ProtectionProfileAeadAes128Gcm, io.Discard)
	sink := listenUDP(t)
	b.SetPlainRemote(addrOf(sink), addrOf(sink))
	src := addrOf(sink)
	sc := newScratch()
	plain := rtpPacket(pbxSSRC, 0, pbxPayload)
	seq := uint16(0)
	if n := testing.AllocsPerRun(200, func() {
		seq++
		copy(sc.in, plain)
		binary.BigEndian.PutUint16(sc.in[2:], seq)
		b.fromPlain(sc.in[:len(plain)], src, false, sc)
	}); n != 0 {
		t.Errorf("plain → browser: got %v allocations per packet, want 0", n)
	}
	pkts := encryptedStream(t, fb.enc, 0, 300)
	i := 0
	if n := testing.AllocsPerRun(200, func() {
		b.fromBrowser(pkts[i], sc)
		i++
	}); n != 0 {
		t.Errorf("browser → plain: got %v allocations per packet, want 0", n)
	}
	if st := b.Stats(); st.Browser.RTPOut.Packets < 200 || st.Plain.RTPOut.Packets < 200 || st.Browser.SRTPAuthFailures != 0 {
		t.Errorf("stats: got %+v, want 200 packets each way", st)
	}
}

// encryptedStream is n consecutive SRTP packets from the browser starting
// at sequence number first.
func encryptedStream(tb testing.TB, enc *srtp.Context, first, n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		seq := uint16(first + i)
		p, err := enc.EncryptRTP(nil, rtpPacket(0xB0B, seq, browserPayload), nil)
		if err != nil {
			tb.Fatal(err)
		}
		out[i] = p
	}
	return out
}

// FuzzRelay feeds arbitrary datagrams to both legs of a keyed bridge: no
// panic, whatever comes in.
func FuzzRelay(f *testing.F) {
	b, fb := newRelayBridge(f, srtp.ProtectionProfileAes128CmHmacSha1_80, io.Discard)
	src := netip.MustParseAddrPort("127.0.0.1:9")
	b.SetPlainRemote(src, netip.AddrPort{})
	f.Add(rtpPacket(pbxSSRC, 1, pbxPayload))
	rr, _ := rtcp.Marshal([]rtcp.Packet{&rtcp.ReceiverReport{SSRC: 1, Reports: []rtcp.ReceptionReport{{SSRC: 2}}}, rtcp.NewCNAMESourceDescription(1, "x")})
	f.Add(rr)
	f.Add(encryptedStream(f, fb.enc, 1, 1)[0])
	f.Add([]byte{22, 254, 253, 0, 0})
	f.Add([]byte{0x80, 200, 0xff, 0xff, 0, 0, 0, 1})
	sc := newScratch()
	f.Fuzz(func(t *testing.T, p []byte) {
		if len(p) > maxPacket {
			return
		}
		for _, rtcpPort := range []bool{false, true} {
			b.fromPlain(slices.Clone(p), src, rtcpPort, sc)
		}
		b.fromBrowser(slices.Clone(p), sc)
		q := slices.Clone(p)
		setRTCPSender(q, 1)
		mapRTCPSource(q, 1, 2)
	})
}
