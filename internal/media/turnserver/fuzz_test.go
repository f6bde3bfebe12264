package turnserver

import (
	"bytes"
	"io"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/pion/stun/v4"
	"github.com/prometheus/client_golang/prometheus"
)

// fuzzGate is a gate with a policy and credentials, for the fuzz tests.
func fuzzGate() *gate {
	return &gate{
		creds:   NewCredentials([]byte(testSecret), "switchboard"),
		policy:  NewPeerPolicy(nil, []netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:10000")}),
		realm:   "switchboard",
		metrics: NewMetrics(prometheus.NewRegistry()),
		now:     time.Now,
	}
}

func seeds(f *testing.F) {
	user, pass := NewCredentials([]byte(testSecret), "switchboard").Mint("alice", time.Now().Add(time.Hour))
	for _, m := range []stun.Method{stun.MethodAllocate, stun.MethodCreatePermission, stun.MethodChannelBind, stun.MethodRefresh} {
		msg := stun.MustBuild(stun.TransactionID, stun.NewType(m, stun.ClassRequest), udpTransport,
			peer(netip.MustParseAddrPort("[::ffff:127.0.0.1]:5060")), stun.NewUsername(user), stun.NewRealm("switchboard"),
			stun.NewNonce("n"), stun.NewLongTermIntegrity(user, "switchboard", pass), stun.Fingerprint)
		f.Add(msg.Raw)
	}
	f.Add(stun.MustBuild(stun.TransactionID, stun.NewType(stun.MethodSend, stun.ClassIndication),
		peer(netip.MustParseAddrPort("10.0.0.1:1"))).Raw)
	f.Add([]byte{0x40, 0x00, 0x00, 0x03, 1, 2, 3, 0})
	f.Add([]byte{0, 1, 0xff, 0xff})
}

// FuzzInspect: whatever a datagram holds, the gate answers or passes it
// without panicking, and an answer is a STUN error response.
func FuzzInspect(f *testing.F) {
	seeds(f)
	g := fuzzGate()
	f.Fuzz(func(t *testing.T, b []byte) {
		reply, pass := g.inspect(b)
		if pass && reply != nil {
			t.Fatal("passed and answered")
		}
		if reply != nil {
			m := &stun.Message{Raw: reply}
			if err := m.Decode(); err != nil || m.Type.Class != stun.ClassErrorResponse {
				t.Fatalf("answer %x is not a STUN error response (%v)", reply, err)
			}
		}
	})
}

// FuzzStreamFrames: a TCP stream cut anyhow comes out of the gate as the
// frames that pass, or as its bytes unchanged once it is not STUN framing.
func FuzzStreamFrames(f *testing.F) {
	seeds(f)
	g := fuzzGate()
	f.Fuzz(func(t *testing.T, b []byte) {
		c := &gatedConn{Conn: &chunkConn{data: b}, gate: g, done: func() {}, verified: func() {}}
		out, _ := io.ReadAll(io.LimitReader(c, int64(len(b))+1))
		if len(out) > len(b) {
			t.Fatalf("got %d bytes out of %d", len(out), len(b))
		}
		if _, pass := g.inspect(b); pass && !bytes.HasPrefix(b, out) {
			t.Fatalf("a stream that passes came out changed:\n%x\n%x", b, out)
		}
	})
}

// chunkConn reads data in chunks of 7 bytes, then io.EOF; writes vanish.
type chunkConn struct {
	net.Conn
	data []byte
}

func (c *chunkConn) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), 7)], c.data)
	c.data = c.data[n:]
	return n, nil
}

func (c *chunkConn) Write(p []byte) (int, error)     { return len(p), nil }
func (c *chunkConn) SetReadDeadline(time.Time) error { return nil }
