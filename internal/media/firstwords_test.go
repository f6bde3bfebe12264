package media

import (
	"context"
	"encoding/binary"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/pion/dtls/v3"
	"github.com/pion/stun/v4"

	"github.com/switchboard-gw/switchboard/internal/media/dtlssrtp"
)

// checkingBrowser stands in for Chrome answering switchboard's ICE-lite
// offer: it sends a connectivity check without USE-CANDIDATE and, as soon as
// the check succeeds, starts DTLS as client, nominating the pair only later
// (Chrome nominates with a later check).
type checkingBrowser struct {
	conn        *net.UDPConn
	ufrag, pwd  string
	fingerprint string
	cert        dtls.Option
}

func newCheckingBrowser(t *testing.T) *checkingBrowser {
	t.Helper()
	cert, err := newCertificate()
	if err != nil {
		t.Fatal(err)
	}
	return &checkingBrowser{
		conn:        listenUDP(t),
		ufrag:       "brws",
		pwd:         "browserbrowserbrowserpw",
		fingerprint: fingerprint(cert.Certificate[0]),
		cert:        dtls.WithCertificates(cert),
	}
}

func (c *checkingBrowser) remote() WebRTCRemote {
	return WebRTCRemote{Ufrag: c.ufrag, Pwd: c.pwd, Fingerprint: c.fingerprint}
}

// check sends one binding request to l's candidate (nominating it when
// nominate is set) and waits for the success response.
func (c *checkingBrowser) check(t *testing.T, l Local, nominate bool) {
	t.Helper()
	setters := []stun.Setter{
		stun.TransactionID, stun.BindingRequest,
		stun.NewUsername(l.Ufrag + ":" + c.ufrag),
		stun.RawAttribute{Type: stun.AttrICEControlling, Value: make([]byte, 8)},
		stun.RawAttribute{Type: stun.AttrPriority, Value: []byte{0x6e, 0, 0x1e, 0xff}},
	}
	if nominate {
		setters = append(setters, stun.RawAttribute{Type: stun.AttrUseCandidate})
	}
	setters = append(setters, stun.NewShortTermIntegrity(l.Pwd), stun.Fingerprint)
	req := stun.MustBuild(setters...)
	to := net.UDPAddrFromAddrPort(l.Candidates[0])
	buf := make([]byte, 1500)
	for range 20 {
		if _, err := c.conn.WriteTo(req.Raw, to); err != nil {
			t.Fatal(err)
		}
		c.conn.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		for {
			n, _, err := c.conn.ReadFrom(buf)
			if err != nil {
				break
			}
			var res stun.Message
			res.Raw = buf[:n]
			if res.Decode() == nil && res.TransactionID == req.TransactionID && res.Type == stun.BindingSuccess {
				c.conn.SetReadDeadline(time.Time{})
				return
			}
		}
	}
	t.Fatal("no answer to the ICE check")
}

// handshake runs DTLS as client towards to over conn and returns how long it
// took, or fails the test after limit.
func (c *checkingBrowser) handshake(t *testing.T, to netip.AddrPort, limit time.Duration) (*dtls.Conn, time.Duration, error) {
	t.Helper()
	dc, err := dtlssrtp.NewConn(c.conn, net.UDPAddrFromAddrPort(to), true, c.cert, dtls.WithInsecureSkipVerify(true))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	start := time.Now()
	err = dc.HandshakeContext(ctx)
	return dc, time.Since(start), err
}

// startChecked makes a bridge on a fresh engine and a browser that has
// sent it one check (nominating when nominate is set); t.Cleanup closes
// the bridge.
func startChecked(t *testing.T, id string, nominate bool) (*Bridge, *checkingBrowser, Local) {
	t.Helper()
	e := newTestEngine(t, 2, nil)
	b, err := e.NewBridge(id, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	br := newCheckingBrowser(t)
	if err := b.StartWebRTC(br.remote()); err != nil {
		t.Fatal(err)
	}
	l := b.Local()
	br.check(t, l, nominate)
	return b, br, l
}

// TestDTLSAnsweredOnceChecked: the browser's ClientHello from an address that
// passed an ICE check is answered at once, before any nomination, and media
// flows towards the browser from then on.
func TestDTLSAnsweredOnceChecked(t *testing.T) {
	b, br, l := startChecked(t, "firstwords", false)
	dc, took, err := br.handshake(t, l.Candidates[0], 2*time.Second)
	if err != nil {
		t.Fatalf("DTLS before nomination: %v after %v", err, took)
	}
	defer dc.Close()
	t.Logf("DTLS took %v after the first check", took)
	if took > 300*time.Millisecond {
		t.Errorf("DTLS took %v, want under 300ms", took)
	}
	waitFor(t, "SRTP up", func() bool { return b.Stats().DTLS.State == "connected" })

	// The phone's audio reaches the browser, still without a nomination.
	pbx := newPBXSocket(t)
	b.SetPlainRemote(pbx.addr(), netip.AddrPort{})
	stop := every(func(i int) {
		pkt := rtpPacket(0x1234, uint16(i), payload("pbx"))
		pbx.conn.WriteTo(pkt, net.UDPAddrFromAddrPort(l.RTP))
	})
	defer stop()
	buf := make([]byte, 1500)
	br.conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	for {
		n, _, err := br.conn.ReadFrom(buf)
		if err != nil {
			t.Fatalf("no SRTP towards the browser before nomination: %v", err)
		}
		if classify(buf[:n]) == kindRTP {
			break
		}
	}

	// The stamps /calls reads the call's timing from are in order.
	st := b.Stats()
	for name, at := range map[string]time.Time{
		"DTLS first record": st.DTLS.FirstRecord, "DTLS connected": st.DTLS.Connected,
		"first RTP from the phone": st.Plain.FirstRTPIn, "first RTP to the browser": st.Browser.FirstRTPOut,
	} {
		if at.IsZero() {
			t.Errorf("%s: not stamped", name)
		}
	}
	if st.DTLS.Connected.Before(st.DTLS.FirstRecord) || st.Browser.FirstRTPOut.Before(st.DTLS.Connected) {
		t.Errorf("stamps out of order: DTLS first record %v, connected %v, first RTP to the browser %v",
			st.DTLS.FirstRecord, st.DTLS.Connected, st.Browser.FirstRTPOut)
	}
	if !st.Plain.FirstRTPOut.IsZero() || !st.Browser.FirstRTPIn.IsZero() {
		t.Errorf("nothing went to the phone, yet first RTP stamped: %v, %v", st.Plain.FirstRTPOut, st.Browser.FirstRTPIn)
	}
}

// TestDTLSRefusedUnchecked: DTLS from an address that never passed an ICE
// check gets no answer.
func TestDTLSRefusedUnchecked(t *testing.T) {
	b, _, l := startChecked(t, "unchecked", true) // checked and nominated: ICE connected
	other := newCheckingBrowser(t)                // same credentials, never checked
	dc, _, err := other.handshake(t, l.Candidates[0], 600*time.Millisecond)
	if err == nil {
		dc.Close()
		t.Fatal("DTLS from an unchecked address completed")
	}
	if got := b.Stats().DTLS.State; got == "connected" {
		t.Fatalf("DTLS state %q, want not connected", got)
	}
}

// TestPhoneAudioHeldUntilKeys: what the phone sends after the answer but
// before DTLS has keyed SRTP reaches the browser once it has, first and in
// order, rather than being dropped.
func TestPhoneAudioHeldUntilKeys(t *testing.T) {
	b, br, l := startChecked(t, "held", false)
	pbx := newPBXSocket(t)
	b.SetPlainRemote(pbx.addr(), netip.AddrPort{})

	const early = 5 // the first words: sent before the handshake starts
	for i := range early {
		pbx.conn.WriteTo(rtpPacket(0x1234, uint16(i), payload("early")), net.UDPAddrFromAddrPort(l.RTP))
	}
	waitFor(t, "the early packets held", func() bool { return b.Stats().Plain.RTPIn.Packets == early })
	// The DTLS conn reads the browser's socket from its handshake on: the
	// tap hands it everything but RTP, which the test reads.
	tap := &rtpTap{UDPConn: br.conn, rtp: make(chan uint16, 64)}
	dc, err := dtlssrtp.NewConn(tap, net.UDPAddrFromAddrPort(l.Candidates[0]), true, br.cert, dtls.WithInsecureSkipVerify(true))
	if err != nil {
		t.Fatal(err)
	}
	defer dc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := dc.HandshakeContext(ctx); err != nil {
		t.Fatalf("DTLS: %v", err)
	}
	waitFor(t, "SRTP up", func() bool { return b.Stats().DTLS.State == "connected" })
	stop := every(func(i int) {
		pbx.conn.WriteTo(rtpPacket(0x1234, uint16(early+i), payload("pbx")), net.UDPAddrFromAddrPort(l.RTP))
	})
	defer stop()

	var got []uint16
	timeout := time.After(2 * time.Second)
	for len(got) < early+2 {
		select {
		case seq := <-tap.rtp:
			got = append(got, seq)
		case <-timeout:
			t.Fatalf("SRTP towards the browser: got sequence numbers %v after 2s", got)
		}
	}
	for i, seq := range got {
		if seq != uint16(i) {
			t.Fatalf("sequence numbers towards the browser %v, want 0, 1, 2, … from the first held packet", got)
		}
	}
	if d := b.Stats().Plain.Dropped; d != 0 {
		t.Errorf("plain leg dropped %d packets, want none", d)
	}
}

// TestHoldIsBounded: a phone that sends long before the keys has only its
// newest holdPackets kept, the older ones counted as dropped.
func TestHoldIsBounded(t *testing.T) {
	b := &Bridge{}
	now := time.Now().UnixNano()
	for i := range holdPackets + 3 {
		b.hold(rtpPacket(1, uint16(i), payload("x")), now)
	}
	if len(b.held) != holdPackets || b.plain.dropped.Load() != 3 {
		t.Fatalf("held %d, dropped %d; want %d and 3", len(b.held), b.plain.dropped.Load(), holdPackets)
	}
	if first := binary.BigEndian.Uint16(b.held[0].data[2:4]); first != 3 {
		t.Errorf("oldest held sequence number %d, want 3", first)
	}
}

// rtpTap is a browser's socket read by a DTLS conn: it passes on what is
// not RTP and sends the sequence number of each RTP packet (in the clear
// in SRTP, RFC 3711 §3.1) to rtp instead.
type rtpTap struct {
	*net.UDPConn
	rtp chan uint16
}

func (c *rtpTap) ReadFrom(p []byte) (int, net.Addr, error) {
	for {
		n, from, err := c.UDPConn.ReadFrom(p)
		if err != nil || classify(p[:n]) != kindRTP {
			return n, from, err
		}
		select {
		case c.rtp <- binary.BigEndian.Uint16(p[2:4]):
		default:
		}
	}
}
