package media

import (
	"encoding/binary"
	"io"
	"testing"

	"github.com/pion/srtp/v3"
)

var benchProfiles = []struct {
	name    string
	profile srtp.ProtectionProfile
}{
	{"AEAD_AES_128_GCM", srtp.ProtectionProfileAeadAes128Gcm},
	{"AEAD_AES_256_GCM", srtp.ProtectionProfileAeadAes256Gcm},
	{"AES128_CM_HMAC_SHA1_80", srtp.ProtectionProfileAes128CmHmacSha1_80},
}

// BenchmarkPlainToBrowser is one G.711 packet from the plain leg: latch,
// SSRC rewrite, SRTP encryption, write (to io.Discard for the ice.Conn).
func BenchmarkPlainToBrowser(b *testing.B) {
	for _, bp := range benchProfiles {
		b.Run(bp.name, func(b *testing.B) {
			br, _ := newRelayBridge(b, bp.profile, io.Discard)
			src := addrOf(listenUDP(b))
			br.SetPlainRemote(src, src)
			sc := newScratch()
			plain := rtpPacket(pbxSSRC, 0, pbxPayload)
			b.ReportAllocs()
			b.SetBytes(int64(len(plain)))
			for i := 0; b.Loop(); i++ {
				copy(sc.in, plain)
				binary.BigEndian.PutUint16(sc.in[2:], uint16(i))
				br.fromPlain(sc.in[:len(plain)], src, false, sc)
			}
		})
	}
}

// BenchmarkBrowserToPlain is one SRTP packet from the browser: demux,
// replay check, SRTP decryption, write to a real loopback UDP socket.
func BenchmarkBrowserToPlain(b *testing.B) {
	for _, bp := range benchProfiles {
		b.Run(bp.name, func(b *testing.B) {
			br, fb := newRelayBridge(b, bp.profile, io.Discard)
			sink := addrOf(listenUDP(b))
			br.SetPlainRemote(sink, sink)
			sc := newScratch()
			const chunk = 4096
			next := 0
			pkts := encryptedStream(b, fb.enc, next, chunk)
			b.ReportAllocs()
			b.SetBytes(int64(len(pkts[0])))
			for i := 0; b.Loop(); i++ {
				if i%chunk == 0 && i > 0 {
					b.StopTimer()
					next += chunk
					pkts = encryptedStream(b, fb.enc, next, chunk)
					b.StartTimer()
				}
				br.fromBrowser(pkts[i%chunk], sc)
			}
			if n := br.Stats().Browser.SRTPAuthFailures + br.Stats().Browser.Dropped; n != 0 {
				b.Fatalf("%d packets dropped", n)
			}
		})
	}
}
